//! The attempt history as the core keeps it: a record of each ended
//! attempt, written by the transition that ends it (in its transaction,
//! never after it), and read back for `GetJob`.
use chrono::Utc;
use uuid::Uuid;

use super::Jobs;
use crate::domain::{AttemptFacts, AttemptOutcome, AttemptRecord, Failure, FailureKind, Job, Scope};
use crate::error::Result;
use crate::store::Reaped;

impl Jobs {
    /// The record of `job`'s attempt ending now as `outcome` says.
    pub(super) fn attempt_record(
        &self,
        job: &Job,
        outcome: AttemptOutcome,
        failure: Option<&Failure>,
        facts: &AttemptFacts,
    ) -> AttemptRecord {
        AttemptRecord {
            job_id: job.id,
            attempt: job.attempt,
            node: self.node.clone(),
            started_at: job.started_at,
            ended_at: Utc::now(),
            outcome,
            failure_kind: failure.map(|failure| failure.kind),
            reason: failure.map(|failure| failure.reason.clone()).unwrap_or_default(),
            facts: facts.clone(),
        }
    }

    /// The job with every kept attempt, oldest first.
    pub async fn job_with_attempts(&self, scope: &Scope, id: Uuid) -> Result<(Job, Vec<AttemptRecord>)> {
        let job = self.shown(self.store.job_for_user(scope, id).await?).await?;
        let attempts = self.store.attempts(id).await?;
        Ok((job, attempts))
    }
}

/// The records of attempts handed back without their node (it stopped
/// renewing their leases, or stopped): INTERRUPTED when the job runs again,
/// FAILED (CRASHED, with the job's reason) when that was its last attempt,
/// CANCELLED (with the job's reason) when a cancel had ended the job while
/// the node was stopping the program. Their node is not known: empty.
pub(super) fn lost_attempts(reaped: &Reaped) -> Vec<AttemptRecord> {
    let now = Utc::now();
    let record = |job: &Job, outcome, failure: Option<Failure>| AttemptRecord {
        job_id: job.id,
        attempt: job.attempt,
        node: String::new(),
        started_at: job.started_at,
        ended_at: now,
        outcome,
        failure_kind: failure.as_ref().map(|failure| failure.kind),
        reason: failure.map(|failure| failure.reason).unwrap_or_else(|| job.stage.clone()),
        facts: AttemptFacts {
            exit: None,
            duration: job.started_at.and_then(|at| (now - at).to_std().ok()).unwrap_or_default(),
            timings: Vec::new(),
        },
    };
    let requeued = reaped.requeued.iter().map(|job| record(job, AttemptOutcome::Interrupted, None));
    let failed = reaped.failed.iter().map(|job| {
        let failure = Failure::new(job.failure_kind.unwrap_or(FailureKind::Crashed), job.error.clone());
        record(job, AttemptOutcome::Failed, Some(failure))
    });
    let stopped = reaped.stopped.iter().map(|job| {
        let failure = Failure::new(FailureKind::Cancelled, job.error.clone());
        record(job, AttemptOutcome::Cancelled, Some(failure))
    });
    requeued.chain(failed).chain(stopped).filter(|record| record.attempt > 0).collect()
}

/// This node's name in attempt records: `<host>:<process id>`.
pub(super) fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}
