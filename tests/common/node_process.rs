//! A real `videojobs serve` process, for tests that kill a node the way an
//! operator or the kernel would (`kill -9`): no destructor, no shutdown
//! sequence, nothing flushed. It runs the stand-in (30 ms stages) with its
//! own data directory on a free port, with nothing of this process's
//! environment but `PATH` and `HOME` (so no DATABASE_URL or REDIS_URL: the
//! embedded default unless the test adds them).
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use videojobs::auth::Authenticator;
use videojobs::config::Secret;
use videojobs::proto::v1::job_service_client::JobServiceClient;

use super::{Bearer, JobsClient, SECRET, WAIT};

pub struct NodeProcess {
    pub process: tokio::process::Child,
    /// Where it listens, once its log says (see [`NodeProcess::serving`]).
    pub addr: Option<String>,
    pub data_dir: PathBuf,
    /// The length of `node.log` before this node wrote to it.
    log_from: u64,
}

/// A `JobService` client on `channel` that calls as `user`.
pub fn jobs_client(channel: Channel, user: &str) -> JobsClient {
    let token = Authenticator::new(&Secret::new(SECRET)).issue(user, Duration::from_secs(600)).unwrap();
    JobServiceClient::with_interceptor(channel, Bearer::new(&token))
}

/// Where the stand-in of a node in `data_dir` records its state.
pub fn standin_state(data_dir: &Path) -> PathBuf {
    data_dir.join("standin-state")
}

impl NodeProcess {
    /// Starts the node; `configure` adds flags and environment. Its log is
    /// appended to `node.log` in the data directory, so a node restarted in
    /// the same directory keeps the log of the one before.
    /// It listens on a port the kernel picks (a port picked here and freed
    /// could be taken by another process before the node binds it, and the
    /// test would then talk to that one); its log says which.
    pub fn start(data_dir: &Path, configure: impl FnOnce(&mut tokio::process::Command)) -> NodeProcess {
        let standin = env!("CARGO_BIN_EXE_study-buddy-standin");
        let cli = format!("{standin} --stage-delay-ms 30 --state-dir {}", standin_state(data_dir).display());
        let log = std::fs::OpenOptions::new().create(true).append(true).open(data_dir.join("node.log")).unwrap();
        let log_from = log.metadata().unwrap().len();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_videojobs"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--cli", &cli, "--kill-grace-ms", "500", "--data-dir"])
            .arg(data_dir)
            .env_clear()
            .envs(std::env::vars_os().filter(|(name, _)| name == "PATH" || name == "HOME"))
            .env("VIDEOJOBS_JWT_SECRET", SECRET)
            .env("VIDEOJOBS_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        configure(&mut command);
        let process = command.spawn().expect("videojobs starts");
        NodeProcess { process, addr: None, data_dir: data_dir.to_path_buf(), log_from }
    }

    /// A channel to the node as soon as its health service says SERVING
    /// (its database is migrated and reachable).
    pub async fn serving(&mut self) -> Channel {
        let addr = self.listening().await;
        let url = format!("http://{addr}");
        let check = HealthCheckRequest { service: String::new() };
        tokio::time::timeout(WAIT, async {
            loop {
                if let Ok(channel) = Channel::from_shared(url.clone()).unwrap().connect().await {
                    let answer = HealthClient::new(channel.clone()).check(check.clone()).await;
                    if answer.is_ok_and(|a| a.into_inner().status == ServingStatus::Serving as i32) {
                        return channel;
                    }
                }
                let exited = self.process.try_wait().unwrap();
                assert!(exited.is_none(), "the node exited ({exited:?}); see {}/node.log", self.data_dir.display());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the node at {addr} never served; see {}/node.log", self.data_dir.display()))
    }

    /// The address the node's log says it listens on.
    async fn listening(&mut self) -> String {
        if let Some(addr) = &self.addr {
            return addr.clone();
        }
        let path = self.data_dir.join("node.log");
        let addr = tokio::time::timeout(WAIT, async {
            loop {
                let log = std::fs::read(&path).unwrap_or_default();
                let written = String::from_utf8_lossy(&log[(self.log_from as usize).min(log.len())..]).into_owned();
                if let Some(addr) = written.lines().find_map(serving_address) {
                    return addr;
                }
                let exited = self.process.try_wait().unwrap();
                assert!(exited.is_none(), "the node exited ({exited:?}); see {}", path.display());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the node never said where it listens; see {}", path.display()));
        self.addr = Some(addr.clone());
        addr
    }

    /// A `JobService` client for `user` once the node serves.
    pub async fn jobs(&mut self, user: &str) -> JobsClient {
        jobs_client(self.serving().await, user)
    }

    /// `kill -9`, then waits for the process to be gone.
    pub async fn sigkill(mut self) {
        self.process.start_kill().unwrap();
        let status = self.process.wait().await.unwrap();
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL, not ended otherwise: {status:?}");
    }
}

/// The address in the node's "videojobs serving" log line (JSON).
fn serving_address(line: &str) -> Option<String> {
    let entry: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = entry.get("fields")?;
    if fields.get("message")?.as_str()? != "videojobs serving" {
        return None;
    }
    Some(fields.get("address")?.as_str()?.to_string())
}
