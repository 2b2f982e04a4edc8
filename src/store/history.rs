//! The attempt history: a row per ended attempt, written in the transaction
//! of the attempt's end (so the history never disagrees with the job), read
//! back for `GetJob`, and removed with the job.
use std::time::Duration;

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::entity::{job, job_attempt};
use super::{Store, Txn};
use crate::domain::{AttemptFacts, AttemptOutcome, AttemptRecord, FailureKind, JobState, ProgramExit, StageTiming};
use crate::error::Result;

impl Store {
    /// The job's state, if `attempt` is still its latest.
    pub async fn state_at_attempt(txn: &Txn, id: Uuid, attempt: u32) -> Result<Option<JobState>> {
        let found = job::Entity::find_by_id(id).filter(job::Column::Attempt.eq(attempt as i32)).one(txn).await?;
        Ok(found.and_then(|row| JobState::parse(&row.state)))
    }

    /// Every kept attempt of the job, oldest first.
    pub async fn attempts(&self, job_id: Uuid) -> Result<Vec<AttemptRecord>> {
        let rows = job_attempt::Entity::find()
            .filter(job_attempt::Column::JobId.eq(job_id))
            .order_by_asc(job_attempt::Column::Attempt)
            .all(&self.db)
            .await?;
        rows.into_iter().map(|row| Ok(attempt_from_row(row)?)).collect()
    }

    /// Removes the history of these jobs (they are being deleted).
    pub(super) async fn delete_attempts(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<()> {
        job_attempt::Entity::delete_many()
            .filter(job_attempt::Column::JobId.is_in(ids.iter().copied()))
            .exec(conn)
            .await?;
        Ok(())
    }
}

/// The row of an ended attempt's record.
pub(super) fn attempt_row(record: &AttemptRecord) -> job_attempt::ActiveModel {
    let timings: Vec<(&str, f64)> = record.facts.timings.iter().map(|t| (t.stage.as_str(), t.seconds)).collect();
    let (exit_code, signal) = match record.facts.exit {
        Some(ProgramExit::Code(code)) => (Some(code), None),
        Some(ProgramExit::Signal(signal)) => (None, Some(signal)),
        None => (None, None),
    };
    job_attempt::ActiveModel {
        job_id: Set(record.job_id),
        attempt: Set(record.attempt as i32),
        node: Set(record.node.clone()),
        started_at: Set(record.started_at),
        ended_at: Set(record.ended_at),
        outcome: Set(record.outcome.as_str().into()),
        failure_kind: Set(record.failure_kind.map(|kind| kind.as_str().into())),
        reason: Set(record.reason.clone()),
        exit_code: Set(exit_code),
        signal: Set(signal),
        duration_ms: Set(record.facts.duration.as_millis().min(i64::MAX as u128) as i64),
        timings: Set(serde_json::to_string(&timings).expect("timings serialize")),
    }
}

fn attempt_from_row(row: job_attempt::Model) -> Result<AttemptRecord, DbErr> {
    let outcome = AttemptOutcome::parse(&row.outcome).ok_or_else(|| {
        DbErr::Custom(format!("attempt {} of {} has unknown outcome {:?}", row.attempt, row.job_id, row.outcome))
    })?;
    let exit = match (row.exit_code, row.signal) {
        (Some(code), _) => Some(ProgramExit::Code(code)),
        (None, Some(signal)) => Some(ProgramExit::Signal(signal)),
        _ => None,
    };
    let timings: Vec<(String, f64)> = serde_json::from_str(&row.timings).unwrap_or_default();
    Ok(AttemptRecord {
        job_id: row.job_id,
        attempt: row.attempt.max(0) as u32,
        node: row.node,
        started_at: row.started_at,
        ended_at: row.ended_at,
        outcome,
        failure_kind: row.failure_kind.as_deref().and_then(FailureKind::parse),
        reason: row.reason,
        facts: AttemptFacts {
            exit,
            duration: Duration::from_millis(row.duration_ms.max(0) as u64),
            timings: timings.into_iter().map(|(stage, seconds)| StageTiming { stage, seconds }).collect(),
        },
    })
}
