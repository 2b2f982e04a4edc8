//! The reconciler: every `every`, queues each job the database says is
//! waiting that the queue does not hold (Redis restarted empty, a push that
//! failed, a submission accepted while Redis was down).
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::jobs::Jobs;

pub struct Reconciler {
    pub every: Duration,
}

impl Reconciler {
    pub async fn run(self, jobs: Arc<Jobs>, stop: CancellationToken) {
        super::every(self.every, stop, || async {
            if let Err(error) = jobs.reconcile().await {
                tracing::warn!(error = %error.detail(), "reconciling the queue failed");
            }
        })
        .await;
    }
}
