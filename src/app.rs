//! Builds the service from its configuration and owns the shutdown order:
//! report NOT_SERVING, stop taking jobs and end watch streams, let running
//! jobs finish within the grace period and hand back the rest, then close
//! Redis and the database.
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
use crate::events::{EventBus, EventHub, RedisChannels};
use crate::grpc::{JobApi, NoteApi};
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::v1::job_service_server::JobServiceServer;
use crate::proto::v1::note_service_server::NoteServiceServer;
use crate::queue::{JobQueue, MemoryQueue};
use crate::supervisor::Supervisor;
use crate::worker::{Intake, JobRunner, Retention, RunningJobs};

mod connect;
mod health;
mod web;

const JOB_SERVICE: &str = "videojobs.v1.JobService";
const NOTE_SERVICE: &str = "videojobs.v1.NoteService";

/// Runs the service on `listener` until `shutdown` completes.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let signalled = CancellationToken::new();
    let on_signal = signalled.clone();
    tokio::spawn(async move {
        shutdown.await;
        on_signal.cancel();
    });

    ensure_program_exists(&config.supervisor.command.program)?;
    std::fs::create_dir_all(&config.supervisor.scratch_root)?;
    let secret = Authenticator::secret_from(config.jwt_secret.as_ref(), &config.data_dir)?;
    let auth = Authenticator::new(&secret);
    let Some(parts) = connect::backends(&config, &signalled).await? else {
        return Ok(()); // asked to stop while still connecting
    };
    let store = parts.store;
    let redis_channels = parts.redis.as_ref().map(|redis| RedisChannels {
        client: redis.queue.client(),
        events: redis.keys.events(),
        cancels: redis.keys.cancels(),
    });
    let hub = Arc::new(EventHub::new(config.watch_buffer));
    let events = EventBus::new(hub, Arc::new(RunningJobs::default()), store.clone(), redis_channels);
    let queue: Arc<dyn JobQueue> = match &parts.redis {
        None => Arc::new(MemoryQueue::new(config.queue_capacity)),
        Some(redis) => {
            events.listen(redis.subscriber.clone()).await?;
            Arc::new(redis.queue.clone())
        }
    };
    let runner = Arc::new(JobRunner {
        store: store.clone(),
        queue,
        queue_capacity: config.queue_capacity,
        events,
        supervisor: Supervisor::new(config.supervisor.clone()),
        retry: config.retry,
        lease: config.lease,
        per_user_cap: config.per_user_concurrency,
    });
    if parts.redis.is_none() {
        // One node owns every job: what it was running when it stopped
        // runs again now, without waiting for the lease to expire.
        store.requeue_interrupted().await?;
    }
    let restored = runner.reconcile().await?;
    tracing::info!(restored, "queued the jobs the database says are waiting");

    let stop_taking = CancellationToken::new();
    let stop_running = CancellationToken::new();
    let tracker = TaskTracker::new();
    runner.spawn_workers(config.concurrency, &stop_taking, &stop_running, &tracker);
    let retention = Retention {
        events: config.event_retention,
        completed_jobs: config.completed_retention,
        failed_jobs: config.failed_retention,
    };
    runner.spawn_maintenance(config.reap_interval, config.reconcile_interval, retention, &stop_taking, &tracker);

    let (health, health_service) = tonic_health::server::health_reporter();
    let dependencies =
        health::Dependencies::new(&config.database_url, &store, parts.redis.as_ref().map(|r| r.queue.client()));
    health::follow(health.clone(), dependencies, signalled.clone(), &tracker).await;
    let job_api = JobApi {
        intake: Intake::start(Arc::clone(&runner)),
        runner: Arc::clone(&runner),
        shutdown: stop_taking.clone(),
        watch_keepalive: config.watch_keepalive,
    };
    let note_api = NoteApi { store: store.clone() };
    let (job_auth, note_auth) = (auth.clone(), auth);
    let job_server = JobServiceServer::new(job_api).max_decoding_message_size(MAX_REQUEST_BYTES);
    let note_server = NoteServiceServer::new(note_api).max_decoding_message_size(MAX_REQUEST_BYTES);
    let draining = stop_taking.clone();
    let on_shutdown = async move {
        signalled.cancelled().await;
        tracing::info!("shutting down: NOT_SERVING, no new jobs, ending watch streams");
        set_health(&health, ServingStatus::NotServing).await;
        draining.cancel();
    };
    crate::telemetry::install_metrics_exporter(config.metrics_listen);
    tracing::info!(
        address = %listener.local_addr()?,
        workers = config.concurrency,
        redis = parts.redis.is_some(),
        tls = config.tls.is_some(),
        "videojobs serving"
    );
    let mut server = Server::builder();
    if let Some(tls) = &config.tls {
        server = server.tls_config(web::tls_config(tls))?;
    }
    server
        .accept_http1(true)
        .layer(tower::util::option_layer(web::cors_layer(&config.cors_allowed_origins)))
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(crate::telemetry::GrpcMetricsLayer)
        .add_service(health_service)
        .add_service(reflection_v1()?)
        .add_service(reflection_v1alpha()?)
        .add_service(InterceptedService::new(job_server, move |r| job_auth.intercept(r)))
        .add_service(InterceptedService::new(note_server, move |r| note_auth.intercept(r)))
        .serve_with_incoming_shutdown(accepting(listener), on_shutdown)
        .await?;

    stop_taking.cancel();
    tracker.close();
    if tokio::time::timeout(config.shutdown_grace, tracker.wait()).await.is_err() {
        tracing::info!(running = runner.events.running.len(), "grace period over; handing running jobs back");
        stop_running.cancel();
        let hand_back = config.supervisor.kill_grace + Duration::from_secs(10);
        if tokio::time::timeout(hand_back, tracker.wait()).await.is_err() {
            tracing::warn!("workers did not stop in time; their leases expire and other nodes take over");
        }
    }
    // Events are written behind the workers: let the last ones out first.
    if tokio::time::timeout(Duration::from_secs(10), runner.events.flush()).await.is_err() {
        tracing::warn!("the last job events were not all written in time");
    }
    if let Some(redis) = parts.redis {
        redis.close().await;
    }
    store.close().await?;
    tracing::info!("stopped");
    Ok(())
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

/// Fails start-up with a clear message rather than failing every job later.
fn ensure_program_exists(program: &std::path::Path) -> anyhow::Result<()> {
    let found = if program.components().count() > 1 {
        program.is_file()
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
    };
    anyhow::ensure!(
        found,
        "the note-making program {} was not found; build the bundled stand-in with `cargo build --bins` or set VIDEOJOBS_CLI",
        program.display()
    );
    Ok(())
}
