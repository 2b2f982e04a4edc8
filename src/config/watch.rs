//! `WatchJobs`' settings: how far an admin's watch of everyone may fall
//! behind, and how often a quiet stream sends a heartbeat. Flags,
//! environment names, typed defaults and clamps side by side.
use std::time::Duration;

use clap::Args;

#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// Events an admin's watch of every user may fall behind before it ends.
    pub buffer: usize,
    /// A watch stream sends a HEARTBEAT this often.
    pub keepalive: Duration,
}

impl WatchConfig {
    pub const BUFFER: usize = 1024;
    pub const MIN_BUFFER: usize = 16;
    pub const KEEPALIVE: Duration = Duration::from_secs(15);
    pub const MIN_KEEPALIVE: Duration = Duration::from_millis(100);
}

impl Default for WatchConfig {
    fn default() -> WatchConfig {
        WatchConfig { buffer: WatchConfig::BUFFER, keepalive: WatchConfig::KEEPALIVE }
    }
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Events an admin's watch of every user may fall behind before it is
    /// ended (a user's watcher catches up from the log instead); at least 16.
    #[arg(long, env = "VIDEOJOBS_WATCH_BUFFER", default_value_t = WatchConfig::BUFFER)]
    pub watch_buffer: usize,
    /// A watch stream sends a HEARTBEAT this often, so proxies keep it open
    /// (at least 100).
    #[arg(long, env = "VIDEOJOBS_WATCH_KEEPALIVE_MS", default_value_t = WatchConfig::KEEPALIVE.as_millis() as u64)]
    pub watch_keepalive_ms: u64,
}

impl WatchArgs {
    pub fn into_config(self) -> WatchConfig {
        WatchConfig {
            buffer: self.watch_buffer.max(WatchConfig::MIN_BUFFER),
            keepalive: Duration::from_millis(self.watch_keepalive_ms).max(WatchConfig::MIN_KEEPALIVE),
        }
    }
}
