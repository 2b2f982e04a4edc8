//! The `jobs` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: String,
    pub url: String,
    pub video_id: String,
    pub subject: String,
    pub assessments: bool,
    pub priority: i32,
    pub state: String,
    pub stage: String,
    pub progress_percent: i32,
    /// The attempt running or last run; also the fencing token of its writes.
    pub attempt: i32,
    pub max_attempts: i32,
    pub error: String,
    /// The kind of the latest failed attempt (`FailureKind::as_str`).
    pub failure_kind: Option<String>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// When a RETRYING job may run again.
    pub run_after: Option<DateTimeUtc>,
    /// A PROCESSING job's worker holds it until then, renewing as it runs.
    pub lease_until: Option<DateTimeUtc>,
    /// The end of the program's stderr in the latest attempt, bounded.
    pub log_tail: Option<String>,
    /// The caller's key for safe resubmission; unique per user.
    pub idempotency_key: Option<String>,
    pub batch_id: Option<Uuid>,
    /// A batch's child: the state its batch's counts last counted it in.
    pub counted_state: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::note::Entity")]
    Note,
}

impl Related<super::note::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Note.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
