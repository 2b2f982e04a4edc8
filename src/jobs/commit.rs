//! Group commit of whole transitions. A transition is a function of the
//! transaction it runs in: its conditional write and the events it logs
//! commit together, so neither a crash nor another node's timing can lose an
//! event or put one before the change it follows. Transitions handed over
//! while a group is being written wait in a bounded channel and go out as
//! the next group: one transaction, one commit, then one live delivery
//! (after the callers are answered). A lone transition is written at once;
//! nothing waits for a timer. Callers wait for their own commit, so one
//! job's transitions reach the log in the order they happened, whichever
//! node writes them.
//!
//! A transition's refusal (not found, wrong state) is its answer and does
//! not disturb the group; a database error rolls the group back and each of
//! its transitions is tried again alone, so one transition that cannot be
//! stored (a NUL byte, a statement too large) fails only itself.
mod fold;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::domain::{Batch, Job, JobEvent, JobEventKind, JobState, StageUpdate};
use crate::error::{Error, Result};
use crate::events::EventTransport;
use crate::store::{Claim, GroupTxn, LogEntry, Store};
use fold::{ClaimOf, ProgressOf};

/// Transitions in one transaction at most.
const GROUP_MAX: usize = 256;
/// Transitions waiting for a group at most; callers wait beyond that.
const WAITING_MAX: usize = 4096;

/// An event a transition logs: what happened to which job. A change of
/// state of a batch's child also carries its batch, whose counts move once
/// per group.
pub struct Logged {
    kind: JobEventKind,
    job: Job,
    count_batch: Option<Uuid>,
    /// Whether the job's state may have changed since its batch counted it.
    recount: bool,
    /// A deleted child: the state its batch last counted it in.
    uncount: Option<JobState>,
}

impl Logged {
    pub fn new(kind: JobEventKind, job: Job) -> Logged {
        // Counts change with states only, so progress skips the count.
        let count_batch = job.batch_id.filter(|_| kind != JobEventKind::Progress);
        Logged { kind, job, count_batch, recount: true, uncount: None }
    }

    /// A batch's children just stored with it (and counted as they were).
    pub fn stored(jobs: impl IntoIterator<Item = Job>) -> Vec<Logged> {
        let stored = |job: Job| Logged { recount: false, ..Logged::new(JobEventKind::Queued, job) };
        jobs.into_iter().map(stored).collect()
    }

    /// A deleted job; a batch's child is taken off its batch's counts in
    /// `counted`, the state they last counted it in.
    pub fn deleted(job: Job, counted: Option<JobState>) -> Logged {
        let count_batch = job.batch_id;
        Logged { kind: JobEventKind::Deleted, job, count_batch, recount: false, uncount: counted }
    }

    /// One event per job, all of one kind.
    pub fn each(kind: JobEventKind, jobs: impl IntoIterator<Item = Job>) -> Vec<Logged> {
        jobs.into_iter().map(|job| Logged::new(kind, job)).collect()
    }
}

/// What a transition did: its answer and the events it logs.
pub type Applied<T> = (T, Vec<Logged>);

#[derive(Clone)]
pub struct Committer {
    pending: mpsc::Sender<Handed>,
}

impl Committer {
    /// Starts the writer on `tracker`, with up to `in_flight` groups being
    /// written at once; once `stop` fires it writes what was already handed
    /// over and ends.
    pub fn start(
        store: Store,
        transport: Arc<dyn EventTransport>,
        tracker: &TaskTracker,
        stop: CancellationToken,
        in_flight: usize,
    ) -> Committer {
        let (pending, waiting) = mpsc::channel(WAITING_MAX);
        let slots = Arc::new(Semaphore::new(in_flight.max(1)));
        let writer = Writer { store, transport, tracker: tracker.clone(), slots };
        tracker.spawn(writer.run(waiting, stop));
        Committer { pending }
    }

    /// Hands over the stages attempt `attempt` of job `id` passed through
    /// (if any), without waiting for their commit: the job's row ends at the
    /// last, and each is logged as a PROGRESS event, if the attempt still
    /// holds the job. A group's progress is one statement. Their order
    /// against the attempt's later transitions holds: those are handed over
    /// after them.
    pub async fn progress(&self, id: Uuid, attempt: u32, updates: Vec<StageUpdate>) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let pending = Handed::Progress(ProgressOf::new(id, attempt, updates));
        let stopped = || Error::Unavailable("the server is shutting down".into());
        self.pending.send(pending).await.map_err(|_| stopped())
    }

    /// Claims job `id` for a worker, under a lease of `lease`, once
    /// committed (see [`Store::claim`]). A group's claims without a
    /// per-user `cap` are one statement.
    pub async fn claim(&self, id: Uuid, lease: std::time::Duration, cap: Option<u32>) -> Result<Claim> {
        let (reply, answer) = oneshot::channel();
        let pending = Handed::Claim(Box::new(ClaimOf { id, lease, cap, answer: Mutex::new(None), reply }));
        let stopped = || Error::Unavailable("the server is shutting down".into());
        self.pending.send(pending).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// [`Committer::commit`] for an attempt's end. When it is a completion
    /// (`completing`), `change` marks the attempt COMPLETED with
    /// [`Store::complete`], which the writer does ahead for all of a
    /// group's completions at once.
    pub async fn commit_ending<T, F>(&self, completing: Option<Completing>, change: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'t> Fn(&'t GroupTxn) -> BoxFuture<'t, Result<Applied<T>>> + Send + Sync + 'static,
    {
        self.send(completing, change).await
    }

    /// Runs `change` in a transaction with other transitions, logs the
    /// events it returns in the same transaction, and answers once that has
    /// committed (the events are then sent live).
    pub async fn commit<T, F>(&self, change: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'t> Fn(&'t GroupTxn) -> BoxFuture<'t, Result<Applied<T>>> + Send + Sync + 'static,
    {
        self.send(None, change).await
    }

    async fn send<T, F>(&self, completing: Option<Completing>, change: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'t> Fn(&'t GroupTxn) -> BoxFuture<'t, Result<Applied<T>>> + Send + Sync + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let pending = Handed::Change(Box::new(Typed { change, completing, answer: Mutex::new(None), reply }));
        let stopped = || Error::Unavailable("the server is shutting down".into());
        self.pending.send(pending).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// An attempt a transition completes, and the last lines its job keeps.
pub struct Completing {
    pub id: Uuid,
    pub attempt: u32,
    pub log_tail: String,
}

/// A transition handed to the writer: a change it applies in its turn, or
/// one of the kinds it folds with the group's others of that kind (see
/// [`fold`]).
enum Handed {
    Change(Box<dyn Pending>),
    Progress(ProgressOf),
    Claim(Box<ClaimOf>),
}

impl Handed {
    /// Answers the caller (nobody waits for progress).
    fn settle(self, failed: Option<Error>) {
        match self {
            Handed::Change(pending) => pending.settle(failed),
            Handed::Progress(_) => {}
            Handed::Claim(claim) => claim.settle(failed),
        }
    }
}

/// A change with its answer type erased, so one group holds many kinds.
trait Pending: Send + Sync {
    /// Applies the transition; an error here rolls the group back.
    fn apply<'t>(&'t self, txn: &'t GroupTxn) -> BoxFuture<'t, Result<Vec<Logged>>>;
    /// Answers the caller: with what `apply` kept, or with `failed`.
    fn settle(self: Box<Self>, failed: Option<Error>);
    /// The attempt this transition completes, if it is a completion.
    fn completing(&self) -> Option<&Completing> {
        None
    }
}

struct Typed<T, F> {
    change: F,
    completing: Option<Completing>,
    /// The answer of the latest `apply`, sent once the group commits.
    answer: Mutex<Option<Result<T>>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Pending for Typed<T, F>
where
    T: Send + 'static,
    F: for<'t> Fn(&'t GroupTxn) -> BoxFuture<'t, Result<Applied<T>>> + Send + Sync + 'static,
{
    fn apply<'t>(&'t self, txn: &'t GroupTxn) -> BoxFuture<'t, Result<Vec<Logged>>> {
        Box::pin(async move {
            let mark = txn.mark();
            let (answer, logged) = match (self.change)(txn).await {
                Ok((value, logged)) => (Ok(value), logged),
                Err(error) if error.is_storage() => return Err(error),
                Err(refusal) => {
                    txn.undo(mark);
                    (Err(refusal), Vec::new())
                }
            };
            *self.answer.lock().unwrap_or_else(|p| p.into_inner()) = Some(answer);
            Ok(logged)
        })
    }

    fn settle(self: Box<Self>, failed: Option<Error>) {
        let answer =
            match failed {
                Some(error) => Err(error),
                None => self.answer.into_inner().unwrap_or_else(|p| p.into_inner()).unwrap_or_else(|| {
                    Err(Error::Internal(anyhow::anyhow!("a transition committed without an answer")))
                }),
            };
        let _ = self.reply.send(answer);
    }

    fn completing(&self) -> Option<&Completing> {
        self.completing.as_ref()
    }
}

/// Writes groups, each in its slot, while the next gathers.
struct Writer {
    store: Store,
    transport: Arc<dyn EventTransport>,
    tracker: TaskTracker,
    slots: Arc<Semaphore>,
}

impl Writer {
    async fn run(self, mut waiting: mpsc::Receiver<Handed>, stop: CancellationToken) {
        let writer = Arc::new(self);
        let mut stopping = false;
        loop {
            // Take a slot first, so transitions gather while every slot is busy.
            let Ok(slot) = Arc::clone(&writer.slots).acquire_owned().await else { return };
            let Some(group) = next_group(&mut waiting, GROUP_MAX, &stop, &mut stopping).await else { return };
            let group_writer = Arc::clone(&writer);
            writer.tracker.spawn(async move {
                group_writer.write(group).await;
                drop(slot);
            });
        }
    }

    async fn write(&self, mut group: Vec<Handed>) {
        let error = match self.try_commit(&group).await {
            Ok(events) => {
                // Answered first: what is committed is done, and watchers
                // order live events by sequence (filling gaps from the log).
                group.into_iter().for_each(|pending| pending.settle(None));
                self.transport.deliver(events).await;
                return;
            }
            Err(error) => error,
        };
        if group.len() == 1 {
            group.pop().expect("one").settle(Some(error));
            return;
        }
        if let Error::Unavailable(message) = &error {
            // The database cannot be reached: alone, each would fail the same.
            for pending in group {
                pending.settle(Some(Error::Unavailable(message.clone())));
            }
            return;
        }
        tracing::warn!(error = %error.detail(), transitions = group.len(), "a group of transitions failed; committing each alone");
        for pending in group {
            match self.try_commit(std::slice::from_ref(&pending)).await {
                Ok(events) => {
                    pending.settle(None);
                    self.transport.deliver(events).await;
                }
                Err(error) => pending.settle(Some(error)),
            }
        }
    }

    /// Applies the group in one transaction and logs its events in it.
    async fn try_commit(&self, group: &[Handed]) -> Result<Vec<JobEvent>> {
        let txn = self.store.begin_group().await?;
        let (mut logged, rest) = fold::apply_folded(&txn, group).await?;
        for pending in rest {
            logged.extend(pending.apply(&txn).await?);
        }
        let events = log(&txn, logged).await?;
        txn.commit().await?;
        Ok(events)
    }
}

/// The next group of up to `max` items handed over, waiting for the first;
/// `None` once the channel is closed and empty. When `stop` fires the
/// channel is closed to new items (callers are told the node is stopping)
/// and what was handed over before still comes out, group by group.
pub(super) async fn next_group<T>(
    waiting: &mut mpsc::Receiver<T>,
    max: usize,
    stop: &CancellationToken,
    stopping: &mut bool,
) -> Option<Vec<T>> {
    let mut group = Vec::with_capacity(max);
    loop {
        tokio::select! {
            taken = waiting.recv_many(&mut group, max) => return (taken > 0).then_some(group),
            _ = stop.cancelled(), if !*stopping => {
                *stopping = true;
                waiting.close();
            }
        }
    }
}

/// Appends the events to their owners' logs in the transaction, with the
/// counts of the batches they carry moved once. The owners' sequences are
/// reserved first: that waits for every other transaction changing these
/// owners' jobs, so one batch's counts move in the order of its events and
/// never count backwards.
async fn log(txn: &GroupTxn, logged: Vec<Logged>) -> Result<Vec<JobEvent>> {
    if logged.is_empty() {
        return Ok(Vec::new());
    }
    let reserved = Store::reserve_sequences(txn, logged.iter().map(|event| event.job.user_id.as_str())).await?;
    let ids: Vec<Uuid> =
        logged.iter().filter_map(|event| event.count_batch).collect::<HashSet<_>>().into_iter().collect();
    let changed: Vec<Uuid> = logged
        .iter()
        .filter(|event| event.count_batch.is_some() && event.recount)
        .map(|event| event.job.id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let deleted: Vec<(Uuid, JobState)> =
        logged.iter().filter_map(|event| Some((event.count_batch?, event.uncount?))).collect();
    let batches: HashMap<Uuid, Arc<Batch>> = Store::count_batches(txn, &changed, &deleted, &ids)
        .await?
        .into_iter()
        .map(|(id, batch)| (id, Arc::new(batch)))
        .collect();
    let batch_of = |event: &Logged| event.count_batch.and_then(|id| batches.get(&id));
    let entries: Vec<LogEntry> = logged
        .iter()
        .map(|event| LogEntry { kind: event.kind, job: &event.job, batch: batch_of(event).map(|batch| batch.as_ref()) })
        .collect();
    let sequences = Store::append_log(txn, &entries, reserved).await?;
    drop(entries);
    Ok(logged
        .into_iter()
        .zip(sequences)
        .map(|(event, sequence)| {
            let batch = batch_of(&event).cloned();
            JobEvent { sequence, kind: event.kind, job: Arc::new(event.job), batch }
        })
        .collect())
}
