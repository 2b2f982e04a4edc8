//! The program's output as the core keeps it: the worker hands over each
//! group of lines; they are stored (fenced by the attempt: in a transaction
//! of their own on PostgreSQL, in the transitions' writer on SQLite, which
//! has one writer) and then sent to watchers on every node. Readers page through what is stored, and learn
//! whether the attempt has ended, so a follower knows when to stop.
use std::sync::Arc;

use uuid::Uuid;

use super::Jobs;
use crate::domain::attempt::storable;
use crate::domain::{Dropped, Job, JobState, OutputChunk, OutputLine, Scope};
use crate::error::{Error, Result};
use crate::store::Store;

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
    /// Stores the attempt's next lines (after removing what `dropped`
    /// covers and putting its marker there), then sends them live. Lines of
    /// an attempt that no longer holds the job are not stored.
    pub async fn record_output(&self, job: &Job, lines: Vec<OutputLine>, dropped: Option<Dropped>) -> Result<()> {
        let lines: Vec<OutputLine> = lines
            .into_iter()
            .map(|line| match storable(&line.text) {
                std::borrow::Cow::Borrowed(_) => line,
                std::borrow::Cow::Owned(text) => OutputLine { text, ..line },
            })
            .collect();
        let (id, attempt) = (job.id, job.attempt);
        let stored = if self.store.is_sqlite() {
            // SQLite has one writer: the lines join the transitions' groups
            // rather than contend with them for the lock.
            let shared = Arc::new(lines.clone());
            self.committer
                .commit(move |txn| {
                    let lines = Arc::clone(&shared);
                    Box::pin(async move {
                        Ok((Store::append_output_in(txn, id, attempt, &lines, dropped).await?, Vec::new()))
                    })
                })
                .await?
        } else {
            self.store.append_output(id, attempt, &lines, dropped).await?
        };
        if !stored {
            return Ok(());
        }
        let mut sent = Vec::with_capacity(lines.len() + 1);
        sent.extend(dropped.map(|dropped| dropped.marker()));
        sent.extend(lines);
        self.transport.deliver_output(OutputChunk { job_id: job.id, attempt: job.attempt, lines: sent }).await;
        Ok(())
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

    /// Whether the attempt is over: a later one has started, the job no
    /// longer runs it, or it will never start. A job deleted meanwhile is NOT_FOUND.
    pub async fn attempt_ended(&self, scope: &Scope, job_id: Uuid, attempt: u32) -> Result<bool> {
        let job = self.store.job_for_user(scope, job_id).await?;
        let over = match job.attempt.cmp(&attempt) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => job.state != JobState::Processing,
            // Not started yet: over only if it never will be.
            std::cmp::Ordering::Less => job.state.is_finished(),
        };
        Ok(over)
    }
}
