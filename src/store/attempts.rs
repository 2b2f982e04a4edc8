//! What workers do to jobs: claim one (under a lease, with the next attempt
//! number as fencing token), renew the lease, record progress, and end the
//! attempt. Every write names the attempt it holds, so a superseded attempt
//! changes nothing; the reaper and start-up hand back jobs nobody holds.
//! A cancel of a running job leaves its lease in place while the attempt's
//! program is being stopped: the attempt's end (recorded with its last
//! lines) clears it, or the reaper does once it expires (its node was lost).
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use uuid::Uuid;

use super::convert::job_from_row;
use super::entity::{job, note};
use super::jobs::{finish, states};
use super::{GroupTxn, Store, Txn};
use crate::domain::{Failure, FailureKind, NewNote};
use crate::domain::{Job, JobState};
use crate::error::Result;

/// What became of a worker's claim on a job.
#[derive(Debug)]
pub enum Claim {
    Claimed(Job),
    /// The owner already has as many jobs processing as the cap allows.
    OwnerAtCap(Job),
    /// A pause in force holds the job back (the job is shown with it).
    Paused(Job),
    /// Cancelled, deleted or taken by another worker meanwhile.
    Gone,
}

impl Claim {
    pub fn claimed(self) -> Option<Job> {
        match self {
            Claim::Claimed(job) => Some(job),
            _ => None,
        }
    }
}

impl Store {
    /// A page of the jobs a worker may still run, in id order after `after`,
    /// each with the time a retry may run.
    pub async fn waiting_jobs(&self, after: Option<Uuid>, limit: u64) -> Result<Vec<(Job, Option<DateTime<Utc>>)>> {
        let mut query = job::Entity::find().filter(job::Column::State.is_in(states(&JobState::WAITING)));
        if let Some(after) = after {
            query = query.filter(job::Column::Id.gt(after));
        }
        let rows = query.order_by_asc(job::Column::Id).limit(limit).all(&self.db).await?;
        rows.into_iter()
            .map(|row| {
                let run_after = row.run_after;
                Ok((job_from_row(row, Vec::new())?, run_after))
            })
            .collect()
    }

    /// The job, if it still waits to run (QUEUED or RETRYING) and no pause
    /// holds it back; a plain read.
    pub async fn waiting_job(&self, id: Uuid) -> Result<Option<Job>> {
        let row = job::Entity::find_by_id(id)
            .filter(job::Column::State.is_in(states(&JobState::WAITING)))
            .filter(super::pauses::not_paused(Utc::now()))
            .one(&self.db)
            .await?;
        Ok(row.map(|row| job_from_row(row, Vec::new())).transpose()?)
    }

    /// Hands back jobs whose worker stopped renewing its lease (its node
    /// died, or could not store what the attempt produced): QUEUED again to
    /// run under a new attempt, or FAILED when that was their last attempt,
    /// so a job that can never be finished is not run forever.
    pub async fn reap_expired_leases(txn: &Txn) -> Result<Reaped> {
        let expired = || {
            job::Entity::update_many()
                .filter(job::Column::State.eq(JobState::Processing.as_str()))
                .filter(job::Column::LeaseUntil.lt(Utc::now()))
        };
        let mut reaped = Store::hand_back(txn, expired, "lease expired; queued again").await?;
        reaped.stopped = Store::end_lost_stops(txn, Some(Utc::now())).await?;
        Ok(reaped)
    }

    /// Hands back every job a stopped embedded node was running, like the
    /// reaper does (there is no other node whose lease could still be live).
    pub async fn requeue_interrupted(txn: &Txn) -> Result<Reaped> {
        let interrupted = || job::Entity::update_many().filter(job::Column::State.eq(JobState::Processing.as_str()));
        let mut reaped = Store::hand_back(txn, interrupted, "interrupted; queued again").await?;
        reaped.stopped = Store::end_lost_stops(txn, None).await?;
        Ok(reaped)
    }

    /// Ends the leases of attempts whose programs were being stopped after a
    /// cancel when their node was lost (the lease expired before `before`;
    /// every such lease without it): nobody will record those attempts' ends.
    async fn end_lost_stops(txn: &Txn, before: Option<DateTime<Utc>>) -> Result<Vec<Job>> {
        let mut lost = stopping();
        if let Some(before) = before {
            lost = lost.filter(job::Column::LeaseUntil.lt(before));
        }
        let rows = lost
            .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .exec_with_returning(txn)
            .await?;
        jobs(rows)
    }

    async fn hand_back(txn: &Txn, which: impl Fn() -> sea_orm::UpdateMany<job::Entity>, stage: &str) -> Result<Reaped> {
        let last_attempt = Expr::col(job::Column::Attempt).gte(Expr::col(job::Column::MaxAttempts));
        let failed =
            finish(which().filter(last_attempt.clone()), JobState::Failed, GAVE_UP, Some(FailureKind::Crashed))
                .col_expr(job::Column::Stage, Expr::value("failed"))
                .exec_with_returning(txn)
                .await?;
        let requeued = which()
            .filter(last_attempt.not())
            .col_expr(job::Column::State, Expr::value(JobState::Queued.as_str()))
            .col_expr(job::Column::Stage, Expr::value(stage))
            .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .exec_with_returning(txn)
            .await?;
        Ok(Reaped { requeued: jobs(requeued)?, failed: jobs(failed)?, stopped: Vec::new() })
    }

    /// Extends the attempt's lease: [`Lease::Held`] while the attempt holds
    /// the job, [`Lease::Stopping`] while a person's cancel (or a retry
    /// after it) has taken the job but the attempt's program is still being
    /// stopped, [`Lease::Lost`] once the attempt's lease is gone (reaped, or
    /// a newer attempt took the job).
    pub async fn renew_lease(&self, id: Uuid, attempt: u32, lease: std::time::Duration) -> Result<Lease> {
        let rows = job::Entity::update_many()
            .filter(job::Column::Id.eq(id))
            .filter(job::Column::Attempt.eq(attempt as i32))
            .filter(job::Column::LeaseUntil.is_not_null())
            .col_expr(job::Column::LeaseUntil, Expr::value(Utc::now() + lease))
            .exec_with_returning(&self.db)
            .await?;
        Ok(match rows.first() {
            None => Lease::Lost,
            Some(row) if row.state == JobState::Processing.as_str() => Lease::Held,
            Some(_) => Lease::Stopping,
        })
    }

    /// Ends the lease of an attempt whose program was being stopped after a
    /// cancel (the job is no longer PROCESSING but the lease remains):
    /// returns the job, so its end can be recorded, or `None` when there
    /// was no such lease (the attempt ended otherwise, or the reaper ended
    /// it first).
    pub async fn end_stop(txn: &Txn, id: Uuid, attempt: u32) -> Result<Option<Job>> {
        let rows = stopping()
            .filter(job::Column::Id.eq(id))
            .filter(job::Column::Attempt.eq(attempt as i32))
            .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .exec_with_returning(txn)
            .await?;
        first_job(rows)
    }

    /// Whether the attempt's program may still be being stopped: the job
    /// still names the attempt and holds a lease that has not expired
    /// (though the job itself has ended, e.g. CANCELLED).
    pub async fn stopping_attempt(&self, id: Uuid, attempt: u32) -> Result<bool> {
        let found = job::Entity::find_by_id(id)
            .filter(job::Column::Attempt.eq(attempt as i32))
            .filter(job::Column::LeaseUntil.gt(Utc::now()))
            .select_only()
            .column(job::Column::Id)
            .into_tuple::<Uuid>()
            .one(&self.db)
            .await?;
        Ok(found.is_some())
    }

    /// Takes a waiting job for a worker: PROCESSING, next attempt. With a
    /// per-user cap, only while the owner has fewer than `cap` jobs
    /// processing (PostgreSQL serialises one user's claims with an advisory
    /// lock, SQLite serialises all writes).
    pub async fn claim(txn: &Txn, id: Uuid, lease: std::time::Duration, cap: Option<u32>) -> Result<Claim> {
        let now = Utc::now();
        let mut update = claiming(lease, now).filter(job::Column::Id.eq(id));
        if let Some(cap) = cap {
            if txn.get_database_backend() == DbBackend::Postgres {
                let lock = "SELECT pg_advisory_xact_lock(hashtext(user_id)) FROM jobs WHERE id = $1";
                txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, lock, [id.into()])).await?;
            }
            // `cap` is our own number, never request input.
            update = update.filter(Expr::cust(format!(
                "(SELECT COUNT(*) FROM jobs AS running WHERE running.user_id = jobs.user_id AND running.state = 'processing') < {cap}"
            )));
        }
        if let Some(job) = first_job(update.exec_with_returning(txn).await?)? {
            return Ok(Claim::Claimed(job));
        }
        let still_waiting = job::Entity::find_by_id(id)
            .filter(job::Column::State.is_in(states(&JobState::WAITING)))
            .one(txn)
            .await?
            .map(|row| job_from_row(row, Vec::new()))
            .transpose()?;
        let Some(job) = still_waiting else { return Ok(Claim::Gone) };
        let job = crate::domain::pause::shown(job, &Store::pauses_in(txn).await?, now);
        Ok(match (cap, job.paused.is_some()) {
            (_, true) => Claim::Paused(job),
            (Some(_), false) => Claim::OwnerAtCap(job),
            (None, false) => Claim::Gone,
        })
    }

    /// Records stage and progress, if the attempt still holds the job.
    pub async fn record_progress(txn: &Txn, id: Uuid, attempt: u32, stage: &str, percent: u32) -> Result<Option<Job>> {
        let rows = held(id, attempt)
            .col_expr(job::Column::Stage, Expr::value(stage))
            .col_expr(job::Column::ProgressPercent, Expr::value(percent as i32))
            .exec_with_returning(txn)
            .await?;
        first_job(rows)
    }

    /// Marks the job COMPLETED and stores its notes (appended to the
    /// group's), only if the attempt still holds the job, so notes are
    /// stored once. A job that ran before (reprocessed) has its old notes
    /// replaced here, in the transaction that stores the new: until then
    /// they stay readable, and a run that fails leaves them.
    pub async fn complete(
        txn: &GroupTxn,
        id: Uuid,
        attempt: u32,
        notes: &[NewNote],
        log_tail: &str,
    ) -> Result<Option<Job>> {
        let row = match txn.completed_ahead(id, attempt) {
            Some(ahead) => ahead,
            None => {
                let update = completed(held(id, attempt), Expr::value(log_tail));
                update.exec_with_returning(&**txn).await?.into_iter().next()
            }
        };
        let Some(row) = row else {
            return Ok(None);
        };
        // Only a job that ran before can have notes (a first attempt cannot).
        if row.attempt > 1 {
            note::Entity::delete_many().filter(note::Column::JobId.eq(Some(row.id))).exec(&**txn).await?;
        }
        let now = Utc::now();
        let note_rows: Vec<note::ActiveModel> = notes
            .iter()
            .map(|n| note::ActiveModel {
                id: Set(Uuid::now_v7()),
                job_id: Set(Some(row.id)),
                user_id: Set(row.user_id.clone()),
                kind: Set(n.kind.as_str().into()),
                title: Set(n.title.clone()),
                subject: Set(row.subject.clone()),
                video_url: Set(row.url.clone()),
                markdown: Set(n.markdown.clone()),
                created_at: Set(now),
            })
            .collect();
        let note_ids = note_rows.iter().map(|n| *n.id.as_ref()).collect();
        txn.append_notes(note_rows);
        Ok(Some(job_from_row(row, note_ids)?))
    }

    /// After a failed attempt that gets another: RETRYING until `run_after`.
    pub async fn schedule_retry(
        txn: &Txn,
        id: Uuid,
        attempt: u32,
        failure: &Failure,
        run_after: DateTime<Utc>,
        log_tail: &str,
    ) -> Result<Option<Job>> {
        let rows = held(id, attempt)
            .col_expr(job::Column::LogTail, Expr::value(log_tail))
            .col_expr(job::Column::State, Expr::value(JobState::Retrying.as_str()))
            .col_expr(job::Column::Stage, Expr::value("waiting to retry"))
            .col_expr(job::Column::Error, Expr::value(failure.reason.as_str()))
            .col_expr(job::Column::FailureKind, Expr::value(failure.kind.as_str()))
            .col_expr(job::Column::RunAfter, Expr::value(run_after))
            .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .exec_with_returning(txn)
            .await?;
        first_job(rows)
    }

    /// After the last attempt failed, or one that no retry can fix: FAILED
    /// with the reason.
    pub async fn fail(txn: &Txn, id: Uuid, attempt: u32, failure: &Failure, log_tail: &str) -> Result<Option<Job>> {
        let rows = finish(held(id, attempt), JobState::Failed, &failure.reason, Some(failure.kind))
            .col_expr(job::Column::LogTail, Expr::value(log_tail))
            .col_expr(job::Column::Stage, Expr::value("failed"))
            .exec_with_returning(txn)
            .await?;
        first_job(rows)
    }

    /// Hands a job back to the queue (the node is stopping). The interrupted
    /// attempt does not count against the job's attempts: the job did not
    /// fail, its node stopped.
    pub async fn release(txn: &Txn, id: Uuid, attempt: u32) -> Result<Option<Job>> {
        let rows = held(id, attempt)
            .col_expr(job::Column::State, Expr::value(JobState::Queued.as_str()))
            .col_expr(job::Column::Stage, Expr::value("interrupted; queued again"))
            .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(job::Column::MaxAttempts, Expr::col(job::Column::MaxAttempts).add(1))
            .exec_with_returning(txn)
            .await?;
        first_job(rows)
    }
}

/// An update that marks the jobs it selects COMPLETED, their log tails
/// set to `log_tail`.
pub(super) fn completed(update: sea_orm::UpdateMany<job::Entity>, log_tail: Expr) -> sea_orm::UpdateMany<job::Entity> {
    finish(update, JobState::Completed, "", None)
        .col_expr(job::Column::LogTail, log_tail)
        .col_expr(job::Column::Stage, Expr::value("completed"))
        .col_expr(job::Column::ProgressPercent, Expr::value(100))
}

/// An update that takes the waiting jobs it selects for a worker:
/// PROCESSING under their next attempt, leased from `now`, unless a pause
/// holds them.
pub(super) fn claiming(lease: std::time::Duration, now: DateTime<Utc>) -> sea_orm::UpdateMany<job::Entity> {
    job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(JobState::Processing.as_str()))
        .col_expr(job::Column::Attempt, Expr::col(job::Column::Attempt).add(1))
        .col_expr(job::Column::Stage, Expr::value("starting"))
        .col_expr(job::Column::ProgressPercent, Expr::value(0))
        .col_expr(job::Column::StartedAt, Expr::value(now))
        .col_expr(job::Column::LeaseUntil, Expr::value(now + lease))
        .col_expr(job::Column::RunAfter, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(job::Column::State.is_in(states(&JobState::WAITING)))
        .filter(super::pauses::not_paused(now))
}

/// What a reap did: the jobs queued again, those that had used their last
/// attempt, and the cancelled ones whose program's stop was never recorded
/// (their node was lost while stopping it).
#[derive(Debug, Default)]
pub struct Reaped {
    pub requeued: Vec<Job>,
    pub failed: Vec<Job>,
    pub stopped: Vec<Job>,
}

/// What renewing an attempt's lease found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lease {
    /// The attempt still holds the job: keep running.
    Held,
    /// The job was cancelled (maybe retried since) while the attempt ran:
    /// stop its program; the lease is kept until its end is recorded.
    Stopping,
    /// The attempt has lost the job and its lease.
    Lost,
}

/// The reason a job whose last attempt never reported back ends with.
const GAVE_UP: &str = "the last attempt never finished: its node stopped responding or could not store the results";

/// The jobs of these rows.
pub(super) fn jobs(rows: Vec<job::Model>) -> Result<Vec<Job>> {
    rows.into_iter().map(|row| Ok(job_from_row(row, Vec::new())?)).collect()
}

/// An update of jobs whose attempt's program is being stopped: they are no
/// longer PROCESSING but keep the lease a cancel left them.
fn stopping() -> sea_orm::UpdateMany<job::Entity> {
    job::Entity::update_many()
        .filter(job::Column::State.ne(JobState::Processing.as_str()))
        .filter(job::Column::LeaseUntil.is_not_null())
}

/// An update of a job that the attempt `attempt` still holds.
fn held(id: Uuid, attempt: u32) -> sea_orm::UpdateMany<job::Entity> {
    job::Entity::update_many()
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::State.eq(JobState::Processing.as_str()))
        .filter(job::Column::Attempt.eq(attempt as i32))
}

fn first_job(rows: Vec<job::Model>) -> Result<Option<Job>> {
    match rows.into_iter().next() {
        Some(row) => Ok(Some(job_from_row(row, Vec::new())?)),
        None => Ok(None),
    }
}
