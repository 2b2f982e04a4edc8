//! What workers do to jobs: claim one (under a lease, with the next attempt
//! number as fencing token), renew the lease, record progress, and end the
//! attempt. Every write names the attempt it holds, so a superseded attempt
//! changes nothing; the reaper and start-up hand back jobs nobody holds.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, TransactionTrait,
};
use uuid::Uuid;

use super::Store;
use super::convert::job_from_row;
use super::entity::{job, note};
use super::jobs::{finish, states};
use crate::domain::NewNote;
use crate::domain::{Job, JobState};
use crate::error::Result;

/// What became of a worker's claim on a job.
#[derive(Debug)]
pub enum Claim {
    Claimed(Job),
    /// The owner already has as many jobs processing as the cap allows.
    OwnerAtCap(Job),
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

    /// Hands back jobs whose worker stopped renewing its lease (its node
    /// died): QUEUED again, to run under a new attempt.
    pub async fn reap_expired_leases(&self) -> Result<Vec<Job>> {
        let rows = job::Entity::update_many()
            .col_expr(job::Column::State, Expr::value(JobState::Queued.as_str()))
            .col_expr(job::Column::Stage, Expr::value("lease expired; queued again"))
            .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(job::Column::State.eq(JobState::Processing.as_str()))
            .filter(job::Column::LeaseUntil.lt(Utc::now()))
            .exec_with_returning(&self.db)
            .await?;
        rows.into_iter().map(|row| Ok(job_from_row(row, Vec::new())?)).collect()
    }

    /// Extends the lease of a job the attempt still holds; `false` means the
    /// attempt lost it (cancelled, reaped, or taken by a newer attempt).
    pub async fn renew_lease(&self, id: Uuid, attempt: u32, lease: std::time::Duration) -> Result<bool> {
        let result =
            held(id, attempt).col_expr(job::Column::LeaseUntil, Expr::value(Utc::now() + lease)).exec(&self.db).await?;
        Ok(result.rows_affected == 1)
    }

    /// Puts jobs a stopped node was running back in the queue; the next
    /// attempt gets a new fencing token when it is claimed.
    pub async fn requeue_interrupted(&self) -> Result<u64> {
        let result = job::Entity::update_many()
            .col_expr(job::Column::State, Expr::value(JobState::Queued.as_str()))
            .col_expr(job::Column::Stage, Expr::value("interrupted; queued again"))
            .filter(job::Column::State.eq(JobState::Processing.as_str()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    /// Takes a waiting job for a worker: PROCESSING, next attempt. With a
    /// per-user cap, only while the owner has fewer than `cap` jobs
    /// processing (PostgreSQL serialises one user's claims with an advisory
    /// lock, SQLite serialises all writes). `NotClaimed` says why not.
    pub async fn claim(&self, id: Uuid, lease: std::time::Duration, cap: Option<u32>) -> Result<Claim> {
        let now = Utc::now();
        let update = job::Entity::update_many()
            .col_expr(job::Column::State, Expr::value(JobState::Processing.as_str()))
            .col_expr(job::Column::Attempt, Expr::col(job::Column::Attempt).add(1))
            .col_expr(job::Column::Stage, Expr::value("starting"))
            .col_expr(job::Column::ProgressPercent, Expr::value(0))
            .col_expr(job::Column::StartedAt, Expr::value(now))
            .col_expr(job::Column::LeaseUntil, Expr::value(now + lease))
            .col_expr(job::Column::RunAfter, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(job::Column::Id.eq(id))
            .filter(job::Column::State.is_in(states(&JobState::WAITING)));
        let rows = match cap {
            // One statement, committed on its own: no transaction to open.
            None => update.exec_with_returning(&self.db).await?,
            Some(cap) => {
                let txn = self.db.begin().await?;
                if txn.get_database_backend() == DbBackend::Postgres {
                    let lock = "SELECT pg_advisory_xact_lock(hashtext(user_id)) FROM jobs WHERE id = $1";
                    txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, lock, [id.into()])).await?;
                }
                // `cap` is our own number, never request input.
                let rows = update
                    .filter(Expr::cust(format!(
                        "(SELECT COUNT(*) FROM jobs AS running WHERE running.user_id = jobs.user_id AND running.state = 'processing') < {cap}"
                    )))
                    .exec_with_returning(&txn)
                    .await?;
                txn.commit().await?;
                rows
            }
        };
        if let Some(job) = first_job(rows)? {
            return Ok(Claim::Claimed(job));
        }
        let still_waiting = job::Entity::find_by_id(id)
            .filter(job::Column::State.is_in(states(&JobState::WAITING)))
            .one(&self.db)
            .await?
            .map(|row| job_from_row(row, Vec::new()))
            .transpose()?;
        Ok(match (cap, still_waiting) {
            (Some(_), Some(job)) => Claim::OwnerAtCap(job),
            _ => Claim::Gone,
        })
    }

    /// Records stage and progress, if the attempt still holds the job.
    pub async fn record_progress(&self, id: Uuid, attempt: u32, stage: &str, percent: u32) -> Result<Option<Job>> {
        let rows = held(id, attempt)
            .col_expr(job::Column::Stage, Expr::value(stage))
            .col_expr(job::Column::ProgressPercent, Expr::value(percent as i32))
            .exec_with_returning(&self.db)
            .await?;
        first_job(rows)
    }

    /// Marks the job COMPLETED and stores its notes, in one transaction and
    /// only if the attempt still holds the job, so notes are stored once.
    pub async fn complete(&self, id: Uuid, attempt: u32, notes: Vec<NewNote>, log_tail: &str) -> Result<Option<Job>> {
        let txn = self.db.begin().await?;
        let rows = finish(held(id, attempt), JobState::Completed, "")
            .col_expr(job::Column::LogTail, Expr::value(log_tail))
            .col_expr(job::Column::Stage, Expr::value("completed"))
            .col_expr(job::Column::ProgressPercent, Expr::value(100))
            .exec_with_returning(&txn)
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let now = Utc::now();
        let note_rows: Vec<note::ActiveModel> = notes
            .into_iter()
            .map(|n| note::ActiveModel {
                id: Set(Uuid::now_v7()),
                job_id: Set(Some(row.id)),
                user_id: Set(row.user_id.clone()),
                kind: Set(n.kind.as_str().into()),
                title: Set(n.title),
                subject: Set(row.subject.clone()),
                video_url: Set(row.url.clone()),
                markdown: Set(n.markdown),
                created_at: Set(now),
            })
            .collect();
        let note_ids = note_rows.iter().map(|n| *n.id.as_ref()).collect();
        if !note_rows.is_empty() {
            note::Entity::insert_many(note_rows).exec(&txn).await?;
        }
        txn.commit().await?;
        Ok(Some(job_from_row(row, note_ids)?))
    }

    /// After a failed attempt that gets another: RETRYING until `run_after`.
    pub async fn schedule_retry(
        &self,
        id: Uuid,
        attempt: u32,
        error: &str,
        run_after: DateTime<Utc>,
        log_tail: &str,
    ) -> Result<Option<Job>> {
        let rows = held(id, attempt)
            .col_expr(job::Column::LogTail, Expr::value(log_tail))
            .col_expr(job::Column::State, Expr::value(JobState::Retrying.as_str()))
            .col_expr(job::Column::Stage, Expr::value("waiting to retry"))
            .col_expr(job::Column::Error, Expr::value(error))
            .col_expr(job::Column::RunAfter, Expr::value(run_after))
            .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .exec_with_returning(&self.db)
            .await?;
        first_job(rows)
    }

    /// After the last attempt failed: FAILED with the reason.
    pub async fn fail(&self, id: Uuid, attempt: u32, error: &str, log_tail: &str) -> Result<Option<Job>> {
        let rows = finish(held(id, attempt), JobState::Failed, error)
            .col_expr(job::Column::LogTail, Expr::value(log_tail))
            .col_expr(job::Column::Stage, Expr::value("failed"))
            .exec_with_returning(&self.db)
            .await?;
        first_job(rows)
    }

    /// Hands a job back to the queue (the node is shutting down).
    pub async fn release(&self, id: Uuid, attempt: u32) -> Result<Option<Job>> {
        let rows = held(id, attempt)
            .col_expr(job::Column::State, Expr::value(JobState::Queued.as_str()))
            .col_expr(job::Column::Stage, Expr::value("interrupted; queued again"))
            .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .exec_with_returning(&self.db)
            .await?;
        first_job(rows)
    }
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
