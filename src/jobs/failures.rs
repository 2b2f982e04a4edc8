//! Failures in bulk: FAILED jobs grouped by kind and normalised reason, and
//! one retry of every FAILED job a filter names.
use std::collections::HashMap;

use uuid::Uuid;

use super::Jobs;
use super::commit::Logged;
use crate::domain::failure::reason_group;
use crate::domain::{FailureFilter, FailureKind, Job, JobEventKind, Scope};
use crate::error::Result;
use crate::queue::QueueItem;
use crate::store::Store;

/// Failed jobs looked at per call at most, newest first.
pub const SCANNED_MAX: u64 = 10_000;
/// Jobs one bulk retry takes at most; call again for the rest.
pub const RETRIED_MAX: usize = 1_000;

/// Failed jobs of one kind whose reasons differ only in numbers.
pub struct FailureGroup {
    pub kind: Option<FailureKind>,
    pub reason_group: String,
    pub count: u64,
    /// The most recently failed job of the group.
    pub newest: Job,
}

pub struct FailureGroups {
    /// Largest first.
    pub groups: Vec<FailureGroup>,
    /// More than [`SCANNED_MAX`] failed jobs matched; the counts are of the newest.
    pub truncated: bool,
}

/// What a bulk retry did.
pub struct BulkRetry {
    pub retried: u32,
    /// Matched but not retried: changed meanwhile, or another job for the
    /// same video is waiting or running.
    pub skipped: u32,
    /// More jobs match than one call retries.
    pub more: bool,
}

impl Jobs {
    pub async fn failure_groups(&self, scope: &Scope, filter: &FailureFilter) -> Result<FailureGroups> {
        let jobs = self.store.failed_jobs(scope, filter, SCANNED_MAX + 1).await?;
        let truncated = jobs.len() as u64 > SCANNED_MAX;
        let mut groups: Vec<FailureGroup> = Vec::new();
        let mut index: HashMap<(Option<FailureKind>, String), usize> = HashMap::new();
        for job in jobs.into_iter().take(SCANNED_MAX as usize).filter(|job| filter.matches_reason(&job.error)) {
            let key = (job.failure_kind, reason_group(&job.error));
            match index.get(&key) {
                Some(&at) => groups[at].count += 1,
                None => {
                    index.insert(key.clone(), groups.len());
                    // Newest first, so the first seen is the newest.
                    groups.push(FailureGroup { kind: key.0, reason_group: key.1, count: 1, newest: job });
                }
            }
        }
        groups.sort_by(|a, b| b.count.cmp(&a.count).then(b.newest.finished_at.cmp(&a.newest.finished_at)));
        Ok(FailureGroups { groups, truncated })
    }

    /// Retries every FAILED job in `scope` the filter names (up to
    /// [`RETRIED_MAX`]), each with a fresh set of attempts, in one
    /// transaction: QUEUED events logged, the jobs queued.
    pub async fn retry_failed(&self, scope: &Scope, filter: &FailureFilter) -> Result<BulkRetry> {
        let jobs = self.store.failed_jobs(scope, filter, SCANNED_MAX).await?;
        let mut ids: Vec<Uuid> =
            jobs.iter().filter(|job| filter.matches_reason(&job.error)).map(|job| job.id).collect();
        let more = ids.len() > RETRIED_MAX;
        ids.truncate(RETRIED_MAX);
        let (scope, attempts) = (scope.clone(), self.rules.retry.max_attempts);
        let (retried, skipped) = self
            .committer
            .commit(move |txn| {
                let (scope, ids) = (scope.clone(), ids.clone());
                Box::pin(async move {
                    let (mut retried, mut skipped) = (Vec::new(), 0);
                    for id in ids {
                        match Store::retry(txn, &scope, id, attempts, None).await {
                            Ok(job) => retried.push(job),
                            Err(error) if error.is_storage() => return Err(error),
                            Err(_) => skipped += 1,
                        }
                    }
                    let logged = Logged::each(JobEventKind::Queued, retried.iter().cloned());
                    Ok(((retried, skipped), logged))
                })
            })
            .await?;
        let items: Vec<QueueItem> = retried.iter().map(QueueItem::of).collect();
        self.dispatch(&items).await;
        tracing::info!(retried = retried.len(), skipped, "failed jobs retried in bulk");
        Ok(BulkRetry { retried: retried.len() as u32, skipped, more })
    }
}
