//! Batch queries. Children are inserted in bulk with their parent in one
//! transaction, counted QUEUED on the batch's row. From then on the counts
//! on the row move with the children (see `batch_counts`),
//! and a batch's state follows from them (only a cancel is written to the
//! batch's row): no transition has to settle it or race another node to end
//! it.
use chrono::Utc;
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
            queued: Set(total as i32),
            processing: Set(0),
            completed: Set(0),
            failed: Set(0),
            cancelled: Set(0),
            last_finished_at: Set(None),
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
        rows.into_iter().map(batch_from_row).collect()
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

pub(super) async fn batch_for_user(conn: &impl ConnectionTrait, scope: &Scope, id: Uuid) -> Result<Batch> {
    let row = batch::Entity::find_by_id(id)
        .filter(owner(batch::Column::UserId, scope))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("batch"))?;
    batch_from_row(row)
}

/// A cancelled batch stays cancelled; any other has ended once its children
/// all have, when the last of them did.
pub(super) fn batch_from_row(row: batch::Model) -> Result<Batch> {
    let written = BatchState::parse(&row.state)
        .ok_or_else(|| anyhow::anyhow!("batch {} has unknown state {:?}", row.id, row.state))?;
    let count = |n: i32| n.max(0) as u32;
    let counts = BatchCounts {
        queued: count(row.queued),
        processing: count(row.processing),
        completed: count(row.completed),
        failed: count(row.failed),
        cancelled: count(row.cancelled),
    };
    let (state, finished_at) = match (written, counts.final_state()) {
        (BatchState::Cancelled, _) => (BatchState::Cancelled, row.finished_at),
        (_, Some(end)) => (end, row.last_finished_at.or(row.finished_at)),
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
