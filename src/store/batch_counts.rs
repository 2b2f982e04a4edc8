//! A batch's counts, moved by the transactions that change its children.
//! Each child remembers the state it was last counted in; a transaction
//! that changed children moves their batches' counts by the difference
//! between each child's state now and its counted one, and marks it counted
//! (on PostgreSQL in the same statement).
//! The caller runs this after reserving the owners' event sequences: a
//! batch's children all belong to its owner, so that reservation already
//! orders every transaction that moves one batch's counts (no lock waits on
//! a batch's row, and no two transactions can take two batches' rows in
//! opposite orders).
use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IdenStatic, QueryFilter, Statement, Value};
use uuid::Uuid;

use super::batches::batch_from_row;
use super::entity::{batch, job};
use super::{Store, Txn};
use crate::domain::{Batch, JobState};
use crate::error::Result;

/// Children looked at per statement, well within both databases' limits on
/// bound values (a pause of everything logs an event per waiting job).
const CHUNK: usize = 1000;

/// Each count's column with the states it counts.
const COUNTS: [(batch::Column, &str); 5] = [
    (batch::Column::Queued, "'queued', 'retrying'"),
    (batch::Column::Processing, "'processing'"),
    (batch::Column::Completed, "'completed'"),
    (batch::Column::Failed, "'failed'"),
    (batch::Column::Cancelled, "'cancelled'"),
];

impl Store {
    /// Moves the counts of the batches of `changed` (jobs this transaction
    /// changed; those without a batch are left out) and takes each of
    /// `deleted` (a child's batch and the state it was last counted in) off
    /// its batch's counts, then returns the batches of `ids` as they stand.
    pub async fn count_batches(
        txn: &Txn,
        changed: &[Uuid],
        deleted: &[(Uuid, JobState)],
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Batch>> {
        let mut now: HashMap<Uuid, Batch> = HashMap::new();
        for changed in changed.chunks(CHUNK) {
            let moved = move_counts(txn, changed).await?;
            if moved.is_empty() {
                continue; // no child's state changed since it was counted
            }
            // A later chunk's answer for a batch is the newer one.
            for row in moved {
                now.insert(row.id, batch_from_row(row)?);
            }
            if txn.get_database_backend() == DbBackend::Postgres {
                continue; // the statement marked them
            }
            job::Entity::update_many()
                .col_expr(job::Column::CountedState, Expr::col(job::Column::State))
                .filter(job::Column::Id.is_in(changed.iter().copied()))
                .filter(job::Column::BatchId.is_not_null())
                .filter(Expr::cust("(counted_state IS NULL OR counted_state <> state)"))
                .exec(txn)
                .await?;
        }
        let mut gone: BTreeMap<(Uuid, usize), i32> = BTreeMap::new();
        for (batch, state) in deleted {
            *gone.entry((*batch, count_of(*state))).or_default() += 1;
        }
        for ((batch_id, count), number) in gone {
            let column = COUNTS[count].0;
            batch::Entity::update_many()
                .col_expr(column, Expr::col(column).sub(number))
                .filter(batch::Column::Id.eq(batch_id))
                .exec(txn)
                .await?;
            now.remove(&batch_id);
        }
        let missing: Vec<Uuid> = ids.iter().copied().filter(|id| !now.contains_key(id)).collect();
        if !missing.is_empty() {
            for row in batch::Entity::find().filter(batch::Column::Id.is_in(missing)).all(txn).await? {
                now.insert(row.id, batch_from_row(row)?);
            }
        }
        Ok(now)
    }
}

/// One statement: the changed children's differences, summed per batch,
/// added to their batches' counts; returns the batches it moved. On
/// PostgreSQL the same statement marks those children counted.
async fn move_counts(txn: &Txn, changed: &[Uuid]) -> Result<Vec<batch::Model>> {
    let backend = txn.get_database_backend();
    let placeholders: Vec<String> = (1..=changed.len())
        .map(|n| if backend == DbBackend::Postgres { format!("${n}") } else { "?".into() })
        .collect();
    let differences: Vec<String> = COUNTS
        .iter()
        .map(|(column, states)| {
            let name = column.as_str();
            format!(
                "SUM(CASE WHEN state IN ({states}) THEN 1 ELSE 0 END) \
                 - SUM(CASE WHEN was IN ({states}) THEN 1 ELSE 0 END) AS moved_{name}"
            )
        })
        .collect();
    let moves: Vec<String> = COUNTS
        .iter()
        .map(|(column, _)| {
            let name = column.as_str();
            format!("{name} = {name} + moved_{name}")
        })
        .collect();
    // The children whose state moved since they were counted.
    let changed_children = format!(
        "SELECT id AS child, batch_id, state, counted_state AS was, finished_at \
         FROM jobs WHERE id IN ({ids}) AND batch_id IS NOT NULL \
           AND (counted_state IS NULL OR counted_state <> state)",
        ids = placeholders.join(", "),
    );
    let (with, children) = if backend == DbBackend::Postgres {
        let mark =
            "marked AS (UPDATE jobs SET counted_state = changed.state FROM changed WHERE jobs.id = changed.child)";
        (format!("WITH changed AS ({changed_children}), {mark} "), "changed".to_string())
    } else {
        (String::new(), format!("({changed_children}) AS changed"))
    };
    let sql = format!(
        "{with}UPDATE batches SET {moves}, \
           last_finished_at = CASE WHEN moved_last IS NOT NULL \
             AND (last_finished_at IS NULL OR moved_last > last_finished_at) \
             THEN moved_last ELSE last_finished_at END \
         FROM (SELECT batch_id AS moved_batch, {differences}, MAX(finished_at) AS moved_last \
               FROM {children} GROUP BY batch_id) AS moved \
         WHERE id = moved_batch \
         RETURNING id, user_id, subject, total, state, created_at, finished_at, \
           queued, processing, completed, failed, cancelled, last_finished_at",
        moves = moves.join(", "),
        differences = differences.join(", "),
    );
    let values: Vec<Value> = changed.iter().map(|id| (*id).into()).collect();
    let statement = Statement::from_sql_and_values(backend, sql, values);
    Ok(batch::Entity::find().from_raw_sql(statement).all(txn).await?)
}

/// The count (an index into [`COUNTS`]) a child in `state` is in.
fn count_of(state: JobState) -> usize {
    match state {
        JobState::Queued | JobState::Retrying => 0,
        JobState::Processing => 1,
        JobState::Completed => 2,
        JobState::Failed => 3,
        JobState::Cancelled => 4,
    }
}
