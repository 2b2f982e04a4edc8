//! `serve`'s flags, each with its environment fallback (the seeds' names
//! where they had one), and the checks that turn bad settings into clear
//! errors as they become a [`ServeConfig`].
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::config::*;
use crate::domain::retry::RetryPolicy;
use crate::supervisor::parse::StagePattern;

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
    /// A program that prints no line for this long is stopped and its
    /// attempt fails STALLED (and is retried); 0 turns the watchdog off.
    #[arg(long, env = "JOB_STALL_TIMEOUT_MS", default_value_t = DEFAULT_STALL_TIMEOUT_MS)]
    pub stall_timeout_ms: u64,
    /// A failure reason containing this (case-insensitively) is PERMANENT: the
    /// job fails at once instead of being retried. Repeatable (or
    /// comma-separated); replaces the defaults, the real program's own list:
    /// no subtitle, no transcript, video unavailable, video is private,
    /// deleted, invalid video id, members-only.
    #[arg(long = "permanent-pattern", env = "JOB_PERMANENT_PATTERNS", value_delimiter = ',')]
    pub permanent_patterns: Vec<String>,
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
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub queue: QueueArgs,
    #[command(flatten)]
    pub maintenance: MaintenanceArgs,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub console: ConsoleArgs,
    #[command(flatten)]
    pub output: OutputArgs,
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

impl ServeArgs {
    pub fn into_config(self) -> anyhow::Result<ServeConfig> {
        let mut config = ServeConfig::embedded(self.data_dir.clone());
        if let Some(url) = self.database_url {
            config.database_url = url;
        }
        config.jwt_secret = self.jwt_secret;
        config.worker = self.worker.into_config()?;
        config.queue = self.queue.into_config()?;
        config.maintenance = self.maintenance.into_config();
        config.watch = self.watch.into_config();
        config.console = self.console.into_config();
        config.output = self.output.into_config();
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
        supervisor.stall_timeout = (self.stall_timeout_ms > 0).then(|| Duration::from_millis(self.stall_timeout_ms));
        if !self.permanent_patterns.is_empty() {
            supervisor.patterns.permanent = crate::domain::PermanentPatterns::new(&self.permanent_patterns);
        }
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

pub(super) fn compile_progress(pattern: &str) -> anyhow::Result<regex::Regex> {
    let regex = regex::Regex::new(pattern)?;
    let names: Vec<_> = regex.capture_names().flatten().collect();
    anyhow::ensure!(
        names.contains(&"current") && names.contains(&"total"),
        "progress pattern {pattern:?} needs groups (?P<current>…) and (?P<total>…)"
    );
    Ok(regex)
}

/// `PERCENT:STAGE NAME=REGEX`, e.g. `60:notes generated=✓ Notes generated`.
pub(super) fn parse_stage(spec: &str) -> anyhow::Result<StagePattern> {
    let bad = || anyhow::anyhow!("stage pattern {spec:?} is not PERCENT:STAGE NAME=REGEX");
    let (percent, rest) = spec.split_once(':').ok_or_else(bad)?;
    let (stage, pattern) = rest.split_once('=').ok_or_else(bad)?;
    let percent: u32 = percent.trim().parse().map_err(|_| bad())?;
    anyhow::ensure!(percent <= 99, "stage percent must be at most 99 in {spec:?}");
    Ok(StagePattern { regex: regex::Regex::new(pattern)?, stage: stage.trim().into(), percent })
}
