//! The reaper: every `every`, hands back the jobs whose lease expired (their
//! node died or stalled), and records the queue's depth.
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::jobs::Jobs;

pub struct Reaper {
    pub every: Duration,
}

impl Reaper {
    pub async fn run(self, jobs: Arc<Jobs>, stop: CancellationToken) {
        super::every(self.every, stop, || async {
            if let Err(error) = jobs.reap().await {
                tracing::warn!(error = %error.detail(), "reaping expired leases failed");
            }
            if let Ok(waiting) = jobs.waiting().await {
                metrics::gauge!(crate::telemetry::QUEUE_DEPTH).set(waiting as f64);
            }
        })
        .await;
    }
}
