//! The `batches` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "batches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: String,
    pub subject: String,
    pub total: i32,
    pub state: String,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// Children waiting (QUEUED or RETRYING), kept by the transitions.
    pub queued: i32,
    pub processing: i32,
    pub completed: i32,
    pub failed: i32,
    pub cancelled: i32,
    /// When the last of its children finished.
    pub last_finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
