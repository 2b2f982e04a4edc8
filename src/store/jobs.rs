//! Job queries. Every state change is one conditional `UPDATE … RETURNING`:
//! it names the states it may leave (and, for a worker, the attempt it holds
//! as a fencing token), so two writers can never both win.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    SqlErr, Statement, TransactionTrait,
};
use uuid::Uuid;

use super::convert::job_from_row;
use super::entity::{job, job_event, note};
use super::{Store, owner};
use crate::domain::job::NewJob;
use crate::domain::page::PageRequest;
use crate::domain::{Job, JobState, NoteKind, Scope};
use crate::error::{Error, Result};

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

/// A note collected from a finished attempt, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewNote {
    pub kind: NoteKind,
    pub title: String,
    pub markdown: String,
}

fn states(list: &[JobState]) -> Vec<&'static str> {
    list.iter().map(|s| s.as_str()).collect()
}

impl Store {
    /// Stores a new job, or returns the caller's existing one when the
    /// submission is a duplicate (same idempotency key, or, without a key,
    /// the same video still waiting or running). The database's unique
    /// indexes decide, so concurrent identical submissions make one job.
    /// The flag says whether the job is new.
    pub async fn insert_job(&self, new: NewJob) -> Result<(Job, bool)> {
        for _ in 0..3 {
            match self.try_insert_job(&new).await {
                Ok(job) => return Ok((job, true)),
                Err(Error::Database(error))
                    if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
                {
                    if let Some(existing) = self.duplicate_of(&new).await? {
                        return Ok((existing, false));
                    }
                    // The duplicate finished meanwhile: try again.
                }
                Err(error) => return Err(error),
            }
        }
        Err(Error::FailedPrecondition("the submission keeps colliding with another; try again".into()))
    }

    async fn duplicate_of(&self, new: &NewJob) -> Result<Option<Job>> {
        let mut query = job::Entity::find().filter(job::Column::UserId.eq(new.user_id.as_str()));
        query = match &new.idempotency_key {
            Some(key) => query.filter(job::Column::IdempotencyKey.eq(key.as_str())),
            None => query
                .filter(job::Column::IdempotencyKey.is_null())
                .filter(job::Column::VideoId.eq(new.video_id.as_str()))
                .filter(job::Column::State.is_in(states(&JobState::UNFINISHED))),
        };
        let Some(row) = query.one(&self.db).await? else { return Ok(None) };
        let note_ids = self.note_ids_of(&[row.id]).await?.remove(&row.id).unwrap_or_default();
        Ok(Some(job_from_row(row, note_ids)?))
    }

    async fn try_insert_job(&self, new: &NewJob) -> Result<Job> {
        let row = job::Entity::insert(new_job_row(new.clone())).exec_with_returning(&self.db).await?;
        Ok(job_from_row(row, Vec::new())?)
    }

    /// The caller's job; another user's job is `NotFound`, never revealed.
    pub async fn job_for_user(&self, scope: &Scope, id: Uuid) -> Result<Job> {
        let row = job::Entity::find_by_id(id)
            .filter(owner(job::Column::UserId, scope))
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("job"))?;
        let note_ids = self.note_ids_of(&[row.id]).await?.remove(&row.id).unwrap_or_default();
        Ok(job_from_row(row, note_ids)?)
    }

    /// The caller's jobs, newest first, optionally only in `only` states.
    pub async fn list_jobs(&self, scope: &Scope, only: &[JobState], page: PageRequest) -> Result<Vec<Job>> {
        let mut query = job::Entity::find().filter(owner(job::Column::UserId, scope));
        if !only.is_empty() {
            query = query.filter(job::Column::State.is_in(states(only)));
        }
        if let Some(after) = page.after {
            query = query.filter(job::Column::Id.lt(after));
        }
        let rows = query.order_by_desc(job::Column::Id).limit(page.size).all(&self.db).await?;
        self.with_note_ids(rows).await
    }

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
        let txn = self.db.begin().await?;
        let mut update = job::Entity::update_many()
            .col_expr(job::Column::State, Expr::value(JobState::Processing.as_str()))
            .col_expr(job::Column::Attempt, Expr::col(job::Column::Attempt).add(1))
            .col_expr(job::Column::Stage, Expr::value("starting"))
            .col_expr(job::Column::ProgressPercent, Expr::value(0))
            .col_expr(job::Column::StartedAt, Expr::value(now))
            .col_expr(job::Column::LeaseUntil, Expr::value(now + lease))
            .col_expr(job::Column::RunAfter, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(job::Column::Id.eq(id))
            .filter(job::Column::State.is_in(states(&JobState::WAITING)));
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
        let rows = update.exec_with_returning(&txn).await?;
        txn.commit().await?;
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

    /// CANCELLED, from any unfinished state.
    pub async fn cancel(&self, scope: &Scope, id: Uuid) -> Result<Job> {
        let rows = finish(owned_in(scope, id, &JobState::UNFINISHED), JobState::Cancelled, "cancelled by the user")
            .col_expr(job::Column::Stage, Expr::value("cancelled"))
            .exec_with_returning(&self.db)
            .await?;
        self.changed_or_explain(scope, id, rows, "only a queued, processing or retrying job can be cancelled").await
    }

    /// QUEUED again with `attempts` more attempts, from FAILED or CANCELLED.
    /// The attempt counter keeps counting: it is the fencing token.
    pub async fn retry(&self, scope: &Scope, id: Uuid, attempts: u32) -> Result<Job> {
        let rows = owned_in(scope, id, &JobState::RETRYABLE)
            .col_expr(job::Column::State, Expr::value(JobState::Queued.as_str()))
            .col_expr(job::Column::MaxAttempts, Expr::col(job::Column::Attempt).add(attempts as i32))
            .col_expr(job::Column::Stage, Expr::value(""))
            .col_expr(job::Column::ProgressPercent, Expr::value(0))
            .col_expr(job::Column::Error, Expr::value(""))
            .col_expr(job::Column::FinishedAt, Expr::value(Option::<DateTime<Utc>>::None))
            .exec_with_returning(&self.db)
            .await
            .map_err(|error| match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    Error::FailedPrecondition("another job for this video is waiting or running".into())
                }
                _ => Error::Database(error),
            })?;
        self.changed_or_explain(scope, id, rows, "only a failed or cancelled job can be retried").await
    }

    /// Deletes a finished job with its notes and its events, in one
    /// transaction.
    pub async fn delete(&self, scope: &Scope, id: Uuid) -> Result<Job> {
        let finished = [JobState::Completed, JobState::Failed, JobState::Cancelled];
        let job = self.job_for_user(scope, id).await?;
        if !job.state.is_finished() {
            return Err(Error::FailedPrecondition(format!(
                "job is {}; cancel it before deleting it",
                job.state.as_str()
            )));
        }
        // Notes first: deleting the job would only clear their job_id.
        let txn = self.db.begin().await?;
        note::Entity::delete_many().filter(note::Column::JobId.eq(id)).exec(&txn).await?;
        job_event::Entity::delete_many().filter(job_event::Column::JobId.eq(id)).exec(&txn).await?;
        let result = job::Entity::delete_many()
            .filter(job::Column::Id.eq(id))
            .filter(owner(job::Column::UserId, scope))
            .filter(job::Column::State.is_in(states(&finished)))
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            // Dropping the transaction rolls the deletions back.
            return Err(Error::FailedPrecondition("job changed while being deleted; try again".into()));
        }
        txn.commit().await?;
        Ok(job)
    }

    async fn changed_or_explain(&self, scope: &Scope, id: Uuid, rows: Vec<job::Model>, rule: &str) -> Result<Job> {
        match rows.into_iter().next() {
            Some(row) => {
                let note_ids = self.note_ids_of(&[row.id]).await?.remove(&row.id).unwrap_or_default();
                Ok(job_from_row(row, note_ids)?)
            }
            None => {
                let job = self.job_for_user(scope, id).await?;
                Err(Error::FailedPrecondition(format!("job is {}; {rule}", job.state.as_str())))
            }
        }
    }

    async fn with_note_ids(&self, rows: Vec<job::Model>) -> Result<Vec<Job>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut notes = self.note_ids_of(&ids).await?;
        rows.into_iter()
            .map(|row| {
                let ids = notes.remove(&row.id).unwrap_or_default();
                Ok(job_from_row(row, ids)?)
            })
            .collect()
    }

    /// Note ids of many jobs in one query.
    async fn note_ids_of(&self, job_ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>> {
        if job_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let pairs: Vec<(Option<Uuid>, Uuid)> = note::Entity::find()
            .select_only()
            .column(note::Column::JobId)
            .column(note::Column::Id)
            .filter(note::Column::JobId.is_in(job_ids.iter().copied()))
            .order_by_asc(note::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut by_job: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (job_id, note_id) in pairs {
            if let Some(job_id) = job_id {
                by_job.entry(job_id).or_default().push(note_id);
            }
        }
        Ok(by_job)
    }
}

/// The row of a job just submitted: QUEUED, no attempt yet.
pub(super) fn new_job_row(new: NewJob) -> job::ActiveModel {
    job::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(new.user_id),
        url: Set(new.url),
        video_id: Set(new.video_id),
        subject: Set(new.subject),
        assessments: Set(new.assessments),
        priority: Set(new.priority),
        state: Set(JobState::Queued.as_str().into()),
        stage: Set(String::new()),
        progress_percent: Set(0),
        attempt: Set(0),
        max_attempts: Set(new.max_attempts as i32),
        error: Set(String::new()),
        created_at: Set(Utc::now()),
        started_at: Set(None),
        finished_at: Set(None),
        run_after: Set(None),
        lease_until: Set(None),
        log_tail: Set(None),
        idempotency_key: Set(new.idempotency_key),
        batch_id: Set(new.batch_id),
    }
}

/// An update of a job that the attempt `attempt` still holds.
fn held(id: Uuid, attempt: u32) -> sea_orm::UpdateMany<job::Entity> {
    job::Entity::update_many()
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::State.eq(JobState::Processing.as_str()))
        .filter(job::Column::Attempt.eq(attempt as i32))
}

/// An update of the caller's job while it is in one of `from`.
fn owned_in(scope: &Scope, id: Uuid, from: &[JobState]) -> sea_orm::UpdateMany<job::Entity> {
    job::Entity::update_many()
        .filter(job::Column::Id.eq(id))
        .filter(owner(job::Column::UserId, scope))
        .filter(job::Column::State.is_in(states(from)))
}

fn finish(update: sea_orm::UpdateMany<job::Entity>, state: JobState, error: &str) -> sea_orm::UpdateMany<job::Entity> {
    update
        .col_expr(job::Column::State, Expr::value(state.as_str()))
        .col_expr(job::Column::Error, Expr::value(error))
        .col_expr(job::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(job::Column::RunAfter, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
}

fn first_job(rows: Vec<job::Model>) -> Result<Option<Job>> {
    match rows.into_iter().next() {
        Some(row) => Ok(Some(job_from_row(row, Vec::new())?)),
        None => Ok(None),
    }
}
