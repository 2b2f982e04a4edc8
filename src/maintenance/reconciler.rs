//! The reconciler: every `every`, and at once when the queue's connection
//! comes back, queues each job the database says is waiting that the queue
//! does not hold (Redis restarted empty, a push that failed, a submission
//! accepted while Redis was down).
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::jobs::Jobs;

pub struct Reconciler {
    pub every: Duration,
}

impl Reconciler {
    pub async fn run(self, jobs: Arc<Jobs>, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {}
                _ = jobs.queue_reconnected() => {
                    tracing::info!("the queue is reachable again; putting back what the database says is waiting");
                }
            }
            if let Err(error) = jobs.reconcile().await {
                tracing::warn!(error = %error.detail(), "reconciling the queue failed");
            }
        }
    }
}
