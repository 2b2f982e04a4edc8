//! The queue says which job runs next; it holds ids, never job data. The
//! database is the source of truth, so a queue that loses its contents loses
//! no job: start-up puts back every job the database says is waiting.
mod memory;

use async_trait::async_trait;
use tokio::time::Instant;
use uuid::Uuid;

pub use memory::MemoryQueue;

/// One entry: a job, its priority (higher first, FIFO within a priority) and,
/// for a retry waiting out its backoff, when it becomes ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueItem {
    pub job_id: Uuid,
    pub priority: i32,
    pub ready_at: Option<Instant>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueueError {
    #[error("the queue is full ({0} jobs waiting)")]
    Full(usize),
}

#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    async fn push(&self, item: QueueItem) -> Result<(), QueueError>;
    /// Waits, without polling, until a job is ready and takes it. Dropping the
    /// future before it completes takes nothing.
    async fn pop(&self) -> Uuid;
    /// How many jobs wait, ready or delayed.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
