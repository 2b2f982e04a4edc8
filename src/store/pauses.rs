//! Pauses: one row per paused target, read whole (there are few), and the
//! claim's condition that no pause in force holds the job back.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::convert::job_from_row;
use super::entity::{job, job_pause};
use super::jobs::states;
use super::{Store, Txn};
use crate::domain::{Job, JobState, Pause, PauseTarget};
use crate::error::Result;

impl Store {
    /// Every stored pause, those whose resume time has passed but that are
    /// not tidied away yet included.
    pub async fn pauses(&self) -> Result<Vec<Pause>> {
        pauses(&self.db).await
    }

    /// [`Store::pauses`], in a transaction.
    pub async fn pauses_in(txn: &Txn) -> Result<Vec<Pause>> {
        pauses(txn).await
    }

    /// Stores `pause` unless a pause of its target is in force; returns the
    /// pause in force and whether it is the new one. A stored pause that has
    /// ended is replaced.
    pub async fn insert_pause(txn: &Txn, pause: &Pause) -> Result<(Pause, bool)> {
        let key = pause.target.key();
        if let Some(row) = job_pause::Entity::find_by_id(key.clone()).one(txn).await? {
            let stored = pause_from_row(row)?;
            if stored.in_force(Utc::now()) {
                return Ok((stored, false));
            }
            job_pause::Entity::delete_by_id(key.clone()).exec(txn).await?;
        }
        let (user_id, batch_id) = match &pause.target {
            PauseTarget::Everything => (None, None),
            PauseTarget::User(user) => (Some(user.clone()), None),
            PauseTarget::Batch { id, owner } => (Some(owner.clone()), Some(*id)),
        };
        let row = job_pause::ActiveModel {
            target: Set(key),
            user_id: Set(user_id),
            batch_id: Set(batch_id),
            reason: Set(pause.reason.clone()),
            resume_at: Set(pause.resume_at),
            paused_at: Set(pause.paused_at),
            paused_by: Set(pause.paused_by.clone()),
        };
        job_pause::Entity::insert(row).exec_without_returning(txn).await?;
        Ok((pause.clone(), true))
    }

    /// Removes the pause of `target`; returns it if there was one.
    pub async fn remove_pause(txn: &Txn, target: &PauseTarget) -> Result<Option<Pause>> {
        let removed = job_pause::Entity::delete_many()
            .filter(job_pause::Column::Target.eq(target.key()))
            .exec_with_returning(txn)
            .await?;
        removed.into_iter().next().map(pause_from_row).transpose()
    }

    /// Removes the pauses whose resume time is `now` or earlier; returns them.
    pub async fn remove_ended_pauses(txn: &Txn, now: DateTime<Utc>) -> Result<Vec<Pause>> {
        let removed = job_pause::Entity::delete_many()
            .filter(job_pause::Column::ResumeAt.lte(now))
            .exec_with_returning(txn)
            .await?;
        removed.into_iter().map(pause_from_row).collect()
    }

    /// The jobs `target` names that wait (QUEUED or RETRYING), oldest first,
    /// each with the time it may run (a schedule or a retry's backoff).
    pub async fn waiting_of(txn: &Txn, target: &PauseTarget) -> Result<Vec<(Job, Option<DateTime<Utc>>)>> {
        let mut query = job::Entity::find().filter(job::Column::State.is_in(states(&JobState::WAITING)));
        query = match target {
            PauseTarget::Everything => query,
            PauseTarget::User(user) => query.filter(job::Column::UserId.eq(user.as_str())),
            PauseTarget::Batch { id, .. } => query.filter(job::Column::BatchId.eq(*id)),
        };
        let rows = query.order_by_asc(job::Column::Id).all(txn).await?;
        rows.into_iter()
            .map(|row| {
                let run_after = row.run_after;
                Ok((job_from_row(row, Vec::new())?, run_after))
            })
            .collect()
    }
}

/// A claim's condition: no pause in force at `now` holds the job back. A
/// row without a user holds everyone's work; one without a batch, all its
/// user's.
pub(super) fn not_paused(now: DateTime<Utc>) -> SimpleExpr {
    let p = Alias::new("p");
    let column = |c: job_pause::Column| Expr::col((p.clone(), c));
    let either = |a: SimpleExpr, b: SimpleExpr| Condition::any().add(a).add(b);
    let holding = Query::select()
        .expr(Expr::val(1))
        .from_as(job_pause::Entity, p.clone())
        .cond_where(
            Condition::all()
                .add(either(
                    column(job_pause::Column::UserId).is_null(),
                    column(job_pause::Column::UserId).equals((job::Entity, job::Column::UserId)),
                ))
                .add(either(
                    column(job_pause::Column::BatchId).is_null(),
                    column(job_pause::Column::BatchId).equals((job::Entity, job::Column::BatchId)),
                ))
                .add(either(
                    column(job_pause::Column::ResumeAt).is_null(),
                    column(job_pause::Column::ResumeAt).gt(now),
                )),
        )
        .to_owned();
    Expr::exists(holding).not()
}

async fn pauses(db: &impl ConnectionTrait) -> Result<Vec<Pause>> {
    let rows = job_pause::Entity::find().order_by_asc(job_pause::Column::PausedAt).all(db).await?;
    rows.into_iter().map(pause_from_row).collect()
}

fn pause_from_row(row: job_pause::Model) -> Result<Pause> {
    let target = match (row.user_id, row.batch_id) {
        (None, None) => PauseTarget::Everything,
        (Some(user), None) => PauseTarget::User(user),
        (Some(owner), Some(id)) => PauseTarget::Batch { id, owner },
        (None, Some(id)) => return Err(anyhow::anyhow!("pause of batch {id} has no owner").into()),
    };
    Ok(Pause {
        target,
        reason: row.reason,
        resume_at: row.resume_at,
        paused_at: row.paused_at,
        paused_by: row.paused_by,
    })
}
