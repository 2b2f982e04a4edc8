//! Configuration: the defaults (the seeds' environment names are on the
//! flags, in [`crate::cli`]), secrets, and the resolved [`ServeConfig`] that
//! `serve` runs with and tests build directly.

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
