//! Builds a node from its configuration ([`Node::build`]), then serves it
//! until a shutdown future fires ([`Node::serve`]), owning the shutdown
//! order: report NOT_SERVING, stop taking jobs and submissions and end
//! watch streams, let running jobs finish within the grace period and hand
//! back the rest, write the last transitions, then close Redis and the
//! database. Every task of the node runs on one of its trackers.
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::auth::Authenticator;
use crate::config::ServeConfig;
use crate::domain::limits::MAX_REQUEST_BYTES;
use crate::events::{CancelSink, EventHub, EventTransport, LocalTransport, RedisChannels, RedisTransport};
use crate::grpc::{JobApi, NoteApi};
use crate::jobs::{CLAIM_GRACE, Jobs, Parts, Rules, RunningJobs, Stops};
use crate::maintenance::{Estimator, Reaper, Reconciler, Resumer, Retention};
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::v1::job_service_server::JobServiceServer;
use crate::proto::v1::note_service_server::NoteServiceServer;
use crate::queue::{JobQueue, MemoryQueue};
use crate::store::Store;
use crate::supervisor::Supervisor;
use crate::worker::Pool;

mod connect;
mod console;
pub mod health;
mod web;

pub const JOB_SERVICE: &str = "videojobs.v1.JobService";
pub const NOTE_SERVICE: &str = "videojobs.v1.NoteService";
/// How long the last transitions may take to be written at shutdown.
const WRITE_BACK: Duration = Duration::from_secs(10);

/// Runs the service on `listener` until `shutdown` completes.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let signalled = CancellationToken::new();
    let on_signal = signalled.clone();
    let watcher = TaskTracker::new();
    watcher.spawn(async move {
        tokio::select! {
            _ = shutdown => on_signal.cancel(),
            _ = on_signal.cancelled() => {}
        }
    });
    let Some(node) = Node::build(config, &signalled).await? else {
        return Ok(()); // asked to stop while still connecting
    };
    let served = node.serve(listener, signalled.clone()).await;
    signalled.cancel();
    watcher.close();
    watcher.wait().await;
    served
}

/// A node, built and not yet serving.
pub struct Node {
    config: ServeConfig,
    auth: Authenticator,
    store: Store,
    redis: Option<connect::RedisBackend>,
    jobs: Arc<Jobs>,
    supervisor: Supervisor,
    tasks: Tasks,
    stops: NodeStops,
}

/// The node's tasks, by when they end.
#[derive(Default)]
struct Tasks {
    /// Workers and maintenance: end when the node stops taking jobs.
    work: TaskTracker,
    /// Watch streams: end with the server.
    streams: TaskTracker,
    /// The core's writers and the Redis listener: end last.
    writes: TaskTracker,
}

#[derive(Default)]
struct NodeStops {
    taking: CancellationToken,
    running: CancellationToken,
    intake: CancellationToken,
    writes: CancellationToken,
}

impl Node {
    /// Connects the backends and builds the core; `None` if `stop` fired
    /// while connecting. Puts back in the queue whatever the database says
    /// is waiting.
    pub async fn build(config: ServeConfig, stop: &CancellationToken) -> anyhow::Result<Option<Node>> {
        let supervisor = Supervisor::prepare(config.supervisor.clone())?;
        let secret = Authenticator::secret_from(config.jwt_secret.as_ref(), &config.data_dir)?;
        let auth = Authenticator::new(&secret);
        let Some(backends) = connect::backends(&config, stop).await? else { return Ok(None) };
        let (tasks, stops) = (Tasks::default(), NodeStops::default());
        let hub = Arc::new(EventHub::new(config.watch.buffer));
        let running = Arc::new(RunningJobs::default());
        let stop_program = Arc::clone(&running);
        let on_cancel: CancelSink = Arc::new(move |job_id| {
            stop_program.stop(job_id);
        });
        let (queue, transport): (Arc<dyn JobQueue>, Arc<dyn EventTransport>) = match &backends.redis {
            None => (
                Arc::new(MemoryQueue::new(config.queue.capacity)),
                Arc::new(LocalTransport::new(Arc::clone(&hub), on_cancel)),
            ),
            Some(redis) => {
                let channels = RedisChannels {
                    client: redis.queue.client(),
                    events: redis.keys.events(),
                    cancels: redis.keys.cancels(),
                    output: redis.keys.output(),
                };
                let transport = RedisTransport::new(Arc::clone(&hub), channels, on_cancel);
                transport.listen(redis.subscriber.clone(), &tasks.writes, stops.writes.clone()).await?;
                (Arc::new(redis.queue.clone()), Arc::new(transport))
            }
        };
        let parts = Parts { store: backends.store.clone(), queue, transport, hub, running };
        let rules = Rules {
            retry: config.retry,
            lease: config.worker.lease,
            per_user_cap: config.worker.per_user_concurrency,
            max_schedule_ahead: config.queue.max_schedule_ahead,
            workers: config.worker.concurrency,
            claim_grace: config.worker.lease.min(CLAIM_GRACE),
        };
        let core_stops = Stops { intake: stops.intake.clone(), writes: stops.writes.clone() };
        let jobs = Arc::new(Jobs::start(parts, rules, &tasks.writes, &tasks.streams, core_stops));
        if backends.redis.is_none() {
            // One node owns every job: what it was running when it stopped
            // runs again now, without waiting for the lease to expire.
            jobs.requeue_interrupted().await?;
        }
        let restored = jobs.reconcile().await?;
        tracing::info!(restored, "queued the jobs the database says are waiting (and no worker took just now)");
        Ok(Some(Node { config, auth, store: backends.store, redis: backends.redis, jobs, supervisor, tasks, stops }))
    }

    /// Serves gRPC on `listener` and runs the workers and maintenance until
    /// `shutdown` fires, then stops in order.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Node { config, auth, store, redis, jobs, supervisor, tasks, stops } = self;
        let pool = Arc::new(Pool { jobs: Arc::clone(&jobs), supervisor, output: config.output.limits });
        pool.spawn(
            config.worker.concurrency,
            &crate::worker::Stops { taking: stops.taking.clone(), running: stops.running.clone() },
            &tasks.work,
        );
        spawn_maintenance(&config, &jobs, &tasks.work, &stops.taking);
        tasks.work.spawn(drain_on_signal(Arc::clone(&jobs), stops.taking.clone()));

        let (health, health_service) = tonic_health::server::health_reporter();
        let redis_client = redis.as_ref().map(|redis| redis.queue.client());
        let dependencies = health::Dependencies::new(&config.database_url, &store, redis_client);
        health::follow(health.clone(), dependencies, stops.taking.clone(), &tasks.work).await;
        let job_api =
            JobApi { jobs: Arc::clone(&jobs), shutdown: stops.taking.clone(), watch_keepalive: config.watch.keepalive };
        let note_api = NoteApi { jobs: Arc::clone(&jobs) };
        let (job_auth, note_auth) = (auth.clone(), auth);
        let job_server = JobServiceServer::new(job_api).max_decoding_message_size(MAX_REQUEST_BYTES);
        let note_server = NoteServiceServer::new(note_api).max_decoding_message_size(MAX_REQUEST_BYTES);
        let (draining, intake) = (stops.taking.clone(), stops.intake.clone());
        let on_shutdown = async move {
            shutdown.cancelled().await;
            tracing::info!("shutting down: NOT_SERVING, no new jobs, ending watch streams");
            set_health(&health, ServingStatus::NotServing).await;
            draining.cancel();
            intake.cancel();
        };
        crate::telemetry::install_metrics_exporter(config.metrics_listen);
        tracing::info!(
            address = %listener.local_addr()?,
            workers = config.worker.concurrency,
            redis = redis.is_some(),
            tls = config.tls.is_some(),
            "videojobs serving"
        );
        let mut server = Server::builder();
        if let Some(tls) = &config.tls {
            server = server.tls_config(web::tls_config(tls))?;
        }
        let served = server
            .accept_http1(true)
            .layer(tower::util::option_layer(config.console.enabled.then_some(console::ConsoleLayer)))
            .layer(tower::util::option_layer(web::cors_layer(&config.cors_allowed_origins)))
            .layer(tonic_web::GrpcWebLayer::new())
            .layer(crate::telemetry::GrpcMetricsLayer)
            .add_service(health_service)
            .add_service(reflection_v1()?)
            .add_service(reflection_v1alpha()?)
            .add_service(InterceptedService::new(job_server, move |r| job_auth.intercept(r)))
            .add_service(InterceptedService::new(note_server, move |r| note_auth.intercept(r)))
            .serve_with_incoming_shutdown(accepting(listener), on_shutdown)
            .await;

        stops.taking.cancel();
        stops.intake.cancel();
        tasks.work.close();
        if tokio::time::timeout(config.worker.shutdown_grace, tasks.work.wait()).await.is_err() {
            tracing::info!(running = jobs.running(), "grace period over; handing running jobs back");
            stops.running.cancel();
            let hand_back = config.supervisor.kill_grace + Duration::from_secs(10);
            if tokio::time::timeout(hand_back, tasks.work.wait()).await.is_err() {
                tracing::warn!("workers did not stop in time; their leases expire and other nodes take over");
            }
        }
        pool.supervisor.close().await;
        tasks.streams.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), tasks.streams.wait()).await;
        // The last transitions (hand-backs of stopped programs) are written
        // before Redis and the database close.
        stops.writes.cancel();
        tasks.writes.close();
        if tokio::time::timeout(WRITE_BACK, tasks.writes.wait()).await.is_err() {
            tracing::warn!("the last job transitions were not all written in time");
        }
        drop(jobs);
        if let Some(redis) = redis {
            redis.close().await;
        }
        store.close().await?;
        tracing::info!("stopped");
        served.map_err(Into::into)
    }
}

fn spawn_maintenance(config: &ServeConfig, jobs: &Arc<Jobs>, tracker: &TaskTracker, stop: &CancellationToken) {
    let reaper = Reaper { every: config.maintenance.reap_interval, grace: config.worker.lease };
    let reconciler = Reconciler { every: config.maintenance.reconcile_interval };
    let retention = Retention {
        every: config.maintenance.reconcile_interval,
        events: config.maintenance.event_retention,
        completed_jobs: config.maintenance.completed_retention,
        failed_jobs: config.maintenance.failed_retention,
    };
    tracker.spawn(reaper.run(Arc::clone(jobs), stop.clone()));
    tracker.spawn(reconciler.run(Arc::clone(jobs), stop.clone()));
    tracker.spawn(retention.run(Arc::clone(jobs), stop.clone()));
    let resumer = Resumer { every: config.maintenance.reconcile_interval };
    tracker.spawn(resumer.run(Arc::clone(jobs), stop.clone()));
    tracker.spawn(Estimator::default().run(Arc::clone(jobs), stop.clone()));
}

/// SIGUSR1 drains the node, as an admin's `DrainNode` does.
async fn drain_on_signal(jobs: Arc<Jobs>, stop: CancellationToken) {
    let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1());
    let Ok(mut signals) = signal.inspect_err(|error| tracing::warn!(%error, "SIGUSR1 will not drain this node")) else {
        return;
    };
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            received = signals.recv() => match received {
                Some(()) => jobs.drain().start(),
                None => return,
            },
        }
    }
}

/// Accepted connections with Nagle's algorithm off: a response of several TCP
/// segments must not wait for the client's delayed ACK (~40 ms).
fn accepting(listener: TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

async fn set_health(health: &tonic_health::server::HealthReporter, status: ServingStatus) {
    for service in [JOB_SERVICE, NOTE_SERVICE, ""] {
        health.set_service_status(service, status).await;
    }
}

type Reflection<T> = tonic_reflection::server::v1::ServerReflectionServer<T>;

fn reflection_v1() -> anyhow::Result<Reflection<impl tonic_reflection::server::v1::ServerReflection>> {
    Ok(tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?)
}

fn reflection_v1alpha() -> anyhow::Result<
    tonic_reflection::server::v1alpha::ServerReflectionServer<impl tonic_reflection::server::v1alpha::ServerReflection>,
> {
    Ok(tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?)
}
