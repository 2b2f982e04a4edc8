//! The worker pool: takes job ids from the queue, claims each job in the
//! database, runs it through the supervisor, records its progress and ending,
//! and publishes every change on the event hub.
mod intake;
mod maintenance;
pub use intake::Intake;
pub use maintenance::Retention;
mod running;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use uuid::Uuid;

use crate::domain::retry::RetryPolicy;
use crate::domain::{Job, JobEventKind};
use crate::domain::{Outcome, RetryAdvice};
use crate::error::{Error, Result};
use crate::events::EventBus;
use crate::queue::{JobQueue, QueueError, QueueItem};
use crate::store::{Claim, Store};
use crate::supervisor::parse::Progress;
use crate::supervisor::{Report, Supervisor};
use crate::telemetry;
pub use running::RunningJobs;

/// Progress updates buffered between the program's output and the database.
const PROGRESS_BUFFER: usize = 16;
/// A job whose owner is at the per-user cap is offered again after this.
const CAP_RECHECK: Duration = Duration::from_secs(1);
/// Item-counter progress is written at most this often per job.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Keeps every milestone and, of the item counters, only one that no later
/// update supersedes.
fn coalesce(updates: Vec<Progress>) -> Vec<Progress> {
    let last = updates.len().saturating_sub(1);
    updates.into_iter().enumerate().filter(|(i, update)| update.milestone || *i == last).map(|(_, u)| u).collect()
}

/// Everything a worker needs to run a job; shared by all workers.
pub struct JobRunner {
    pub store: Store,
    pub queue: Arc<dyn JobQueue>,
    /// Submissions are refused while this many jobs wait.
    pub queue_capacity: usize,
    pub events: EventBus,
    pub supervisor: Supervisor,
    pub retry: RetryPolicy,
    /// How long a claim lasts without renewal; renewed every third of it.
    pub lease: Duration,
    /// At most this many of one user's jobs process at once (all nodes).
    pub per_user_cap: Option<u32>,
}

impl JobRunner {
    /// Starts `count` workers. They stop taking jobs when `stop_taking`
    /// fires and stop running programs (handing the jobs back) when
    /// `stop_running` does, which the node fires after a grace period.
    pub fn spawn_workers(
        self: &Arc<Self>,
        count: usize,
        stop_taking: &CancellationToken,
        stop_running: &CancellationToken,
        tracker: &TaskTracker,
    ) {
        for _ in 0..count {
            let (runner, stop_taking, stop_running) = (Arc::clone(self), stop_taking.clone(), stop_running.clone());
            tracker.spawn(async move {
                loop {
                    let job_id = tokio::select! {
                        _ = stop_taking.cancelled() => return,
                        job_id = runner.queue.pop() => job_id,
                    };
                    if let Err(error) = runner.run(job_id, &stop_running).await {
                        tracing::error!(%job_id, error = format!("{error:#}"), "job run failed; its lease expires and the reaper queues it again");
                    }
                }
            });
        }
    }

    /// Refuses `adding` more jobs when the queue would pass its capacity.
    pub async fn ensure_room(&self, adding: usize) -> Result<()> {
        let waiting = self.queue.waiting().await.map_err(|e| Error::Unavailable(e.to_string()))?;
        if waiting + adding > self.queue_capacity {
            return Err(Error::ResourceExhausted(format!(
                "{waiting} jobs are waiting; {adding} more would pass the limit of {}; try again later",
                self.queue_capacity
            )));
        }
        Ok(())
    }

    /// Queues a job that is QUEUED or RETRYING in the database.
    pub async fn enqueue(&self, job: &Job, ready_at: Option<chrono::DateTime<Utc>>) -> Result<(), QueueError> {
        self.queue.push(QueueItem::at(job, ready_at)).await
    }

    async fn run(&self, job_id: Uuid, stop_running: &CancellationToken) -> Result<()> {
        let job = match self.store.claim(job_id, self.lease, self.per_user_cap).await? {
            Claim::Claimed(job) => job,
            Claim::Gone => return Ok(()),
            Claim::OwnerAtCap(job) => {
                // Offered again shortly; meanwhile other users' jobs run.
                let later = Utc::now() + CAP_RECHECK;
                self.enqueue_or_log(&job, Some(later)).await;
                return Ok(());
            }
        };
        let span = tracing::info_span!("job", job_id = %job.id, user = %job.user_id, attempt = job.attempt);
        self.run_claimed(job, stop_running).instrument(span).await
    }

    async fn run_claimed(&self, job: Job, stop_running: &CancellationToken) -> Result<()> {
        tracing::info!(url = %job.url, "attempt started");
        self.events.publish(JobEventKind::Processing, job.clone()).await;

        let stop = stop_running.child_token();
        let running = &self.events.running;
        running.insert(job.id, stop.clone());
        let (progress_tx, progress_rx) = mpsc::channel(PROGRESS_BUFFER);
        let work = async {
            tokio::join!(self.supervisor.run(&job, progress_tx, stop.clone()), self.record_progress(&job, progress_rx))
        };
        let started = std::time::Instant::now();
        let programs = metrics::gauge!(telemetry::RUNNING_PROGRAMS);
        programs.increment(1.0);
        let (report, recorded) = tokio::select! {
            done = work => done,
            never = self.keep_lease(&job, &stop) => match never {},
        };
        programs.decrement(1.0);
        let outcome = report.outcome.label();
        metrics::histogram!(telemetry::ATTEMPT_DURATION, "outcome" => outcome).record(started.elapsed().as_secs_f64());
        running.remove(job.id);
        recorded?;
        self.finish(job, report).await
    }

    /// Renews the job's lease while it runs; if the lease is lost (the job
    /// was cancelled, or reaped after this node stalled) the program is
    /// stopped. Never returns: the caller drops it when the run ends.
    async fn keep_lease(&self, job: &Job, stop: &CancellationToken) -> std::convert::Infallible {
        let mut ticks = tokio::time::interval(self.lease / 3);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match self.store.renew_lease(job.id, job.attempt, self.lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("lost the job's lease; stopping its program");
                    stop.cancel();
                    return std::future::pending().await;
                }
                Err(error) => tracing::warn!(%error, "could not renew the lease; trying again"),
            }
        }
    }

    /// Writes and publishes progress: every stage milestone, and item
    /// counters at most once per `PROGRESS_INTERVAL` (a flood of
    /// `[i/N]` lines becomes a few writes, never one per line).
    async fn record_progress(&self, job: &Job, mut updates: mpsc::Receiver<Progress>) -> Result<()> {
        let mut last_write: Option<tokio::time::Instant> = None;
        while let Some(first) = updates.recv().await {
            let mut batch = vec![first];
            if let Some(at) = last_write.filter(|_| !batch[0].milestone) {
                tokio::time::sleep_until(at + PROGRESS_INTERVAL).await;
            }
            while let Ok(more) = updates.try_recv() {
                batch.push(more);
            }
            // One write for what arrived together (the row ends at the last
            // update); one event for each milestone it passed through.
            let updates = coalesce(batch);
            let Some(last) = updates.last() else { continue };
            let Some(stored) = self.store.record_progress(job.id, job.attempt, &last.stage, last.percent).await? else {
                continue;
            };
            let snapshots = updates
                .into_iter()
                .map(|update| Job { stage: update.stage, progress_percent: update.percent, ..stored.clone() })
                .collect();
            self.events.publish_all(JobEventKind::Progress, snapshots).await;
            last_write = Some(tokio::time::Instant::now());
        }
        Ok(())
    }

    async fn finish(&self, job: Job, report: Report) -> Result<()> {
        let (id, attempt, log_tail) = (job.id, job.attempt, report.log_tail.as_str());
        match report.outcome {
            Outcome::Succeeded(notes) => {
                if let Some(done) = self.store.complete(id, attempt, notes, log_tail).await? {
                    tracing::info!(notes = done.note_ids.len(), "job completed");
                    metrics::counter!(telemetry::JOBS_FINISHED, "outcome" => "completed").increment(1);
                    self.events.publish(JobEventKind::Completed, done).await;
                }
            }
            Outcome::Failed(failure)
                if failure.retry == RetryAdvice::Retry && RetryPolicy::should_retry(attempt, job.max_attempts) =>
            {
                let reason = failure.reason;
                let delay = self.retry.delay_after(attempt);
                let run_after = Utc::now() + delay;
                if let Some(waiting) = self.store.schedule_retry(id, attempt, &reason, run_after, log_tail).await? {
                    tracing::warn!(%reason, retry_in_ms = delay.as_millis() as u64, "attempt failed; retrying");
                    metrics::counter!(telemetry::JOB_RETRIES).increment(1);
                    self.events.publish(JobEventKind::Retrying, waiting.clone()).await;
                    self.enqueue_or_log(&waiting, Some(run_after)).await;
                }
            }
            Outcome::Failed(failure) => {
                let reason = failure.reason;
                if let Some(failed) = self.store.fail(id, attempt, &reason, log_tail).await? {
                    tracing::warn!(%reason, "job failed");
                    metrics::counter!(telemetry::JOBS_FINISHED, "outcome" => "failed").increment(1);
                    self.events.publish(JobEventKind::Failed, failed).await;
                }
            }
            Outcome::Stopped => {
                // Cancelled (the row already says so, and this is a no-op) or
                // the node is stopping: hand the job back.
                if let Some(queued) = self.store.release(id, attempt).await? {
                    tracing::info!("attempt interrupted; job queued again");
                    self.events.publish(JobEventKind::Queued, queued).await;
                }
            }
        }
        Ok(())
    }

    async fn enqueue_or_log(&self, job: &Job, ready_at: Option<chrono::DateTime<Utc>>) {
        if let Err(error) = self.enqueue(job, ready_at).await {
            tracing::error!(job_id = %job.id, %error, "could not queue the job; the reconciler queues it later");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(stage: &str, percent: u32, milestone: bool) -> Progress {
        Progress { stage: stage.into(), percent, milestone }
    }

    #[test]
    fn a_flood_of_item_counters_coalesces_but_milestones_never_do() {
        let flood: Vec<_> = (1..=500).map(|i| update(&format!("processing video {i}/500"), i / 5, false)).collect();
        assert_eq!(coalesce(flood), [update("processing video 500/500", 100, false)]);
        let mixed = vec![
            update("processing video 1/2", 2, false),
            update("fetching transcript", 7, true),
            update("processing video 2/2", 52, false),
            update("notes generated", 80, true),
        ];
        let kept: Vec<_> = coalesce(mixed).into_iter().map(|u| u.stage).collect();
        assert_eq!(kept, ["fetching transcript", "notes generated"]);
    }
}
