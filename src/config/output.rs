//! How much of a program's output each attempt keeps: the first
//! `head_bytes` whole, then a window of the last `tail_bytes`; what falls
//! between is dropped and a marker line says how much. Each line counts its
//! text plus a fixed overhead (so a flood of empty lines is bounded too).
//! Flags, environment names, typed defaults and clamps side by side.
use clap::Args;

use crate::supervisor::output::OutputLimits;

#[derive(Clone, Copy, Debug)]
pub struct OutputConfig {
    pub limits: OutputLimits,
}

impl OutputConfig {
    pub const HEAD_BYTES: usize = 256 * 1024;
    pub const TAIL_BYTES: usize = 768 * 1024;
    /// At most this much of either, so one attempt's output stays a few
    /// MiB in memory and storage.
    pub const MAX_BYTES: usize = 64 * 1024 * 1024;
    /// The tail holds at least one longest line.
    pub const MIN_TAIL_BYTES: usize = 64 * 1024;
}

impl Default for OutputConfig {
    fn default() -> OutputConfig {
        OutputConfig {
            limits: OutputLimits { head_bytes: OutputConfig::HEAD_BYTES, tail_bytes: OutputConfig::TAIL_BYTES },
        }
    }
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Bytes of each attempt's output kept from its start (at most 64 MiB).
    #[arg(long, env = "JOB_LOG_HEAD_BYTES", default_value_t = OutputConfig::HEAD_BYTES)]
    pub log_head_bytes: usize,
    /// Bytes of each attempt's output kept from its end (64 KiB to 64 MiB);
    /// what falls between the head and the tail is dropped, with a marker.
    #[arg(long, env = "JOB_LOG_TAIL_BYTES", default_value_t = OutputConfig::TAIL_BYTES)]
    pub log_tail_bytes: usize,
}

impl OutputArgs {
    pub fn into_config(self) -> OutputConfig {
        OutputConfig {
            limits: OutputLimits {
                head_bytes: self.log_head_bytes.min(OutputConfig::MAX_BYTES),
                tail_bytes: self.log_tail_bytes.clamp(OutputConfig::MIN_TAIL_BYTES, OutputConfig::MAX_BYTES),
            },
        }
    }
}
