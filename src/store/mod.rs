//! The database, the source of truth for jobs and notes: SQLite by default,
//! PostgreSQL when `DATABASE_URL` says so, both through sea-orm and the same
//! migrations.
mod attempts;
mod batch_counts;
mod batches;
mod convert;
pub mod entity;
mod events;
mod failures;
mod folded;
mod group;
mod history;
mod jobs;
mod notes;
mod output;
mod pauses;
mod retention;
mod stats;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, TransactionTrait};

pub use attempts::{Claim, Lease, Reaped};
pub use events::{EventBounds, LogEntry, Sequences};
pub use folded::{CompletedRow, ProgressRow};
pub use group::{AppendsMark, GroupTxn};
pub use stats::JobStats;

/// The transaction a transition runs in: its state change and its event
/// commit together.
pub type Txn = sea_orm::DatabaseTransaction;

/// How long a query waits for a pooled connection, a new one included: long
/// enough for a burst (10,000 watches opened at once queue for a pool of
/// 8), short enough to shed load. A database that is down is told at once:
/// its refused connection fails the acquire without waiting (the vendored
/// sqlx-core), and a pooled connection to it fails its query.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled connection idle this long is pinged before it is handed out (one
/// that sat through a database restart is replaced, not failed on); a busy
/// one goes out as it is, saving a round trip on every query.
const PING_IF_IDLE: Duration = Duration::from_secs(1);

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
        let store = Store::connect_only(url, max_connections).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without touching the schema.
    pub async fn connect_only(url: &str, max_connections: u32) -> Result<Store, sea_orm::DbErr> {
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(max_connections)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire_if_idle_for(PING_IF_IDLE)
            .sqlx_logging(false);
        Ok(Store { db: Database::connect(options).await? })
    }

    /// Brings the schema up to date. Several nodes starting at once may
    /// race; the loser sees the winner's work on its next try.
    pub async fn migrate(&self) -> Result<(), sea_orm::DbErr> {
        let mut tries = 0;
        loop {
            match Migrator::up(&self.db, None).await {
                Ok(()) => return Ok(()),
                Err(error) if tries < 3 => {
                    tries += 1;
                    tracing::warn!(%error, "migrating the schema failed; trying again");
                    tokio::time::sleep(Duration::from_millis(500 * tries)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Sqlite
    }

    /// Opens a transaction for a group of transitions. On SQLite it takes
    /// the write lock at once (a no-op write): a transaction that read first
    /// would fail, not wait, if another connection wrote in between.
    pub async fn begin(&self) -> Result<Txn, sea_orm::DbErr> {
        let txn = self.db.begin().await?;
        if txn.get_database_backend() == DbBackend::Sqlite {
            txn.execute_unprepared("UPDATE user_event_sequences SET last_sequence = last_sequence WHERE 1 = 0").await?;
        }
        Ok(txn)
    }

    /// One cheap round trip (`SELECT 1`), for the health check.
    pub async fn ping(&self) -> Result<(), sea_orm::DbErr> {
        self.db.execute_unprepared("SELECT 1").await.map(drop)
    }

    pub async fn close(self) -> Result<(), sea_orm::DbErr> {
        self.db.close().await
    }
}
