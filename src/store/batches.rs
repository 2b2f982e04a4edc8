//! Batch queries. Children are inserted in bulk with their parent in one
//! transaction; counts come from a `GROUP BY` over the children, so they are
//! exact under any number of concurrent workers. A batch's state follows
//! from its children too (only a cancel is written to the batch's row): no
//! transition has to settle it, lock it or race another node to end it.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::convert::job_from_row;
use super::entity::{batch, job};
use super::jobs::{cancelled, new_job_row, states};
use super::{Store, Txn, owner};
use crate::domain::job::NewJob;
use crate::domain::page::PageRequest;
use crate::domain::{Batch, BatchCounts, BatchState, Job, JobState, Scope, UserId};
use crate::error::{Error, Result};

/// Children inserted per statement.
const INSERT_CHUNK: usize = 500;

impl Store {
    /// Stores a batch and its children (one per entry of `children`, whose
    /// `batch_id` and `idempotency_key` are filled in here).
    pub async fn insert_batch(
        txn: &Txn,
        user: &UserId,
        subject: &str,
        children: Vec<NewJob>,
    ) -> Result<(Batch, Vec<Job>)> {
        let id = Uuid::now_v7();
        let now = Utc::now();
        let total = children.len() as u32;
        let parent = batch::ActiveModel {
            id: Set(id),
            user_id: Set(user.clone()),
            subject: Set(subject.to_string()),
            total: Set(total as i32),
            state: Set(BatchState::Running.as_str().into()),
            created_at: Set(now),
            finished_at: Set(None),
        };
        batch::Entity::insert(parent).exec_without_returning(txn).await?;
        let mut jobs = Vec::with_capacity(children.len());
        let rows: Vec<job::ActiveModel> = children
            .into_iter()
            .enumerate()
            // A key per child keeps repeated URLs in one batch apart from the
            // one-active-job-per-video rule.
            .map(|(index, child)| {
                new_job_row(NewJob {
                    batch_id: Some(id),
                    idempotency_key: Some(format!("batch:{id}:{index}")),
                    ..child
                })
            })
            .collect();
        for chunk in rows.chunks(INSERT_CHUNK) {
            job::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
            for row in chunk {
                jobs.push(job_from_row(row_model(row), Vec::new())?);
            }
        }
        let counts = BatchCounts { queued: total, ..Default::default() };
        let batch = Batch {
            id,
            user_id: user.clone(),
            subject: subject.to_string(),
            total,
            counts,
            state: BatchState::Running,
            created_at: now,
            finished_at: None,
        };
        Ok((batch, jobs))
    }

    pub async fn batch_for_user(&self, scope: &Scope, id: Uuid) -> Result<Batch> {
        batch_for_user(&self.db, scope, id).await
    }

    /// The caller's batches, newest first.
    pub async fn list_batches(&self, scope: &Scope, page: PageRequest) -> Result<Vec<Batch>> {
        let mut query = batch::Entity::find().filter(owner(batch::Column::UserId, scope));
        if let Some(after) = page.after {
            query = query.filter(batch::Column::Id.lt(after));
        }
        let rows = query.order_by_desc(batch::Column::Id).limit(page.size).all(&self.db).await?;
        with_children(&self.db, rows).await
    }

    /// The batches now, by id (those that exist): one count of their
    /// children and one read of their rows, whatever their number.
    pub async fn batches_now(txn: &Txn, ids: &[Uuid]) -> Result<HashMap<Uuid, Batch>> {
        let rows = batch::Entity::find().filter(batch::Column::Id.is_in(ids.iter().copied())).all(txn).await?;
        Ok(with_children(txn, rows).await?.into_iter().map(|batch| (batch.id, batch)).collect())
    }

    /// Cancels every child that has not finished (ended like any cancelled
    /// job: no lease, no retry time) and, if there was one, marks the batch
    /// CANCELLED; returns the cancelled children.
    pub async fn cancel_batch(txn: &Txn, scope: &Scope, id: Uuid) -> Result<Vec<Job>> {
        batch_for_user(txn, scope, id).await?;
        let unfinished = job::Entity::update_many()
            .filter(job::Column::BatchId.eq(id))
            .filter(owner(job::Column::UserId, scope))
            .filter(job::Column::State.is_in(states(&JobState::UNFINISHED)));
        let rows = cancelled(unfinished, "the batch was cancelled").exec_with_returning(txn).await?;
        // A batch whose children had all finished already has ended.
        if !rows.is_empty() {
            batch::Entity::update_many()
                .col_expr(batch::Column::State, Expr::value(BatchState::Cancelled.as_str()))
                .col_expr(batch::Column::FinishedAt, Expr::value(Utc::now()))
                .filter(batch::Column::Id.eq(id))
                .filter(batch::Column::State.eq(BatchState::Running.as_str()))
                .exec(txn)
                .await?;
        }
        rows.into_iter().map(|row| Ok(job_from_row(row, Vec::new())?)).collect()
    }
}

/// What a batch's children say: how many are in each state, and when the
/// last of them finished.
#[derive(Debug, Default)]
struct Children {
    counts: BatchCounts,
    last_finished: Option<DateTime<Utc>>,
}

/// Batch, state, how many children are in it, when the last of them finished.
type ChildrenRow = (Option<Uuid>, String, i64, Option<DateTime<Utc>>);

/// The children of each batch, in one query.
async fn batch_children(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, Children>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<ChildrenRow> = job::Entity::find()
        .select_only()
        .column(job::Column::BatchId)
        .column(job::Column::State)
        .column_as(Expr::cust("COUNT(*)"), "count")
        .column_as(Expr::cust("MAX(finished_at)"), "last_finished")
        .filter(job::Column::BatchId.is_in(ids.iter().copied()))
        .group_by(job::Column::BatchId)
        .group_by(job::Column::State)
        .into_tuple()
        .all(conn)
        .await?;
    let mut by_batch: HashMap<Uuid, Children> = HashMap::new();
    for (batch_id, state, count, last_finished) in rows {
        let Some(batch_id) = batch_id else { continue };
        let children = by_batch.entry(batch_id).or_default();
        children.last_finished = children.last_finished.max(last_finished);
        let counts = &mut children.counts;
        let count = count as u32;
        match JobState::parse(&state) {
            Some(JobState::Queued | JobState::Retrying) => counts.queued += count,
            Some(JobState::Processing) => counts.processing += count,
            Some(JobState::Completed) => counts.completed += count,
            Some(JobState::Failed) => counts.failed += count,
            Some(JobState::Cancelled) => counts.cancelled += count,
            None => {}
        }
    }
    Ok(by_batch)
}

pub(super) async fn batch_for_user(conn: &impl ConnectionTrait, scope: &Scope, id: Uuid) -> Result<Batch> {
    let row = batch::Entity::find_by_id(id)
        .filter(owner(batch::Column::UserId, scope))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("batch"))?;
    with_children(conn, vec![row]).await?.pop().ok_or(Error::NotFound("batch"))
}

/// The batches of `rows`, in their order, with their children counted in
/// one query for all of them.
async fn with_children(conn: &impl ConnectionTrait, rows: Vec<batch::Model>) -> Result<Vec<Batch>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut children = batch_children(conn, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let of_row = children.remove(&row.id).unwrap_or_default();
            batch_from_row(row, of_row)
        })
        .collect()
}

/// A cancelled batch stays cancelled; any other has ended once its children
/// all have, when the last of them did.
fn batch_from_row(row: batch::Model, children: Children) -> Result<Batch> {
    let written = BatchState::parse(&row.state)
        .ok_or_else(|| anyhow::anyhow!("batch {} has unknown state {:?}", row.id, row.state))?;
    let Children { counts, last_finished } = children;
    let (state, finished_at) = match (written, counts.final_state()) {
        (BatchState::Cancelled, _) => (BatchState::Cancelled, row.finished_at),
        (_, Some(end)) => (end, last_finished.or(row.finished_at)),
        (_, None) => (BatchState::Running, None),
    };
    Ok(Batch {
        id: row.id,
        user_id: row.user_id,
        subject: row.subject,
        total: row.total.max(0) as u32,
        counts,
        state,
        created_at: row.created_at,
        finished_at,
    })
}

/// The model an inserted row becomes (every field was set).
fn row_model(row: &job::ActiveModel) -> job::Model {
    sea_orm::TryIntoModel::try_into_model(row.clone()).expect("every column of a new job is set")
}
