//! The application core: the one place that changes a job. Each transition
//! (submit, submit a batch, claim, record progress, finish an attempt as
//! completed, retrying, failed or released, cancel, cancel a batch, retry,
//! retry failed jobs in bulk, delete, pause, resume, reap, reconcile) is one
//! method here.
//! It runs its conditional write and logs its event in one transaction,
//! grouped with other transitions by the [`commit`] writer, then pushes to
//! the queue or sends the cancel signal, and counts the metric. Transports
//! and workers call these methods and nothing below them.
mod attempt;
mod commit;
pub mod drain;
mod estimate;
mod failures;
mod history;
mod intake;
mod log;
mod manage;
mod output;
mod pause;
mod recover;
mod running;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::domain::page::PageRequest;
use crate::domain::retry::RetryPolicy;
use crate::domain::{Batch, Job, JobFilter, Note, Scope};
use crate::error::Result;
use crate::events::{EventHub, EventTransport};
use crate::queue::{JobQueue, QueueError, QueueItem};
use crate::store::{JobStats, Store};
use commit::Committer;
use intake::Intake;

pub use crate::store::Lease;
pub use attempt::Claimed;
pub use drain::{Drain, NodeStatus};
pub use estimate::WATCHED_LINE;
pub use failures::{BulkRetry, FailureGroup, FailureGroups};
pub use log::EventLog;
pub use output::OutputPage;
pub use pause::PauseOf;
pub use running::RunningJobs;

/// The rules the core applies to every job.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub retry: RetryPolicy,
    /// How long a claim lasts without renewal; renewed every third of it.
    pub lease: Duration,
    /// At most this many of one user's jobs process at once (all nodes).
    pub per_user_cap: Option<u32>,
    /// How far ahead a submission may schedule its start.
    pub max_schedule_ahead: Duration,
    /// This node's workers: estimates count at least these as slots.
    pub workers: usize,
    /// How long after a worker took a job from the queue the reconciler
    /// still counts on that worker's claim: [`CLAIM_GRACE`], or the lease if
    /// shorter (a job whose lease expired is not being claimed).
    pub claim_grace: Duration,
}

/// A claim's grace on a node: well beyond a claim's commit, even one that
/// waits on a slow database, and within what the queue remembers.
pub const CLAIM_GRACE: Duration = Duration::from_secs(15);

/// What the core is built on.
pub struct Parts {
    pub store: Store,
    pub queue: Arc<dyn JobQueue>,
    pub transport: Arc<dyn EventTransport>,
    pub hub: Arc<EventHub>,
    /// The programs this node runs; the transport's cancels stop them.
    pub running: Arc<RunningJobs>,
}

/// When the core's writers stop: submissions when the node stops serving,
/// transitions once its workers are done.
pub struct Stops {
    pub intake: CancellationToken,
    pub writes: CancellationToken,
}

pub struct Jobs {
    store: Store,
    queue: Arc<dyn JobQueue>,
    transport: Arc<dyn EventTransport>,
    committer: Committer,
    intake: Intake,
    running: Arc<RunningJobs>,
    log: EventLog,
    rules: Rules,
    drain: Drain,
    /// This node's name, kept in the history of the attempts it runs.
    node: String,
    /// Woken when this node pauses or resumes, for its resumer.
    pause_changes: tokio::sync::Notify,
    rate: estimate::RateCache,
}

impl Jobs {
    /// The core, with its writers on `writes` and watch streams on
    /// `streams`. Submissions end once `stop.intake` fires, the writer of
    /// transitions once `stop.writes` does (each first writes what it was
    /// handed).
    pub fn start(parts: Parts, rules: Rules, writes: &TaskTracker, streams: &TaskTracker, stop: Stops) -> Jobs {
        let start = |in_flight| {
            Committer::start(parts.store.clone(), Arc::clone(&parts.transport), writes, stop.writes.clone(), in_flight)
        };
        // Transitions are written one group at a time: a busy user's groups
        // would queue on that user's sequence counter anyway, and one at a
        // time they gather instead of coming out small. Submissions, mostly
        // from many users, overlap on PostgreSQL; SQLite has one writer.
        let committer = start(1);
        let submissions = if parts.store.is_sqlite() { committer.clone() } else { start(4) };
        let intake = Intake::start(submissions, Arc::clone(&parts.queue), writes, stop.intake);
        let log = EventLog::new(parts.store.clone(), parts.hub, streams.clone());
        Jobs {
            store: parts.store,
            queue: parts.queue,
            transport: parts.transport,
            committer,
            intake,
            running: parts.running,
            log,
            rules,
            drain: Drain::default(),
            node: history::node_name(),
            pause_changes: tokio::sync::Notify::new(),
            rate: estimate::RateCache::default(),
        }
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The log and live hub, for watch streams.
    pub fn event_log(&self) -> &EventLog {
        &self.log
    }

    /// How many programs this node runs now.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// This node's draining, which its workers follow.
    pub fn drain(&self) -> &Drain {
        &self.drain
    }

    /// Drains this node (see [`drain`]); with `wait`, answers once drained.
    pub async fn drain_node(&self, wait: bool) -> NodeStatus {
        self.drain.start();
        if wait {
            self.drain.drained().await;
        }
        self.node_status()
    }

    pub fn node_status(&self) -> NodeStatus {
        self.drain.status(&self.node, self.running())
    }

    pub async fn job(&self, scope: &Scope, id: Uuid) -> Result<Job> {
        self.shown(self.store.job_for_user(scope, id).await?).await
    }

    pub async fn jobs(&self, scope: &Scope, filter: &JobFilter, page: PageRequest) -> Result<Vec<Job>> {
        self.shown_all(self.store.list_jobs(scope, filter, page).await?).await
    }

    pub async fn stats(&self, scope: &Scope) -> Result<JobStats> {
        self.store.job_stats(scope).await
    }

    pub async fn batch(&self, scope: &Scope, id: Uuid) -> Result<Batch> {
        self.store.batch_for_user(scope, id).await
    }

    pub async fn batches(&self, scope: &Scope, page: PageRequest) -> Result<Vec<Batch>> {
        self.store.list_batches(scope, page).await
    }

    pub async fn note(&self, scope: &Scope, id: Uuid) -> Result<Note> {
        self.store.note_for_user(scope, id).await
    }

    pub async fn notes(&self, scope: &Scope, job_id: Option<Uuid>, page: PageRequest) -> Result<Vec<Note>> {
        self.store.list_notes(scope, job_id, page).await
    }

    /// Waits, without polling, for the next job the queue says to run.
    pub async fn next(&self) -> Uuid {
        self.queue.pop().await
    }

    /// Returns when the queue is reachable again after it was lost.
    pub async fn queue_reconnected(&self) {
        self.queue.reconnected().await
    }

    /// How many jobs wait in the queue, ready or delayed.
    pub async fn waiting(&self) -> Result<usize> {
        self.queue.waiting().await.map_err(|e| crate::error::Error::Unavailable(e.to_string()))
    }

    /// Queues jobs that are QUEUED or RETRYING in the database. The jobs
    /// are stored; if the queue refuses them now, the reconciler queues them
    /// later, so nothing is lost.
    async fn dispatch(&self, items: &[QueueItem]) {
        if items.is_empty() {
            return;
        }
        if let Err(error) = dispatch_within(self.queue.as_ref(), items).await {
            tracing::warn!(%error, jobs = items.len(), "jobs stored but not queued yet; the reconciler queues them");
        }
    }
}

/// How long a transition waits for the queue before it answers anyway: the
/// jobs are stored, and the reconciler queues them once the queue is back.
const DISPATCH_WAIT: Duration = Duration::from_millis(500);

/// Queues `items`, or says the queue did not answer within [`DISPATCH_WAIT`].
async fn dispatch_within(queue: &dyn JobQueue, items: &[QueueItem]) -> Result<usize, QueueError> {
    match tokio::time::timeout(DISPATCH_WAIT, queue.restore(items)).await {
        Ok(result) => result,
        Err(_) => Err(QueueError::Unavailable(format!("no answer within {} ms", DISPATCH_WAIT.as_millis()))),
    }
}
