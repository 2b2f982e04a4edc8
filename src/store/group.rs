//! The transaction of a group of transitions. The rows its transitions only
//! append (attempt records, notes, output lines) are gathered as they run
//! and inserted as the group commits, one statement per kind for the whole
//! group rather than one per job: in one transaction, so they still commit
//! with the changes they belong to, or not at all.
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Mutex, MutexGuard};

use sea_orm::sea_query::OnConflict;
use sea_orm::{DbErr, EntityTrait};
use uuid::Uuid;

use super::entity::{job, job_attempt, job_output_line as line, note};
use super::{Store, Txn};
use crate::domain::{AttemptRecord, Dropped, OutputLine};
use crate::error::Result;

/// Rows inserted per statement (a statement's bind parameters are bounded).
const ROWS_PER_INSERT: usize = 500;

/// A group's transaction: derefs to it, for the transitions' writes.
pub struct GroupTxn {
    txn: Txn,
    appends: Mutex<Appends>,
    /// The group's completions, done ahead in one statement: each attempt's
    /// job as it left it (`None`: the attempt no longer held the job).
    completed: Mutex<HashMap<(Uuid, u32), Option<job::Model>>>,
}

/// The rows a group appends, inserted as it commits.
#[derive(Default)]
struct Appends {
    attempts: Vec<job_attempt::ActiveModel>,
    notes: Vec<note::ActiveModel>,
    lines: Vec<line::ActiveModel>,
}

/// How many rows of each kind were gathered at some point, to take back
/// what a refused transition appended after it.
#[derive(Clone, Copy)]
pub struct AppendsMark {
    attempts: usize,
    notes: usize,
    lines: usize,
}

impl Deref for GroupTxn {
    type Target = Txn;

    fn deref(&self) -> &Txn {
        &self.txn
    }
}

impl Store {
    /// Opens the transaction of a group of transitions (see [`Store::begin`]).
    pub async fn begin_group(&self) -> Result<GroupTxn, DbErr> {
        Ok(GroupTxn { txn: self.begin().await?, appends: Mutex::default(), completed: Mutex::default() })
    }
}

impl GroupTxn {
    /// Keeps the record of an ended attempt; a second record of the same
    /// attempt changes nothing.
    pub fn append_attempt(&self, record: &AttemptRecord) {
        self.appends().attempts.push(super::history::attempt_row(record));
    }

    pub(super) fn append_notes(&self, rows: Vec<note::ActiveModel>) {
        self.appends().notes.extend(rows);
    }

    /// Stores the lines of an attempt the caller knows still holds its job:
    /// first removes what `dropped` covers (at once), then appends the
    /// marker and `lines`.
    pub async fn append_output(
        &self,
        id: Uuid,
        attempt: u32,
        lines: &[OutputLine],
        dropped: Option<Dropped>,
    ) -> Result<()> {
        let rows = super::output::rows_after_dropping(&self.txn, id, attempt, lines, dropped).await?;
        self.appends().lines.extend(rows);
        Ok(())
    }

    /// Keeps what completing these attempts ahead did (`done`: the jobs it
    /// changed), for [`GroupTxn::completed_ahead`].
    pub(super) fn complete_ahead(&self, attempts: impl IntoIterator<Item = (Uuid, u32)>, done: Vec<job::Model>) {
        let mut completed = self.completed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        completed.extend(attempts.into_iter().map(|attempt| (attempt, None)));
        completed.extend(done.into_iter().map(|row| ((row.id, row.attempt.max(0) as u32), Some(row))));
    }

    /// What completing the attempt ahead did, if it was: `Some(None)` when
    /// it no longer held its job. Taken once.
    pub(super) fn completed_ahead(&self, id: Uuid, attempt: u32) -> Option<Option<job::Model>> {
        self.completed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&(id, attempt))
    }

    /// Drops what the group holds to insert for job `id` (being deleted, by
    /// a transition that appends nothing itself).
    pub(super) fn forget(&self, id: Uuid) {
        let mut appends = self.appends();
        appends.attempts.retain(|row| *row.job_id.as_ref() != id);
        appends.notes.retain(|row| *row.job_id.as_ref() != Some(id));
        appends.lines.retain(|row| *row.job_id.as_ref() != id);
    }

    pub fn mark(&self) -> AppendsMark {
        let appends = self.appends();
        AppendsMark { attempts: appends.attempts.len(), notes: appends.notes.len(), lines: appends.lines.len() }
    }

    /// Takes back what was appended since `mark`.
    pub fn undo(&self, mark: AppendsMark) {
        let mut appends = self.appends();
        appends.attempts.truncate(mark.attempts);
        appends.notes.truncate(mark.notes);
        appends.lines.truncate(mark.lines);
    }

    /// Inserts what the group appended, then commits.
    pub async fn commit(self) -> Result<()> {
        let appends = self.appends.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        for chunk in appends.notes.chunks(ROWS_PER_INSERT) {
            note::Entity::insert_many(chunk.to_vec()).exec_without_returning(&self.txn).await?;
        }
        for chunk in appends.lines.chunks(ROWS_PER_INSERT) {
            line::Entity::insert_many(chunk.to_vec()).exec_without_returning(&self.txn).await?;
        }
        let keep_first =
            OnConflict::columns([job_attempt::Column::JobId, job_attempt::Column::Attempt]).do_nothing().to_owned();
        for chunk in appends.attempts.chunks(ROWS_PER_INSERT) {
            let insert = job_attempt::Entity::insert_many(chunk.to_vec()).on_conflict(keep_first.clone());
            match insert.exec_without_returning(&self.txn).await {
                Ok(_) | Err(DbErr::RecordNotInserted) => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.txn.commit().await?;
        Ok(())
    }

    fn appends(&self) -> MutexGuard<'_, Appends> {
        self.appends.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
