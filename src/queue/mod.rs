//! The queue says which job runs next; it holds ids, never job data. The
//! database is the source of truth, so a queue that loses its contents loses
//! no job: start-up and the reconciler put back every job the database says
//! is waiting (one a worker took moments ago, whose claim is on its way,
//! once its grace has passed).
mod keys;
mod memory;
mod place;
mod redis;
mod scripts;
mod taken;

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use uuid::Uuid;

pub use keys::{Keys, hash_tag};
pub use memory::MemoryQueue;
pub use place::{Place, jobs_ahead};
pub use redis::RedisQueue;

/// One entry: a job, its group (the user it belongs to), its priority (higher
/// first, FIFO within a priority, both within its group) and, for a retry
/// waiting out its backoff, when it becomes ready.
///
/// Both queues are fair across groups: they take from the groups that have a
/// ready job in turn (round-robin), each time that group's best job, so one
/// user's thousand jobs delay another user's single job by at most one job
/// per other busy user. Priorities order jobs within a group only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueItem {
    pub job_id: Uuid,
    pub group: String,
    pub priority: i32,
    pub ready_at: Option<Instant>,
}

impl QueueItem {
    /// A job that is ready now, or at its scheduled start if it has one.
    pub fn of(job: &crate::domain::Job) -> QueueItem {
        QueueItem::at(job, job.not_before)
    }

    /// A job that becomes ready at `run_after` (now, if that has passed).
    pub fn at(job: &crate::domain::Job, run_after: Option<chrono::DateTime<chrono::Utc>>) -> QueueItem {
        let ready_at = run_after.map(|at| Instant::now() + (at - chrono::Utc::now()).to_std().unwrap_or_default());
        QueueItem { job_id: job.id, group: job.user_id.clone(), priority: job.priority, ready_at }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueueError {
    #[error("the queue is full ({0} jobs waiting)")]
    Full(usize),
    /// The queue's backing service cannot be reached or answered an error.
    #[error("the queue is unavailable: {0}")]
    Unavailable(String),
}

/// How long a queue remembers that a pop took a job, for
/// [`JobQueue::restore_untaken`]: the longest grace it honours.
pub const TAKEN_KEPT: Duration = Duration::from_secs(60);

#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    async fn push(&self, item: QueueItem) -> Result<(), QueueError>;
    /// Waits, without polling, until a job is ready and takes it. Dropping the
    /// future before it completes takes nothing.
    async fn pop(&self) -> Uuid;
    /// How many jobs wait, ready or delayed.
    async fn waiting(&self) -> Result<usize, QueueError>;
    /// Adds the items the queue does not already hold (ready or delayed);
    /// returns how many it added. The reconciler calls this with what the
    /// database says is waiting, so calling it twice changes nothing.
    async fn restore(&self, items: &[QueueItem]) -> Result<usize, QueueError>;
    /// [`JobQueue::restore`], leaving out the ids a pop took less than
    /// `grace` ago (at most [`TAKEN_KEPT`]): the database still says such a
    /// job waits while its worker claims it. The reconciler restores with
    /// this, so a job being claimed is not queued a second time; one whose
    /// claim never came is restored once the grace has passed.
    async fn restore_untaken(&self, items: &[QueueItem], grace: Duration) -> Result<usize, QueueError>;
    /// Takes these ids out of the queue, ready or delayed, so they do not
    /// start: a paused job is parked outside the queue until its pause ends.
    /// Returns how many it held.
    async fn withdraw(&self, ids: &[Uuid]) -> Result<usize, QueueError>;
    /// Puts each item's id where the item says, whether or not the queue
    /// held it: delayed until its `ready_at`, or ready now, at the back of
    /// its priority in its group (which joins the back of the ring if it
    /// was not in it), in the order given. A resume puts its jobs back so.
    async fn replace(&self, items: &[QueueItem]) -> Result<(), QueueError>;
    /// Where each job waits; each pair is a job and its group.
    async fn places(&self, jobs: &[(Uuid, String)]) -> Result<Vec<Place>, QueueError>;
    /// The first `limit` ready jobs of each of these groups that has any,
    /// each with how many jobs leave the queue before it: (group, job, ahead).
    async fn lines(&self, groups: &[String], limit: usize) -> Result<Vec<(String, Uuid, u64)>, QueueError>;
    /// Returns when the queue's backing service is reachable again after it
    /// was lost (and may have lost what it held), so the reconciler puts
    /// back at once what the database says is waiting. Never returns for a
    /// queue that cannot be lost.
    async fn reconnected(&self) {
        std::future::pending().await
    }
}
