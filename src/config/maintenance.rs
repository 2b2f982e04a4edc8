//! The maintenance services' settings: how often the reaper and the
//! reconciler run, and how long the log and finished jobs are kept. Flags,
//! environment names, typed defaults and clamps side by side.
use std::time::Duration;

use clap::Args;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

#[derive(Clone, Debug)]
pub struct MaintenanceConfig {
    /// The reaper hands back jobs whose lease expired this often.
    pub reap_interval: Duration,
    /// The reconciler queues what the database says waits this often.
    pub reconcile_interval: Duration,
    /// Events older than this are trimmed from the log.
    pub event_retention: Duration,
    /// COMPLETED jobs (and their events) are removed this long after they finished.
    pub completed_retention: Duration,
    /// The same for FAILED and CANCELLED jobs.
    pub failed_retention: Duration,
}

impl MaintenanceConfig {
    pub const REAP_INTERVAL: Duration = Duration::from_secs(5);
    pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(30);
    pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
    pub const EVENT_RETENTION: Duration = Duration::from_secs(7 * DAY);
    pub const COMPLETED_RETENTION: Duration = Duration::from_secs(30 * DAY);
    pub const FAILED_RETENTION: Duration = Duration::from_secs(90 * DAY);
}

impl Default for MaintenanceConfig {
    fn default() -> MaintenanceConfig {
        MaintenanceConfig {
            reap_interval: MaintenanceConfig::REAP_INTERVAL,
            reconcile_interval: MaintenanceConfig::RECONCILE_INTERVAL,
            event_retention: MaintenanceConfig::EVENT_RETENTION,
            completed_retention: MaintenanceConfig::COMPLETED_RETENTION,
            failed_retention: MaintenanceConfig::FAILED_RETENTION,
        }
    }
}

#[derive(Debug, Args)]
pub struct MaintenanceArgs {
    /// The reaper hands back jobs whose lease expired this often (at least 10).
    #[arg(long, env = "VIDEOJOBS_REAP_INTERVAL_MS",
          default_value_t = MaintenanceConfig::REAP_INTERVAL.as_millis() as u64)]
    pub reap_interval_ms: u64,
    /// The reconciler queues what the database says waits this often (at least 10).
    #[arg(long, env = "VIDEOJOBS_RECONCILE_INTERVAL_MS",
          default_value_t = MaintenanceConfig::RECONCILE_INTERVAL.as_millis() as u64)]
    pub reconcile_interval_ms: u64,
    /// Events older than this are trimmed from the log (resuming before them
    /// answers OUT_OF_RANGE); at least 1.
    #[arg(long, env = "VIDEOJOBS_EVENT_RETENTION_HOURS",
          default_value_t = MaintenanceConfig::EVENT_RETENTION.as_secs() / HOUR)]
    pub event_retention_hours: u64,
    /// COMPLETED jobs (and their events) are removed this long after they
    /// finished; their notes stay. At least 1.
    #[arg(long, env = "VIDEOJOBS_COMPLETED_RETENTION_DAYS",
          default_value_t = MaintenanceConfig::COMPLETED_RETENTION.as_secs() / DAY)]
    pub completed_retention_days: u64,
    /// The same for FAILED and CANCELLED jobs. At least 1.
    #[arg(long, env = "VIDEOJOBS_FAILED_RETENTION_DAYS",
          default_value_t = MaintenanceConfig::FAILED_RETENTION.as_secs() / DAY)]
    pub failed_retention_days: u64,
}

impl MaintenanceArgs {
    pub fn into_config(self) -> MaintenanceConfig {
        let interval = |ms: u64| Duration::from_millis(ms).max(MaintenanceConfig::MIN_INTERVAL);
        MaintenanceConfig {
            reap_interval: interval(self.reap_interval_ms),
            reconcile_interval: interval(self.reconcile_interval_ms),
            event_retention: Duration::from_secs(self.event_retention_hours.max(1) * HOUR),
            completed_retention: Duration::from_secs(self.completed_retention_days.max(1) * DAY),
            failed_retention: Duration::from_secs(self.failed_retention_days.max(1) * DAY),
        }
    }
}
