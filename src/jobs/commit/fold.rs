//! The transitions a group folds: a group's progress updates are one
//! statement, and its claims another (a claim under a per-user cap has its
//! own), applied before the group's other transitions and logged first, in
//! that order.
//! Its completions come next: one statement marks them all COMPLETED, and
//! then each stores the rest of its end. A group of one (as when a group
//! that failed is tried one transition at a time) goes the same way.
//!
//! This order is one the group's transitions could have arrived in. Every
//! caller but progress waits for its commit before handing over anything
//! else, and nobody sees a transition before it commits, so within a group
//! any order is possible except after progress: a progress update is handed
//! over without waiting, before every later transition of its attempt, and
//! it is applied before all of them.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;
use uuid::Uuid;

use super::{Handed, Logged, Pending};
use crate::domain::attempt::storable;
use crate::domain::{Job, JobEventKind, StageUpdate};
use crate::error::{Error, Result};
use crate::store::{Claim, CompletedRow, GroupTxn, ProgressRow, Store};

/// The stages an attempt passed through: its job's row ends at the last,
/// and each is logged as a PROGRESS event. Nobody waits for its answer.
pub(super) struct ProgressOf {
    pub id: Uuid,
    pub attempt: u32,
    /// Never empty.
    pub updates: Vec<StageUpdate>,
}

impl ProgressOf {
    fn last(&self) -> ProgressRow<'_> {
        let last = self.updates.last().expect("a progress update has stages");
        ProgressRow { id: self.id, attempt: self.attempt, stage: &last.stage, percent: last.percent }
    }

    /// An event per stage, each showing `stored` (the job as the update
    /// left it) at that stage.
    fn logged(&self, stored: &Job) -> Vec<Logged> {
        let snapshots = self.updates.iter().map(|update| Job {
            stage: update.stage.clone(),
            progress_percent: update.percent,
            ..stored.clone()
        });
        Logged::each(JobEventKind::Progress, snapshots)
    }

    /// The stages (not empty), made storable.
    pub fn new(id: Uuid, attempt: u32, updates: Vec<StageUpdate>) -> ProgressOf {
        let updates = updates
            .into_iter()
            .map(|update| StageUpdate { stage: storable(&update.stage).into_owned(), percent: update.percent })
            .collect();
        ProgressOf { id, attempt, updates }
    }
}

/// A worker's claim of a waiting job, under a lease of `lease`, while its
/// owner has fewer than `cap` jobs processing (if capped).
pub(super) struct ClaimOf {
    pub id: Uuid,
    pub lease: Duration,
    pub cap: Option<u32>,
    pub answer: Mutex<Option<Claim>>,
    pub reply: oneshot::Sender<Result<Claim>>,
}

impl ClaimOf {
    /// Keeps the claim's answer; returns what it logs.
    fn answered(&self, claim: Claim) -> Vec<Logged> {
        let logged = match &claim {
            Claim::Claimed(job) => vec![Logged::new(JobEventKind::Processing, job.clone())],
            // It started waiting during the pause: now it hears.
            Claim::Paused(job) => vec![Logged::new(JobEventKind::Paused, job.clone())],
            Claim::OwnerAtCap(_) | Claim::Gone => Vec::new(),
        };
        *self.answer.lock().unwrap_or_else(|p| p.into_inner()) = Some(claim);
        logged
    }

    pub fn settle(self, failed: Option<Error>) {
        let answer = match failed {
            Some(error) => Err(error),
            None => self
                .answer
                .into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("a claim committed without an answer"))),
        };
        let _ = self.reply.send(answer);
    }
}

/// Applies the group's folded transitions and does its completions ahead:
/// returns what the folded ones log, and the rest of the group to apply in
/// order, its completions first.
pub(super) async fn apply_folded<'g>(
    txn: &GroupTxn,
    group: &'g [Handed],
) -> Result<(Vec<Logged>, Vec<&'g dyn Pending>)> {
    let mut progress = Vec::new();
    let mut claims = Vec::new();
    let (mut completions, mut others) = (Vec::new(), Vec::new());
    for handed in group {
        match handed {
            Handed::Progress(update) => progress.push(update),
            Handed::Claim(claim) => claims.push(claim.as_ref()),
            Handed::Change(pending) if pending.completing().is_some() => completions.push(pending.as_ref()),
            Handed::Change(pending) => others.push(pending.as_ref()),
        }
    }
    let mut logged = record_progress(txn, &progress).await?;
    logged.extend(claim(txn, &claims).await?);
    let completed: Vec<CompletedRow<'_>> = completions
        .iter()
        .filter_map(|pending| pending.completing())
        .map(|done| CompletedRow { id: done.id, attempt: done.attempt, log_tail: &done.log_tail })
        .collect();
    Store::complete_ahead(txn, &completed).await?;
    completions.append(&mut others);
    Ok((logged, completions))
}

async fn record_progress(txn: &GroupTxn, updates: &[&ProgressOf]) -> Result<Vec<Logged>> {
    if updates.is_empty() {
        return Ok(Vec::new());
    }
    // One row per attempt: the last of its updates.
    let mut last: HashMap<(Uuid, u32), ProgressRow<'_>> = HashMap::new();
    for update in updates {
        last.insert((update.id, update.attempt), update.last());
    }
    let rows: Vec<ProgressRow<'_>> = last.into_values().collect();
    let stored: HashMap<(Uuid, u32), Job> =
        Store::record_progress_many(txn, &rows).await?.into_iter().map(|job| ((job.id, job.attempt), job)).collect();
    Ok(updates
        .iter()
        .filter_map(|update| Some(update.logged(stored.get(&(update.id, update.attempt))?)))
        .flatten()
        .collect())
}

async fn claim(txn: &GroupTxn, claims: &[&ClaimOf]) -> Result<Vec<Logged>> {
    let uncapped: Vec<&&ClaimOf> = claims.iter().filter(|claim| claim.cap.is_none()).collect();
    let mut claimed: HashMap<Uuid, Job> = HashMap::new();
    if let Some(first) = uncapped.first() {
        let ids: Vec<Uuid> = uncapped.iter().filter(|claim| claim.lease == first.lease).map(|claim| claim.id).collect();
        claimed = Store::claim_many(txn, &ids, first.lease).await?.into_iter().map(|job| (job.id, job)).collect();
    }
    let mut logged = Vec::new();
    for each in claims {
        // A job claimed once; a second claim of it (a stale queue entry), a
        // capped one, or one the statement did not take, tells why on its own.
        let answer = match claimed.remove(&each.id) {
            Some(job) => Claim::Claimed(job),
            None => Store::claim(txn, each.id, each.lease, each.cap).await?,
        };
        logged.extend(each.answered(answer));
    }
    Ok(logged)
}
