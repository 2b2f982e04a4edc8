//! The queue's settings: Redis (or the in-process queue when unset), the
//! prefix of every key, and how many jobs may wait. Flags, environment
//! names, defaults and clamps side by side.
use std::time::Duration;

use clap::Args;

#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// `redis://…`; `None`: the in-process queue (one node).
    pub redis_url: Option<String>,
    /// Every Redis key and channel lives under `{prefix}:`.
    pub redis_prefix: String,
    /// Jobs waiting at most; submissions beyond are refused.
    pub capacity: usize,
    /// How far ahead a submission may schedule its start (`not_before`).
    pub max_schedule_ahead: Duration,
}

impl QueueConfig {
    pub const REDIS_PREFIX: &str = "videojobs";
    pub const CAPACITY: usize = 100_000;
    pub const MAX_SCHEDULE_AHEAD: Duration = Duration::from_secs(30 * 24 * 60 * 60);
}

impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig {
            redis_url: None,
            redis_prefix: QueueConfig::REDIS_PREFIX.into(),
            capacity: QueueConfig::CAPACITY,
            max_schedule_ahead: QueueConfig::MAX_SCHEDULE_AHEAD,
        }
    }
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// `redis://…`: the queue and the events between nodes go through Redis.
    /// Unset: the in-process queue (one node).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Every Redis key and channel lives under `{PREFIX}:` (a Cluster hash
    /// tag); non-empty, without braces or spaces.
    #[arg(long, env = "REDIS_PREFIX", default_value = QueueConfig::REDIS_PREFIX)]
    pub redis_prefix: String,
    /// Jobs waiting at most (at least 1); submissions beyond are refused.
    #[arg(long, env = "VIDEOJOBS_QUEUE_CAPACITY", default_value_t = QueueConfig::CAPACITY)]
    pub queue_capacity: usize,
    /// How far ahead a submission's `not_before` may be, in ms (default 30
    /// days); later is refused as INVALID_ARGUMENT, earlier than now means now.
    #[arg(long, env = "JOB_MAX_SCHEDULE_AHEAD_MS", default_value_t = QueueConfig::MAX_SCHEDULE_AHEAD.as_millis() as u64)]
    pub max_schedule_ahead_ms: u64,
}

impl QueueArgs {
    pub fn into_config(self) -> anyhow::Result<QueueConfig> {
        anyhow::ensure!(
            !self.redis_prefix.is_empty() && !self.redis_prefix.contains(['{', '}', ' ']),
            "REDIS_PREFIX must be non-empty without braces or spaces"
        );
        Ok(QueueConfig {
            redis_url: self.redis_url,
            redis_prefix: self.redis_prefix,
            capacity: self.queue_capacity.max(1),
            max_schedule_ahead: Duration::from_millis(self.max_schedule_ahead_ms),
        })
    }
}
