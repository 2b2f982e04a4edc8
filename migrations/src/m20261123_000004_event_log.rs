//! The durable event log: every job event of a user, numbered by a per-user
//! sequence that a counter row hands out under its row lock, so sequences
//! commit in order and a watcher can resume after the last one it saw.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserEventSequences::Table)
                    .if_not_exists()
                    .col(string_len(UserEventSequences::UserId, 128).primary_key())
                    .col(big_integer(UserEventSequences::LastSequence))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobEvents::Table)
                    .if_not_exists()
                    .col(string_len(JobEvents::UserId, 128))
                    .col(big_integer(JobEvents::Sequence))
                    .col(uuid(JobEvents::JobId))
                    .col(string_len(JobEvents::Kind, 16))
                    .col(text(JobEvents::Payload))
                    .col(timestamp_with_time_zone(JobEvents::CreatedAt))
                    .primary_key(Index::create().col(JobEvents::UserId).col(JobEvents::Sequence))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_job_events_created_at")
                    .table(JobEvents::Table)
                    .col(JobEvents::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(JobEvents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(UserEventSequences::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum UserEventSequences {
    Table,
    UserId,
    LastSequence,
}

#[derive(DeriveIden)]
enum JobEvents {
    Table,
    UserId,
    Sequence,
    JobId,
    Kind,
    Payload,
    CreatedAt,
}
