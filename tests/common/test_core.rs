//! The application core on its own, on a real database with the in-process
//! queue and transport, for tests of its transitions without a server.
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use videojobs::domain::retry::RetryPolicy;
use videojobs::events::{EventHub, LocalTransport};
use videojobs::jobs::{CLAIM_GRACE, Jobs, Parts, Rules, RunningJobs, Stops};
use videojobs::queue::{JobQueue, MemoryQueue};
use videojobs::store::Store;

use super::{Backend, store_on};

pub struct TestCore {
    pub jobs: Arc<Jobs>,
    pub store: Store,
    /// The database, for reading what the API does not show.
    pub database_url: String,
    pub queue: Arc<MemoryQueue>,
    /// The node's stop token, parent of every claimed job's.
    pub node: CancellationToken,
    writes: TaskTracker,
    stops: Stops,
    _dir: tempfile::TempDir,
}

impl TestCore {
    /// A core on `backend`'s database whose queue holds `capacity` jobs,
    /// with a lease of `lease` and three attempts per job.
    pub async fn start(backend: &Backend, capacity: usize, lease: Duration) -> TestCore {
        let (store, dir) = store_on(backend).await;
        let database_url = match backend {
            Backend::Embedded => videojobs::config::sqlite_url(dir.path()),
            Backend::Scaled { database_url, .. } => database_url.clone(),
        };
        let queue = Arc::new(MemoryQueue::new(capacity));
        let hub = Arc::new(EventHub::new(1024));
        let running = Arc::new(RunningJobs::default());
        let stopper = Arc::clone(&running);
        let transport = Arc::new(LocalTransport::new(
            Arc::clone(&hub),
            Arc::new(move |id| {
                stopper.stop(id);
            }),
        ));
        let parts =
            Parts { store: store.clone(), queue: Arc::clone(&queue) as Arc<dyn JobQueue>, transport, hub, running };
        let retry = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
        };
        // As on a node: a job whose lease expired is not being claimed.
        let claim_grace = lease.min(CLAIM_GRACE);
        let max_schedule_ahead = Duration::from_secs(86_400);
        let rules = Rules { retry, lease, per_user_cap: None, max_schedule_ahead, workers: 1, claim_grace };
        let writes = TaskTracker::new();
        let stops = Stops { intake: CancellationToken::new(), writes: CancellationToken::new() };
        let core_stops = Stops { intake: stops.intake.clone(), writes: stops.writes.clone() };
        let jobs = Arc::new(Jobs::start(parts, rules, &writes, &TaskTracker::new(), core_stops));
        TestCore { jobs, store, database_url, queue, node: CancellationToken::new(), writes, stops, _dir: dir }
    }

    /// Writes what was handed over, then closes the database.
    pub async fn stop(self) {
        self.stops.intake.cancel();
        self.stops.writes.cancel();
        self.writes.close();
        self.writes.wait().await;
        drop(self.jobs);
        self.store.close().await.unwrap();
    }
}
