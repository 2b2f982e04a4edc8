//! The worker pool: each worker pops a job id from the queue, claims the job
//! through the core, runs its attempt through the supervisor (recording
//! progress and keeping the lease meanwhile), and hands the outcome back to
//! the core. The program starts while the claim commits (it is stopped if
//! the claim fails), except under a per-user cap, where the claim decides.
//! A stopping or draining node claims nothing: once it is told to stop
//! taking jobs, no worker pops again, whatever is ready; a draining node's
//! workers end once what they ran is written.
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::domain::{AttemptFacts, Job, OutputGroup, StageUpdate};
use crate::error::{Error, Result};
use crate::jobs::{Claimed, Jobs, Lease};
use crate::supervisor::output::{OutputBuffer, OutputLimits};
use crate::supervisor::parse::Progress;
use crate::supervisor::{Report, Supervisor};
use crate::telemetry;

/// Progress updates buffered between the program's output and the database.
const PROGRESS_BUFFER: usize = 16;
/// Item-counter progress is written at most this often per job.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);
/// Between tries to store an attempt's end while the database is away.
const END_RETRY_FIRST: Duration = Duration::from_millis(100);
const END_RETRY_MAX: Duration = Duration::from_secs(1);
/// A program's output is stored a group at a time: what gathered this long
/// after the first line waiting, or this much of it, whichever comes first.
const OUTPUT_GROUP_WAIT: Duration = Duration::from_millis(100);
const OUTPUT_GROUP_BYTES: usize = 64 * 1024;
/// A worker whose claim failed waits this long before it pops again.
const CLAIM_RETRY: Duration = Duration::from_secs(1);
/// A lease renewal that failed is tried again this soon (or at the usual
/// beat, if that is sooner), so the lease is back soon after the database.
const RENEW_RETRY: Duration = Duration::from_secs(1);

/// What every worker shares.
pub struct Pool {
    pub jobs: Arc<Jobs>,
    pub supervisor: Supervisor,
    /// How much of each attempt's output is kept.
    pub output: OutputLimits,
}

/// An attempt whose program has ended, waiting to be written.
struct Ended {
    claimed: Claimed,
    report: Report,
    facts: AttemptFacts,
    /// The last of the program's output, stored with the attempt's end.
    rest: OutputGroup,
    span: tracing::Span,
}

/// What a worker's turn came to.
enum Next {
    Ran(Box<Ended>),
    Nothing,
    /// The database could not take the claim: pause before the next pop,
    /// rather than drain the queue into failing claims.
    Failed,
    Stopping,
}

/// When workers stop: `taking` ends popping (the node is stopping),
/// `running` stops the programs still running and hands their jobs back
/// (fired after the grace period).
pub struct Stops {
    pub taking: CancellationToken,
    pub running: CancellationToken,
}

impl Pool {
    /// Starts `count` workers on `tracker`.
    pub fn spawn(self: &Arc<Self>, count: usize, stops: &Stops, tracker: &TaskTracker) {
        for _ in 0..count {
            let (pool, taking, running) = (Arc::clone(self), stops.taking.clone(), stops.running.clone());
            let alive = self.jobs.drain().worker_alive();
            tracker.spawn(async move {
                pool.work(taking, running).await;
                drop(alive);
            });
        }
    }

    /// Pops, claims and runs one job after another. An attempt's end is
    /// written while the worker already runs its next job (at most one end
    /// in flight per worker): its program is done, so only the database is
    /// waited for, and a worker does not idle through that commit.
    async fn work(&self, taking: CancellationToken, running: CancellationToken) {
        let mut ending: Option<Ended> = None;
        loop {
            let (_, next) = tokio::join!(self.end(ending.take(), &taking), self.run_next(&taking, &running));
            match next {
                Next::Ran(ended) => ending = Some(*ended),
                Next::Nothing => {}
                Next::Failed => {
                    tokio::select! {
                        () = tokio::time::sleep(CLAIM_RETRY) => {}
                        () = taking.cancelled() => {}
                    }
                }
                Next::Stopping => return,
            }
        }
    }

    /// Writes how an attempt ended, if one did. While the database cannot
    /// be reached the write is tried again (the attempt's work is done and
    /// must not be spent), until it lands or the node stops taking jobs.
    async fn end(&self, ended: Option<Ended>, taking: &CancellationToken) {
        let Some(Ended { claimed, report, facts, rest, span }) = ended else { return };
        let job_id = claimed.job.id;
        let mut pause = END_RETRY_FIRST;
        loop {
            let finished = self.jobs.finish(&claimed, &report.outcome, &report.log_tail, &facts, &rest);
            match finished.instrument(span.clone()).await {
                Ok(()) => return,
                Err(Error::Unavailable(reason)) if !taking.is_cancelled() => {
                    tracing::warn!(%job_id, %reason, "storing the attempt's end must wait for the database; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = taking.cancelled() => {}
                    }
                    pause = (pause * 2).min(END_RETRY_MAX);
                }
                Err(error) => {
                    tracing::error!(%job_id, error = %error.detail(), "storing the attempt's end failed; its lease expires and the reaper queues it again");
                    return;
                }
            }
        }
    }

    async fn run_next(&self, taking: &CancellationToken, running: &CancellationToken) -> Next {
        let job_id = tokio::select! {
            // Stopping wins over a ready job: a stopping (or draining) node
            // claims nothing.
            biased;
            _ = taking.cancelled() => return Next::Stopping,
            _ = self.jobs.drain().asked().cancelled() => return Next::Stopping,
            job_id = self.jobs.next() => job_id,
        };
        let held = self.jobs.hold(job_id, running);
        let stop = held.stop().clone();
        if self.jobs.rules().per_user_cap.is_some() {
            // The claim decides whether the owner may start another
            // program, so it comes first.
            let claimed = match self.jobs.claim_held(held).await {
                Ok(Some(claimed)) => claimed,
                Ok(None) => return Next::Nothing,
                Err(error) => return claim_failed(job_id, &error),
            };
            let planned = claimed.job.clone();
            return self.run_attempt(planned, stop, async { Ok(Some(claimed)) }).await;
        }
        let planned = match self.jobs.next_attempt(job_id).await {
            Ok(Some(planned)) => planned,
            // Gone, or paused: the claim parks a paused job and logs that,
            // and no program is started for it.
            Ok(None) => {
                return match self.jobs.claim_held(held).await {
                    Ok(Some(claimed)) => self.run_attempt(claimed.job.clone(), stop, async { Ok(Some(claimed)) }).await,
                    Ok(None) => Next::Nothing,
                    Err(error) => claim_failed(job_id, &error),
                };
            }
            Err(error) => return claim_failed(job_id, &error),
        };
        self.run_attempt(planned, stop, self.jobs.claim_held(held)).await
    }

    /// Runs the `planned` attempt's program while its `claim` commits: the
    /// program's start and the commit overlap instead of adding up. Until
    /// the claim holds, nothing is written for the attempt (its progress
    /// waits in the channel, its output in the bounded buffer); a claim that
    /// fails stops the program, whose scratch directory is removed and whose
    /// report is dropped. The output is stored a group at a time while the
    /// program runs; what gathered when it ended goes with the attempt's end.
    async fn run_attempt(
        &self,
        planned: Job,
        stop: CancellationToken,
        claim: impl Future<Output = Result<Option<Claimed>>>,
    ) -> Next {
        let span = tracing::info_span!("job", job_id = %planned.id, user = %planned.user_id, attempt = planned.attempt);
        let job_id = planned.id;
        let (progress_tx, progress_rx) = mpsc::channel(PROGRESS_BUFFER);
        let output = OutputBuffer::new(self.output);
        let holding = async {
            let claimed = match claim.await {
                Ok(Some(claimed)) => claimed,
                outcome => {
                    stop.cancel();
                    if let Err(error) = outcome {
                        let _ = claim_failed(job_id, &error);
                    }
                    return None;
                }
            };
            let recording = async {
                tokio::join!(self.record_progress(&claimed, progress_rx), self.record_output(&claimed, &output)).1
            };
            let rest = tokio::select! {
                rest = recording => rest,
                never = self.keep_lease(&claimed) => match never {},
            };
            Some((claimed, rest))
        };
        let run = async {
            tracing::info!(url = %planned.url, "attempt started");
            let started = std::time::Instant::now();
            let programs = metrics::gauge!(telemetry::RUNNING_PROGRAMS);
            programs.increment(1.0);
            let supervised = async {
                let report = self.supervisor.run(&planned, progress_tx, &output, stop.clone()).await;
                output.close();
                (report, started.elapsed())
            };
            let ((report, duration), claimed) = tokio::join!(supervised, holding);
            programs.decrement(1.0);
            let (claimed, rest) = claimed?;
            metrics::histogram!(telemetry::ATTEMPT_DURATION, "outcome" => report.outcome.label())
                .record(duration.as_secs_f64());
            Some((claimed, report, duration, rest))
        };
        match run.instrument(span.clone()).await {
            Some((claimed, mut report, duration, rest)) => {
                let observed = std::mem::take(&mut report.observed);
                let facts = AttemptFacts { exit: observed.exit, duration, timings: observed.timings };
                Next::Ran(Box::new(Ended { claimed, report, facts, rest, span }))
            }
            None => Next::Nothing,
        }
    }

    /// Renews the job's lease while it runs. If the job was cancelled (the
    /// cancel signal may not have reached this node) the program is stopped
    /// and the lease still renewed: it says the stop is under way, so the
    /// attempt's watchers wait for what the program prints meanwhile. If
    /// the lease is lost (reaped after this node stalled, or a newer
    /// attempt took the job) the program is stopped too. Never returns: the
    /// caller drops it when the run ends.
    async fn keep_lease(&self, claimed: &Claimed) -> std::convert::Infallible {
        let beat = self.jobs.rules().lease / 3;
        let mut wait = beat;
        loop {
            tokio::time::sleep(wait).await;
            match self.jobs.renew_lease(&claimed.job).await {
                Ok(Lease::Held) => wait = beat,
                Ok(Lease::Stopping) => {
                    if !claimed.stop.is_cancelled() {
                        tracing::info!("the job was cancelled; stopping its program");
                        claimed.stop.cancel();
                    }
                    wait = beat;
                }
                Ok(Lease::Lost) => {
                    tracing::warn!("lost the job's lease; stopping its program");
                    claimed.stop.cancel();
                    return std::future::pending().await;
                }
                Err(error) => {
                    tracing::warn!(error = %error.detail(), "could not renew the lease; trying again");
                    wait = RENEW_RETRY.min(beat);
                }
            }
        }
    }

    /// Writes progress: every stage milestone, and item counters at most
    /// once per `PROGRESS_INTERVAL` (a flood of `[i/N]` lines becomes a few
    /// writes, never one per line). Returns when the program's output ends.
    async fn record_progress(&self, claimed: &Claimed, mut updates: mpsc::Receiver<Progress>) {
        let mut last_write: Option<tokio::time::Instant> = None;
        while let Some(first) = updates.recv().await {
            let mut batch = vec![first];
            if let Some(at) = last_write.filter(|_| !batch[0].milestone) {
                tokio::time::sleep_until(at + PROGRESS_INTERVAL).await;
            }
            while let Ok(more) = updates.try_recv() {
                batch.push(more);
            }
            let stages = coalesce(batch).into_iter().map(|p| StageUpdate { stage: p.stage, percent: p.percent });
            if let Err(error) = self.jobs.record_progress(&claimed.job, stages.collect()).await {
                tracing::warn!(error = %error.detail(), "recording progress failed");
            }
            last_write = Some(tokio::time::Instant::now());
        }
    }
}

impl Pool {
    /// Stores the program's output a group at a time (never a write per
    /// line) until it ends, and returns what gathered as it ended: that is
    /// stored with the attempt's end. A group that cannot be stored is
    /// dropped with a warning, since the buffer behind it must keep moving.
    async fn record_output(&self, claimed: &Claimed, output: &OutputBuffer) -> OutputGroup {
        loop {
            output.gathered(1).await;
            tokio::select! {
                () = output.gathered(OUTPUT_GROUP_BYTES) => {}
                () = tokio::time::sleep(OUTPUT_GROUP_WAIT) => {}
            }
            let taken = output.take();
            if taken.closed {
                return taken.group;
            }
            if !taken.group.is_empty() {
                if let Err(error) = self.jobs.record_output(&claimed.job, taken.group).await {
                    tracing::warn!(error = %error.detail(), "storing the program's output failed; those lines are lost");
                }
            }
        }
    }
}

fn claim_failed(job_id: uuid::Uuid, error: &Error) -> Next {
    tracing::error!(%job_id, error = %error.detail(), "claiming the job failed; the reconciler queues it again");
    Next::Failed
}

/// Keeps every milestone and, of the item counters, only one that no later
/// update supersedes.
fn coalesce(updates: Vec<Progress>) -> Vec<Progress> {
    let last = updates.len().saturating_sub(1);
    updates.into_iter().enumerate().filter(|(i, update)| update.milestone || *i == last).map(|(_, u)| u).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(stage: &str, percent: u32, milestone: bool) -> Progress {
        Progress { stage: stage.into(), percent, milestone }
    }

    #[test]
    fn a_flood_of_item_counters_coalesces_but_milestones_never_do() {
        let flood: Vec<_> = (1..=500).map(|i| update(&format!("processing video {i}/500"), i / 5, false)).collect();
        assert_eq!(coalesce(flood), [update("processing video 500/500", 100, false)]);
        let mixed = vec![
            update("processing video 1/2", 2, false),
            update("fetching transcript", 7, true),
            update("processing video 2/2", 52, false),
            update("notes generated", 80, true),
        ];
        let kept: Vec<_> = coalesce(mixed).into_iter().map(|u| u.stage).collect();
        assert_eq!(kept, ["fetching transcript", "notes generated"]);
    }
}
