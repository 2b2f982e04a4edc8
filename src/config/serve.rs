//! `serve`'s resolved configuration, built from the flags (see
//! [`crate::cli`]) or directly by tests.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::domain::retry::RetryPolicy;
use crate::supervisor::SupervisorConfig;
use crate::supervisor::command::ProgramCommand;
use crate::supervisor::notes::NoteFiles;
use crate::supervisor::parse::OutputPatterns;

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
