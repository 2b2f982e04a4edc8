//! Estimates of when a job starts and finishes, and when a new estimate is
//! worth telling the job's owner about. A waiting job's start comes from how
//! many jobs leave the queue before it and how fast the workers get through
//! jobs; a running job's finish from its progress.
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Job, JobState};

/// Below this progress a running job's finish comes from the mean run
/// time, not from its own pace (the first stages say little).
const PACE_FROM_PERCENT: u32 = 10;
/// A start that moves less than this is not news.
const MIN_START_SHIFT: Duration = Duration::from_secs(30);

/// How fast jobs get done now, over every node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunRate {
    /// The mean run time of recently completed jobs; `None` when none
    /// completed recently (no start or finish can be estimated then).
    pub mean_run: Option<Duration>,
    /// Jobs running now, on every node.
    pub running: u64,
    /// Jobs that can run at once: at least this node's workers, and at
    /// least what runs (the other nodes' workers show as running jobs
    /// whenever a queue waits for them).
    pub slots: u64,
}

/// Where a job stands and when it should start and finish.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Estimate {
    /// How many jobs start before it, while it waits ready in the queue.
    pub jobs_ahead: Option<u64>,
    pub start: Option<DateTime<Utc>>,
    pub finish: Option<DateTime<Utc>>,
}

impl RunRate {
    /// A ready job with `ahead` jobs before it starts once `ahead + 1` slots
    /// have come free: at once if that many are free now, else after the
    /// rest finish, `slots` every mean run time.
    pub fn ready(&self, ahead: u64, now: DateTime<Utc>) -> Estimate {
        let free = self.slots.saturating_sub(self.running);
        let start = self.mean_run.map(|run| {
            let waves = (ahead + 1).saturating_sub(free);
            now + run.mul_f64(waves as f64 / self.slots.max(1) as f64)
        });
        Estimate { jobs_ahead: Some(ahead), start, finish: self.finish_after(start) }
    }

    /// A job whose start is delayed until `until`.
    pub fn delayed(&self, until: DateTime<Utc>, now: DateTime<Utc>) -> Estimate {
        let start = Some(until.max(now));
        Estimate { jobs_ahead: None, start, finish: self.mean_run.and(self.finish_after(start)) }
    }

    /// A running job: from its own pace once it is far enough along, else
    /// from the mean run time; never before now.
    pub fn running(&self, job: &Job, now: DateTime<Utc>) -> Estimate {
        let Some(started) = job.started_at else { return Estimate::default() };
        let percent = job.progress_percent.min(100);
        let finish = if percent >= PACE_FROM_PERCENT {
            let elapsed = (now - started).to_std().unwrap_or_default();
            Some(started + elapsed.mul_f64(100.0 / f64::from(percent)))
        } else {
            self.mean_run.map(|run| started + run)
        };
        Estimate { jobs_ahead: None, start: None, finish: finish.map(|at| at.max(now)) }
    }

    /// The estimate of a job that is not in the queue's hands: only a
    /// running one has any.
    pub fn unqueued(&self, job: &Job, now: DateTime<Utc>) -> Option<Estimate> {
        (job.state == JobState::Processing).then(|| self.running(job, now))
    }

    fn finish_after(&self, start: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        Some(start? + self.mean_run?)
    }
}

impl Estimate {
    /// Whether `self` differs enough from `before` to tell the owner: the
    /// place moved by a tenth (any move within the first ten), or the start
    /// by a tenth of the wait and at least 30 s, or one of them appeared or
    /// went away.
    pub fn moved_from(&self, before: &Estimate, now: DateTime<Utc>) -> bool {
        let place_moved = match (self.jobs_ahead, before.jobs_ahead) {
            (Some(new), Some(old)) => new.abs_diff(old) * 10 >= old.max(10),
            (new, old) => new.is_some() != old.is_some(),
        };
        let start_moved = match (self.start, before.start) {
            (Some(new), Some(old)) => {
                let shift = (new - old).abs().to_std().unwrap_or_default();
                let wait = (old - now).to_std().unwrap_or_default();
                shift >= MIN_START_SHIFT.max(wait / 10)
            }
            (new, old) => new.is_some() != old.is_some(),
        };
        place_moved || start_moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(mean_run_s: u64, running: u64, slots: u64) -> RunRate {
        RunRate { mean_run: Some(Duration::from_secs(mean_run_s)), running, slots }
    }

    #[test]
    fn a_ready_job_waits_for_the_slots_the_jobs_ahead_of_it_take() {
        let now = Utc::now();
        // 4 slots, all busy, 60 s a job: the 9th in line starts after
        // (8 + 1) / 4 runs.
        let estimate = rate(60, 4, 4).ready(8, now);
        assert_eq!(estimate.jobs_ahead, Some(8));
        assert_eq!(estimate.start, Some(now + Duration::from_secs(135)));
        assert_eq!(estimate.finish, Some(now + Duration::from_secs(195)));
        // Two slots free: the first two in line start now.
        assert_eq!(rate(60, 2, 4).ready(1, now).start, Some(now));
        // No run time known: a place, but no times.
        let unknown = RunRate { mean_run: None, running: 0, slots: 2 }.ready(3, now);
        assert_eq!((unknown.jobs_ahead, unknown.start, unknown.finish), (Some(3), None, None));
    }

    #[test]
    fn only_a_meaningful_move_is_news() {
        let now = Utc::now();
        let at = |ahead, start_s| Estimate {
            jobs_ahead: Some(ahead),
            start: Some(now + Duration::from_secs(start_s)),
            finish: None,
        };
        assert!(at(4, 100).moved_from(&at(5, 100), now), "any move within the first ten");
        assert!(!at(95, 1000).moved_from(&at(100, 1000), now), "5 of 100 is not news");
        assert!(at(90, 1000).moved_from(&at(100, 1000), now), "a tenth is");
        assert!(!at(50, 1080).moved_from(&at(50, 1000), now), "80 s of a 1000 s wait is not");
        assert!(at(50, 1101).moved_from(&at(50, 1000), now), "101 s of it is");
        assert!(!at(50, 20).moved_from(&at(50, 10), now), "10 s is never news");
    }
}
