//! The durable event log. A user's counter row hands out sequences under its
//! row lock, inside the transaction that appends the event, so sequence N+1
//! commits only after N: a reader that has seen N+1 can always read N.
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::{job_event, user_event_sequence};
use super::{Store, Txn};
use crate::domain::{Batch, Job, JobEvent, JobEventKind, UserId};
use crate::error::Result;

/// One event to append: what happened to which job (of which batch).
#[derive(Clone, Copy, Debug)]
pub struct LogEntry<'a> {
    pub kind: JobEventKind,
    pub job: &'a Job,
    pub batch: Option<&'a Batch>,
}

/// Sequences reserved in a transaction: the next one to hand out, per owner.
#[derive(Debug, Default)]
pub struct Sequences {
    next: HashMap<String, i64>,
}

/// What a user's log holds: its oldest retained and its last sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventBounds {
    pub oldest: Option<u64>,
    pub last: u64,
}

impl Store {
    /// Reserves sequences for events of any users in the transaction: each
    /// owner's counter moves once, by their number of events. The counters
    /// stay locked until the transaction ends (taken in user order, so two
    /// writers cannot deadlock): every other change to these owners' jobs
    /// waits, so what the transaction reads next sees them all committed.
    pub async fn reserve_sequences<'a>(txn: &Txn, owners: impl IntoIterator<Item = &'a str>) -> Result<Sequences> {
        let mut per_owner: BTreeMap<&str, i64> = BTreeMap::new();
        for owner in owners {
            *per_owner.entry(owner).or_default() += 1;
        }
        if per_owner.is_empty() {
            return Ok(Sequences::default());
        }
        let counters = per_owner.iter().map(|(owner, count)| user_event_sequence::ActiveModel {
            user_id: Set(owner.to_string()),
            last_sequence: Set(*count),
        });
        let column = user_event_sequence::Column::LastSequence;
        let moved = Expr::col((user_event_sequence::Entity, column)).add(Expr::col((Alias::new("excluded"), column)));
        let rows = user_event_sequence::Entity::insert_many(counters)
            .on_conflict(OnConflict::column(user_event_sequence::Column::UserId).value(column, moved).to_owned())
            .exec_with_returning(txn)
            .await?;
        let next = rows
            .into_iter()
            .map(|row| {
                let first = row.last_sequence - per_owner[row.user_id.as_str()] + 1;
                (row.user_id, first)
            })
            .collect();
        Ok(Sequences { next })
    }

    /// Appends the events, each under the next of its owner's reserved
    /// sequences (so one owner's events take consecutive sequences in the
    /// order given); returns each one's sequence, in order.
    pub async fn append_log(txn: &Txn, entries: &[LogEntry<'_>], reserved: Sequences) -> Result<Vec<u64>> {
        let mut next = reserved.next;
        let now = Utc::now();
        let mut batches = HashMap::new();
        let mut sequences = Vec::with_capacity(entries.len());
        let mut rows = Vec::with_capacity(entries.len());
        for entry in entries {
            let slot = next.get_mut(&entry.job.user_id).ok_or_else(|| anyhow::anyhow!("no sequence was reserved"))?;
            let sequence = *slot;
            *slot += 1;
            sequences.push(sequence as u64);
            let batch = entry.batch.map(|batch| batch_json(&mut batches, batch)).transpose()?;
            rows.push(job_event::ActiveModel {
                user_id: Set(entry.job.user_id.clone()),
                sequence: Set(sequence),
                job_id: Set(entry.job.id),
                kind: Set(entry.kind.as_str().into()),
                payload: Set(serde_json::to_string(entry.job).map_err(|e| anyhow::anyhow!(e))?),
                created_at: Set(now),
                batch: Set(batch),
            });
        }
        for chunk in rows.chunks(500) {
            job_event::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
        }
        Ok(sequences)
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

/// `batch` as JSON, serialised once per batch however many events carry it.
fn batch_json(cache: &mut HashMap<uuid::Uuid, String>, batch: &Batch) -> Result<String> {
    if let Some(json) = cache.get(&batch.id) {
        return Ok(json.clone());
    }
    let json = serde_json::to_string(batch).map_err(|e| anyhow::anyhow!(e))?;
    cache.insert(batch.id, json.clone());
    Ok(json)
}
