//! The attempt history as the core keeps it: a record of each ended
//! attempt, written by the transition that ends it (in its transaction,
//! never after it), and read back for `GetJob`.
use chrono::Utc;
use uuid::Uuid;

use super::Jobs;
use crate::domain::{AttemptFacts, AttemptOutcome, AttemptRecord, Failure, Job, Scope};
use crate::error::Result;

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
        let job = self.store.job_for_user(scope, id).await?;
        let attempts = self.store.attempts(id).await?;
        Ok((job, attempts))
    }
}

/// This node's name in attempt records: `<host>:<process id>`.
pub(super) fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}
