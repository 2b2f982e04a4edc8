//! What the node's estimator needs from the events that pass through the
//! hub, and how its rounds reach the watch streams: recent run times (every
//! node sees every COMPLETED event), a wake-up when waiting lines may have
//! moved, the users who started watching since the last round, and the
//! latest round of estimates worth sending.
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use crate::domain::{Estimate, JobEvent, JobEventKind, UserId};

/// Rounds a watcher may fall behind before it skips the oldest.
pub const ROUNDS_KEPT: usize = 16;
/// Run times the mean is taken over.
const RUN_TIMES_KEPT: usize = 100;

/// One round's news: per user, the waiting jobs whose estimate moved
/// meaningfully (with their batch, for batch-filtered watches).
#[derive(Debug, Default)]
pub struct EstimateRound {
    pub by_user: HashMap<UserId, Vec<EstimateNews>>,
}

#[derive(Clone, Copy, Debug)]
pub struct EstimateNews {
    pub job_id: Uuid,
    pub batch_id: Option<Uuid>,
    pub estimate: Estimate,
}

pub struct EstimateFeed {
    run_times: Mutex<VecDeque<Duration>>,
    moved: Notify,
    /// The users whose watches on this node asked for estimates, with how
    /// many such watches each has.
    watchers: Mutex<HashMap<UserId, usize>>,
    fresh: Mutex<HashSet<UserId>>,
    rounds: broadcast::Sender<Arc<EstimateRound>>,
}

/// A watch that asked for estimates; dropping it withdraws the request.
pub struct EstimateWatch {
    feed: Arc<super::EventHub>,
    user: UserId,
}

impl Drop for EstimateWatch {
    fn drop(&mut self) {
        let mut watchers = lock(&self.feed.estimates().watchers);
        if let Some(count) = watchers.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                watchers.remove(&self.user);
            }
        }
    }
}

impl Default for EstimateFeed {
    fn default() -> Self {
        EstimateFeed {
            run_times: Mutex::new(VecDeque::with_capacity(RUN_TIMES_KEPT)),
            moved: Notify::new(),
            watchers: Mutex::new(HashMap::new()),
            fresh: Mutex::new(HashSet::new()),
            rounds: broadcast::channel(ROUNDS_KEPT).0,
        }
    }
}

impl EstimateFeed {
    /// Learns from an event passing through the hub; `true` when it may
    /// have moved waiting lines (a job arrived, started, ended or left):
    /// then call [`EstimateFeed::lines_moved`] once it is delivered.
    pub fn observe(&self, event: &JobEvent) -> bool {
        match event.kind {
            JobEventKind::Progress | JobEventKind::Snapshot => false,
            JobEventKind::Completed => {
                if let (Some(started), Some(finished)) = (event.job.started_at, event.job.finished_at)
                    && let Ok(run) = (finished - started).to_std()
                {
                    let mut times = lock(&self.run_times);
                    if times.len() == RUN_TIMES_KEPT {
                        times.pop_front();
                    }
                    times.push_back(run);
                }
                true
            }
            _ => true,
        }
    }

    /// Wakes the estimator: waiting lines may have moved.
    pub fn lines_moved(&self) {
        self.moved.notify_one();
    }

    /// The mean of the latest run times seen; `None` before the first.
    pub fn mean_run(&self) -> Option<Duration> {
        let times = lock(&self.run_times);
        let total: Duration = times.iter().sum();
        (!times.is_empty()).then(|| total / times.len() as u32)
    }

    /// A watch of `user` asks for estimates until the guard drops: the
    /// next round treats all of that user's estimates as news.
    pub fn watch(hub: &Arc<super::EventHub>, user: &UserId) -> EstimateWatch {
        let feed = hub.estimates();
        *lock(&feed.watchers).entry(user.clone()).or_default() += 1;
        lock(&feed.fresh).insert(user.clone());
        feed.moved.notify_one();
        EstimateWatch { feed: Arc::clone(hub), user: user.clone() }
    }

    /// The users whose watches on this node asked for estimates.
    pub fn watched_users(&self) -> Vec<UserId> {
        lock(&self.watchers).keys().cloned().collect()
    }

    /// Returns once lines may have moved (or somebody started watching)
    /// since the last call.
    pub async fn moved(&self) {
        self.moved.notified().await
    }

    /// The users who started watching since the last call.
    pub fn take_fresh(&self) -> HashSet<UserId> {
        std::mem::take(&mut *lock(&self.fresh))
    }

    pub fn send_round(&self, round: EstimateRound) {
        let _ = self.rounds.send(Arc::new(round));
    }

    /// Every round from now on (a watcher more than [`ROUNDS_KEPT`] rounds
    /// behind skips the oldest).
    pub fn rounds(&self) -> broadcast::Receiver<Arc<EstimateRound>> {
        self.rounds.subscribe()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
