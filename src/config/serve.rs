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

/// Everything `serve` needs, resolved: the server's own settings, then one
/// group per subsystem.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub jwt_secret: Option<Secret>,
    pub metrics_listen: Option<SocketAddr>,
    pub cors_allowed_origins: Vec<String>,
    pub tls: Option<TlsConfig>,
    pub worker: WorkerConfig,
    pub queue: QueueConfig,
    pub maintenance: MaintenanceConfig,
    pub watch: WatchConfig,
    pub console: ConsoleConfig,
    pub output: OutputConfig,
    pub retry: RetryPolicy,
    pub supervisor: SupervisorConfig,
}

impl ServeConfig {
    /// The embedded default in `data_dir`: SQLite there, the bundled stand-in.
    pub fn embedded(data_dir: PathBuf) -> ServeConfig {
        ServeConfig {
            database_url: sqlite_url(&data_dir),
            jwt_secret: None,
            metrics_listen: None,
            cors_allowed_origins: Vec::new(),
            tls: None,
            worker: WorkerConfig::default(),
            queue: QueueConfig::default(),
            maintenance: MaintenanceConfig::default(),
            watch: WatchConfig::default(),
            console: ConsoleConfig::default(),
            output: OutputConfig::default(),
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
                stall_timeout: Some(Duration::from_millis(DEFAULT_STALL_TIMEOUT_MS)),
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
