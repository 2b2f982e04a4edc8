//! Transitions people drive: submit (in groups, from the intake), submit a
//! batch, cancel, cancel a batch, retry, reprocess and delete. Each writes and logs in
//! one transaction, then queues or signals.
use uuid::Uuid;

use super::Jobs;
use super::commit::{Committer, Logged};
use crate::domain::job::{NewJob, Rerun};
use crate::domain::{Batch, Job, JobEventKind, Scope, UserId};
use crate::error::{Error, Result};
use crate::queue::{JobQueue, QueueError, QueueItem};
use crate::store::Store;
use crate::telemetry;

/// Stores a group of submissions with their QUEUED events, then queues the
/// new ones. Each comes back as its job and whether it is new, or refused
/// when the queue is full (the queue's own check is the only one: what it
/// refuses is withdrawn, CANCELLED with the reason, and never runs).
pub(super) async fn submit_group(
    committer: &Committer,
    queue: &dyn JobQueue,
    news: Vec<NewJob>,
) -> Result<Vec<Result<(Job, bool)>>> {
    let results = committer
        .commit(move |txn| {
            let news = news.clone();
            Box::pin(async move {
                let results = Store::insert_jobs(txn, news).await?;
                let created = results.iter().filter(|(_, new)| *new).map(|(job, _)| job.clone());
                let logged = Logged::each(JobEventKind::Queued, created);
                Ok((results, logged))
            })
        })
        .await?;
    let created: Vec<&Job> = results.iter().filter(|(_, new)| *new).map(|(job, _)| job).collect();
    let items: Vec<QueueItem> = created.iter().map(|job| QueueItem::of(job)).collect();
    let refused = queue_or_refuse(committer, queue, &items).await.err();
    metrics::counter!(telemetry::JOBS_SUBMITTED).increment(if refused.is_some() { 0 } else { items.len() as u64 });
    Ok(results
        .into_iter()
        .map(|(job, new)| match &refused {
            Some(message) if new => Err(Error::ResourceExhausted(message.clone())),
            _ => Ok((job, new)),
        })
        .collect())
}

/// Queues jobs just stored. If the queue is full they are withdrawn and the
/// refusal comes back; if it cannot be reached they stay stored and the
/// reconciler queues them once it is back (no submission is lost).
async fn queue_or_refuse(committer: &Committer, queue: &dyn JobQueue, items: &[QueueItem]) -> Result<(), String> {
    if items.is_empty() {
        return Ok(());
    }
    match super::dispatch_within(queue, items).await {
        Ok(_) => Ok(()),
        Err(QueueError::Unavailable(error)) => {
            tracing::warn!(%error, jobs = items.len(), "jobs stored but not queued yet; the reconciler queues them");
            Ok(())
        }
        Err(QueueError::Full(waiting)) => {
            let message = format!("{waiting} jobs are waiting, the most the queue holds; try again later");
            let ids: Vec<Uuid> = items.iter().map(|item| item.job_id).collect();
            let reason = format!("refused: {message}");
            let withdrawn = committer
                .commit(move |txn| {
                    let (ids, reason) = (ids.clone(), reason.clone());
                    Box::pin(async move {
                        let jobs = Store::withdraw(txn, &ids, &reason).await?;
                        Ok(((), Logged::each(JobEventKind::Cancelled, jobs)))
                    })
                })
                .await;
            if let Err(error) = withdrawn {
                tracing::error!(error = %error.detail(), "could not withdraw jobs the full queue refused");
            }
            Err(message)
        }
    }
}

impl Jobs {
    /// Submits one job (grouped with others that arrive together); returns
    /// it and whether it is new (false: the caller's waiting duplicate).
    pub async fn submit(&self, new: NewJob) -> Result<(Job, bool)> {
        self.intake.submit(new).await
    }

    /// Stores a batch and its children with their QUEUED events in one
    /// transaction, then queues the children.
    pub async fn submit_batch(
        &self,
        user: UserId,
        subject: String,
        children: Vec<NewJob>,
    ) -> Result<(Batch, Vec<Job>)> {
        let (batch, jobs) = self
            .committer
            .commit(move |txn| {
                let (user, subject, children) = (user.clone(), subject.clone(), children.clone());
                Box::pin(async move {
                    let (batch, jobs) = Store::insert_batch(txn, &user, &subject, children).await?;
                    let logged = Logged::stored(jobs.iter().cloned());
                    Ok(((batch, jobs), logged))
                })
            })
            .await?;
        let items: Vec<QueueItem> = jobs.iter().map(QueueItem::of).collect();
        queue_or_refuse(&self.committer, self.queue.as_ref(), &items).await.map_err(Error::ResourceExhausted)?;
        tracing::info!(batch_id = %batch.id, user = %batch.user_id, total = batch.total, "batch submitted");
        metrics::counter!(telemetry::JOBS_SUBMITTED).increment(batch.total as u64);
        Ok((batch, jobs))
    }

    /// CANCELLED from any unfinished state; the program is stopped on
    /// whichever node runs it.
    pub async fn cancel(&self, scope: &Scope, id: Uuid) -> Result<Job> {
        let scope = scope.clone();
        let job = self
            .committer
            .commit(move |txn| {
                let scope = scope.clone();
                Box::pin(async move {
                    let job = Store::cancel(txn, &scope, id).await?;
                    Ok((job.clone(), vec![Logged::new(JobEventKind::Cancelled, job)]))
                })
            })
            .await?;
        self.transport.cancel(&[id]).await;
        tracing::info!(job_id = %id, user = %job.user_id, "job cancelled");
        metrics::counter!(telemetry::JOBS_FINISHED, "outcome" => "cancelled").increment(1);
        Ok(job)
    }

    /// Cancels every unfinished child and the batch; returns the batch.
    pub async fn cancel_batch(&self, scope: &Scope, id: Uuid) -> Result<Batch> {
        let owner = scope.clone();
        let cancelled = self
            .committer
            .commit(move |txn| {
                let scope = owner.clone();
                Box::pin(async move {
                    let jobs = Store::cancel_batch(txn, &scope, id).await?;
                    let ids: Vec<Uuid> = jobs.iter().map(|job| job.id).collect();
                    Ok((ids, Logged::each(JobEventKind::Cancelled, jobs)))
                })
            })
            .await?;
        self.transport.cancel(&cancelled).await;
        metrics::counter!(telemetry::JOBS_FINISHED, "outcome" => "cancelled").increment(cancelled.len() as u64);
        tracing::info!(batch_id = %id, cancelled = cancelled.len(), "batch cancelled");
        self.store.batch_for_user(scope, id).await
    }

    /// QUEUED again, with a full set of attempts, from FAILED or CANCELLED;
    /// at `priority` if given (a person's retry may go first).
    pub async fn retry(&self, scope: &Scope, id: Uuid, priority: Option<i32>) -> Result<Job> {
        let (scope, attempts) = (scope.clone(), self.rules.retry.max_attempts);
        let job = self
            .committer
            .commit(move |txn| {
                let scope = scope.clone();
                Box::pin(async move {
                    let job = Store::retry(txn, &scope, id, attempts, priority).await?;
                    Ok((job.clone(), vec![Logged::new(JobEventKind::Queued, job)]))
                })
            })
            .await?;
        self.dispatch(&[QueueItem::of(&job)]).await;
        Ok(job)
    }

    /// QUEUED again, with a full set of attempts and the changes `rerun`
    /// names, from COMPLETED or FAILED. Its notes stay until the new run
    /// stores its own, which then replace them.
    pub async fn reprocess(&self, scope: &Scope, id: Uuid, rerun: Rerun) -> Result<Job> {
        let (scope, attempts) = (scope.clone(), self.rules.retry.max_attempts);
        let job = self
            .committer
            .commit(move |txn| {
                let (scope, rerun) = (scope.clone(), rerun.clone());
                Box::pin(async move {
                    let job = Store::reprocess(txn, &scope, id, attempts, &rerun).await?;
                    Ok((job.clone(), vec![Logged::new(JobEventKind::Queued, job)]))
                })
            })
            .await?;
        tracing::info!(job_id = %id, user = %job.user_id, "job queued to be processed again");
        self.dispatch(&[QueueItem::of(&job)]).await;
        Ok(job)
    }

    /// Deletes a finished job, its notes and its events; its DELETED event
    /// is the last the log keeps of it.
    pub async fn delete(&self, scope: &Scope, id: Uuid) -> Result<Job> {
        let scope = scope.clone();
        self.committer
            .commit(move |txn| {
                let scope = scope.clone();
                Box::pin(async move {
                    let (job, counted) = Store::delete(txn, &scope, id).await?;
                    Ok((job.clone(), vec![Logged::deleted(job, counted)]))
                })
            })
            .await
    }
}
