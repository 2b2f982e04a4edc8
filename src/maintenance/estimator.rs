//! The estimator: when waiting lines may have moved (a job started, ended,
//! arrived or left, on any node) or somebody started watching, it runs one
//! round of estimates for the users watched on this node and sends the
//! watchers what moved meaningfully. Woken by those events, not a timer;
//! rounds are at least `gap` apart, so a busy queue costs one round per gap,
//! and each wake-up is followed by one more round a gap later (an event is
//! delivered as its transaction commits, and the job's queue push may come
//! a moment after the round it woke).
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::jobs::Jobs;

pub struct Estimator {
    /// The least time between two rounds.
    pub gap: Duration,
}

impl Default for Estimator {
    fn default() -> Self {
        Estimator { gap: Duration::from_secs(1) }
    }
}

impl Estimator {
    pub async fn run(self, jobs: Arc<Jobs>, stop: CancellationToken) {
        let mut sent = HashMap::new();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = jobs.lines_moved() => {}
            }
            // Twice: the queue push of a job whose event woke this round
            // may land just after the first look.
            for _ in 0..2 {
                if let Err(error) = jobs.estimate_round(&mut sent).await {
                    tracing::debug!(error = %error.detail(), "no estimates this round");
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(self.gap) => {}
                }
            }
        }
    }
}
