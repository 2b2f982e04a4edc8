//! The reaper: every `every`, hands back the jobs whose lease expired (their
//! node died or stalled), and records the queue's depth. A lease that ran
//! out while the database could not be reached was not its holder's fault
//! (nobody could renew it), so after an outage the reaper waits until the
//! database has answered for `grace` (a lease's length) before it reaps:
//! live holders renew their leases or store their attempts' ends first, and
//! an outage spends no attempt.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::jobs::Jobs;

pub struct Reaper {
    pub every: Duration,
    pub grace: Duration,
}

impl Reaper {
    pub async fn run(self, jobs: Arc<Jobs>, stop: CancellationToken) {
        // When a step last found the database unreachable.
        let outage: Mutex<Option<Instant>> = Mutex::new(None);
        let note_outage = || *outage.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        super::every(self.every, stop, || async {
            let last_outage = *outage.lock().unwrap_or_else(|p| p.into_inner());
            if last_outage.is_some_and(|at| at.elapsed() < self.grace) {
                if jobs.database_reachable().await.is_err() {
                    note_outage();
                }
                return;
            }
            match jobs.reap().await {
                Ok(_) => {}
                Err(error) => {
                    if matches!(error, Error::Unavailable(_)) {
                        note_outage();
                    }
                    tracing::warn!(error = %error.detail(), "reaping expired leases failed");
                }
            }
            if let Ok(waiting) = jobs.waiting().await {
                metrics::gauge!(crate::telemetry::QUEUE_DEPTH).set(waiting as f64);
            }
        })
        .await;
    }
}
