//! Note queries. Notes are written only by `Store::complete`, with their job.
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::convert::note_from_row;
use super::entity::note;
use super::{Store, owner};
use crate::domain::page::PageRequest;
use crate::domain::{Note, Scope};
use crate::error::{Error, Result};

impl Store {
    /// The caller's note; another user's note is `NotFound`.
    pub async fn note_for_user(&self, scope: &Scope, id: Uuid) -> Result<Note> {
        let row = note::Entity::find_by_id(id)
            .filter(owner(note::Column::UserId, scope))
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("note"))?;
        Ok(note_from_row(row)?)
    }

    /// The caller's notes, oldest first, optionally of one job.
    pub async fn list_notes(&self, scope: &Scope, job_id: Option<Uuid>, page: PageRequest) -> Result<Vec<Note>> {
        let mut query = note::Entity::find().filter(owner(note::Column::UserId, scope));
        if let Some(job_id) = job_id {
            query = query.filter(note::Column::JobId.eq(job_id));
        }
        if let Some(after) = page.after {
            query = query.filter(note::Column::Id.gt(after));
        }
        let rows = query.order_by_asc(note::Column::Id).limit(page.size).all(&self.db).await?;
        rows.into_iter().map(|row| Ok(note_from_row(row)?)).collect()
    }
}
