//! Background upkeep that keeps the queue honest to the database, the source
//! of truth: the reaper hands back jobs whose lease expired (their node died),
//! and the reconciler queues every job the database says is waiting but the
//! queue does not hold (Redis restarted empty, an enqueue that failed).
//! Both run on a timer: a node that dies sends no notification.
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::JobRunner;
use crate::domain::JobEventKind;
use crate::queue::QueueItem;

/// How long what has finished is kept.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub events: Duration,
    pub completed_jobs: Duration,
    pub failed_jobs: Duration,
}

/// Waiting jobs read from the database per reconcile step.
const RECONCILE_PAGE: u64 = 1000;

impl JobRunner {
    /// Starts the reaper (every `reap_every`) and the reconciler (every
    /// `reconcile_every`) until `stop` fires.
    pub fn spawn_maintenance(
        self: &Arc<Self>,
        reap_every: Duration,
        reconcile_every: Duration,
        retention: Retention,
        stop: &CancellationToken,
        tracker: &TaskTracker,
    ) {
        let (runner, stop) = (Arc::clone(self), stop.clone());
        tracker.spawn(async move {
            let mut reap = tokio::time::interval(reap_every);
            let mut reconcile = tokio::time::interval(reconcile_every);
            reap.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = reap.tick() => {
                        if let Err(error) = runner.reap().await {
                            tracing::warn!(error = format!("{error:#}"), "reaping expired leases failed");
                        }
                        if let Ok(waiting) = runner.queue.waiting().await {
                            metrics::gauge!(crate::telemetry::QUEUE_DEPTH).set(waiting as f64);
                        }
                    }
                    _ = reconcile.tick() => {
                        if let Err(error) = runner.reconcile().await {
                            tracing::warn!(error = format!("{error:#}"), "reconciling the queue failed");
                        }
                        runner.apply_retention(retention).await;
                    }
                }
            }
        });
    }

    /// Trims old events and removes old finished jobs (their notes stay).
    pub async fn apply_retention(&self, retention: Retention) {
        let now = chrono::Utc::now();
        match self.store.trim_events(now - retention.events).await {
            Ok(0) => {}
            Ok(trimmed) => tracing::info!(trimmed, "trimmed old events from the log"),
            Err(error) => tracing::warn!(%error, "trimming the event log failed"),
        }
        match self.store.remove_expired_jobs(now - retention.completed_jobs, now - retention.failed_jobs).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed finished jobs past their retention"),
            Err(error) => tracing::warn!(%error, "removing old jobs failed"),
        }
    }

    /// Queues again every job whose lease expired; returns how many.
    pub async fn reap(&self) -> anyhow::Result<usize> {
        let reaped = self.store.reap_expired_leases().await?;
        for job in &reaped {
            tracing::warn!(job_id = %job.id, attempt = job.attempt, "lease expired; job queued again");
            self.events.publish(JobEventKind::Queued, job.clone()).await;
            self.queue.push(QueueItem::now(job)).await?;
        }
        Ok(reaped.len())
    }

    /// Puts back every waiting job the queue lacks; returns how many.
    pub async fn reconcile(&self) -> anyhow::Result<usize> {
        let mut restored = 0;
        let mut after: Option<Uuid> = None;
        loop {
            let page = self.store.waiting_jobs(after, RECONCILE_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.id);
            let items: Vec<QueueItem> = page.iter().map(|(job, run_after)| QueueItem::at(job, *run_after)).collect();
            restored += self.queue.restore(&items).await?;
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
