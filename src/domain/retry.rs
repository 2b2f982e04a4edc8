//! The retry policy: how many attempts, and how long to wait between them
//! (exponential backoff with jitter, computed by `backon`).
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Total attempts, like BullMQ's `attempts`: 3 means one run and two retries.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait before the attempt after `failed_attempt` (1-based):
    /// about `base * 2^(failed_attempt - 1)`, jittered, at most `max_delay`.
    pub fn delay_after(&self, failed_attempt: u32) -> Duration {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build();
        let steps = failed_attempt.saturating_sub(1).min(64) as usize;
        backoff.nth(steps).unwrap_or(self.max_delay).min(self.max_delay)
    }

    /// Whether a job that just failed `attempt` (and may have `max_attempts`)
    /// gets another one.
    pub fn should_retry(attempt: u32, max_attempts: u32) -> bool {
        attempt < max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_and_stop_at_the_cap() {
        let policy =
            RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        let first = policy.delay_after(1);
        let third = policy.delay_after(3);
        assert!(first >= Duration::from_millis(100) && first < Duration::from_millis(200), "{first:?}");
        assert!(third >= Duration::from_millis(400) && third < Duration::from_millis(800), "{third:?}");
        assert_eq!(policy.delay_after(30), Duration::from_secs(1));
    }

    #[test]
    fn attempts_count_the_first_run() {
        assert!(RetryPolicy::should_retry(1, 3));
        assert!(RetryPolicy::should_retry(2, 3));
        assert!(!RetryPolicy::should_retry(3, 3));
    }
}
