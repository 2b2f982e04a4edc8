//! The resumer: tidies away pauses whose resume time has come, so their
//! jobs get their RESUMED events. It sleeps until the earliest stored
//! resume time, waking early when this node pauses or resumes something,
//! and reads the pauses again every `every` to learn of other nodes'. The
//! jobs themselves do not wait for it: a pause with a resume time parks
//! them in the queue delayed until then, and a claim ignores a pause that
//! has ended, so they start on time on any node even if no resumer runs.
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::jobs::Jobs;

/// How long after a resume time the resumer wakes.
const PAST: Duration = Duration::from_millis(10);

pub struct Resumer {
    /// How often the stored pauses are read again regardless.
    pub every: Duration,
}

impl Resumer {
    pub async fn run(self, jobs: Arc<Jobs>, stop: CancellationToken) {
        loop {
            let wait = match jobs.next_resume().await {
                // A little past it, so the time has come by the database's
                // reading of the clock too.
                Ok(Some(at)) => (at - chrono::Utc::now()).to_std().unwrap_or_default().min(self.every) + PAST,
                Ok(None) => self.every,
                Err(error) => {
                    tracing::warn!(error = %error.detail(), "reading the pauses failed; trying again");
                    self.every.min(Duration::from_secs(1))
                }
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = jobs.pauses_changed() => continue,
                _ = tokio::time::sleep(wait) => {}
            }
            if let Err(error) = jobs.resume_ended().await {
                tracing::warn!(error = %error.detail(), "tidying away ended pauses failed");
            }
        }
    }
}
