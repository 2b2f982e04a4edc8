//! Configuration: flags with environment fallbacks (the seeds' names where
//! they had one), resolved into a [`ServeConfig`] that tests build directly.
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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

mod secret;
mod serve;

pub use secret::{Secret, redact_url, redact_urls_in};
pub use serve::{ServeConfig, TlsConfig, sqlite_url, standin_path};

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
    /// Events an admin's watch of every user may fall behind before it is
    /// ended (a user's watcher catches up from the log instead).
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
        assert_eq!(
            redact_urls_in("The connection string 'postgres://app:hun/ter@2@db:5432/jobs' has no driver"),
            "The connection string 'postgres://app:***@db:5432/jobs' has no driver"
        );
        assert_eq!(
            redact_urls_in("refused by redis://127.0.0.1:6379 and x://h/p"),
            "refused by redis://127.0.0.1:6379 and x://h/p"
        );
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
        assert!(serve::compile_progress(r"(?P<current>\d+)").is_err());
        assert!(serve::parse_stage("nope").is_err());
    }
}
