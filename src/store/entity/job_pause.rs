//! The `job_pauses` table: one row per paused target.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_pauses")]
pub struct Model {
    /// `everything`, `user:<id>` or `batch:<id>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub target: String,
    /// The user whose work it holds back; none for everything.
    pub user_id: Option<String>,
    pub batch_id: Option<Uuid>,
    pub reason: String,
    pub resume_at: Option<DateTimeUtc>,
    pub paused_at: DateTimeUtc,
    pub paused_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
