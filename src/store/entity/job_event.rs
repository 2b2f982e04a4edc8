//! The `job_events` table: the durable, per-user numbered event log.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sequence: i64,
    pub job_id: Uuid,
    pub kind: String,
    /// The job after the change, as JSON.
    pub payload: String,
    pub created_at: DateTimeUtc,
    /// For a child of a batch: the batch after the change, as JSON.
    pub batch: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
