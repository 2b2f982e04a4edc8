//! The database, the source of truth for jobs and notes: SQLite by default,
//! PostgreSQL when `DATABASE_URL` says so, both through sea-orm and the same
//! migrations.
mod batches;
mod convert;
pub mod entity;
mod events;
mod jobs;
mod notes;
mod stats;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

pub use events::EventBounds;
pub use jobs::NewNote;
pub use stats::JobStats;

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

/// A filter on `column` (a user id) that keeps what `scope` may see.
pub(crate) fn owner(column: impl sea_orm::ColumnTrait, scope: &crate::domain::Scope) -> sea_orm::Condition {
    match scope.user() {
        Some(user) => sea_orm::Condition::all().add(column.eq(user)),
        None => sea_orm::Condition::all(),
    }
}

impl Store {
    /// Connects and brings the schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, sea_orm::DbErr> {
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false);
        let db = Database::connect(options).await?;
        Migrator::up(&db, None).await?;
        Ok(Store { db })
    }

    pub async fn close(self) -> Result<(), sea_orm::DbErr> {
        self.db.close().await
    }
}
