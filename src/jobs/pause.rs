//! Pause and resume: a batch, one user's work, or everything. A pause is a
//! row (so it holds on every node and across restarts) that a claim checks
//! in its conditional write; the queue parks what it holds back:
//!
//! - Pausing logs PAUSED for each waiting job it newly holds back, in the
//!   transaction that stores the pause, then takes those jobs out of the
//!   queue; with a resume time, it puts them back delayed until then
//!   instead, so they come due by themselves on any node, like a scheduled
//!   start (a claim ignores a pause whose resume time has passed).
//! - A job that starts waiting during a pause (submitted, or retried) is
//!   queued as usual; the worker that pops it finds the claim refused, logs
//!   PAUSED, and parks it the same way. Nothing polls.
//! - Resuming removes the row, logs RESUMED for each job no other pause
//!   still holds, and puts them back in the queue in their order: ready now
//!   at the back of their user's line (within their priority), their user's
//!   turn at the back of the ring if it had none. So resumed work neither
//!   jumps ahead of what others queued meanwhile nor waits behind all of it.
//! - A pause that ended by its resume time is tidied away (RESUMED logged)
//!   by the node's resumer, woken at that time.
use std::collections::HashSet;

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use super::Jobs;
use super::commit::Logged;
use crate::domain::pause::{holding, shown};
use crate::domain::{BatchState, Job, JobEventKind, Pause, PauseTarget, Scope, UserId};
use crate::error::{Error, Result};
use crate::queue::QueueItem;
use crate::store::Store;
use crate::telemetry;

/// What a caller asks to pause or resume, before it is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PauseOf {
    Batch(Uuid),
    User(UserId),
    Everything,
}

/// The waiting jobs a pause or resume changed, with when each may run.
type Changed = Vec<(Job, Option<DateTime<Utc>>)>;

impl Jobs {
    /// Pauses `what` for whoever `scope` is (a user: their own work or
    /// batches; an admin: anyone's, or everything). Pausing what is paused
    /// already answers the pause in force, unchanged.
    pub async fn pause(
        &self,
        scope: &Scope,
        by: &UserId,
        what: PauseOf,
        reason: String,
        resume_at: Option<DateTime<Utc>>,
    ) -> Result<Pause> {
        let target = self.pause_target(scope, what, true).await?;
        // As precise as storage keeps them, so a later read answers the same.
        let (paused_at, resume_at) = (Utc::now().trunc_subsecs(6), resume_at.map(|at| at.trunc_subsecs(6)));
        let asked = Pause { target, reason, resume_at, paused_at, paused_by: by.clone() };
        let (pause, changed) = self
            .committer
            .commit(move |txn| {
                let asked = asked.clone();
                Box::pin(async move {
                    let before = Store::pauses_in(txn).await?;
                    let (pause, new) = Store::insert_pause(txn, &asked).await?;
                    if !new {
                        return Ok(((pause, Vec::new()), Vec::new()));
                    }
                    let now = Utc::now();
                    let mut after: Vec<Pause> = before.iter().filter(|p| p.target != pause.target).cloned().collect();
                    after.push(pause.clone());
                    let changed: Changed = Store::waiting_of(txn, &pause.target)
                        .await?
                        .into_iter()
                        .filter(|(job, _)| holding(&before, job, now).is_none())
                        .map(|(job, run_after)| (shown(job, &after, now), run_after))
                        .collect();
                    let logged = Logged::each(JobEventKind::Paused, changed.iter().map(|(job, _)| job.clone()));
                    Ok(((pause, changed), logged))
                })
            })
            .await?;
        if !changed.is_empty() {
            self.park_all(&changed).await;
            self.pause_changes.notify_one();
            tracing::info!(target = %pause.target.key(), jobs = changed.len(), by = %pause.paused_by, "paused");
            metrics::counter!(telemetry::JOBS_PAUSED, "change" => "paused").increment(changed.len() as u64);
        }
        Ok(pause)
    }

    /// The pauses in force that `scope` sees (see [`Pause::seen_by`]),
    /// oldest first.
    pub async fn pauses(&self, scope: &Scope) -> Result<Vec<Pause>> {
        let now = Utc::now();
        let mut pauses: Vec<Pause> =
            self.store.pauses().await?.into_iter().filter(|p| p.in_force(now) && p.seen_by(scope)).collect();
        pauses.sort_by_key(|pause| pause.paused_at);
        Ok(pauses)
    }

    /// Resumes `what`; answers the pause it ended, or `None` if it was not
    /// paused. Its jobs that no other pause holds take their turn again.
    pub async fn resume(&self, scope: &Scope, what: PauseOf) -> Result<Option<Pause>> {
        let target = self.pause_target(scope, what, false).await?;
        let (removed, changed) = self
            .committer
            .commit(move |txn| {
                let target = target.clone();
                Box::pin(async move {
                    let before = Store::pauses_in(txn).await?;
                    let Some(removed) = Store::remove_pause(txn, &target).await? else {
                        return Ok(((None, Vec::new()), Vec::new()));
                    };
                    let changed = let_go(txn, &before, std::slice::from_ref(&removed)).await?;
                    let logged = Logged::each(JobEventKind::Resumed, changed.iter().map(|(job, _)| job.clone()));
                    Ok(((Some(removed), changed), logged))
                })
            })
            .await?;
        if removed.is_some() {
            self.pause_changes.notify_one();
        }
        self.requeue_resumed(&changed, true).await;
        Ok(removed)
    }

    /// Tidies away the pauses whose resume time has come, logging RESUMED
    /// for the jobs they held; returns how many jobs that was. Their jobs
    /// were parked delayed until then, so they are due already: only what
    /// the queue lacks is put back.
    pub async fn resume_ended(&self) -> Result<usize> {
        let changed = self
            .committer
            .commit(move |txn| {
                Box::pin(async move {
                    let before = Store::pauses_in(txn).await?;
                    let ended = Store::remove_ended_pauses(txn, Utc::now()).await?;
                    let changed = let_go(txn, &before, &ended).await?;
                    let logged = Logged::each(JobEventKind::Resumed, changed.iter().map(|(job, _)| job.clone()));
                    Ok((changed, logged))
                })
            })
            .await?;
        self.requeue_resumed(&changed, false).await;
        Ok(changed.len())
    }

    /// The earliest time a stored pause ends by itself.
    pub async fn next_resume(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.store.pauses().await?.iter().filter_map(|pause| pause.resume_at).min())
    }

    /// Returns once this node has paused or resumed something since the
    /// last call (a stored wake-up is kept for the next caller).
    pub async fn pauses_changed(&self) {
        self.pause_changes.notified().await
    }

    /// `job` as users see it now: with the pause that holds it, if any.
    pub(super) async fn shown(&self, job: Job) -> Result<Job> {
        let pauses = self.store.pauses().await?;
        Ok(shown(job, &pauses, Utc::now()))
    }

    /// [`Jobs::shown`] for many (one read of the pauses).
    pub(super) async fn shown_all(&self, jobs: Vec<Job>) -> Result<Vec<Job>> {
        let pauses = self.store.pauses().await?;
        let now = Utc::now();
        Ok(jobs.into_iter().map(|job| shown(job, &pauses, now)).collect())
    }

    /// Parks a job a claim found paused: out of the queue (the pop took it
    /// out already), or delayed until its pause's resume time.
    pub(super) async fn park(&self, job: &Job) {
        if let Some(at) = job.paused.as_ref().and_then(|pause| pause.resume_at) {
            let ready_at = job.not_before.map_or(at, |not_before| not_before.max(at));
            if let Err(error) = self.queue.replace(&[QueueItem::at(job, Some(ready_at))]).await {
                tracing::warn!(%error, job_id = %job.id, "could not park a paused job; the reconciler queues it");
            }
        }
    }

    /// Parks jobs just paused: out of the queue, or delayed until the
    /// pause's resume time (or their own later start). The claim refuses
    /// them anyway; this keeps them from being popped meanwhile.
    async fn park_all(&self, changed: &Changed) {
        let parked = match changed.first().and_then(|(job, _)| job.paused.as_ref()).and_then(|p| p.resume_at) {
            Some(at) => {
                let items: Vec<QueueItem> = changed
                    .iter()
                    .map(|(job, run_after)| QueueItem::at(job, Some(run_after.map_or(at, |own| own.max(at)))))
                    .collect();
                self.queue.replace(&items).await
            }
            None => {
                let ids: Vec<Uuid> = changed.iter().map(|(job, _)| job.id).collect();
                self.queue.withdraw(&ids).await.map(drop)
            }
        };
        if let Err(error) = parked {
            tracing::warn!(%error, "paused jobs not parked in the queue; their claims are refused until the resume");
        }
    }

    /// Puts resumed jobs back: all of them where they belong (`moved`), or
    /// only those the queue lacks.
    async fn requeue_resumed(&self, changed: &Changed, moved: bool) {
        if changed.is_empty() {
            return;
        }
        let items: Vec<QueueItem> = changed.iter().map(|(job, run_after)| QueueItem::at(job, *run_after)).collect();
        let queued = if moved { self.queue.replace(&items).await } else { self.queue.restore(&items).await.map(drop) };
        if let Err(error) = queued {
            tracing::warn!(%error, jobs = items.len(), "resumed jobs not queued yet; the reconciler queues them");
        }
        tracing::info!(jobs = changed.len(), "resumed");
        metrics::counter!(telemetry::JOBS_PAUSED, "change" => "resumed").increment(changed.len() as u64);
    }

    /// What `what` names for `scope`: a batch it may see (one that has
    /// ended cannot be paused), its own work or (an admin) anyone's, or
    /// everything (an admin only).
    async fn pause_target(&self, scope: &Scope, what: PauseOf, pausing: bool) -> Result<PauseTarget> {
        let denied = |what: &str| Error::PermissionDenied(format!("{what} needs a token with the admin role"));
        match what {
            PauseOf::Everything if scope.user().is_some() => Err(denied("pausing or resuming everyone's work")),
            PauseOf::Everything => Ok(PauseTarget::Everything),
            PauseOf::User(user) if scope.user().is_some_and(|own| own != user) => {
                Err(denied("pausing or resuming another user's work"))
            }
            PauseOf::User(user) => Ok(PauseTarget::User(user)),
            PauseOf::Batch(id) => {
                let batch = self.store.batch_for_user(scope, id).await?;
                if pausing && batch.state != BatchState::Running {
                    return Err(Error::FailedPrecondition(format!("batch {id} has ended; there is nothing to pause")));
                }
                Ok(PauseTarget::Batch { id, owner: batch.user_id })
            }
        }
    }
}

/// The waiting jobs of the `removed` pauses that no pause left holds, each
/// once, shown without a pause.
async fn let_go(txn: &crate::store::Txn, before: &[Pause], removed: &[Pause]) -> Result<Changed> {
    let now = Utc::now();
    let gone: HashSet<String> = removed.iter().map(|pause| pause.target.key()).collect();
    let after: Vec<Pause> = before.iter().filter(|pause| !gone.contains(&pause.target.key())).cloned().collect();
    let mut seen = HashSet::new();
    let mut changed = Vec::new();
    for pause in removed {
        for (job, run_after) in Store::waiting_of(txn, &pause.target).await? {
            if holding(&after, &job, now).is_none() && seen.insert(job.id) {
                changed.push((shown(job, &after, now), run_after));
            }
        }
    }
    Ok(changed)
}
