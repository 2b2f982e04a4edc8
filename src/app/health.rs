//! `grpc.health.v1.Health` for what the service depends on. A tracked task
//! checks the database with `SELECT 1` every [`PROBE_INTERVAL`] (it sends no
//! notification of its own) and Redis with a `PING` on the same beat and at
//! once whenever fred reports a connection error or a reconnection. It
//! writes a status only when it changes:
//!
//! - [`POSTGRESQL`] (or [`SQLITE`]), and with it the service as a whole
//!   (`""`, `videojobs.v1.JobService`, `videojobs.v1.NoteService`): without
//!   the database no call can be answered, so they are SERVING only while
//!   it is reachable;
//! - [`REDIS`], registered only when Redis is configured, follows Redis
//!   alone: without it dispatch waits, but calls are still answered, so the
//!   service stays SERVING.
//!
//! On shutdown the task reports NOT_SERVING everywhere and ends.
use std::time::Duration;

use fred::clients::Client as RedisClient;
use fred::interfaces::{ClientLike, EventInterface};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::{JOB_SERVICE, NOTE_SERVICE};
use crate::store::Store;

pub const POSTGRESQL: &str = "videojobs.dependency.PostgreSQL";
pub const SQLITE: &str = "videojobs.dependency.SQLite";
pub const REDIS: &str = "videojobs.dependency.Redis";
/// The names that are SERVING exactly while the database is reachable.
const NEEDS_DATABASE: [&str; 3] = ["", JOB_SERVICE, NOTE_SERVICE];

const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// A probe that takes longer than this counts as failed: a connection
/// that hangs rather than refuses.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the service depends on, as the health task sees it.
pub struct Dependencies {
    pub store: Store,
    /// [`POSTGRESQL`] or [`SQLITE`].
    pub database: &'static str,
    pub redis: Option<RedisClient>,
}

impl Dependencies {
    pub fn new(database_url: &str, store: &Store, redis: Option<RedisClient>) -> Dependencies {
        let database = if database_url.starts_with("postgres") { POSTGRESQL } else { SQLITE };
        Dependencies { store: store.clone(), database, redis }
    }
}

/// Reports everything SERVING (start-up has just reached every dependency),
/// then follows the dependencies on `tracker` until `stop`.
pub async fn follow(
    reporter: HealthReporter,
    dependencies: Dependencies,
    stop: CancellationToken,
    tracker: &TaskTracker,
) {
    let mut health = Health { reporter, database_up: None, redis_up: None };
    health.report(&dependencies, Ok(()), dependencies.redis.as_ref().map(|_| Ok(()))).await;
    tracker.spawn(health.run(dependencies, stop));
}

/// A probe's finding: reachable, or why not.
type Probe = Result<(), String>;

struct Health {
    reporter: HealthReporter,
    /// What was last reported, so that only changes are written.
    database_up: Option<bool>,
    redis_up: Option<bool>,
}

impl Health {
    async fn run(mut self, dependencies: Dependencies, stop: CancellationToken) {
        let mut beat = tokio::time::interval(PROBE_INTERVAL);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut errors = dependencies.redis.as_ref().map(|client| client.error_rx());
        let mut reconnects = dependencies.redis.as_ref().map(|client| client.reconnect_rx());
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = beat.tick() => {}
                Some(()) = next_event(&mut errors) => {}
                Some(()) = next_event(&mut reconnects) => {}
            }
            let probes = async {
                let redis = async {
                    match &dependencies.redis {
                        Some(client) => Some(probe_redis(client).await),
                        None => None,
                    }
                };
                tokio::join!(probe_database(&dependencies.store), redis)
            };
            let (database, redis) = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                found = probes => found,
            };
            self.report(&dependencies, database, redis).await;
        }
        let redis = dependencies.redis.as_ref().map(|_| REDIS);
        for name in NEEDS_DATABASE.into_iter().chain([dependencies.database]).chain(redis) {
            self.reporter.set_service_status(name, ServingStatus::NotServing).await;
        }
    }

    /// Writes the statuses that changed.
    async fn report(&mut self, dependencies: &Dependencies, database: Probe, redis: Option<Probe>) {
        if let Some(status) = change(&mut self.database_up, dependencies.database, database) {
            for name in NEEDS_DATABASE.into_iter().chain([dependencies.database]) {
                self.reporter.set_service_status(name, status).await;
            }
        }
        if let Some(status) = redis.and_then(|redis| change(&mut self.redis_up, REDIS, redis)) {
            self.reporter.set_service_status(REDIS, status).await;
        }
    }
}

/// The status to write when `probe` differs from what `last` says was
/// reported, logging the change; `None` when nothing changed.
fn change(last: &mut Option<bool>, name: &str, probe: Probe) -> Option<ServingStatus> {
    let up = probe.is_ok();
    if *last == Some(up) {
        return None;
    }
    if last.is_some() {
        match probe {
            Ok(()) => tracing::info!(dependency = name, "reachable again: SERVING"),
            Err(error) => tracing::warn!(dependency = name, %error, "unreachable: NOT_SERVING"),
        }
    }
    *last = Some(up);
    Some(if up { ServingStatus::Serving } else { ServingStatus::NotServing })
}

async fn probe_database(store: &Store) -> Probe {
    match tokio::time::timeout(PROBE_TIMEOUT, store.ping()).await {
        Ok(answer) => answer.map_err(|error| crate::config::redact_urls_in(&error.to_string())),
        Err(_) => Err(format!("no answer to SELECT 1 within {PROBE_TIMEOUT:?}")),
    }
}

async fn probe_redis(client: &RedisClient) -> Probe {
    match tokio::time::timeout(PROBE_TIMEOUT, client.ping::<()>(None)).await {
        Ok(answer) => answer.map_err(|error| error.to_string()),
        Err(_) => Err(format!("no answer to PING within {PROBE_TIMEOUT:?}")),
    }
}

/// The next event of a fred event stream; a lag counts as an event, and a
/// stream that is closed or absent never yields.
async fn next_event<T: Clone>(events: &mut Option<tokio::sync::broadcast::Receiver<T>>) -> Option<()> {
    use tokio::sync::broadcast::error::RecvError;
    let Some(receiver) = events else { return std::future::pending().await };
    match receiver.recv().await {
        Ok(_) | Err(RecvError::Lagged(_)) => Some(()),
        Err(RecvError::Closed) => {
            *events = None;
            None
        }
    }
}
