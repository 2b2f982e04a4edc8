//! The Redis queue, for several nodes sharing one queue, fair across groups
//! (users) like the in-process one. Each group's ready ids wait in a sorted
//! set of their own (`{p}:group:<user>`), scored by priority then arrival; a
//! ring (`{p}:groups`, a sorted set scored by turn) holds each group that has
//! ready ids once; delayed ids (retries waiting out a backoff) wait in one
//! more sorted set scored by their ready time; a hash indexes every id held
//! with its group. Every change is a Lua script (in `scripts/`), so each is
//! atomic, and every key shares one Cluster hash tag (see [`Keys`]). Times are
//! the Redis server's clock.
//!
//! A pop is the `take` script: it moves the due delayed ids to their groups,
//! then takes the best id of the group at the front of the ring and sends
//! that group to the back if it has more. So a pop takes a job in one atomic
//! step, with no state in between for a dying popper to leave behind: a pop
//! dropped while its script runs puts the id back (see [`Taken`]), and a
//! node that dies after a take leaves its job waiting in the database, which
//! the reconciler's restore puts back. The take also notes the id in
//! `{p}:taken` with the time, and the reconciler's restore leaves out what
//! was taken moments ago: the database says such a job waits only because
//! its worker's claim has not committed yet. Only when nothing
//! is ready does it block, never polling: in `BZPOPMIN wake`, until the next
//! delayed id is due or a change drops a token in `wake` (every push does;
//! so does a take that leaves more ready ids, to pass the wake-up on to the
//! next blocked popper). That token only says "look again": losing one (a
//! popper cancelled just after taking it) delays nothing longer than the
//! other poppers' block time, and the token goes back when the pop that took
//! it is gone. `restore` also gives back a group its turn in the ring should
//! it have ready ids and none. A pause parks jobs with the `withdraw` script
//! (out of their group or the delayed set, and the index); a resume puts them
//! back with `add`'s push, which moves an id it already holds.
mod places;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use fred::clients::Client;
use fred::error::{Error as RedisError, ErrorKind};
use fred::interfaces::{ClientLike, EventInterface, HashesInterface, SortedSetsInterface};
use fred::types::config::{Config, Options, ReconnectPolicy};
use fred::types::{Builder, ClusterHash, CustomCommand, Value};
use tokio::sync::{Semaphore, oneshot};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::keys::Keys;
use super::scripts::{ADD, PLACE, REQUEUE, Script, TAKE, WITHDRAW};
use super::{JobQueue, Place, QueueError, QueueItem, TAKEN_KEPT};
use crate::domain::job::MAX_PRIORITY;

/// How long a pop blocks when nothing is delayed. A push wakes it anyway;
/// this only bounds how long a lost wake-up (a popper that took the `wake`
/// token and died) can delay a job.
const IDLE_BLOCK: Duration = Duration::from_secs(5);
/// How long any other command may wait, e.g. for a reconnection, before the
/// call fails with `Unavailable` (fred's default is to wait forever).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `close` waits for commands still in flight.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// Extra time the client gives a blocking command before it gives up on the
/// connection.
const BLOCK_GRACE: Duration = Duration::from_secs(10);
/// Ids per `restore` script call: bounds how long one call blocks Redis.
const RESTORE_BATCH: usize = 500;
/// Delayed ids moved per `promote` call, for the same reason.
const PROMOTE_BATCH: usize = 1000;

/// A handle to one queue; clones share the connections.
#[derive(Clone)]
pub struct RedisQueue {
    inner: Arc<Inner>,
}

struct Inner {
    /// The shared multiplexed client: scripts and everything non-blocking.
    client: Client,
    keys: Keys,
    capacity: usize,
    add: Script,
    take: Script,
    requeue: Script,
    withdraw: Script,
    place: Script,
    /// Idle dedicated clients for `BZPOPMIN`, which would stall every other
    /// command on the multiplexed client. A std mutex: held for a push or pop.
    idle: Mutex<Vec<Client>>,
    /// One permit per dedicated client that may exist.
    permits: Arc<Semaphore>,
    closed: AtomicBool,
    /// The commands that finish even if their pop is cancelled (so what
    /// they took goes back), and quits; `close` waits for them.
    tasks: TaskTracker,
}

impl RedisQueue {
    /// Connects and checks with a `PING`. `blocking_clients` bounds the
    /// connections that pops block on (at least one); more concurrent pops
    /// than that wait their turn. The prefix must not be empty (see [`Keys`]).
    pub async fn connect(
        url: &str,
        prefix: &str,
        capacity: usize,
        blocking_clients: usize,
    ) -> Result<RedisQueue, QueueError> {
        let place = crate::config::redact_url(url);
        let failed = |error: RedisError| QueueError::Unavailable(format!("Redis at {place}: {error}"));
        let keys = Keys::new(prefix);
        if !keys.has_valid_tag() {
            return Err(QueueError::Unavailable(format!("Redis key prefix {prefix:?} gives no Cluster hash tag")));
        }
        let config = Config::from_url(url).map_err(failed)?;
        // Reconnect forever: a pop retries rather than fails, so the client
        // must come back on its own after Redis does.
        let policy = ReconnectPolicy::new_exponential(0, 100, 2_000, 2);
        let client = Builder::from_config(config)
            .set_policy(policy)
            .with_performance_config(|performance| performance.default_command_timeout = COMMAND_TIMEOUT)
            // Without it, a pipeline's later commands wait for the ACK of the
            // first: up to 40 ms of delayed ACK per round trip.
            .with_connection_config(|connection| connection.tcp.nodelay = Some(true))
            .build()
            .map_err(failed)?;
        client.init().await.map_err(failed)?;
        let loaded = async {
            client.ping::<()>(None).await?;
            Ok::<_, RedisError>((
                Script::load(&client, ADD).await?,
                Script::load(&client, TAKE).await?,
                Script::load(&client, REQUEUE).await?,
                Script::load(&client, WITHDRAW).await?,
                Script::load(&client, PLACE).await?,
            ))
        };
        let (add, take, requeue, withdraw, place) = match loaded.await {
            Ok(scripts) => scripts,
            Err(error) => {
                let _ = client.quit().await;
                return Err(failed(error));
            }
        };
        let blocking_clients = blocking_clients.max(1);
        Ok(RedisQueue {
            inner: Arc::new(Inner {
                client,
                keys,
                capacity,
                add,
                take,
                requeue,
                withdraw,
                place,
                idle: Mutex::new(Vec::with_capacity(blocking_clients)),
                permits: Arc::new(Semaphore::new(blocking_clients)),
                closed: AtomicBool::new(false),
                tasks: TaskTracker::new(),
            }),
        })
    }

    /// The shared non-blocking client, e.g. to publish on the
    /// [`Keys::events`] channel. It stops working once the queue is closed.
    pub fn client(&self) -> Client {
        self.inner.client.clone()
    }

    /// The names of this queue's keys and channels.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// Closes every connection. A pop that finds no job by then, or starts
    /// later, never completes; other calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.tasks.close();
        // Wake this node's blocked pops (others' wake once more for nothing),
        // so their commands end now rather than at the end of their block.
        let wake = self.inner.keys.wake();
        let _ = self.inner.client.zadd::<(), _, _>(wake, None, None, false, false, (0.0, "wake")).await;
        if tokio::time::timeout(CLOSE_WAIT, self.inner.tasks.wait()).await.is_err() {
            tracing::warn!("queue commands still running at close; their clients are dropped");
        }
        let idle = std::mem::take(&mut *self.inner.idle());
        for client in idle {
            let _ = client.quit().await;
        }
        let _ = self.inner.client.quit().await;
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    async fn push(&self, item: QueueItem) -> Result<(), QueueError> {
        self.inner.add("push", std::slice::from_ref(&item)).await.map(drop)
    }

    async fn pop(&self) -> Uuid {
        let mut delays: Option<ExponentialBackoff> = None;
        loop {
            if self.inner.closed.load(Ordering::SeqCst) {
                return std::future::pending().await;
            }
            match self.inner.pop_once().await {
                Ok(Some(job_id)) => return job_id,
                Ok(None) => delays = None,
                Err(error) => {
                    let delay = delays.get_or_insert_with(retry_delays).next().unwrap_or(Duration::from_secs(5));
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "Redis queue pop failed; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// The index holds every id, ready or delayed, once.
    async fn waiting(&self) -> Result<usize, QueueError> {
        self.inner.client.hlen(self.inner.keys.jobs()).await.map_err(unavailable)
    }

    async fn reconnected(&self) {
        let mut reconnections = self.inner.client.reconnect_rx();
        loop {
            match reconnections.recv().await {
                Ok(_) => return,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    async fn restore(&self, items: &[QueueItem]) -> Result<usize, QueueError> {
        let mut added = 0;
        for batch in items.chunks(RESTORE_BATCH) {
            added += self.inner.add("restore", batch).await?;
        }
        Ok(added)
    }

    async fn restore_untaken(&self, items: &[QueueItem], grace: Duration) -> Result<usize, QueueError> {
        let mut added = 0;
        for batch in items.chunks(RESTORE_BATCH) {
            added += self.inner.add_with("untaken", grace.min(TAKEN_KEPT), batch).await?;
        }
        Ok(added)
    }

    async fn withdraw(&self, ids: &[Uuid]) -> Result<usize, QueueError> {
        let keys = &self.inner.keys;
        let script_keys = vec![keys.groups(), keys.delayed(), keys.priority(), keys.jobs()];
        let mut removed = 0;
        for batch in ids.chunks(RESTORE_BATCH) {
            let mut args: Vec<Value> = vec![keys.group_prefix().into()];
            args.extend(batch.iter().map(|id| Value::from(id.to_string())));
            let held: usize =
                self.inner.withdraw.run(&self.inner.client, script_keys.clone(), args).await.map_err(unavailable)?;
            removed += held;
        }
        Ok(removed)
    }

    /// `add.lua`'s push moves an id it holds, so a replace is a push of each.
    async fn replace(&self, items: &[QueueItem]) -> Result<(), QueueError> {
        for batch in items.chunks(RESTORE_BATCH) {
            self.inner.add("push", batch).await?;
        }
        Ok(())
    }

    async fn places(&self, jobs: &[(Uuid, String)]) -> Result<Vec<Place>, QueueError> {
        self.inner.places(jobs).await
    }

    async fn lines(&self, groups: &[String], limit: usize) -> Result<Vec<(String, Uuid, u64)>, QueueError> {
        self.inner.lines(groups, limit).await
    }
}

impl Inner {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Client>> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `add.lua` in `mode` ("push" or "restore"); returns how many ids
    /// it added, or `Full` if it stopped at the capacity.
    async fn add(&self, mode: &str, items: &[QueueItem]) -> Result<usize, QueueError> {
        self.add_with(mode, Duration::ZERO, items).await
    }

    /// Runs `add.lua` in `mode`; `grace` is the 'untaken' mode's (see
    /// [`JobQueue::restore_untaken`]).
    async fn add_with(&self, mode: &str, grace: Duration, items: &[QueueItem]) -> Result<usize, QueueError> {
        let now = Instant::now();
        let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        let mut args: Vec<Value> =
            vec![mode.into(), (self.capacity as i64).into(), self.keys.group_prefix().into(), grace_ms.into()];
        for item in items {
            // Priorities beyond the domain's bound would break the score
            // layout (common.lua); submissions never carry one.
            let priority = item.priority.clamp(-MAX_PRIORITY, MAX_PRIORITY);
            args.extend([
                item.job_id.to_string().into(),
                item.group.as_str().into(),
                i64::from(priority).into(),
                delay_ms(item, now).into(),
            ]);
        }
        let keys = self.script_keys();
        let (added, waiting, full): (usize, usize, bool) =
            self.add.run(&self.client, keys, args).await.map_err(unavailable)?;
        if full { Err(QueueError::Full(waiting)) } else { Ok(added) }
    }

    /// The keys of the `add` and `take` scripts, in their order.
    fn script_keys(&self) -> Vec<String> {
        self.keys.data_keys()
    }

    /// One round of a pop: take, else block once. `None`: look again.
    async fn pop_once(self: &Arc<Self>) -> Result<Option<Uuid>, RedisError> {
        let (taken, until_next) = self.take().await?;
        if let Some(taken) = taken {
            let member = taken.keep();
            return match Uuid::parse_str(&member) {
                Ok(job_id) => Ok(Some(job_id)),
                Err(error) => {
                    tracing::warn!(member, %error, "dropping a malformed job id from the Redis queue");
                    Ok(None)
                }
            };
        }
        let block = match until_next {
            ..0 => IDLE_BLOCK,
            0 => return Ok(None), // more delayed ids are due already
            ms => Duration::from_millis(ms as u64).min(IDLE_BLOCK),
        };
        self.wait_for_wake(block).await?;
        Ok(None)
    }

    /// Runs the `take` script: the id it took, if any, and the ms until the
    /// next delayed id is due (see take.lua). The script runs in a task of
    /// its own so that its answer arrives even if this pop is cancelled; what
    /// it took then goes back (`Taken`).
    async fn take(self: &Arc<Self>) -> Result<(Option<Taken>, i64), RedisError> {
        let (sender, receiver) = oneshot::channel();
        let queue = Arc::clone(self);
        self.tasks.spawn(async move {
            let kept = i64::try_from(TAKEN_KEPT.as_millis()).unwrap_or(i64::MAX);
            let args =
                vec![Value::from(queue.keys.group_prefix()), Value::from(PROMOTE_BATCH as i64), Value::from(kept)];
            let result =
                queue.take.run::<(String, String, String, i64)>(&queue.client, queue.script_keys(), args).await;
            let result = result.map(|(member, group, score, until_next)| {
                let taken =
                    (!member.is_empty()).then(|| Taken { member, group, score, queue: Some(Arc::clone(&queue)) });
                (taken, until_next)
            });
            let _ = sender.send(result); // if the pop is gone, Taken's drop puts the id back
        });
        receiver.await.unwrap_or_else(|_| Err(RedisError::new(ErrorKind::Canceled, "the take task died")))
    }

    /// Blocks for at most `block` on the `wake` token. The command runs in a
    /// task of its own so that it completes even if this pop is cancelled; a
    /// token it took then goes back for another popper.
    async fn wait_for_wake(self: &Arc<Self>, block: Duration) -> Result<(), RedisError> {
        let permit = Arc::clone(&self.permits).acquire_owned().await.expect("the semaphore is never closed");
        let (sender, receiver) = oneshot::channel();
        let queue = Arc::clone(self);
        self.tasks.spawn(async move {
            let result = queue.bzpopmin(block).await;
            drop(permit);
            if let Err(Ok(true)) = sender.send(result) {
                let wake = queue.keys.wake();
                if let Err(error) = queue.client.zadd::<(), _, _>(wake, None, None, false, false, (0.0, "wake")).await {
                    tracing::debug!(%error, "cannot hand on the wake-up of a cancelled pop");
                }
            }
        });
        receiver.await.unwrap_or_else(|_| Err(RedisError::new(ErrorKind::Canceled, "the blocking pop task died")))?;
        Ok(())
    }

    /// `BZPOPMIN wake` through `custom`: the typed `bzpopmin` reports the
    /// server's "nothing came" as the same Timeout error as a client-side
    /// timeout, and only the latter leaves the connection in doubt (so it is
    /// dropped). `true` when it took the token.
    async fn bzpopmin(self: &Arc<Self>, block: Duration) -> Result<bool, RedisError> {
        let idle = self.idle().pop();
        let client = match idle {
            Some(client) => client,
            None => {
                let client = self.client.clone_new();
                client.init().await?;
                client
            }
        };
        let command = CustomCommand::new_static("BZPOPMIN", ClusterHash::FirstKey, true);
        let args: Vec<Value> = vec![self.keys.wake().into(), block.as_secs_f64().into()];
        let options = Options { timeout: Some(block + BLOCK_GRACE), ..Options::default() };
        match client.with_options(&options).custom::<Option<(String, String, f64)>, _>(command, args).await {
            Ok(popped) => {
                if self.closed.load(Ordering::SeqCst) {
                    self.tasks.spawn(async move { client.quit().await });
                } else {
                    self.idle().push(client);
                }
                Ok(popped.is_some())
            }
            Err(error) => {
                self.tasks.spawn(async move { client.quit().await });
                Err(error)
            }
        }
    }
}

/// An id the `take` script took from its group. Dropped before
/// [`Taken::keep`], it goes back at its old score, its group first in the
/// ring: the pop that took it was cancelled, and a cancelled pop takes
/// nothing.
struct Taken {
    member: String,
    group: String,
    /// As Redis wrote it: the exact score.
    score: String,
    queue: Option<Arc<Inner>>,
}

impl Taken {
    fn keep(mut self) -> String {
        self.queue = None;
        std::mem::take(&mut self.member)
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        let Some(queue) = self.queue.take() else { return };
        let (member, group, score) =
            (std::mem::take(&mut self.member), std::mem::take(&mut self.group), std::mem::take(&mut self.score));
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(member, "cannot put back the job of a cancelled pop; reconciling will");
            return;
        };
        runtime.spawn(async move {
            let keys = vec![queue.keys.groups(), queue.keys.jobs(), queue.keys.wake(), queue.keys.clock()];
            let args: Vec<Value> =
                vec![queue.keys.group_prefix().into(), member.as_str().into(), group.into(), score.into()];
            if let Err(error) = queue.requeue.run::<()>(&queue.client, keys, args).await {
                tracing::warn!(member, %error, "cannot put back the job of a cancelled pop; reconciling will");
            }
        });
    }
}

/// Milliseconds until the item is ready, rounded up (0: ready now). Relative,
/// so the script can turn it into a deadline on the server's clock.
fn delay_ms(item: &QueueItem, now: Instant) -> i64 {
    let delay = item.ready_at.map_or(Duration::ZERO, |at| at.saturating_duration_since(now));
    i64::try_from(delay.as_micros().div_ceil(1000)).unwrap_or(i64::MAX)
}

fn retry_delays() -> ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

fn unavailable(error: RedisError) -> QueueError {
    QueueError::Unavailable(format!("Redis: {error}"))
}
