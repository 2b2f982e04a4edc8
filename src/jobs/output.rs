//! The program's output as the core keeps it: the worker hands over each
//! group of lines; they are stored (fenced by the attempt: in a transaction
//! of their own on PostgreSQL, in the transitions' writer on SQLite, which
//! has one writer) and then sent to watchers on every node. The last group,
//! what gathered when the program ended, is stored in the transaction that
//! ends the attempt (see `attempt.rs`): a short program's output costs no
//! write of its own. Every end of an attempt is announced the way its lines
//! go (a chunk marked `ended`), once it is stored. Readers page through
//! what is stored, and learn whether the attempt has ended, so a follower
//! knows when to stop: not before a cancelled attempt's program has been
//! stopped and what it printed meanwhile is stored.
use std::sync::Arc;

use uuid::Uuid;

use super::Jobs;
use crate::domain::attempt::storable;
use crate::domain::{Job, JobState, OutputChunk, OutputGroup, OutputLine, Scope};
use crate::error::{Error, Result};
use crate::store::{Store, Txn};

/// A page of one attempt's stored output.
#[derive(Debug)]
pub struct OutputPage {
    /// The attempt read (the latest when 0 was asked for).
    pub attempt: u32,
    pub lines: Vec<OutputLine>,
    /// The attempt has ended: what is stored is all there will be.
    pub ended: bool,
}

impl Jobs {
    /// Stores the attempt's next lines (after removing what the group's
    /// `dropped` covers and putting its marker there), then sends them live.
    /// Lines of an attempt that no longer holds the job are not stored.
    pub async fn record_output(&self, job: &Job, group: OutputGroup) -> Result<()> {
        let group = Arc::new(storable_group(group));
        let (id, attempt) = (job.id, job.attempt);
        let stored = if self.store.is_sqlite() {
            // SQLite has one writer: the lines join the transitions' groups
            // rather than contend with them for the lock.
            let shared = Arc::clone(&group);
            self.committer
                .commit(move |txn| {
                    let group = Arc::clone(&shared);
                    Box::pin(async move { Ok((store_output_in(txn, id, attempt, &group).await?, Vec::new())) })
                })
                .await?
        } else {
            self.store.append_output(id, attempt, &group.lines, group.dropped).await?
        };
        if stored {
            self.send_output(job, &group).await;
        }
        Ok(())
    }

    /// Sends lines just stored to watchers on every node.
    pub(super) async fn send_output(&self, job: &Job, group: &OutputGroup) {
        if !group.is_empty() {
            self.deliver_output(job, Some(group), false).await;
        }
    }

    /// Tells the attempt's watchers on every node that its end is stored,
    /// with `last`, its last lines, if that end stored any.
    pub(super) async fn send_last_output(&self, job: &Job, last: Option<&OutputGroup>) {
        self.deliver_output(job, last, true).await;
    }

    async fn deliver_output(&self, job: &Job, group: Option<&OutputGroup>, ended: bool) {
        let mut sent = Vec::new();
        if let Some(group) = group {
            sent.reserve(group.lines.len() + 1);
            sent.extend(group.dropped.map(|dropped| dropped.marker()));
            sent.extend(group.lines.iter().cloned());
        }
        let chunk = OutputChunk { job_id: job.id, attempt: job.attempt, lines: sent, ended };
        self.transport.deliver_output(chunk).await;
    }

    /// The job as `scope` may see it, and which attempt `attempt` names
    /// (0: the latest, or the first if none has run yet).
    pub async fn output_target(&self, scope: &Scope, id: Uuid, attempt: u32) -> Result<(Job, u32)> {
        let job = self.store.job_for_user(scope, id).await?;
        let latest = job.attempt.max(1);
        match attempt {
            0 => Ok((job, latest)),
            n if n <= latest => Ok((job, n)),
            n => Err(Error::invalid("attempt", format!("{n} has not run; the job's latest attempt is {latest}"))),
        }
    }

    /// Up to `limit` stored lines of the attempt after line `after`, and
    /// whether it has ended (read first, so an ended attempt's page is
    /// complete up to `limit`).
    pub async fn output_page(
        &self,
        scope: &Scope,
        job_id: Uuid,
        attempt: u32,
        after: u64,
        limit: u64,
    ) -> Result<OutputPage> {
        let ended = self.attempt_ended(scope, job_id, attempt).await?;
        let lines = self.store.output_after(job_id, attempt, after, limit).await?;
        Ok(OutputPage { attempt, lines, ended })
    }

    /// The attempt's marker line, if lines were dropped.
    pub async fn output_marker(&self, job_id: Uuid, attempt: u32) -> Result<Option<OutputLine>> {
        self.store.output_marker(job_id, attempt).await
    }

    /// Whether the attempt is over: a later one has started, it will never
    /// start, or the job no longer runs it and its program is not being
    /// stopped any more (a cancel leaves the attempt's lease in place until
    /// its end, last lines included, is stored; a lease that expired means
    /// its node was lost). A job deleted meanwhile is NOT_FOUND.
    pub async fn attempt_ended(&self, scope: &Scope, job_id: Uuid, attempt: u32) -> Result<bool> {
        let job = self.store.job_for_user(scope, job_id).await?;
        let over = match job.attempt.cmp(&attempt) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal if job.state == JobState::Processing => false,
            std::cmp::Ordering::Equal => !self.store.stopping_attempt(job_id, attempt).await?,
            // Not started yet: over only if it never will be.
            std::cmp::Ordering::Less => job.state.is_finished(),
        };
        Ok(over)
    }
}

/// The group with every line made storable (no NUL).
pub(super) fn storable_group(group: OutputGroup) -> OutputGroup {
    let lines = group
        .lines
        .into_iter()
        .map(|line| match storable(&line.text) {
            std::borrow::Cow::Borrowed(_) => line,
            std::borrow::Cow::Owned(text) => OutputLine { text, ..line },
        })
        .collect();
    OutputGroup { lines, dropped: group.dropped }
}

/// Stores the group in `txn` (nothing to do when it is empty); `false` when
/// the attempt no longer holds the job.
pub(super) async fn store_output_in(txn: &Txn, id: Uuid, attempt: u32, group: &OutputGroup) -> Result<bool> {
    if group.is_empty() {
        return Ok(false);
    }
    Store::append_output_in(txn, id, attempt, &group.lines, group.dropped).await
}
