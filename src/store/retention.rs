//! Retention: finished jobs and their events are removed once old enough;
//! their notes stay (the notes' `job_id` is cleared by the foreign key).
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use uuid::Uuid;

use super::Store;
use super::entity::{job, job_event};
use crate::domain::JobState;
use crate::error::Result;

/// Jobs removed per transaction, so a large backlog never holds a long lock.
const REMOVE_CHUNK: u64 = 500;

impl Store {
    /// Removes COMPLETED jobs finished before `completed_before`, and FAILED
    /// or CANCELLED ones finished before `failed_before`, with their events.
    /// Returns how many jobs it removed.
    pub async fn remove_expired_jobs(
        &self,
        completed_before: DateTime<Utc>,
        failed_before: DateTime<Utc>,
    ) -> Result<u64> {
        let mut removed = 0;
        for (states, before) in [
            (vec![JobState::Completed.as_str()], completed_before),
            (vec![JobState::Failed.as_str(), JobState::Cancelled.as_str()], failed_before),
        ] {
            loop {
                let ids: Vec<Uuid> = job::Entity::find()
                    .select_only()
                    .column(job::Column::Id)
                    .filter(job::Column::State.is_in(states.clone()))
                    .filter(job::Column::FinishedAt.lt(before))
                    .limit(REMOVE_CHUNK)
                    .into_tuple()
                    .all(&self.db)
                    .await?;
                if ids.is_empty() {
                    break;
                }
                let txn = self.db.begin().await?;
                job_event::Entity::delete_many().filter(job_event::Column::JobId.is_in(ids.clone())).exec(&txn).await?;
                let result = job::Entity::delete_many()
                    .filter(job::Column::Id.is_in(ids.clone()))
                    .filter(job::Column::State.is_in(states.clone()))
                    .exec(&txn)
                    .await?;
                // Only the jobs still finished went; the others keep theirs.
                let gone: Vec<Uuid> = {
                    let left: Vec<Uuid> = job::Entity::find()
                        .select_only()
                        .column(job::Column::Id)
                        .filter(job::Column::Id.is_in(ids.clone()))
                        .into_tuple()
                        .all(&txn)
                        .await?;
                    ids.iter().copied().filter(|id| !left.contains(id)).collect()
                };
                Store::delete_attempts(&txn, &gone).await?;
                Store::delete_output(&txn, &gone).await?;
                txn.commit().await?;
                removed += result.rows_affected;
                if (ids.len() as u64) < REMOVE_CHUNK {
                    break;
                }
            }
        }
        Ok(removed)
    }
}
