//! Builds the service from its configuration and owns the shutdown order:
//! report NOT_SERVING, stop taking jobs and end watch streams, hand running
//! jobs back, drain the server, then close the database.
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::auth::Authenticator;
use crate::config::ServeConfig;
use crate::events::EventHub;
use crate::grpc::{JobApi, NoteApi};
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::v1::job_service_server::JobServiceServer;
use crate::proto::v1::note_service_server::NoteServiceServer;
use crate::queue::MemoryQueue;
use crate::store::Store;
use crate::supervisor::Supervisor;
use crate::worker::{JobRunner, RunningJobs};

const JOB_SERVICE: &str = "videojobs.v1.JobService";
const NOTE_SERVICE: &str = "videojobs.v1.NoteService";
/// How long running jobs get to hand themselves back at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Runs the service on `listener` until `shutdown` completes.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.supervisor.scratch_root)
        .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    ensure_program_exists(&config.supervisor.command.program)?;
    let secret = Authenticator::secret_from(config.jwt_secret.as_ref(), &config.data_dir)?;
    let auth = Authenticator::new(&secret);
    let pool_size = (config.concurrency as u32 + 8).min(64);
    let store = Store::connect(&config.database_url, pool_size).await.context("cannot open the database")?;

    let runner = Arc::new(JobRunner {
        store: store.clone(),
        queue: Arc::new(MemoryQueue::new(config.queue_capacity)),
        queue_capacity: config.queue_capacity,
        hub: Arc::new(EventHub::new(config.watch_buffer)),
        supervisor: Supervisor::new(config.supervisor.clone()),
        retry: config.retry,
        running: RunningJobs::default(),
    });
    resume_waiting_jobs(&runner).await?;

    let root = CancellationToken::new();
    let tracker = TaskTracker::new();
    runner.spawn_workers(config.concurrency, &root, &tracker);

    let (health, health_service) = tonic_health::server::health_reporter();
    for service in [JOB_SERVICE, NOTE_SERVICE, ""] {
        health.set_service_status(service, ServingStatus::Serving).await;
    }
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let job_api = JobApi { runner: Arc::clone(&runner), shutdown: root.clone() };
    let note_api = NoteApi { store: store.clone() };
    let (job_auth, note_auth) = (auth.clone(), auth);

    let stopping = root.clone();
    let health_on_stop = health.clone();
    let on_shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: no new jobs, ending watch streams");
        for service in [JOB_SERVICE, NOTE_SERVICE, ""] {
            health_on_stop.set_service_status(service, ServingStatus::NotServing).await;
        }
        stopping.cancel();
    };
    tracing::info!(address = %listener.local_addr()?, workers = config.concurrency, "videojobs serving");
    Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(JobServiceServer::with_interceptor(job_api, move |r| job_auth.intercept(r)))
        .add_service(NoteServiceServer::with_interceptor(note_api, move |r| note_auth.intercept(r)))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), on_shutdown)
        .await?;

    root.cancel();
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await.is_err() {
        tracing::warn!("workers did not stop in time; their jobs resume at the next start");
    }
    store.close().await?;
    tracing::info!("stopped");
    Ok(())
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

/// Puts back in the queue every job the database says is waiting, including
/// those a previous run of this node was processing when it stopped.
async fn resume_waiting_jobs(runner: &JobRunner) -> anyhow::Result<()> {
    let interrupted = runner.store.requeue_interrupted().await?;
    let waiting = runner.store.waiting_jobs().await?;
    for (job, run_after) in &waiting {
        runner.enqueue(job, *run_after).await?;
    }
    if !waiting.is_empty() {
        tracing::info!(waiting = waiting.len(), interrupted, "resumed jobs from the database");
    }
    Ok(())
}
