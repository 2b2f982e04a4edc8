//! Transitions of an attempt, as workers drive them: claim a job, record its
//! progress, keep its lease, and finish it as the supervisor's outcome says
//! (completed, retrying, failed, or released back to the queue).
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Jobs;
use super::commit::{Applied, Completing, Logged};
use super::output::{storable_group, store_output_in};
use super::running::RunningJobs;
use crate::domain::attempt::storable;
use crate::domain::retry::RetryPolicy;
use crate::domain::{
    AttemptFacts, AttemptOutcome, AttemptRecord, Failure, FailureKind, Job, JobEventKind, NewNote, Outcome,
    OutputGroup, StageUpdate,
};
use crate::error::Result;
use crate::queue::QueueItem;
use crate::store::{Claim, GroupTxn, Lease, Store};
use crate::telemetry;

/// A job whose owner is at the per-user cap is offered again after this.
const CAP_RECHECK: Duration = Duration::from_secs(1);

/// A job this node holds: PROCESSING under its attempt, with the token
/// that stops its program (fired by a cancel from any node). Dropping it
/// forgets the token.
pub struct Claimed {
    pub job: Job,
    pub stop: CancellationToken,
    _registration: Registration,
}

/// A stop token in the node's registry, removed when dropped.
struct Registration {
    job_id: Uuid,
    running: Arc<RunningJobs>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.running.remove(self.job_id);
    }
}

/// A job a worker is about to claim, its stop token already registered, so
/// a cancel that commits right after the claim still finds the program.
pub struct Held {
    job_id: Uuid,
    stop: CancellationToken,
    registration: Registration,
}

impl Held {
    /// Stops the program started for this job (by a cancel from any node,
    /// by the node stopping, or by the worker when the claim fails).
    pub fn stop(&self) -> &CancellationToken {
        &self.stop
    }
}

impl Jobs {
    /// Registers a stop token for `job_id`, a child of the node's `stop`.
    pub fn hold(&self, job_id: Uuid, stop: &CancellationToken) -> Held {
        let token = stop.child_token();
        self.running.insert(job_id, token.clone());
        Held { job_id, stop: token, registration: Registration { job_id, running: Arc::clone(&self.running) } }
    }

    /// The job as it waits, read without taking it, as its next attempt
    /// will run it: so a worker can start the program while the claim
    /// commits. `None` when it no longer waits or a pause holds it (then a
    /// claim, which parks it, tells which).
    pub async fn next_attempt(&self, job_id: Uuid) -> Result<Option<Job>> {
        let waiting = self.store.waiting_job(job_id).await?;
        Ok(waiting.map(|job| Job { attempt: job.attempt + 1, ..job }))
    }

    /// PROCESSING under the next attempt, if the job still waits (and its
    /// owner is under the per-user cap; if not, it is offered again
    /// shortly). `stop` is the node's: stopping it stops the program too.
    pub async fn claim(&self, job_id: Uuid, stop: &CancellationToken) -> Result<Option<Claimed>> {
        self.claim_held(self.hold(job_id, stop)).await
    }

    /// [`Jobs::claim`] for a job already held.
    pub async fn claim_held(&self, held: Held) -> Result<Option<Claimed>> {
        let Held { job_id, stop: token, registration } = held;
        let (lease, cap) = (self.rules.lease, self.rules.per_user_cap);
        let claim = self.committer.claim(job_id, lease, cap).await?;
        match claim {
            Claim::Claimed(job) => Ok(Some(Claimed { job, stop: token, _registration: registration })),
            Claim::OwnerAtCap(job) => {
                // Meanwhile other users' jobs run.
                self.dispatch(&[QueueItem::at(&job, Some(Utc::now() + CAP_RECHECK))]).await;
                Ok(None)
            }
            Claim::Paused(job) => {
                self.park(&job).await;
                Ok(None)
            }
            Claim::Gone => Ok(None),
        }
    }

    /// Extends the attempt's lease: held, kept while its cancelled program is
    /// being stopped, or lost (reaped after this node stalled, or a newer
    /// attempt took the job).
    pub async fn renew_lease(&self, job: &Job) -> Result<Lease> {
        self.store.renew_lease(job.id, job.attempt, self.rules.lease).await
    }

    /// Records the stages the program passed through since the last call:
    /// the row ends at the last, and each gets a PROGRESS event. Returns
    /// once handed to the writer: the attempt's later transitions cannot be
    /// overtaken, since progress only changes a job its attempt still holds
    /// (a lost job is noticed by the lease renewal).
    pub async fn record_progress(&self, job: &Job, updates: Vec<StageUpdate>) -> Result<()> {
        self.committer.progress(job.id, job.attempt, updates).await
    }

    /// Ends the attempt as its outcome says. Notes that cannot be stored
    /// end the job FAILED with the database's reason rather than being
    /// tried again forever.
    /// The attempt's record in its history, and `rest`, the last of its
    /// output (what gathered as the program ended), are written in the same
    /// transaction as its end.
    pub async fn finish(
        &self,
        claimed: &Claimed,
        outcome: &Outcome,
        log_tail: &str,
        facts: &AttemptFacts,
        rest: &OutputGroup,
    ) -> Result<()> {
        let job = &claimed.job;
        let log_tail = storable(log_tail).into_owned();
        let rest = Arc::new(storable_group(rest.clone()));
        match outcome {
            Outcome::Succeeded(notes) => match self.complete(job, notes, &log_tail, facts, &rest).await {
                Err(error) if error.is_storage() && !matches!(error, crate::error::Error::Unavailable(_)) => {
                    let reason = format!("the notes could not be stored: {}", error.detail());
                    tracing::error!(%reason, "storing the results failed; failing the job");
                    self.fail(job, Failure::permanent(reason), &log_tail, facts, &rest).await
                }
                done => done,
            },
            Outcome::Failed(failure) => self.failed(job, failure, &log_tail, facts, &rest).await,
            Outcome::Stopped => self.release(job, facts, &rest).await,
        }
    }

    async fn complete(
        &self,
        job: &Job,
        notes: &[NewNote],
        log_tail: &str,
        facts: &AttemptFacts,
        rest: &Arc<OutputGroup>,
    ) -> Result<()> {
        let (id, attempt, log_tail) = (job.id, job.attempt, log_tail.to_string());
        let record = self.attempt_record(job, AttemptOutcome::Succeeded, None, facts);
        let notes: Arc<Vec<NewNote>> = Arc::new(notes.iter().map(NewNote::storable).collect());
        let completing = Completing { id, attempt, log_tail: log_tail.clone() };
        let done = self
            .end_attempt(job, rest, facts, Some(completing), move |txn| {
                let (notes, log_tail, record) = (Arc::clone(&notes), log_tail.clone(), record.clone());
                Box::pin(async move {
                    let done = Store::complete(txn, id, attempt, &notes, &log_tail).await?;
                    record_if(txn, done.is_some(), &record);
                    let logged = Logged::each(JobEventKind::Completed, done.iter().cloned());
                    Ok((done, logged))
                })
            })
            .await?;
        if let Some(done) = done {
            tracing::info!(notes = done.note_ids.len(), "job completed");
            metrics::counter!(telemetry::JOBS_FINISHED, "outcome" => "completed").increment(1);
        }
        Ok(())
    }

    /// RETRYING after a backoff while attempts remain and the failure's kind
    /// says another may help; FAILED otherwise.
    async fn failed(
        &self,
        job: &Job,
        failure: &Failure,
        log_tail: &str,
        facts: &AttemptFacts,
        rest: &Arc<OutputGroup>,
    ) -> Result<()> {
        let failure = Failure::new(failure.kind, storable(&failure.reason).into_owned());
        let retry = failure.kind.is_retryable() && RetryPolicy::should_retry(job.attempt, job.max_attempts);
        if !retry {
            return self.fail(job, failure, log_tail, facts, rest).await;
        }
        let delay = self.rules.retry.delay_after(job.attempt);
        let run_after = Utc::now() + delay;
        let (id, attempt, log_tail, why) = (job.id, job.attempt, log_tail.to_string(), failure.clone());
        let record = self.attempt_record(job, AttemptOutcome::Failed, Some(&failure), facts);
        let waiting = self
            .end_attempt(job, rest, facts, None, move |txn| {
                let (why, log_tail, record) = (why.clone(), log_tail.clone(), record.clone());
                Box::pin(async move {
                    let waiting = Store::schedule_retry(txn, id, attempt, &why, run_after, &log_tail).await?;
                    record_if(txn, waiting.is_some(), &record);
                    let logged = Logged::each(JobEventKind::Retrying, waiting.iter().cloned());
                    Ok((waiting, logged))
                })
            })
            .await?;
        if let Some(waiting) = waiting {
            let (reason, kind) = (&failure.reason, failure.kind.as_str());
            tracing::warn!(%reason, kind, retry_in_ms = delay.as_millis() as u64, "attempt failed; retrying");
            metrics::counter!(telemetry::JOB_RETRIES).increment(1);
            self.dispatch(&[QueueItem::at(&waiting, Some(run_after))]).await;
        }
        Ok(())
    }

    async fn fail(
        &self,
        job: &Job,
        failure: Failure,
        log_tail: &str,
        facts: &AttemptFacts,
        rest: &Arc<OutputGroup>,
    ) -> Result<()> {
        let (id, attempt, why, log_tail) = (job.id, job.attempt, failure.clone(), log_tail.to_string());
        let record = self.attempt_record(job, AttemptOutcome::Failed, Some(&failure), facts);
        let failed = self
            .end_attempt(job, rest, facts, None, move |txn| {
                let (why, log_tail, record) = (why.clone(), log_tail.clone(), record.clone());
                Box::pin(async move {
                    let failed = Store::fail(txn, id, attempt, &why, &log_tail).await?;
                    record_if(txn, failed.is_some(), &record);
                    let logged = Logged::each(JobEventKind::Failed, failed.iter().cloned());
                    Ok((failed, logged))
                })
            })
            .await?;
        if failed.is_some() {
            let (reason, kind) = (&failure.reason, failure.kind.as_str());
            tracing::warn!(%reason, kind, "job failed");
            metrics::counter!(telemetry::JOBS_FINISHED, "outcome" => "failed").increment(1);
        }
        Ok(())
    }

    /// Cancelled (the row already says so, and this changes nothing: see
    /// [`Jobs::end_attempt`]) or the node is stopping: QUEUED again, the
    /// interrupted attempt not counted against the job, kept as INTERRUPTED,
    /// and queued for any node that still takes jobs.
    async fn release(&self, job: &Job, facts: &AttemptFacts, rest: &Arc<OutputGroup>) -> Result<()> {
        let (id, attempt) = (job.id, job.attempt);
        let interrupted = self.attempt_record(job, AttemptOutcome::Interrupted, None, facts);
        let queued = self
            .end_attempt(job, rest, facts, None, move |txn| {
                let interrupted = interrupted.clone();
                Box::pin(async move {
                    let queued = Store::release(txn, id, attempt).await?;
                    record_if(txn, queued.is_some(), &interrupted);
                    let logged = Logged::each(JobEventKind::Queued, queued.iter().cloned());
                    Ok((queued, logged))
                })
            })
            .await?;
        if let Some(queued) = queued {
            tracing::info!("attempt interrupted; job queued again");
            self.dispatch(&[QueueItem::of(&queued)]).await;
        }
        Ok(())
    }
}

impl Jobs {
    /// Commits an attempt's end (`change`, which answers the job it ended;
    /// `completing` when it is a completion) with `rest`, the attempt's last
    /// output lines, written in the same transaction, and sends those lines
    /// live once stored. If a person's cancel had taken the job while it ran
    /// (`change` then finds nothing to end), the attempt is recorded
    /// CANCELLED and the lease its stop held is cleared, in that transaction
    /// too, and its watchers are
    /// told that the attempt's end is stored (any other end changes the
    /// job's state, which tells them).
    async fn end_attempt<F>(
        &self,
        job: &Job,
        rest: &Arc<OutputGroup>,
        facts: &AttemptFacts,
        completing: Option<Completing>,
        change: F,
    ) -> Result<Option<Job>>
    where
        F: for<'t> Fn(&'t GroupTxn) -> BoxFuture<'t, Result<Applied<Option<Job>>>> + Send + Sync + 'static,
    {
        let (id, attempt, shared, change) = (job.id, job.attempt, Arc::clone(rest), Arc::new(change));
        let cancelled = self.attempt_record(job, AttemptOutcome::Cancelled, None, facts);
        let (ended, stored, stopped) = self
            .committer
            .commit_ending(completing, move |txn| {
                let (rest, change, cancelled) = (Arc::clone(&shared), Arc::clone(&change), cancelled.clone());
                Box::pin(async move {
                    let (ended, logged) = change(txn).await?;
                    let mut stopped = false;
                    if ended.is_none()
                        && let Some(job) = Store::end_stop(txn, id, attempt).await?
                    {
                        txn.append_attempt(&cancelled_record(cancelled, &job));
                        stopped = true;
                    }
                    // The attempt held the job when it ended or stopped, so
                    // its lines need no check of their own.
                    let stored = if rest.is_empty() {
                        false
                    } else if ended.is_some() || stopped {
                        txn.append_output(id, attempt, &rest.lines, rest.dropped).await?;
                        true
                    } else {
                        store_output_in(txn, id, attempt, &rest).await?
                    };
                    Ok(((ended, stored, stopped), logged))
                })
            })
            .await?;
        if stopped {
            self.send_last_output(job, stored.then_some(rest.as_ref())).await;
        } else if stored {
            self.send_output(job, rest).await;
        }
        Ok(ended)
    }
}

/// The record of an attempt a cancel ended: `record` with the job's reason
/// (the user's cancel, or the batch's).
fn cancelled_record(record: AttemptRecord, job: &Job) -> AttemptRecord {
    let reason = if job.error.is_empty() { "cancelled by the user".to_string() } else { job.error.clone() };
    AttemptRecord { failure_kind: Some(FailureKind::Cancelled), reason, ..record }
}

/// Keeps the attempt's record when its end was written (the attempt still
/// held the job).
fn record_if(txn: &GroupTxn, ended: bool, record: &AttemptRecord) {
    if ended {
        txn.append_attempt(record);
    }
}
