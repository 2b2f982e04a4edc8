//! Retention: every `every`, trims events older than `events` from the log
//! and removes finished jobs past their retention (their notes stay).
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::jobs::Jobs;

#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub every: Duration,
    pub events: Duration,
    pub completed_jobs: Duration,
    pub failed_jobs: Duration,
}

impl Retention {
    pub async fn run(self, jobs: Arc<Jobs>, stop: CancellationToken) {
        super::every(self.every, stop, || self.apply(&jobs)).await;
    }

    /// One pass.
    pub async fn apply(&self, jobs: &Jobs) {
        let now = chrono::Utc::now();
        let (events, completed, failed) = (now - self.events, now - self.completed_jobs, now - self.failed_jobs);
        match jobs.trim_events(events).await {
            Ok(0) => {}
            Ok(trimmed) => tracing::info!(trimmed, "trimmed old events from the log"),
            Err(error) => tracing::warn!(error = %error.detail(), "trimming the event log failed"),
        }
        match jobs.remove_expired(completed, failed).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed finished jobs past their retention"),
            Err(error) => tracing::warn!(error = %error.detail(), "removing old jobs failed"),
        }
    }
}
