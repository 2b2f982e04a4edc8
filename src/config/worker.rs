//! The worker pool's settings: how many programs run, under which lease, and
//! how long a stopping node lets them finish. Flags, environment names,
//! typed defaults and clamps side by side.
use std::time::Duration;

use clap::Args;

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Programs run at once on this node; 0 serves the API only.
    pub concurrency: usize,
    /// At most this many of one user's jobs run at once across all nodes.
    pub per_user_concurrency: Option<u32>,
    /// How long a worker's claim on a job lasts unless renewed.
    pub lease: Duration,
    /// At shutdown, how long running jobs may finish before they are handed back.
    pub shutdown_grace: Duration,
}

impl WorkerConfig {
    pub const CONCURRENCY: usize = 3;
    pub const LEASE: Duration = Duration::from_secs(30);
    pub const MIN_LEASE: Duration = Duration::from_millis(300);
    pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            concurrency: WorkerConfig::CONCURRENCY,
            per_user_concurrency: None,
            lease: WorkerConfig::LEASE,
            shutdown_grace: WorkerConfig::SHUTDOWN_GRACE,
        }
    }
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Programs run at once on this node; 0 serves the API only.
    #[arg(long, env = "VIDEOJOBS_CONCURRENCY", default_value_t = WorkerConfig::CONCURRENCY)]
    pub concurrency: usize,
    /// At most this many of one user's jobs run at once across all nodes;
    /// 0 means no cap (fairness between users still applies).
    #[arg(long, env = "VIDEOJOBS_PER_USER_CONCURRENCY", default_value_t = 0)]
    pub per_user_concurrency: u32,
    /// How long a worker's claim on a job lasts unless renewed (at least 300).
    #[arg(long, env = "JOB_LEASE_MS", default_value_t = WorkerConfig::LEASE.as_millis() as u64)]
    pub lease_ms: u64,
    /// At shutdown, how long running jobs may finish before they are handed back.
    #[arg(long, env = "VIDEOJOBS_SHUTDOWN_GRACE_MS",
          default_value_t = WorkerConfig::SHUTDOWN_GRACE.as_millis() as u64)]
    pub shutdown_grace_ms: u64,
}

impl WorkerArgs {
    pub fn into_config(self) -> anyhow::Result<WorkerConfig> {
        let lease = Duration::from_millis(self.lease_ms);
        anyhow::ensure!(lease >= WorkerConfig::MIN_LEASE, "JOB_LEASE_MS must be at least 300");
        Ok(WorkerConfig {
            concurrency: self.concurrency,
            per_user_concurrency: (self.per_user_concurrency > 0).then_some(self.per_user_concurrency),
            lease,
            shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
        })
    }
}
