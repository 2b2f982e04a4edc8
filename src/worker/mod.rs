//! The worker pool: takes job ids from the queue, claims each job in the
//! database, runs it through the supervisor, records its progress and ending,
//! and publishes every change on the event hub.
mod running;

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use uuid::Uuid;

use crate::domain::retry::RetryPolicy;
use crate::domain::{Job, JobEventKind};
use crate::error::Result;
use crate::events::EventHub;
use crate::queue::{JobQueue, QueueError, QueueItem};
use crate::store::Store;
use crate::supervisor::parse::Progress;
use crate::supervisor::{Outcome, Supervisor};
pub use running::RunningJobs;

/// Progress updates buffered between the program's output and the database.
const PROGRESS_BUFFER: usize = 16;

/// Everything a worker needs to run a job; shared by all workers.
pub struct JobRunner {
    pub store: Store,
    pub queue: Arc<dyn JobQueue>,
    /// Submissions are refused while this many jobs wait.
    pub queue_capacity: usize,
    pub hub: Arc<EventHub>,
    pub supervisor: Supervisor,
    pub retry: RetryPolicy,
    pub running: RunningJobs,
}

impl JobRunner {
    /// Starts `count` workers that stop taking jobs when `shutdown` fires.
    pub fn spawn_workers(self: &Arc<Self>, count: usize, shutdown: &CancellationToken, tracker: &TaskTracker) {
        for _ in 0..count {
            let (runner, shutdown) = (Arc::clone(self), shutdown.clone());
            tracker.spawn(async move {
                loop {
                    let job_id = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        job_id = runner.queue.pop() => job_id,
                    };
                    if let Err(error) = runner.run(job_id, &shutdown).await {
                        tracing::error!(%job_id, error = format!("{error:#}"), "job run failed; it is retried when the node restarts");
                    }
                }
            });
        }
    }

    /// Queues a job that is QUEUED or RETRYING in the database.
    pub async fn enqueue(&self, job: &Job, ready_at: Option<chrono::DateTime<Utc>>) -> Result<(), QueueError> {
        let ready_at = ready_at.map(|at| {
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            tokio::time::Instant::now() + wait
        });
        self.queue.push(QueueItem { job_id: job.id, priority: job.priority, ready_at }).await
    }

    async fn run(&self, job_id: Uuid, shutdown: &CancellationToken) -> Result<()> {
        let Some(job) = self.store.claim(job_id).await? else {
            return Ok(()); // cancelled, deleted or taken meanwhile
        };
        let span = tracing::info_span!("job", job_id = %job.id, user = %job.user_id, attempt = job.attempt);
        self.run_claimed(job, shutdown).instrument(span).await
    }

    async fn run_claimed(&self, job: Job, shutdown: &CancellationToken) -> Result<()> {
        tracing::info!(url = %job.url, "attempt started");
        self.hub.publish(JobEventKind::Processing, job.clone());

        let stop = shutdown.child_token();
        self.running.insert(job.id, stop.clone());
        let (progress_tx, progress_rx) = mpsc::channel(PROGRESS_BUFFER);
        let (outcome, recorded) =
            tokio::join!(self.supervisor.run(&job, progress_tx, stop), self.record_progress(&job, progress_rx));
        self.running.remove(job.id);
        recorded?;
        self.finish(job, outcome).await
    }

    /// Writes each progress change (a handful per video) and publishes it.
    async fn record_progress(&self, job: &Job, mut updates: mpsc::Receiver<Progress>) -> Result<()> {
        while let Some(update) = updates.recv().await {
            if let Some(job) = self.store.record_progress(job.id, job.attempt, &update.stage, update.percent).await? {
                self.hub.publish(JobEventKind::Progress, job);
            }
        }
        Ok(())
    }

    async fn finish(&self, job: Job, outcome: Outcome) -> Result<()> {
        let (id, attempt) = (job.id, job.attempt);
        match outcome {
            Outcome::Succeeded(notes) => {
                if let Some(done) = self.store.complete(id, attempt, notes).await? {
                    tracing::info!(notes = done.note_ids.len(), "job completed");
                    self.hub.publish(JobEventKind::Completed, done);
                }
            }
            Outcome::Failed(reason) if RetryPolicy::should_retry(attempt, job.max_attempts) => {
                let delay = self.retry.delay_after(attempt);
                let run_after = Utc::now() + delay;
                if let Some(waiting) = self.store.schedule_retry(id, attempt, &reason, run_after).await? {
                    tracing::warn!(%reason, retry_in_ms = delay.as_millis() as u64, "attempt failed; retrying");
                    self.hub.publish(JobEventKind::Retrying, waiting.clone());
                    self.enqueue_or_log(&waiting, Some(run_after)).await;
                }
            }
            Outcome::Failed(reason) => {
                if let Some(failed) = self.store.fail(id, attempt, &reason).await? {
                    tracing::warn!(%reason, "job failed");
                    self.hub.publish(JobEventKind::Failed, failed);
                }
            }
            Outcome::Stopped => {
                // Cancelled (the row already says so, and this is a no-op) or
                // the node is stopping: hand the job back.
                if let Some(queued) = self.store.release(id, attempt).await? {
                    tracing::info!("attempt interrupted; job queued again");
                    self.hub.publish(JobEventKind::Queued, queued);
                }
            }
        }
        Ok(())
    }

    async fn enqueue_or_log(&self, job: &Job, ready_at: Option<chrono::DateTime<Utc>>) {
        if let Err(error) = self.enqueue(job, ready_at).await {
            tracing::error!(job_id = %job.id, %error, "could not queue the job; it runs after the next restart");
        }
    }
}
