//! Job queries users drive: submit, read, list, cancel, retry, delete. Every
//! state change runs in the transaction it is given (the core logs its event
//! in the same one) and is one conditional `UPDATE … RETURNING`:
//! it names the states it may leave (and, for a worker, the attempt it holds
//! as a fencing token), so two writers can never both win.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, SqlErr, TransactionTrait,
};
use uuid::Uuid;

use super::convert::job_from_row;
use super::entity::{job, job_event, note};
use super::{GroupTxn, Store, Txn, owner};
use crate::domain::job::Rerun;
use crate::domain::job::{NewJob, scheduled_stage};
use crate::domain::page::PageRequest;
use crate::domain::{FailureKind, Job, JobFilter, JobState, Scope};
use crate::error::{Error, Result};

pub(super) fn states(list: &[JobState]) -> Vec<&'static str> {
    list.iter().map(|s| s.as_str()).collect()
}

impl Store {
    /// Stores many submissions in the transaction; each comes back with
    /// whether it was created. One that duplicates a waiting job of its
    /// owner (same idempotency key, or, without a key, the same video still
    /// waiting or running), or another in the same call, comes back as the
    /// job it duplicates. The database's unique indexes decide (conflicting
    /// rows are skipped, never an error), so concurrent identical submissions
    /// make one job.
    pub async fn insert_jobs(txn: &Txn, news: Vec<NewJob>) -> Result<Vec<(Job, bool)>> {
        let rows: Vec<job::ActiveModel> = news.iter().cloned().map(new_job_row).collect();
        let ids: Vec<Uuid> = rows.iter().map(|row| *row.id.as_ref()).collect();
        let mut created: HashMap<Uuid, job::Model> =
            insert_skipping_duplicates(txn, rows).await?.into_iter().map(|row| (row.id, row)).collect();
        let mut results = Vec::with_capacity(news.len());
        for (new, id) in news.into_iter().zip(ids) {
            results.push(match created.remove(&id) {
                Some(row) => (job_from_row(row, Vec::new())?, true),
                None => insert_or_find(txn, new).await?,
            });
        }
        Ok(results)
    }

    /// The caller's job; another user's job is `NotFound`, never revealed.
    pub async fn job_for_user(&self, scope: &Scope, id: Uuid) -> Result<Job> {
        job_for_user(&self.db, scope, id).await
    }

    /// The caller's jobs, newest first, optionally only in `only` states.
    pub async fn list_jobs(&self, scope: &Scope, filter: &JobFilter, page: PageRequest) -> Result<Vec<Job>> {
        let mut query = job::Entity::find().filter(owner(job::Column::UserId, scope));
        if !filter.states.is_empty() {
            query = query.filter(job::Column::State.is_in(states(&filter.states)));
        }
        if let Some(batch) = filter.batch {
            query = query.filter(job::Column::BatchId.eq(batch));
        }
        if let Some(pattern) = filter.like_pattern() {
            query = query.filter(contains_text(&pattern));
        }
        if let Some(after) = page.after {
            query = query.filter(job::Column::Id.lt(after));
        }
        let rows = query.order_by_desc(job::Column::Id).limit(page.size).all(&self.db).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut notes = note_ids_of(&self.db, &ids).await?;
        rows.into_iter()
            .map(|row| {
                let ids = notes.remove(&row.id).unwrap_or_default();
                Ok(job_from_row(row, ids)?)
            })
            .collect()
    }

    /// CANCELLED, from any unfinished state (a running job keeps its lease
    /// while its program is stopped).
    pub async fn cancel(txn: &Txn, scope: &Scope, id: Uuid) -> Result<Job> {
        let rows = cancelled(owned_in(scope, id, &JobState::UNFINISHED), "cancelled by the user")
            .exec_with_returning(txn)
            .await?;
        changed_or_explain(txn, scope, id, rows, "only a queued, processing or retrying job can be cancelled").await
    }

    /// QUEUED again with `attempts` more attempts, from FAILED or CANCELLED,
    /// at `priority` if given. The attempt counter keeps counting: it is the
    /// fencing token.
    pub async fn retry(txn: &Txn, scope: &Scope, id: Uuid, attempts: u32, priority: Option<i32>) -> Result<Job> {
        let rerun = Rerun { priority, ..Rerun::default() };
        let rule = "only a failed or cancelled job can be retried";
        run_again(txn, (scope, id), &JobState::RETRYABLE, attempts, &rerun, ("", rule)).await
    }

    /// QUEUED again with `attempts` more attempts and the changes `rerun`
    /// names, from COMPLETED or FAILED. Its notes stay until the new run
    /// stores its own (see [`Store::complete`]).
    pub async fn reprocess(txn: &Txn, scope: &Scope, id: Uuid, attempts: u32, rerun: &Rerun) -> Result<Job> {
        let rule = "only a completed or failed job can be reprocessed";
        let from = [JobState::Completed, JobState::Failed];
        run_again(txn, (scope, id), &from, attempts, rerun, ("queued to be processed again", rule)).await
    }

    /// CANCELLED with `reason`: jobs just stored that the queue refused.
    pub async fn withdraw(txn: &Txn, ids: &[Uuid], reason: &str) -> Result<Vec<Job>> {
        let unfinished = job::Entity::update_many()
            .filter(job::Column::Id.is_in(ids.iter().copied()))
            .filter(job::Column::State.is_in(states(&JobState::UNFINISHED)));
        let rows = finish(unfinished, JobState::Cancelled, reason, Some(FailureKind::Cancelled))
            .col_expr(job::Column::Stage, Expr::value("refused"))
            .exec_with_returning(txn)
            .await?;
        rows.into_iter().map(|row| Ok(job_from_row(row, Vec::new())?)).collect()
    }

    /// Deletes a finished job with its notes, its events, its history and
    /// its output (those its group holds to insert too); returns it and,
    /// for a batch's child, the state its batch last counted it in.
    pub async fn delete(group: &GroupTxn, scope: &Scope, id: Uuid) -> Result<(Job, Option<JobState>)> {
        let txn: &Txn = group;
        let finished = [JobState::Completed, JobState::Failed, JobState::Cancelled];
        let job = job_for_user(txn, scope, id).await?;
        if !job.state.is_finished() {
            return Err(Error::FailedPrecondition(format!(
                "job is {}; cancel it before deleting it",
                job.state.as_str()
            )));
        }
        // The job row first, conditionally, so a job that changed meanwhile
        // loses nothing; its notes keep their ids to be deleted next.
        let deleted = job::Entity::delete_many()
            .filter(job::Column::Id.eq(id))
            .filter(owner(job::Column::UserId, scope))
            .filter(job::Column::State.is_in(states(&finished)))
            .exec_with_returning(txn)
            .await?;
        let Some(row) = deleted.into_iter().next() else {
            return Err(Error::FailedPrecondition("job changed while being deleted; try again".into()));
        };
        let counted = row.batch_id.and(row.counted_state.as_deref()).and_then(JobState::parse);
        if !job.note_ids.is_empty() {
            note::Entity::delete_many().filter(note::Column::Id.is_in(job.note_ids.iter().copied())).exec(txn).await?;
        }
        job_event::Entity::delete_many().filter(job_event::Column::JobId.eq(id)).exec(txn).await?;
        Store::delete_attempts(txn, &[id]).await?;
        Store::delete_output(txn, &[id]).await?;
        group.forget(id);
        Ok((job, counted))
    }
}

/// Inserts the rows, skipping any that a unique index refuses; returns those
/// inserted.
async fn insert_skipping_duplicates(txn: &Txn, rows: Vec<job::ActiveModel>) -> Result<Vec<job::Model>> {
    let skip_duplicates = OnConflict::new().do_nothing().to_owned();
    match job::Entity::insert_many(rows).on_conflict(skip_duplicates).exec_with_returning(txn).await {
        Ok(rows) => Ok(rows),
        Err(DbErr::RecordNotInserted) => Ok(Vec::new()),
        Err(error) => Err(error.into()),
    }
}

/// A submission whose row was skipped: the job it duplicates, or (if that
/// one finished meanwhile) a new job after all.
async fn insert_or_find(txn: &Txn, new: NewJob) -> Result<(Job, bool)> {
    for _ in 0..3 {
        if let Some(existing) = duplicate_of(txn, &new).await? {
            return Ok((existing, false));
        }
        if let Some(row) = insert_skipping_duplicates(txn, vec![new_job_row(new.clone())]).await?.pop() {
            return Ok((job_from_row(row, Vec::new())?, true));
        }
    }
    Err(Error::FailedPrecondition("the submission keeps colliding with another; try again".into()))
}

async fn duplicate_of(conn: &impl ConnectionTrait, new: &NewJob) -> Result<Option<Job>> {
    let mut query = job::Entity::find().filter(job::Column::UserId.eq(new.user_id.as_str()));
    query = match &new.idempotency_key {
        Some(key) => query.filter(job::Column::IdempotencyKey.eq(key.as_str())),
        None => query
            .filter(job::Column::IdempotencyKey.is_null())
            .filter(job::Column::VideoId.eq(new.video_id.as_str()))
            .filter(job::Column::State.is_in(states(&JobState::UNFINISHED))),
    };
    let Some(row) = query.one(conn).await? else { return Ok(None) };
    let note_ids = note_ids_of(conn, &[row.id]).await?.remove(&row.id).unwrap_or_default();
    Ok(Some(job_from_row(row, note_ids)?))
}

pub(super) async fn job_for_user(conn: &impl ConnectionTrait, scope: &Scope, id: Uuid) -> Result<Job> {
    let row = job::Entity::find_by_id(id)
        .filter(owner(job::Column::UserId, scope))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("job"))?;
    let note_ids = note_ids_of(conn, &[row.id]).await?.remove(&row.id).unwrap_or_default();
    Ok(job_from_row(row, note_ids)?)
}

async fn changed_or_explain(txn: &Txn, scope: &Scope, id: Uuid, rows: Vec<job::Model>, rule: &str) -> Result<Job> {
    match rows.into_iter().next() {
        Some(row) => {
            let note_ids = note_ids_of(txn, &[row.id]).await?.remove(&row.id).unwrap_or_default();
            Ok(job_from_row(row, note_ids)?)
        }
        None => {
            let job = job_for_user(txn, scope, id).await?;
            Err(Error::FailedPrecondition(format!("job is {}; {rule}", job.state.as_str())))
        }
    }
}

/// A finished job in one of `from` QUEUED again, as `rerun` says; `stage`
/// is what it says meanwhile, `rule` why a job in another state cannot be.
async fn run_again(
    txn: &Txn,
    (scope, id): (&Scope, Uuid),
    from: &[JobState],
    attempts: u32,
    rerun: &Rerun,
    (stage, rule): (&str, &str),
) -> Result<Job> {
    // A savepoint: a unique-index conflict must not abort the group.
    let savepoint = txn.begin().await?;
    let mut update = owned_in(scope, id, from)
        .col_expr(job::Column::State, Expr::value(JobState::Queued.as_str()))
        .col_expr(job::Column::MaxAttempts, Expr::col(job::Column::Attempt).add(attempts as i32))
        .col_expr(job::Column::Stage, Expr::value(stage))
        .col_expr(job::Column::ProgressPercent, Expr::value(0))
        .col_expr(job::Column::Error, Expr::value(""))
        .col_expr(job::Column::FailureKind, Expr::value(Option::<String>::None))
        .col_expr(job::Column::FinishedAt, Expr::value(Option::<DateTime<Utc>>::None));
    if let Some(subject) = &rerun.subject {
        update = update.col_expr(job::Column::Subject, Expr::value(subject.as_str()));
    }
    if let Some(assessments) = rerun.assessments {
        update = update.col_expr(job::Column::Assessments, Expr::value(assessments));
    }
    if let Some(priority) = rerun.priority {
        update = update.col_expr(job::Column::Priority, Expr::value(priority));
    }
    let rows = match update.exec_with_returning(&savepoint).await {
        Ok(rows) => {
            savepoint.commit().await?;
            rows
        }
        Err(error) => {
            savepoint.rollback().await?;
            return Err(match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    Error::FailedPrecondition("another job for this video is waiting or running".into())
                }
                _ => error.into(),
            });
        }
    };
    changed_or_explain(txn, scope, id, rows, rule).await
}

/// Note ids of many jobs in one query.
async fn note_ids_of(conn: &impl ConnectionTrait, job_ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>> {
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
        .all(conn)
        .await?;
    let mut by_job: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (job_id, note_id) in pairs {
        if let Some(job_id) = job_id {
            by_job.entry(job_id).or_default().push(note_id);
        }
    }
    Ok(by_job)
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
        stage: Set(new.not_before.map(scheduled_stage).unwrap_or_default()),
        progress_percent: Set(0),
        attempt: Set(0),
        max_attempts: Set(new.max_attempts as i32),
        error: Set(String::new()),
        failure_kind: Set(None),
        created_at: Set(Utc::now()),
        started_at: Set(None),
        finished_at: Set(None),
        run_after: Set(new.not_before),
        lease_until: Set(None),
        log_tail: Set(None),
        idempotency_key: Set(new.idempotency_key),
        // A batch's child is counted QUEUED as its batch is stored.
        counted_state: Set(new.batch_id.map(|_| JobState::Queued.as_str().into())),
        batch_id: Set(new.batch_id),
    }
}

/// Jobs with `pattern` (a LIKE pattern of lowercase text) in what a person
/// knows them by; lower() on both backends, as SQLite has no ILIKE.
fn contains_text(pattern: &str) -> Condition {
    let columns =
        [job::Column::Url, job::Column::VideoId, job::Column::Subject, job::Column::Stage, job::Column::Error];
    columns.into_iter().fold(Condition::any(), |any, column| {
        any.add(Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\')))
    })
}

/// An update of the caller's job while it is in one of `from`.
fn owned_in(scope: &Scope, id: Uuid, from: &[JobState]) -> sea_orm::UpdateMany<job::Entity> {
    job::Entity::update_many()
        .filter(job::Column::Id.eq(id))
        .filter(owner(job::Column::UserId, scope))
        .filter(job::Column::State.is_in(states(from)))
}

pub(super) fn finish(
    update: sea_orm::UpdateMany<job::Entity>,
    state: JobState,
    error: &str,
    kind: Option<FailureKind>,
) -> sea_orm::UpdateMany<job::Entity> {
    ended(update, state, error, kind).col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
}

/// CANCELLED with `reason`. A job that was PROCESSING keeps its lease: its
/// attempt's program is being stopped, and the attempt's end (or the
/// reaper, if its node is lost meanwhile) clears the lease.
pub(super) fn cancelled(update: sea_orm::UpdateMany<job::Entity>, reason: &str) -> sea_orm::UpdateMany<job::Entity> {
    let kept = "CASE WHEN state = 'processing' THEN lease_until ELSE NULL END";
    ended(update, JobState::Cancelled, reason, Some(FailureKind::Cancelled))
        .col_expr(job::Column::LeaseUntil, Expr::cust(kept))
        .col_expr(job::Column::Stage, Expr::value("cancelled"))
}

/// The columns every end of a job sets, its lease aside.
fn ended(
    update: sea_orm::UpdateMany<job::Entity>,
    state: JobState,
    error: &str,
    kind: Option<FailureKind>,
) -> sea_orm::UpdateMany<job::Entity> {
    update
        .col_expr(job::Column::State, Expr::value(state.as_str()))
        .col_expr(job::Column::Error, Expr::value(error))
        .col_expr(job::Column::FailureKind, Expr::value(kind.map(FailureKind::as_str)))
        .col_expr(job::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(job::Column::RunAfter, Expr::value(Option::<DateTime<Utc>>::None))
}
