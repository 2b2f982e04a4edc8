//! Job statistics for one user: counts by state from one `GROUP BY`, and
//! processing times over the latest completed jobs; what the estimates
//! read (jobs running on every node, the batches of jobs).
use chrono::Utc;
use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::entity::job;
use super::{Store, owner};
use crate::domain::{JobState, Scope};
use crate::error::Result;

type Started = Option<chrono::DateTime<Utc>>;
type Finished = Option<chrono::DateTime<Utc>>;

/// Completed jobs the processing-time figures are computed over.
const TIMING_SAMPLE: u64 = 10_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobStats {
    pub by_state: Vec<(JobState, u64)>,
    pub average_processing_seconds: f64,
    pub p95_processing_seconds: f64,
    pub oldest_waiting_seconds: f64,
}

impl JobStats {
    pub fn count(&self, state: JobState) -> u64 {
        self.by_state.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n)
    }

    pub fn success_rate(&self) -> f64 {
        let (completed, failed) = (self.count(JobState::Completed), self.count(JobState::Failed));
        if completed + failed == 0 { 0.0 } else { completed as f64 / (completed + failed) as f64 }
    }
}

impl Store {
    /// How many jobs of every user are in `state` now.
    pub async fn count_in_state(&self, state: JobState) -> Result<u64> {
        Ok(job::Entity::find().filter(job::Column::State.eq(state.as_str())).count(&self.db).await?)
    }

    /// The batch of each of these jobs that still exists (`None`: no batch).
    pub async fn batch_ids(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Option<Uuid>>> {
        let rows: Vec<(Uuid, Option<Uuid>)> = job::Entity::find()
            .select_only()
            .column(job::Column::Id)
            .column(job::Column::BatchId)
            .filter(job::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn job_stats(&self, scope: &Scope) -> Result<JobStats> {
        let counts: Vec<(String, i64)> = job::Entity::find()
            .select_only()
            .column(job::Column::State)
            .column_as(job::Column::Id.count(), "count")
            .filter(owner(job::Column::UserId, scope))
            .group_by(job::Column::State)
            .into_tuple()
            .all(&self.db)
            .await?;
        let by_state =
            counts.into_iter().filter_map(|(state, n)| Some((JobState::parse(&state)?, n.max(0) as u64))).collect();
        let timings: Vec<(Started, Finished)> = job::Entity::find()
            .select_only()
            .column(job::Column::StartedAt)
            .column(job::Column::FinishedAt)
            .filter(owner(job::Column::UserId, scope))
            .filter(job::Column::State.eq(JobState::Completed.as_str()))
            .order_by_desc(job::Column::Id)
            .limit(TIMING_SAMPLE)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut seconds: Vec<f64> = timings
            .into_iter()
            .filter_map(|(started, finished)| Some((finished? - started?).num_milliseconds().max(0) as f64 / 1000.0))
            .collect();
        seconds.sort_by(f64::total_cmp);
        let oldest: Option<chrono::DateTime<Utc>> = job::Entity::find()
            .select_only()
            .column(job::Column::CreatedAt)
            .filter(owner(job::Column::UserId, scope))
            .filter(job::Column::State.is_in(JobState::WAITING.map(|s| s.as_str())))
            .order_by_asc(job::Column::Id)
            .limit(1)
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(JobStats {
            by_state,
            average_processing_seconds: if seconds.is_empty() {
                0.0
            } else {
                seconds.iter().sum::<f64>() / seconds.len() as f64
            },
            p95_processing_seconds: percentile(&seconds, 0.95),
            oldest_waiting_seconds: oldest
                .map_or(0.0, |at| (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0),
        })
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    #[test]
    fn p95_is_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(super::percentile(&values, 0.95), 95.0);
        assert_eq!(super::percentile(&[3.0], 0.95), 3.0);
        assert_eq!(super::percentile(&[], 0.95), 0.0);
    }
}
