//! One videojobs node in its own process: the release binary on a fresh
//! PostgreSQL database and Redis prefix (or the embedded default), with
//! authenticated clients for any number of users and its resident memory.
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::scratch::TempDir;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use videojobs::auth::Authenticator;
use videojobs::config::Secret;
use videojobs::proto::v1 as pb;
use videojobs::proto::v1::job_service_client::JobServiceClient;

use crate::services::{FreshDatabase, fresh_prefix, remove_prefix};

const SECRET: &str = "videojobs-bench-secret-0123456789";

/// How a node is started.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// Programs run at once; 0 serves the API only.
    pub concurrency: usize,
    /// PostgreSQL + Redis (the scaled-out stack) or the embedded default.
    pub embedded: bool,
    /// The stand-in's delay per stage (0: as fast as it goes).
    pub stage_delay_ms: u64,
}

pub struct Node {
    pub addr: String,
    child: tokio::process::Child,
    pub database: Option<FreshDatabase>,
    prefix: Option<(String, String)>,
    _dir: TempDir,
}

impl Node {
    pub async fn start(bench: &crate::scenarios::Bench, options: NodeOptions) -> anyhow::Result<Node> {
        Node::start_with(bench, options, &[]).await
    }

    /// [`Node::start`] with more `serve` flags.
    pub async fn start_with(
        bench: &crate::scenarios::Bench,
        options: NodeOptions,
        extra: &[&str],
    ) -> anyhow::Result<Node> {
        let dir = TempDir::new("node")?;
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let standin = format!("{} --stage-delay-ms {}", bench.standin.display(), options.stage_delay_ms);
        let mut command = tokio::process::Command::new(&bench.server);
        command
            .arg("serve")
            .args(["--listen", &addr, "--cli", &standin])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--concurrency", &options.concurrency.to_string(), "--queue-capacity", "100000000"])
            .args(extra)
            .env("VIDEOJOBS_JWT_SECRET", SECRET)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("server.log"))?)
            .stderr(std::fs::File::create(dir.path().join("server.err"))?)
            .kill_on_drop(true);
        let (mut database, mut prefix) = (None, None);
        if !options.embedded {
            let fresh = FreshDatabase::create(&bench.database_url).await?;
            command.args(["--database-url", &fresh.url]);
            database = Some(fresh);
            let key_prefix = fresh_prefix();
            command.args(["--redis-url", &bench.redis_url, "--redis-prefix", &key_prefix]);
            prefix = Some((bench.redis_url.clone(), key_prefix));
        }
        let child = command.spawn().with_context(|| format!("starting {}", bench.server.display()))?;
        let node = Node { addr, child, database, prefix, _dir: dir };
        node.wait_until_serving().await?;
        Ok(node)
    }

    async fn wait_until_serving(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(channel) = Endpoint::from_shared(self.url())?.connect().await {
                let mut client = self.client_on(channel, "bench-probe");
                if client.get_job_stats(pb::GetJobStatsRequest {}).await.is_ok() {
                    return Ok(());
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "the node on {} did not start; see its server.err", self.addr);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new HTTP/2 connection to the node.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        Ok(Endpoint::from_shared(self.url())?.tcp_nodelay(true).connect().await?)
    }

    /// A client that calls as `user` on `channel`.
    pub fn client_on(&self, channel: Channel, user: &str) -> JobClient {
        JobServiceClient::with_interceptor(channel, Bearer(bearer(user)))
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20)
    }

    pub async fn client(&self, user: &str) -> anyhow::Result<JobClient> {
        Ok(self.client_on(self.channel().await?, user))
    }

    /// The server process's resident set, in bytes.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        let pid = self.child.id().context("the node has exited")?;
        rss_of(pid)
    }

    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the node has exited")
    }

    /// CPU time the server process has used so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()?))?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat.rsplit_once(')').context("stat")?.1.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(ticks as f64 / clock_ticks_per_second())
    }

    /// Stops the node (SIGTERM, then waits) and removes its database and keys.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.is_err() {
            self.child.kill().await?;
        }
        if let Some(database) = self.database.take() {
            database.drop().await?;
        }
        if let Some((url, prefix)) = self.prefix.take() {
            remove_prefix(&url, &prefix)?;
        }
        Ok(())
    }
}

pub type JobClient = JobServiceClient<tonic::service::interceptor::InterceptedService<Channel, Bearer>>;

/// `authorization: Bearer <token>` on every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// The header value for `user`, signed with the nodes' secret.
pub fn bearer(user: &str) -> MetadataValue<Ascii> {
    let token = Authenticator::new(&Secret::new(SECRET)).issue(user, Duration::from_secs(24 * 3600)).expect("token");
    format!("Bearer {token}").parse().expect("ascii token")
}

/// Resident set of a process, in bytes, from /proc.
pub fn rss_of(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    let kib: u64 = line.split_whitespace().nth(1).context("VmRSS value")?.parse()?;
    Ok(kib * 1024)
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
