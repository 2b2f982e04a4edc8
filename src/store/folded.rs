//! Transitions of many jobs in one statement, as a group of transitions
//! folds them: the claims of a group, the progress of its attempts, and
//! their completions.
use chrono::Utc;
use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, Value};
use uuid::Uuid;

use super::attempts::{claiming, completed};
use super::entity::job;
use super::{GroupTxn, Store, Txn};
use crate::domain::{Job, JobState};
use crate::error::Result;

/// Attempts whose progress one statement records at most (four bind
/// parameters each; a statement's are bounded).
const PROGRESS_PER_UPDATE: usize = 1000;

/// The stage and percent an attempt reached.
pub struct ProgressRow<'a> {
    pub id: Uuid,
    pub attempt: u32,
    pub stage: &'a str,
    pub percent: u32,
}

/// An attempt that ended well, with the last lines its job keeps.
pub struct CompletedRow<'a> {
    pub id: Uuid,
    pub attempt: u32,
    pub log_tail: &'a str,
}

impl Store {
    /// Marks COMPLETED, in one statement, the jobs these attempts still
    /// hold; [`Store::complete`] then finds each one's answer in the group
    /// and stores its notes.
    pub async fn complete_ahead(txn: &GroupTxn, rows: &[CompletedRow<'_>]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut log_tails = CaseStatement::new();
        let mut held = Condition::any();
        for row in rows {
            log_tails = log_tails.case(job::Column::Id.eq(row.id), Expr::value(row.log_tail));
            held = held
                .add(Condition::all().add(job::Column::Id.eq(row.id)).add(job::Column::Attempt.eq(row.attempt as i32)));
        }
        let update =
            job::Entity::update_many().filter(job::Column::State.eq(JobState::Processing.as_str())).filter(held);
        let done = completed(update, log_tails.into()).exec_with_returning(&**txn).await?;
        txn.complete_ahead(rows.iter().map(|row| (row.id, row.attempt)), done);
        Ok(())
    }

    /// Takes for workers those of `ids` that wait and no pause holds (see
    /// [`Store::claim`], without a per-user cap); returns them.
    pub async fn claim_many(txn: &Txn, ids: &[Uuid], lease: std::time::Duration) -> Result<Vec<Job>> {
        let rows = claiming(lease, Utc::now())
            .filter(job::Column::Id.is_in(ids.iter().copied()))
            .exec_with_returning(txn)
            .await?;
        super::attempts::jobs(rows)
    }

    /// Records each attempt's stage and percent where the attempt still
    /// holds its job (one row per attempt); returns the jobs it changed.
    pub async fn record_progress_many(txn: &Txn, rows: &[ProgressRow<'_>]) -> Result<Vec<Job>> {
        if txn.get_database_backend() != DbBackend::Postgres {
            // SQLite: one writer, in-process; a statement each costs little.
            let mut changed = Vec::with_capacity(rows.len());
            for row in rows {
                changed.extend(Store::record_progress(txn, row.id, row.attempt, row.stage, row.percent).await?);
            }
            return Ok(changed);
        }
        let mut changed = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(PROGRESS_PER_UPDATE) {
            changed.extend(super::attempts::jobs(progress_update(txn, chunk).await?)?);
        }
        Ok(changed)
    }
}

/// One PostgreSQL statement: every attempt's stage and percent, joined to
/// the jobs they still hold.
async fn progress_update(txn: &Txn, rows: &[ProgressRow<'_>]) -> Result<Vec<job::Model>> {
    let tuples: Vec<String> = (0..rows.len())
        .map(|n| {
            let at = n * 4;
            format!("(${}::uuid, ${}::integer, ${}::text, ${}::integer)", at + 1, at + 2, at + 3, at + 4)
        })
        .collect();
    let sql = format!(
        "UPDATE jobs SET stage = progress.stage, progress_percent = progress.percent \
         FROM (VALUES {tuples}) AS progress (id, attempt, stage, percent) \
         WHERE jobs.id = progress.id AND jobs.attempt = progress.attempt AND jobs.state = '{processing}' \
         RETURNING jobs.*",
        tuples = tuples.join(", "),
        processing = JobState::Processing.as_str(),
    );
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 4);
    for row in rows {
        values.push(row.id.into());
        values.push((row.attempt as i32).into());
        values.push(row.stage.into());
        values.push((row.percent.min(i32::MAX as u32) as i32).into());
    }
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    Ok(job::Entity::find().from_raw_sql(statement).all(txn).await?)
}
