//! Configuration: one module per subsystem (worker, queue, maintenance,
//! watch, console, output), each with its flags, environment names, typed defaults and
//! clamps side by side; the server's and the supervisor's flags are in
//! [`crate::cli`]. Secrets, and the resolved [`ServeConfig`] that `serve`
//! runs with and tests build directly.

pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
pub const DEFAULT_DATA_DIR: &str = "videojobs-data";
pub const DEFAULT_JOB_TIMEOUT_MS: u64 = 30 * 60 * 1000;
pub const DEFAULT_STALL_TIMEOUT_MS: u64 = 10 * 60 * 1000;
pub const DEFAULT_JOB_RETRY_ATTEMPTS: u32 = 3;
pub const DEFAULT_RETRY_BASE_DELAY_MS: u64 = 5_000;
pub const DEFAULT_RETRY_MAX_DELAY_MS: u64 = 5 * 60 * 1000;
pub const DEFAULT_KILL_GRACE_MS: u64 = 5_000;
pub const STANDIN_PROGRAM: &str = "study-buddy-standin";

mod console;
mod maintenance;
mod output;
mod queue;
mod secret;
mod serve;
mod watch;
mod worker;

pub use console::{ConsoleArgs, ConsoleConfig};
pub use maintenance::{MaintenanceArgs, MaintenanceConfig};
pub use output::{OutputArgs, OutputConfig};
pub use queue::{QueueArgs, QueueConfig};
pub use watch::{WatchArgs, WatchConfig};
pub use worker::{WorkerArgs, WorkerConfig};

pub use secret::{Secret, redact_url, redact_urls_in};
pub use serve::{ServeConfig, TlsConfig, sqlite_url, standin_path};

#[cfg(test)]
mod tests {
    use super::*;

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
}
