//! The `job_attempts` table: one row per ended attempt of a job.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub attempt: i32,
    pub node: String,
    pub started_at: Option<DateTimeUtc>,
    pub ended_at: DateTimeUtc,
    pub outcome: String,
    pub failure_kind: Option<String>,
    pub reason: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_ms: i64,
    /// The program's seconds per stage, as a JSON array of `[stage, seconds]`.
    pub timings: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
