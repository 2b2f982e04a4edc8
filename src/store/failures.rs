//! FAILED jobs by their failure: what a failure listing groups and a bulk
//! retry takes, newest failure first.
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, Iterable, QueryFilter, QueryOrder, QuerySelect};

use super::convert::job_from_row;
use super::entity::job;
use super::{Store, owner};
use crate::domain::{FailureFilter, Job, JobState, Scope};
use crate::error::Result;

impl Store {
    /// Up to `limit` FAILED jobs in `scope` matching the filter's kind,
    /// batch and time range (the reason group is the caller's to check),
    /// the most recently failed first. Without their log tails: up to
    /// 10,000 rows are read, and nothing these callers answer shows one.
    pub async fn failed_jobs(&self, scope: &Scope, filter: &FailureFilter, limit: u64) -> Result<Vec<Job>> {
        let mut query = job::Entity::find()
            .select_only()
            .columns(job::Column::iter().filter(|column| !matches!(column, job::Column::LogTail)))
            .column_as(Expr::value(Option::<String>::None), "log_tail")
            .filter(owner(job::Column::UserId, scope))
            .filter(job::Column::State.eq(JobState::Failed.as_str()));
        if let Some(kind) = filter.kind {
            query = query.filter(job::Column::FailureKind.eq(kind.as_str()));
        }
        if let Some(batch) = filter.batch_id {
            query = query.filter(job::Column::BatchId.eq(batch));
        }
        if let Some(after) = filter.failed_after {
            query = query.filter(job::Column::FinishedAt.gte(after));
        }
        if let Some(before) = filter.failed_before {
            query = query.filter(job::Column::FinishedAt.lt(before));
        }
        let rows = query
            .order_by_desc(job::Column::FinishedAt)
            .order_by_desc(job::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| job_from_row(row, Vec::new())).collect::<Result<_, _>>()?)
    }
}
