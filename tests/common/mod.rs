//! Starts the real server on 127.0.0.1:0 with its real migrations and hands
//! out authenticated tonic clients. Each server has its own data directory
//! (SQLite file, scratch directories), so tests run in parallel.
#![allow(dead_code)]

mod backend;
mod node_process;
mod private;
mod test_core;
pub use backend::*;
#[allow(unused_imports)] // only tests that start node processes use it
pub use node_process::*;
#[allow(unused_imports)] // not every test uses a private server
pub use private::*;
#[allow(unused_imports)]
pub use test_core::*;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};
use tonic_health::pb::HealthCheckRequest;
pub use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use videojobs::auth::Authenticator;
use videojobs::config::{Secret, ServeConfig};
use videojobs::proto::v1 as pb;
use videojobs::proto::v1::job_service_client::JobServiceClient;
use videojobs::proto::v1::note_service_client::NoteServiceClient;

/// A `JobService` client that sends a user's bearer token.
pub type JobsClient = JobServiceClient<InterceptedService<Channel, Bearer>>;
/// A `NoteService` client that sends a user's bearer token.
pub type NotesClient = NoteServiceClient<InterceptedService<Channel, Bearer>>;

pub const SECRET: &str = "integration-test-secret-0123456789";
pub const WAIT: Duration = Duration::from_secs(30);

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The embedded default, tuned for tests: the stand-in with short stage
/// delays, quick retries, a short kill grace.
pub fn test_config(data_dir: &Path) -> ServeConfig {
    let mut config = ServeConfig::embedded(data_dir.to_path_buf());
    config.jwt_secret = Some(Secret::new(SECRET));
    config.worker.concurrency = 2;
    config.retry.base_delay = Duration::from_millis(50);
    config.retry.max_delay = Duration::from_millis(200);
    let supervisor = &mut config.supervisor;
    supervisor.command.program = PathBuf::from(env!("CARGO_BIN_EXE_study-buddy-standin"));
    let state_dir = data_dir.join("standin-state").display().to_string();
    supervisor.command.leading_args = vec!["--stage-delay-ms".into(), "30".into(), "--state-dir".into(), state_dir];
    supervisor.timeout = Duration::from_secs(20);
    supervisor.kill_grace = Duration::from_millis(500);
    config.worker.lease = Duration::from_secs(2);
    config.worker.shutdown_grace = Duration::ZERO;
    config
}

/// Sets the stand-in's `--stage-delay-ms`: how long it spends in each stage.
pub fn set_stage_delay(config: &mut ServeConfig, delay: Duration) {
    let args = &mut config.supervisor.command.leading_args;
    let at = args.iter().position(|arg| arg == "--stage-delay-ms").expect("the stand-in's options");
    args[at + 1] = delay.as_millis().to_string();
}

/// How a test server is started: `TestServer::embedded()` or
/// `TestServer::on(&backend)`, any number of `.with(|config| …)`, then
/// `.start()` (in a fresh data directory, returned beside it) or
/// `.start_in(dir)` (in one the test keeps, e.g. across a restart).
pub struct ServerBuilder<'a> {
    backend: Backend,
    configures: Vec<Configure<'a>>,
    /// Listen here instead of on a fresh port (a restart keeps its address).
    addr: Option<std::net::SocketAddr>,
}

/// One change to a test server's configuration.
type Configure<'a> = Box<dyn FnOnce(&mut ServeConfig) + 'a>;

impl<'a> ServerBuilder<'a> {
    /// Changes the configuration after [`test_config`] and the backend.
    pub fn with(mut self, configure: impl FnOnce(&mut ServeConfig) + 'a) -> ServerBuilder<'a> {
        self.configures.push(Box::new(configure));
        self
    }

    /// Listens on `addr` (e.g. the address of the server this one replaces).
    pub fn listen_on(mut self, addr: std::net::SocketAddr) -> ServerBuilder<'a> {
        self.addr = Some(addr);
        self
    }

    pub async fn start(self) -> (TestServer, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let server = self.start_in(dir.path()).await;
        (server, dir)
    }

    pub async fn start_in(self, data_dir: &Path) -> TestServer {
        let mut config = test_config(data_dir);
        self.backend.apply(&mut config);
        for configure in self.configures {
            configure(&mut config);
        }
        let at = self.addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap());
        let listener = tokio::net::TcpListener::bind(at).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(videojobs::app::run(config, listener, async move {
            let _ = rx.await;
        }));
        TestServer { addr, data_dir: data_dir.to_path_buf(), shutdown: Some(tx), handle: Some(handle) }
    }
}

impl TestServer {
    /// A server on the embedded default (SQLite, the in-process queue).
    pub fn embedded<'a>() -> ServerBuilder<'a> {
        TestServer::on(&Backend::Embedded)
    }

    /// A server on `backend`.
    pub fn on<'a>(backend: &Backend) -> ServerBuilder<'a> {
        ServerBuilder { backend: backend.clone(), configures: Vec::new(), addr: None }
    }

    /// Shuts down gracefully and waits until the server has stopped.
    pub async fn stop(mut self) {
        let _ = self.shutdown.take().unwrap().send(());
        self.handle.take().unwrap().await.unwrap().unwrap();
    }

    pub fn token(&self, user: &str) -> String {
        Authenticator::new(&Secret::new(SECRET)).issue(user, Duration::from_secs(600)).unwrap()
    }

    /// A token with the `admin` role.
    pub fn admin_token(&self, user: &str) -> String {
        Authenticator::new(&Secret::new(SECRET)).issue_admin(user, Duration::from_secs(600)).unwrap()
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr)).unwrap().connect().await.unwrap()
    }

    pub async fn jobs(&self, user: &str) -> JobsClient {
        JobServiceClient::with_interceptor(self.channel().await, Bearer::new(&self.token(user)))
    }

    /// A client with an admin token (user `ops`).
    pub async fn admin(&self) -> JobsClient {
        let token = Authenticator::new(&Secret::new(SECRET)).issue_admin("ops", Duration::from_secs(600)).unwrap();
        JobServiceClient::with_interceptor(self.channel().await, Bearer::new(&token))
    }

    pub async fn notes(&self, user: &str) -> NotesClient {
        NoteServiceClient::with_interceptor(self.channel().await, Bearer::new(&self.token(user)))
    }
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Bearer {
    pub fn new(token: &str) -> Bearer {
        Bearer(format!("Bearer {token}").parse().unwrap())
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub fn url(video_id: &str) -> String {
    assert_eq!(video_id.len(), 11, "a video id has 11 characters");
    format!("https://youtu.be/{video_id}")
}

pub fn submit(video_id: &str) -> pb::SubmitVideoRequest {
    pb::SubmitVideoRequest { url: url(video_id), subject: "Physics".into(), ..Default::default() }
}

pub fn state(job: &pb::Job) -> pb::JobState {
    pb::JobState::try_from(job.state).unwrap()
}

pub fn kind(event: &pb::JobEvent) -> pb::JobEventType {
    pb::JobEventType::try_from(event.r#type).unwrap()
}

pub fn is_final(state: pb::JobState) -> bool {
    matches!(state, pb::JobState::Completed | pb::JobState::Failed | pb::JobState::Cancelled)
}

/// Reads `stream` until `job_id` reaches a final state; returns its events.
pub async fn events_until_final(stream: &mut tonic::Streaming<pb::JobEvent>, job_id: &str) -> Vec<pb::JobEvent> {
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        while let Some(event) = stream.message().await.unwrap() {
            if kind(&event) == pb::JobEventType::Heartbeat {
                continue;
            }
            let done = event.job_id == job_id
                && is_final(state(event.job.as_ref().unwrap()))
                && kind(&event) != pb::JobEventType::Snapshot;
            seen.push(event);
            if done {
                return;
            }
        }
        panic!("stream ended early");
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "job {job_id} did not finish; saw {:#?}",
            seen.iter().map(|e| (kind(e), e.job.as_ref().unwrap().stage.clone())).collect::<Vec<_>>()
        )
    });
    seen
}

/// Watches one job until it ends and returns its final snapshot.
pub async fn wait_final(client: &mut JobsClient, job_id: &str) -> pb::Job {
    let mut stream = client
        .watch_jobs(pb::WatchJobsRequest { job_ids: vec![job_id.into()], ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    tokio::time::timeout(WAIT, async {
        while let Some(event) = stream.message().await.unwrap() {
            let Some(job) = event.job else { continue }; // a heartbeat
            if is_final(state(&job)) {
                return job;
            }
        }
        panic!("stream ended early");
    })
    .await
    .unwrap_or_else(|_| panic!("job {job_id} did not finish in time"))
}

/// Watches one job until a worker has claimed it (PROCESSING).
pub async fn wait_until_processing(client: &mut JobsClient, job_id: &str) {
    let request = pb::WatchJobsRequest { job_ids: vec![job_id.into()], ..Default::default() };
    let mut stream = client.watch_jobs(request).await.unwrap().into_inner();
    tokio::time::timeout(WAIT, async {
        while let Some(event) = stream.message().await.unwrap() {
            if event.job.is_some_and(|job| state(&job) == pb::JobState::Processing) {
                return;
            }
        }
        panic!("stream ended early");
    })
    .await
    .unwrap_or_else(|_| panic!("job {job_id} never started"));
}

/// Waits until at least `count` processes run under `dir`.
pub async fn wait_for_processes(dir: &Path, count: usize) {
    tokio::time::timeout(WAIT, async {
        while processes_under(dir).len() < count {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{count} processes never ran under {}", dir.display()));
}

/// A store on the backend's database (a fresh SQLite file when embedded).
pub async fn store_on(backend: &Backend) -> (videojobs::store::Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Embedded => videojobs::config::sqlite_url(dir.path()),
        Backend::Scaled { database_url, .. } => database_url.clone(),
    };
    (videojobs::store::Store::connect(&url, 4).await.unwrap(), dir)
}

/// Live (non-zombie) processes whose working directory is under `dir`: the
/// program and anything it started run in a scratch directory there.
pub fn processes_under(dir: &Path) -> Vec<u32> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z'));
        if cwd.starts_with(&dir) && !zombie {
            found.push(pid);
        }
    }
    found
}

/// Waits up to `within` for no process to be left under `dir`.
pub async fn assert_no_processes_under(dir: &Path, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = processes_under(dir);
        if left.is_empty() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "processes survived: {left:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A node on its own runtime, so a test can kill it the way a crash would:
/// every task dropped at once, no shutdown sequence.
pub struct DetachedNode {
    runtime: tokio::runtime::Runtime,
    pub server: TestServer,
}

impl DetachedNode {
    pub fn start(backend: &Backend, data_dir: &Path, configure: impl FnOnce(&mut ServeConfig)) -> DetachedNode {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut config = test_config(data_dir);
        backend.apply(&mut config);
        configure(&mut config);
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let _entered = runtime.enter();
        let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
        runtime.spawn(videojobs::app::run(config, listener, std::future::pending()));
        let server = TestServer { addr, data_dir: data_dir.to_path_buf(), shutdown: None, handle: None };
        DetachedNode { runtime, server }
    }

    /// Drops every task of the node at once.
    pub fn kill(self) {
        self.runtime.shutdown_background();
    }
}

/// The status `grpc.health.v1.Health/Check` reports for `service`.
pub async fn health(server: &TestServer, service: &str) -> ServingStatus {
    let request = HealthCheckRequest { service: service.into() };
    let response = HealthClient::new(server.channel().await).check(request).await.unwrap().into_inner();
    ServingStatus::try_from(response.status).unwrap()
}

/// Follows `service` with `grpc.health.v1.Health/Watch` (a stream of its
/// changes) until it reports `wanted`; panics after `within`.
pub async fn wait_for_health(server: &TestServer, service: &str, wanted: ServingStatus, within: Duration) {
    let request = HealthCheckRequest { service: service.into() };
    let mut changes = HealthClient::new(server.channel().await).watch(request).await.unwrap().into_inner();
    let mut seen = Vec::new();
    let reached = tokio::time::timeout(within, async {
        while let Some(change) = changes.message().await.unwrap() {
            let status = ServingStatus::try_from(change.status).unwrap();
            seen.push(status);
            if status == wanted {
                return;
            }
        }
        panic!("the health stream of {service:?} ended");
    })
    .await;
    assert!(reached.is_ok(), "{service:?} was not {wanted:?} within {within:?}; it reported {seen:?}");
}
