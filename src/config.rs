//! Configuration: flags with environment fallbacks (the seeds' names where
//! they had one), resolved into a [`ServeConfig`] that tests build directly.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::domain::retry::RetryPolicy;
use crate::supervisor::SupervisorConfig;
use crate::supervisor::command::ProgramCommand;
use crate::supervisor::notes::NoteFiles;
use crate::supervisor::parse::{OutputPatterns, StagePattern};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
pub const DEFAULT_DATA_DIR: &str = "videojobs-data";
pub const DEFAULT_JOB_TIMEOUT_MS: u64 = 30 * 60 * 1000;
pub const DEFAULT_JOB_RETRY_ATTEMPTS: u32 = 3;
pub const DEFAULT_RETRY_BASE_DELAY_MS: u64 = 5_000;
pub const DEFAULT_RETRY_MAX_DELAY_MS: u64 = 5 * 60 * 1000;
pub const DEFAULT_KILL_GRACE_MS: u64 = 5_000;
pub const DEFAULT_CONCURRENCY: usize = 3;
pub const DEFAULT_QUEUE_CAPACITY: usize = 100_000;
pub const DEFAULT_WATCH_BUFFER: usize = 1024;
pub const STANDIN_PROGRAM: &str = "study-buddy-standin";
pub const DEFAULT_REDIS_PREFIX: &str = "videojobs";
pub const DEFAULT_LEASE_MS: u64 = 30_000;
pub const DEFAULT_REAP_INTERVAL_MS: u64 = 5_000;
pub const DEFAULT_RECONCILE_INTERVAL_MS: u64 = 30_000;
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 30_000;
pub const DEFAULT_WATCH_KEEPALIVE_MS: u64 = 15_000;
pub const DEFAULT_EVENT_RETENTION_HOURS: u64 = 7 * 24;
pub const DEFAULT_COMPLETED_RETENTION_DAYS: u64 = 30;
pub const DEFAULT_FAILED_RETENTION_DAYS: u64 = 90;

/// A value that must never reach a log: `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret::new(s))
    }
}

#[derive(Debug, Parser)]
#[command(name = "videojobs", version, about = "YouTube videos in, study notes out, every step streamed over gRPC.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// `human` or `json`.
    #[arg(long, global = true, env = "VIDEOJOBS_LOG_FORMAT", default_value = "human")]
    pub log_format: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service.
    Serve(Box<ServeArgs>),
    /// Print a bearer token for a user, signed with the configured secret.
    Token(TokenArgs),
    /// Check a running server's gRPC health; exits non-zero unless SERVING.
    Health(HealthArgs),
    /// Submit YouTube URLs as jobs; with `--watch`, follow them to the end.
    Submit(crate::client::SubmitArgs),
    /// List, show, retry, cancel or delete your jobs.
    Jobs(crate::client::JobsArgs),
    /// Follow jobs live with progress bars; exits 0 only if all completed.
    Watch(crate::client::WatchArgs),
    /// Read or list the notes your jobs produced.
    Notes(crate::client::NotesArgs),
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    #[arg(long, env = "VIDEOJOBS_ADDR", default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// A service name, or empty for the server as a whole.
    #[arg(long, default_value = "")]
    pub service: String,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[arg(long)]
    pub user: String,
    #[arg(long, env = "VIDEOJOBS_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    #[arg(long, env = "VIDEOJOBS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// How long the token is valid, in seconds.
    #[arg(long, default_value_t = 24 * 60 * 60)]
    pub ttl_secs: u64,
    /// Give the token the `admin` role: it sees and manages every user's jobs.
    #[arg(long)]
    pub admin: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, env = "VIDEOJOBS_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Holds the SQLite file, the generated JWT secret and scratch directories.
    #[arg(long, env = "VIDEOJOBS_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The note-making program and its leading arguments, split on spaces
    /// (no shell), e.g. `uv run youtube-study-buddy`. Default: the bundled
    /// stand-in.
    #[arg(long, env = "VIDEOJOBS_CLI")]
    pub cli: Option<String>,
    /// The program's project directory, passed as `uv run --project`.
    #[arg(long, env = "PYTHON_CLI_PATH")]
    pub python_cli_path: Option<PathBuf>,
    #[arg(long, env = "JOB_TIMEOUT_MS", default_value_t = DEFAULT_JOB_TIMEOUT_MS)]
    pub job_timeout_ms: u64,
    /// Total attempts per job, the first run included.
    #[arg(long, env = "JOB_RETRY_ATTEMPTS", default_value_t = DEFAULT_JOB_RETRY_ATTEMPTS,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub job_retry_attempts: u32,
    #[arg(long, env = "JOB_RETRY_BASE_DELAY_MS", default_value_t = DEFAULT_RETRY_BASE_DELAY_MS)]
    pub retry_base_delay_ms: u64,
    #[arg(long, env = "JOB_RETRY_MAX_DELAY_MS", default_value_t = DEFAULT_RETRY_MAX_DELAY_MS)]
    pub retry_max_delay_ms: u64,
    /// Between SIGTERM and SIGKILL when a program is stopped.
    #[arg(long, env = "JOB_KILL_GRACE_MS", default_value_t = DEFAULT_KILL_GRACE_MS)]
    pub kill_grace_ms: u64,
    /// `redis://…`: the queue and the events between nodes go through Redis.
    /// Unset: the in-process queue (one node).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Every Redis key and channel lives under `{PREFIX}:` (a Cluster hash tag).
    #[arg(long, env = "REDIS_PREFIX", default_value = DEFAULT_REDIS_PREFIX)]
    pub redis_prefix: String,
    /// How long a worker's claim on a job lasts unless renewed.
    #[arg(long, env = "JOB_LEASE_MS", default_value_t = DEFAULT_LEASE_MS)]
    pub lease_ms: u64,
    #[arg(long, env = "VIDEOJOBS_REAP_INTERVAL_MS", default_value_t = DEFAULT_REAP_INTERVAL_MS)]
    pub reap_interval_ms: u64,
    #[arg(long, env = "VIDEOJOBS_RECONCILE_INTERVAL_MS", default_value_t = DEFAULT_RECONCILE_INTERVAL_MS)]
    pub reconcile_interval_ms: u64,
    /// At shutdown, how long running jobs may finish before they are handed back.
    #[arg(long, env = "VIDEOJOBS_SHUTDOWN_GRACE_MS", default_value_t = DEFAULT_SHUTDOWN_GRACE_MS)]
    pub shutdown_grace_ms: u64,
    /// Programs run at once on this node; 0 serves the API only.
    #[arg(long, env = "VIDEOJOBS_CONCURRENCY", default_value_t = DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// At most this many of one user's jobs run at once across all nodes;
    /// 0 means no cap (fairness between users still applies).
    #[arg(long, env = "VIDEOJOBS_PER_USER_CONCURRENCY", default_value_t = 0)]
    pub per_user_concurrency: u32,
    #[arg(long, env = "VIDEOJOBS_QUEUE_CAPACITY", default_value_t = DEFAULT_QUEUE_CAPACITY)]
    pub queue_capacity: usize,
    /// Events a watcher may fall behind before its stream is ended.
    #[arg(long, env = "VIDEOJOBS_WATCH_BUFFER", default_value_t = DEFAULT_WATCH_BUFFER)]
    pub watch_buffer: usize,
    /// A watch stream sends a HEARTBEAT this often, so proxies keep it open.
    #[arg(long, env = "VIDEOJOBS_WATCH_KEEPALIVE_MS", default_value_t = DEFAULT_WATCH_KEEPALIVE_MS)]
    pub watch_keepalive_ms: u64,
    /// Events older than this are trimmed from the log (resuming before them
    /// answers OUT_OF_RANGE).
    #[arg(long, env = "VIDEOJOBS_EVENT_RETENTION_HOURS", default_value_t = DEFAULT_EVENT_RETENTION_HOURS)]
    pub event_retention_hours: u64,
    /// COMPLETED jobs (and their events) are removed this long after they
    /// finished; their notes stay.
    #[arg(long, env = "VIDEOJOBS_COMPLETED_RETENTION_DAYS", default_value_t = DEFAULT_COMPLETED_RETENTION_DAYS)]
    pub completed_retention_days: u64,
    /// The same for FAILED and CANCELLED jobs.
    #[arg(long, env = "VIDEOJOBS_FAILED_RETENTION_DAYS", default_value_t = DEFAULT_FAILED_RETENTION_DAYS)]
    pub failed_retention_days: u64,
    /// Passed to the program as CLAUDE_API_KEY; never logged.
    #[arg(long, env = "CLAUDE_API_KEY", hide_env_values = true)]
    pub claude_api_key: Option<Secret>,
    #[arg(long, env = "VIDEOJOBS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Regex for "item `current` of `total` started"; repeatable, replaces
    /// the defaults (`[i/N] Processing:` and `Processing i/N`).
    #[arg(long = "progress-pattern")]
    pub progress_patterns: Vec<String>,
    /// `PERCENT:STAGE NAME=REGEX`; repeatable, replaces the default stages.
    #[arg(long = "stage-pattern")]
    pub stage_patterns: Vec<String>,
    /// Serve Prometheus metrics over HTTP here, e.g. `127.0.0.1:9100`. Off by default.
    #[arg(long, env = "VIDEOJOBS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Origins browsers may call from with gRPC-web (comma-separated); none by default.
    #[arg(long = "cors-allowed-origins", env = "VIDEOJOBS_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
    /// PEM certificate chain: serve gRPC over TLS.
    #[arg(long, env = "VIDEOJOBS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, env = "VIDEOJOBS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA bundle: require client certificates signed by it (mTLS).
    #[arg(long, env = "VIDEOJOBS_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
}

/// TLS for the gRPC port, as PEM text read at start-up.
#[derive(Clone)]
pub struct TlsConfig {
    pub cert_pem: String,
    pub key_pem: Secret,
    /// Client certificates must chain to this CA (mutual TLS).
    pub client_ca_pem: Option<String>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").field("mutual", &self.client_ca_pem.is_some()).finish_non_exhaustive()
    }
}

/// Everything `serve` needs, resolved.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub lease: Duration,
    pub reap_interval: Duration,
    pub reconcile_interval: Duration,
    pub shutdown_grace: Duration,
    pub jwt_secret: Option<Secret>,
    pub concurrency: usize,
    pub per_user_concurrency: Option<u32>,
    pub queue_capacity: usize,
    pub watch_buffer: usize,
    pub watch_keepalive: Duration,
    pub event_retention: Duration,
    pub completed_retention: Duration,
    pub failed_retention: Duration,
    pub metrics_listen: Option<SocketAddr>,
    pub cors_allowed_origins: Vec<String>,
    pub tls: Option<TlsConfig>,
    pub retry: RetryPolicy,
    pub supervisor: SupervisorConfig,
}

impl ServeConfig {
    /// The embedded default in `data_dir`: SQLite there, the bundled stand-in.
    pub fn embedded(data_dir: PathBuf) -> ServeConfig {
        ServeConfig {
            database_url: sqlite_url(&data_dir),
            redis_url: None,
            redis_prefix: DEFAULT_REDIS_PREFIX.into(),
            lease: Duration::from_millis(DEFAULT_LEASE_MS),
            reap_interval: Duration::from_millis(DEFAULT_REAP_INTERVAL_MS),
            reconcile_interval: Duration::from_millis(DEFAULT_RECONCILE_INTERVAL_MS),
            shutdown_grace: Duration::from_millis(DEFAULT_SHUTDOWN_GRACE_MS),
            jwt_secret: None,
            concurrency: DEFAULT_CONCURRENCY,
            per_user_concurrency: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            watch_buffer: DEFAULT_WATCH_BUFFER,
            watch_keepalive: Duration::from_millis(DEFAULT_WATCH_KEEPALIVE_MS),
            event_retention: Duration::from_secs(DEFAULT_EVENT_RETENTION_HOURS * 3600),
            completed_retention: Duration::from_secs(DEFAULT_COMPLETED_RETENTION_DAYS * 86_400),
            failed_retention: Duration::from_secs(DEFAULT_FAILED_RETENTION_DAYS * 86_400),
            metrics_listen: None,
            cors_allowed_origins: Vec::new(),
            tls: None,
            retry: RetryPolicy {
                max_attempts: DEFAULT_JOB_RETRY_ATTEMPTS,
                base_delay: Duration::from_millis(DEFAULT_RETRY_BASE_DELAY_MS),
                max_delay: Duration::from_millis(DEFAULT_RETRY_MAX_DELAY_MS),
            },
            supervisor: SupervisorConfig {
                command: ProgramCommand {
                    program: standin_path(),
                    leading_args: vec![],
                    project_dir: None,
                    api_key: None,
                },
                scratch_root: data_dir.join("scratch"),
                timeout: Duration::from_millis(DEFAULT_JOB_TIMEOUT_MS),
                kill_grace: Duration::from_millis(DEFAULT_KILL_GRACE_MS),
                patterns: OutputPatterns::default(),
                note_files: NoteFiles::default(),
            },
            data_dir,
        }
    }
}

impl ServeArgs {
    pub fn into_config(self) -> anyhow::Result<ServeConfig> {
        let mut config = ServeConfig::embedded(self.data_dir.clone());
        if let Some(url) = self.database_url {
            config.database_url = url;
        }
        config.jwt_secret = self.jwt_secret;
        config.redis_url = self.redis_url;
        anyhow::ensure!(
            !self.redis_prefix.is_empty() && !self.redis_prefix.contains(['{', '}', ' ']),
            "REDIS_PREFIX must be non-empty without braces or spaces"
        );
        config.redis_prefix = self.redis_prefix;
        anyhow::ensure!(self.lease_ms >= 300, "JOB_LEASE_MS must be at least 300");
        config.lease = Duration::from_millis(self.lease_ms);
        config.reap_interval = Duration::from_millis(self.reap_interval_ms.max(10));
        config.reconcile_interval = Duration::from_millis(self.reconcile_interval_ms.max(10));
        config.shutdown_grace = Duration::from_millis(self.shutdown_grace_ms);
        config.concurrency = self.concurrency;
        config.per_user_concurrency = (self.per_user_concurrency > 0).then_some(self.per_user_concurrency);
        config.queue_capacity = self.queue_capacity.max(1);
        config.watch_buffer = self.watch_buffer.max(16);
        config.watch_keepalive = Duration::from_millis(self.watch_keepalive_ms.max(100));
        config.event_retention = Duration::from_secs(self.event_retention_hours.max(1) * 3600);
        config.completed_retention = Duration::from_secs(self.completed_retention_days.max(1) * 86_400);
        config.failed_retention = Duration::from_secs(self.failed_retention_days.max(1) * 86_400);
        config.metrics_listen = self.metrics_listen;
        config.cors_allowed_origins = self.cors_allowed_origins.into_iter().filter(|o| !o.trim().is_empty()).collect();
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            let read = |path: &PathBuf| {
                std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
            };
            config.tls = Some(TlsConfig {
                cert_pem: read(cert)?,
                key_pem: Secret::new(read(key)?),
                client_ca_pem: self.tls_client_ca.as_ref().map(read).transpose()?,
            });
        }
        config.retry = RetryPolicy {
            max_attempts: self.job_retry_attempts,
            base_delay: Duration::from_millis(self.retry_base_delay_ms),
            max_delay: Duration::from_millis(self.retry_max_delay_ms.max(self.retry_base_delay_ms)),
        };
        let supervisor = &mut config.supervisor;
        if let Some(cli) = self.cli {
            let mut words = cli.split_whitespace().map(String::from);
            let program = words.next().ok_or_else(|| anyhow::anyhow!("VIDEOJOBS_CLI is empty"))?;
            supervisor.command.program = if program == STANDIN_PROGRAM { standin_path() } else { program.into() };
            supervisor.command.leading_args = words.collect();
        }
        supervisor.command.project_dir = self.python_cli_path;
        supervisor.command.api_key = self.claude_api_key;
        anyhow::ensure!(self.job_timeout_ms > 0, "JOB_TIMEOUT_MS must be positive");
        supervisor.timeout = Duration::from_millis(self.job_timeout_ms);
        supervisor.kill_grace = Duration::from_millis(self.kill_grace_ms);
        if !self.progress_patterns.is_empty() {
            supervisor.patterns.item_started =
                self.progress_patterns.iter().map(|p| compile_progress(p)).collect::<anyhow::Result<_>>()?;
        }
        if !self.stage_patterns.is_empty() {
            supervisor.patterns.stages =
                self.stage_patterns.iter().map(|p| parse_stage(p)).collect::<anyhow::Result<_>>()?;
        }
        Ok(config)
    }
}

fn compile_progress(pattern: &str) -> anyhow::Result<regex::Regex> {
    let regex = regex::Regex::new(pattern)?;
    let names: Vec<_> = regex.capture_names().flatten().collect();
    anyhow::ensure!(
        names.contains(&"current") && names.contains(&"total"),
        "progress pattern {pattern:?} needs groups (?P<current>…) and (?P<total>…)"
    );
    Ok(regex)
}

/// `PERCENT:STAGE NAME=REGEX`, e.g. `60:notes generated=✓ Notes generated`.
fn parse_stage(spec: &str) -> anyhow::Result<StagePattern> {
    let bad = || anyhow::anyhow!("stage pattern {spec:?} is not PERCENT:STAGE NAME=REGEX");
    let (percent, rest) = spec.split_once(':').ok_or_else(bad)?;
    let (stage, pattern) = rest.split_once('=').ok_or_else(bad)?;
    let percent: u32 = percent.trim().parse().map_err(|_| bad())?;
    anyhow::ensure!(percent <= 99, "stage percent must be at most 99 in {spec:?}");
    Ok(StagePattern { regex: regex::Regex::new(pattern)?, stage: stage.trim().into(), percent })
}

/// The URL with its password replaced, for errors and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable URL>".into(),
    }
}

pub fn sqlite_url(data_dir: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("videojobs.sqlite3").display())
}

/// The stand-in installed beside this binary (as cargo and the Dockerfile do).
pub fn standin_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            // Test binaries live one level down, in target/<profile>/deps.
            let dir = exe.parent()?;
            [dir.join(STANDIN_PROGRAM), dir.parent()?.join(STANDIN_PROGRAM)].into_iter().find(|p| p.exists())
        })
        .unwrap_or_else(|| PathBuf::from(STANDIN_PROGRAM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let args = Cli::parse_from([
            "videojobs",
            "serve",
            "--claude-api-key",
            "sk-very-secret",
            "--jwt-secret",
            "jwt-very-secret",
        ]);
        let printed = format!("{args:?}");
        assert!(!printed.contains("very-secret"), "{printed}");
        let Command::Serve(serve) = args.command else { panic!("serve") };
        let config = serve.into_config().unwrap();
        assert!(!format!("{config:?}").contains("very-secret"));
    }

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(redact_url("postgres://app:hunter2@db:5432/jobs"), "postgres://app:***@db:5432/jobs");
        assert_eq!(redact_url("redis://:hunter2@127.0.0.1:6379"), "redis://:***@127.0.0.1:6379");
        assert_eq!(redact_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn the_cli_setting_is_split_without_a_shell_and_patterns_are_checked() {
        let args = Cli::parse_from([
            "videojobs",
            "serve",
            "--cli",
            "uv run youtube-study-buddy",
            "--stage-pattern",
            "40:thinking=Thinking",
        ]);
        let Command::Serve(serve) = args.command else { panic!("serve") };
        let config = serve.into_config().unwrap();
        assert_eq!(config.supervisor.command.program, PathBuf::from("uv"));
        assert_eq!(config.supervisor.command.leading_args, ["run", "youtube-study-buddy"]);
        assert_eq!(config.supervisor.patterns.stages[0].stage, "thinking");
        assert!(compile_progress(r"(?P<current>\d+)").is_err());
        assert!(parse_stage("nope").is_err());
    }
}
