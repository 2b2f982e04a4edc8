//! The program's output: the kept lines of each attempt, written a group
//! at a time (never a statement per line), read back a page at a time, and
//! removed with the job. When lines were dropped between the kept head and
//! tail, their rows go and one marker row takes the first one's number.
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entity::{job, job_output_line as line};
use super::{Store, Txn};
use crate::domain::{Dropped, OutputLine, OutputStream};
use crate::error::Result;

/// Lines inserted per statement (a statement's bind parameters are bounded).
const LINES_PER_INSERT: usize = 1000;

impl Store {
    /// Stores an attempt's next lines in a transaction of its own; see
    /// [`Store::append_output_in`].
    pub async fn append_output(
        &self,
        job_id: Uuid,
        attempt: u32,
        lines: &[OutputLine],
        dropped: Option<Dropped>,
    ) -> Result<bool> {
        // Takes SQLite's write lock first: it reads before it writes.
        let txn = self.begin().await?;
        let stored = Store::append_output_in(&txn, job_id, attempt, lines, dropped).await?;
        txn.commit().await?;
        Ok(stored)
    }

    /// Stores an attempt's next lines, first removing what `dropped` covers
    /// and putting its marker there. Nothing is stored when the job is gone
    /// or runs a later attempt: `false`.
    pub async fn append_output_in(
        txn: &Txn,
        job_id: Uuid,
        attempt: u32,
        lines: &[OutputLine],
        dropped: Option<Dropped>,
    ) -> Result<bool> {
        let current = job::Entity::find_by_id(job_id)
            .filter(job::Column::Attempt.eq(attempt as i32))
            .select_only()
            .column(job::Column::Id)
            .into_tuple::<Uuid>()
            .one(txn)
            .await?;
        if current.is_none() {
            return Ok(false);
        }
        let rows = rows_after_dropping(txn, job_id, attempt, lines, dropped).await?;
        for chunk in rows.chunks(LINES_PER_INSERT) {
            line::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
        }
        Ok(true)
    }

    /// Up to `limit` stored lines of the attempt after line `after`.
    pub async fn output_after(&self, job_id: Uuid, attempt: u32, after: u64, limit: u64) -> Result<Vec<OutputLine>> {
        let rows = line::Entity::find()
            .filter(line::Column::JobId.eq(job_id))
            .filter(line::Column::Attempt.eq(attempt as i32))
            .filter(line::Column::Line.gt(after.min(i64::MAX as u64) as i64))
            .order_by_asc(line::Column::Line)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(|row| Ok(line_from_row(row)?)).collect()
    }

    /// The attempt's marker line, if lines were dropped.
    pub async fn output_marker(&self, job_id: Uuid, attempt: u32) -> Result<Option<OutputLine>> {
        let row = line::Entity::find()
            .filter(line::Column::JobId.eq(job_id))
            .filter(line::Column::Attempt.eq(attempt as i32))
            .filter(line::Column::Stream.eq(OutputStream::Marker.as_str()))
            .one(&self.db)
            .await?;
        Ok(row.map(line_from_row).transpose()?)
    }

    /// Removes the output of these jobs (they are being deleted).
    pub(super) async fn delete_output(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<()> {
        line::Entity::delete_many().filter(line::Column::JobId.is_in(ids.iter().copied())).exec(conn).await?;
        Ok(())
    }
}

/// Removes the stored lines of the attempt that `dropped` covers; returns
/// the rows to insert: its marker, then `lines`.
pub(super) async fn rows_after_dropping(
    txn: &Txn,
    job_id: Uuid,
    attempt: u32,
    lines: &[OutputLine],
    dropped: Option<Dropped>,
) -> Result<Vec<line::ActiveModel>> {
    if let Some(dropped) = dropped {
        line::Entity::delete_many()
            .filter(line::Column::JobId.eq(job_id))
            .filter(line::Column::Attempt.eq(attempt as i32))
            .filter(line::Column::Line.gte(dropped.first as i64))
            .filter(line::Column::Line.lt(dropped.until as i64))
            .exec(txn)
            .await?;
    }
    let marker = dropped.map(|dropped| dropped.marker());
    Ok(marker.iter().chain(lines).map(|output| row(job_id, attempt, output)).collect())
}

fn row(job_id: Uuid, attempt: u32, output: &OutputLine) -> line::ActiveModel {
    line::ActiveModel {
        job_id: Set(job_id),
        attempt: Set(attempt as i32),
        line: Set(output.line.min(i64::MAX as u64) as i64),
        stream: Set(output.stream.as_str().into()),
        text: Set(output.text.clone()),
    }
}

fn line_from_row(row: line::Model) -> Result<OutputLine, DbErr> {
    let stream = OutputStream::parse(&row.stream)
        .ok_or_else(|| DbErr::Custom(format!("output line of {} has unknown stream {:?}", row.job_id, row.stream)))?;
    Ok(OutputLine { line: row.line.max(0) as u64, stream, text: row.text })
}
