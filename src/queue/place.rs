//! A job's place in the fair line: how many ready jobs leave the queue before
//! it, counted from the real order of both queues' pops (the ring of groups
//! takes turns, one job per turn, each group's best first), assuming nothing
//! new arrives.
use chrono::{DateTime, Utc};

/// Where a job waits in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Ready: this many jobs leave the queue before it.
    Ready { ahead: u64 },
    /// Delayed (a retry's backoff, a scheduled start) until then.
    Delayed { until: DateTime<Utc> },
    /// The queue does not hold it (it runs, ended, or is paused).
    Absent,
}

/// The jobs that leave before the one at `rank` (0: its group's best) of the
/// group at `at` in the ring, given every ring group's ready count in turn
/// order: its group's `rank` better jobs and, from each other group, one per
/// turn that group gets first (`rank + 1` turns for the groups ahead of it in
/// the ring, `rank` for those behind), as far as that group has jobs.
pub fn jobs_ahead(sizes: &[usize], at: usize, rank: usize) -> u64 {
    let others: usize = sizes
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != at)
        .map(|(i, &size)| size.min(if i < at { rank + 1 } else { rank }))
        .sum();
    (rank + others) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_one_job_per_turn_of_each_other_group() {
        // Ring: a (3 jobs), b (1), c (2).
        let sizes = [3, 1, 2];
        assert_eq!(jobs_ahead(&sizes, 0, 0), 0);
        assert_eq!(jobs_ahead(&sizes, 1, 0), 1); // a's first
        assert_eq!(jobs_ahead(&sizes, 2, 0), 2); // a's first, b's
        assert_eq!(jobs_ahead(&sizes, 0, 1), 3); // a, b, c
        assert_eq!(jobs_ahead(&sizes, 2, 1), 4); // a, b, c, a
        assert_eq!(jobs_ahead(&sizes, 0, 2), 5); // a, b, c, a, c
    }
}
