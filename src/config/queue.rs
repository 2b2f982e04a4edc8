//! The queue's settings: Redis (or the in-process queue when unset), the
//! prefix of every key, and how many jobs may wait. Flags, environment
//! names, defaults and clamps side by side.
use clap::Args;

#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// `redis://…`; `None`: the in-process queue (one node).
    pub redis_url: Option<String>,
    /// Every Redis key and channel lives under `{prefix}:`.
    pub redis_prefix: String,
    /// Jobs waiting at most; submissions beyond are refused.
    pub capacity: usize,
}

impl QueueConfig {
    pub const REDIS_PREFIX: &str = "videojobs";
    pub const CAPACITY: usize = 100_000;
}

impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig { redis_url: None, redis_prefix: QueueConfig::REDIS_PREFIX.into(), capacity: QueueConfig::CAPACITY }
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
        })
    }
}
