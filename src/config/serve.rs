//! `serve`'s resolved configuration, built from the flags (or directly by
//! tests), with the checks that turn bad settings into clear errors.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::domain::retry::RetryPolicy;
use crate::supervisor::SupervisorConfig;
use crate::supervisor::command::ProgramCommand;
use crate::supervisor::notes::NoteFiles;
use crate::supervisor::parse::{OutputPatterns, StagePattern};

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
