//! Deduplication by constraint, not by read-then-write: a user's
//! idempotency key is unique, and so is a user's video among the jobs
//! without a key that are still waiting or running.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Jobs::Table).add_column(string_len_null(Jobs::IdempotencyKey, 128)).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_jobs_user_idempotency_key")
                    .table(Jobs::Table)
                    .col(Jobs::UserId)
                    .col(Jobs::IdempotencyKey)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // A partial index; the same statement works on PostgreSQL and SQLite.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS uq_jobs_user_active_video ON jobs (user_id, video_id) \
                 WHERE idempotency_key IS NULL AND state IN ('queued', 'processing', 'retrying')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS uq_jobs_user_active_video").await?;
        manager.drop_index(Index::drop().name("uq_jobs_user_idempotency_key").table(Jobs::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Jobs::Table).drop_column(Jobs::IdempotencyKey).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    UserId,
    IdempotencyKey,
}
