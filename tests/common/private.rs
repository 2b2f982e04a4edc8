//! Servers of a test's own, for fault tests that stop, kill or empty them: a
//! PostgreSQL cluster made with `initdb` in a temporary directory and a
//! `redis-server` without persistence, each on a free port that stays the
//! same across a stop and a start, so clients reconnect to the same address.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::WAIT;

/// A free TCP port on 127.0.0.1 (free when asked; nothing holds it after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Where `initdb` and `pg_ctl` live: the newest `/usr/lib/postgresql/*/bin`
/// (Debian), else whatever `PATH` finds.
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A PostgreSQL cluster of the test's own: trust authentication for
/// `postgres` on 127.0.0.1 only, fsync off. PostgreSQL refuses to run as
/// root, so as root its files belong to the `postgres` OS user (which the
/// Debian package creates) and its programs run as that user.
pub struct PrivatePostgres {
    /// The `postgres` database of the cluster.
    pub url: String,
    port: u16,
    bin: Option<PathBuf>,
    as_postgres: bool,
    dir: tempfile::TempDir,
}

impl PrivatePostgres {
    pub async fn start() -> PrivatePostgres {
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = running_as_root();
        if as_postgres {
            let status = Command::new("chown").arg("postgres:postgres").arg(dir.path()).status().unwrap();
            assert!(status.success(), "the postgres OS user exists (scripts/services.sh installs PostgreSQL)");
        }
        let port = free_port();
        let postgres = PrivatePostgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            port,
            bin: postgres_bin_dir(),
            as_postgres,
            dir,
        };
        let data = postgres.data_dir();
        postgres.run("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]).await;
        postgres.start_again().await;
        postgres
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.as_deref().map_or_else(|| PathBuf::from(program), |bin| bin.join(program));
        let mut command = if self.as_postgres {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(program);
            runuser
        } else {
            Command::new(program)
        };
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        command
    }

    async fn run(&self, program: &str, args: &[&str]) {
        let mut command = self.command(program);
        command.args(args);
        let output = tokio::process::Command::from(command)
            .output()
            .await
            .unwrap_or_else(|e| panic!("{program} runs (scripts/services.sh installs PostgreSQL): {e}"));
        assert!(output.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// Starts the cluster (again) on its port and waits until it accepts
    /// connections.
    pub async fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data_dir(), "-l", &log, "-o", &options, "-w", "-t", "60", "start"]).await;
    }

    /// `pg_ctl stop -m immediate`: every connection dropped at once, no
    /// checkpoint, as in a crash.
    pub async fn stop_immediately(&self) {
        self.run("pg_ctl", &["-D", &self.data_dir(), "-m", "immediate", "-w", "stop"]).await;
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self.command("pg_ctl").args(["-D", &data, "-m", "immediate", "-w", "stop"]).status();
    }
}

/// A redis-server of the test's own on a free port, for tests that empty it,
/// kill it or start it again.
pub struct PrivateRedis {
    pub url: String,
    port: u16,
    process: Option<tokio::process::Child>,
}

impl PrivateRedis {
    pub async fn start() -> PrivateRedis {
        let port = free_port();
        let mut redis = PrivateRedis { url: format!("redis://127.0.0.1:{port}"), port, process: None };
        redis.start_again().await;
        redis
    }

    /// Starts redis-server (again, empty) on the same port and waits for its
    /// `PONG`.
    pub async fn start_again(&mut self) {
        assert!(self.process.is_none(), "redis-server is already running");
        let process = tokio::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is installed (see scripts/services.sh)");
        self.process = Some(process);
        tokio::time::timeout(WAIT, async {
            while self.cli(&["PING"]).as_deref() != Some("PONG") {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("private redis-server starts");
    }

    /// SIGKILL, and waits until the process is gone: its port refuses
    /// connections from then on.
    pub async fn kill(&mut self) {
        let mut process = self.process.take().expect("redis-server is running");
        process.kill().await.unwrap();
    }

    /// Waits until `channel` has `count` subscribers, e.g. until a node's
    /// subscriber has subscribed again after a restart.
    pub async fn wait_for_subscribers(&self, channel: &str, count: usize) {
        let wanted = format!("{channel}\n{count}");
        let subscribed = tokio::time::timeout(WAIT, async {
            while self.cli(&["PUBSUB", "NUMSUB", channel]).as_deref() != Some(wanted.as_str()) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(subscribed.is_ok(), "{channel} never had {count} subscribers");
    }

    fn cli(&self, args: &[&str]) -> Option<String> {
        let output = Command::new("redis-cli").arg("-u").arg(&self.url).args(args).output().ok()?;
        Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    pub fn flushall(&self) {
        assert_eq!(self.cli(&["FLUSHALL"]).as_deref(), Some("OK"));
    }
}
