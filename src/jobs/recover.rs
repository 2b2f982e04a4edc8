//! Transitions that recover jobs nobody holds: the reaper's (a lease
//! expired), start-up's (an embedded node was stopped mid-run) and the
//! reconciler's (the queue lost what the database says is waiting). The
//! first two also end the attempts of cancelled jobs whose node was lost
//! while it stopped their programs, and tell those attempts' watchers.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Jobs;
use super::commit::Logged;
use crate::domain::JobEventKind;
use crate::domain::pause::holding;
use crate::error::{Error, Result};
use crate::queue::{QueueError, QueueItem};
use crate::store::{Reaped, Store};
use crate::telemetry;

/// Waiting jobs read from the database per reconcile step.
const RECONCILE_PAGE: u64 = 1000;

impl Jobs {
    /// Hands back every job whose lease expired: QUEUED again (each with
    /// its event, then queued together; a job the queue refuses now is
    /// queued by the reconciler), or FAILED if that was its last attempt.
    /// A cancelled job whose program's stop was never recorded has that
    /// attempt recorded CANCELLED. Returns how many it handed back or ended.
    pub async fn reap(&self) -> Result<usize> {
        let reaped = self.hand_back(|txn| Box::pin(Store::reap_expired_leases(txn))).await?;
        for job in &reaped.requeued {
            tracing::warn!(job_id = %job.id, attempt = job.attempt, "lease expired; job queued again");
        }
        Ok(reaped.requeued.len() + reaped.failed.len() + reaped.stopped.len())
    }

    /// Whether the database answers now.
    pub async fn database_reachable(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// Hands back what this embedded node was running when it stopped, so
    /// it runs again now rather than when its lease would have expired.
    pub async fn requeue_interrupted(&self) -> Result<usize> {
        let reaped = self.hand_back(|txn| Box::pin(Store::requeue_interrupted(txn))).await?;
        Ok(reaped.requeued.len() + reaped.failed.len() + reaped.stopped.len())
    }

    async fn hand_back<F>(&self, select: F) -> Result<Reaped>
    where
        F: for<'t> Fn(&'t crate::store::GroupTxn) -> futures::future::BoxFuture<'t, Result<Reaped>>
            + Send
            + Sync
            + 'static,
    {
        let reaped = self
            .committer
            .commit(move |txn| {
                let reaping = select(txn);
                Box::pin(async move {
                    let reaped = reaping.await?;
                    for record in super::history::lost_attempts(&reaped) {
                        txn.append_attempt(&record);
                    }
                    let mut logged = Logged::each(JobEventKind::Queued, reaped.requeued.iter().cloned());
                    logged.extend(Logged::each(JobEventKind::Failed, reaped.failed.iter().cloned()));
                    Ok((reaped, logged))
                })
            })
            .await?;
        for job in &reaped.failed {
            tracing::warn!(job_id = %job.id, attempt = job.attempt, "lease expired on the last attempt; job failed");
        }
        for job in &reaped.stopped {
            tracing::warn!(job_id = %job.id, attempt = job.attempt, "the node stopping a cancelled job's program was lost");
            self.send_last_output(job, None).await;
        }
        metrics::counter!(telemetry::JOBS_FINISHED, "outcome" => "failed").increment(reaped.failed.len() as u64);
        let items: Vec<QueueItem> = reaped.requeued.iter().map(QueueItem::of).collect();
        self.dispatch(&items).await;
        Ok(reaped)
    }

    /// Deletes events older than `before` from the log; returns how many.
    pub async fn trim_events(&self, before: DateTime<Utc>) -> Result<u64> {
        self.store.trim_events(before).await
    }

    /// Removes COMPLETED jobs finished before `completed_before` and FAILED
    /// or CANCELLED ones finished before `failed_before`, with their events
    /// (their notes stay); returns how many.
    pub async fn remove_expired(&self, completed_before: DateTime<Utc>, failed_before: DateTime<Utc>) -> Result<u64> {
        self.store.remove_expired_jobs(completed_before, failed_before).await
    }

    /// Puts back every waiting job the queue lacks; returns how many. A
    /// paused job stays out, or waits delayed until its pause's resume time.
    /// A job a worker took from the queue less than the rules' claim grace ago is
    /// left out too: the database says it waits only until its claim
    /// commits (put back, it would wait in the queue while it runs); if the
    /// claim never comes, a later round puts it back.
    pub async fn reconcile(&self) -> Result<usize> {
        let mut restored = 0;
        let mut after: Option<Uuid> = None;
        let pauses = self.store.pauses().await?;
        let now = Utc::now();
        loop {
            let page = self.store.waiting_jobs(after, RECONCILE_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.id);
            let items: Vec<QueueItem> = page
                .iter()
                .filter_map(|(job, run_after)| match holding(&pauses, job, now) {
                    None => Some(QueueItem::at(job, *run_after)),
                    Some(pause) => {
                        pause.resume_at.map(|at| QueueItem::at(job, Some(run_after.map_or(at, |own| own.max(at)))))
                    }
                })
                .collect();
            match self.queue.restore_untaken(&items, self.rules.claim_grace).await {
                Ok(added) => restored += added,
                Err(QueueError::Full(waiting)) => {
                    tracing::warn!(waiting, "the queue is full; the other waiting jobs are queued once there is room");
                    break;
                }
                Err(error) => return Err(Error::Unavailable(error.to_string())),
            }
            if (page.len() as u64) < RECONCILE_PAGE {
                break;
            }
        }
        if restored > 0 {
            tracing::warn!(restored, "queued jobs the database says are waiting but the queue did not hold");
        }
        Ok(restored)
    }
}
