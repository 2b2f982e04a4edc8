//! The durable event log. A user's counter row hands out sequences under its
//! row lock, inside the transaction that appends the event, so sequence N+1
//! commits only after N: a reader that has seen N+1 can always read N.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use super::Store;
use super::entity::{job_event, user_event_sequence};
use crate::domain::{Batch, Job, JobEvent, JobEventKind, UserId};
use crate::error::Result;

/// What a user's log holds: its oldest retained and its last sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventBounds {
    pub oldest: Option<u64>,
    pub last: u64,
}

impl Store {
    /// Appends an event to the owner's log; returns its sequence.
    pub async fn append_event(&self, kind: JobEventKind, job: &Job, batch: Option<&Batch>) -> Result<u64> {
        let first = self.append_events(kind, std::slice::from_ref(job), batch).await?;
        Ok(first)
    }

    /// Appends one event per job (all of one user) in one transaction;
    /// returns the first sequence (the rest follow one by one).
    pub async fn append_events(&self, kind: JobEventKind, jobs: &[Job], batch: Option<&Batch>) -> Result<u64> {
        let Some(owner) = jobs.first().map(|j| j.user_id.clone()) else { return Ok(0) };
        debug_assert!(jobs.iter().all(|j| j.user_id == owner));
        let count = jobs.len() as i64;
        let batch_json = batch.map(|b| serde_json::to_string(b).map_err(|e| anyhow::anyhow!(e))).transpose()?;
        let txn = self.db.begin().await?;
        let counter = user_event_sequence::ActiveModel { user_id: Set(owner.clone()), last_sequence: Set(count) };
        let next = Expr::col((user_event_sequence::Entity, user_event_sequence::Column::LastSequence)).add(count);
        let row = user_event_sequence::Entity::insert(counter)
            .on_conflict(
                OnConflict::column(user_event_sequence::Column::UserId)
                    .value(user_event_sequence::Column::LastSequence, next)
                    .to_owned(),
            )
            .exec_with_returning(&txn)
            .await?;
        let first = row.last_sequence - count + 1;
        let now = Utc::now();
        let mut rows = Vec::with_capacity(jobs.len());
        for (offset, job) in jobs.iter().enumerate() {
            rows.push(job_event::ActiveModel {
                user_id: Set(owner.clone()),
                sequence: Set(first + offset as i64),
                job_id: Set(job.id),
                kind: Set(kind.as_str().into()),
                payload: Set(serde_json::to_string(job).map_err(|e| anyhow::anyhow!(e))?),
                created_at: Set(now),
                batch: Set(batch_json.clone()),
            });
        }
        for chunk in rows.chunks(500) {
            job_event::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
        }
        txn.commit().await?;
        Ok(first as u64)
    }

    /// Up to `limit` of the user's events after `after`, oldest first, and
    /// before `before` when given.
    pub async fn events_after(
        &self,
        user: &UserId,
        after: u64,
        before: Option<u64>,
        limit: u64,
    ) -> Result<Vec<JobEvent>> {
        let mut query = job_event::Entity::find()
            .filter(job_event::Column::UserId.eq(user.as_str()))
            .filter(job_event::Column::Sequence.gt(after as i64));
        if let Some(before) = before {
            query = query.filter(job_event::Column::Sequence.lt(before as i64));
        }
        let rows = query.order_by_asc(job_event::Column::Sequence).limit(limit).all(&self.db).await?;
        rows.into_iter()
            .map(|row| {
                let kind = JobEventKind::parse(&row.kind).ok_or_else(|| {
                    anyhow::anyhow!("event {} of {} has unknown kind {:?}", row.sequence, row.user_id, row.kind)
                })?;
                let job: Job = serde_json::from_str(&row.payload).map_err(|e| anyhow::anyhow!("event payload: {e}"))?;
                let batch: Option<Batch> = row
                    .batch
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("event batch: {e}"))?;
                Ok(JobEvent { sequence: row.sequence as u64, kind, job: job.into(), batch: batch.map(Into::into) })
            })
            .collect()
    }

    pub async fn event_bounds(&self, user: &UserId) -> Result<EventBounds> {
        let last = user_event_sequence::Entity::find_by_id(user.clone()).one(&self.db).await?.map(|r| r.last_sequence);
        let oldest: Option<i64> = job_event::Entity::find()
            .select_only()
            .column(job_event::Column::Sequence)
            .filter(job_event::Column::UserId.eq(user.as_str()))
            .order_by_asc(job_event::Column::Sequence)
            .limit(1)
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(EventBounds { oldest: oldest.map(|s| s as u64), last: last.unwrap_or(0) as u64 })
    }

    /// Deletes events older than `before`; returns how many.
    pub async fn trim_events(&self, before: DateTime<Utc>) -> Result<u64> {
        let result =
            job_event::Entity::delete_many().filter(job_event::Column::CreatedAt.lt(before)).exec(&self.db).await?;
        Ok(result.rows_affected)
    }
}
