//! Estimates for the jobs people look at, and the estimator's rounds: each
//! waiting job's place from the queue's real order, its start and finish
//! from how fast jobs get done now ([`RunRate`]), a running job's finish
//! from its progress. A round tells watchers only what moved meaningfully.
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use uuid::Uuid;

use super::Jobs;
use crate::domain::{Estimate, Job, JobState, RunRate};
use crate::error::{Error, Result};
use crate::events::{EstimateNews, EstimateRound};
use crate::queue::Place;

/// How long a run rate is used before the running jobs are counted again.
const RATE_FRESH_FOR: Duration = Duration::from_secs(1);
/// How long an answer waits for the queue's places before it goes without.
const PLACES_WAIT: Duration = Duration::from_millis(300);
/// The first jobs of each watched user's line a round estimates; the ones
/// further back are estimated when asked for (GetJob, ListJobs).
pub const WATCHED_LINE: usize = 100;

/// The last run rate, with when it was taken.
#[derive(Default)]
pub(super) struct RateCache(Mutex<Option<(Instant, RunRate)>>);

impl RateCache {
    fn fresh(&self) -> Option<RunRate> {
        let cached = *self.0.lock().unwrap_or_else(|p| p.into_inner());
        cached.filter(|(taken, _)| taken.elapsed() < RATE_FRESH_FOR).map(|(_, rate)| rate)
    }

    fn keep(&self, rate: RunRate) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), rate));
    }
}

impl Jobs {
    /// Each job's estimate, where it has one: a waiting job the queue holds,
    /// or a running job. An unreachable queue leaves waiting jobs without.
    pub async fn estimates(&self, jobs: &[Job]) -> Vec<Option<Estimate>> {
        let waiting: Vec<(Uuid, String)> =
            jobs.iter().filter(|job| job.state.is_waiting()).map(|job| (job.id, job.user_id.clone())).collect();
        let in_play = |job: &Job| job.state.is_waiting() || job.state == JobState::Processing;
        if !jobs.iter().any(in_play) {
            // A page of ended jobs: no estimate, and no count of running jobs.
            return vec![None; jobs.len()];
        }
        let Ok(rate) = self.run_rate().await else { return vec![None; jobs.len()] };
        let places = if waiting.is_empty() {
            Vec::new()
        } else {
            match tokio::time::timeout(PLACES_WAIT, self.queue.places(&waiting)).await {
                Ok(Ok(places)) => places,
                _ => vec![Place::Absent; waiting.len()],
            }
        };
        let mut places = places.into_iter();
        let now = Utc::now();
        jobs.iter()
            .map(|job| {
                if !job.state.is_waiting() {
                    return rate.unqueued(job, now);
                }
                match places.next()? {
                    Place::Ready { ahead } => Some(rate.ready(ahead, now)),
                    Place::Delayed { until } => Some(rate.delayed(until, now)),
                    Place::Absent => None,
                }
            })
            .collect()
    }

    /// One round of the estimator: estimates the first jobs of each line
    /// somebody on this node watches and sends those that moved
    /// meaningfully since `sent` (every one, to a user who just started
    /// watching). `sent` keeps what each watcher was last told.
    pub async fn estimate_round(&self, sent: &mut HashMap<Uuid, Estimate>) -> Result<()> {
        let feed = self.log.hub().estimates();
        let fresh: HashSet<_> = feed.take_fresh();
        let watched = feed.watched_users();
        if watched.is_empty() {
            sent.clear();
            return Ok(());
        }
        let lines = self.queue.lines(&watched, WATCHED_LINE).await.map_err(|e| Error::Unavailable(e.to_string()))?;
        let rate = self.run_rate().await?;
        let now = Utc::now();
        let mut kept = HashMap::with_capacity(lines.len());
        let mut news = Vec::new();
        for (user, job_id, ahead) in lines {
            let estimate = rate.ready(ahead, now);
            match sent.get(&job_id) {
                Some(told) if !fresh.contains(&user) && !estimate.moved_from(told, now) => {
                    kept.insert(job_id, *told);
                }
                _ => {
                    kept.insert(job_id, estimate);
                    news.push((user, job_id, estimate));
                }
            }
        }
        *sent = kept;
        if news.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = news.iter().map(|(_, id, _)| *id).collect();
        let batches = self.store.batch_ids(&ids).await?;
        let mut round = EstimateRound::default();
        for (user, job_id, estimate) in news {
            let batch_id = batches.get(&job_id).copied().flatten();
            round.by_user.entry(user).or_default().push(EstimateNews { job_id, batch_id, estimate });
        }
        feed.send_round(round);
        Ok(())
    }

    /// Returns once waiting lines may have moved, or somebody started
    /// watching, since the last round.
    pub async fn lines_moved(&self) {
        self.log.hub().estimates().moved().await
    }

    /// How fast jobs get done now: the mean of the latest run times this
    /// node saw completed (on any node), the jobs running on every node,
    /// and at least this node's workers as slots.
    async fn run_rate(&self) -> Result<RunRate> {
        if let Some(rate) = self.rate.fresh() {
            return Ok(rate);
        }
        let running = self.store.count_in_state(JobState::Processing).await?;
        let slots = running.max(self.rules.workers as u64).max(1);
        let rate = RunRate { mean_run: self.log.hub().estimates().mean_run(), running, slots };
        self.rate.keep(rate);
        Ok(rate)
    }
}
