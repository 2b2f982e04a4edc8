//! Pauses: one row per paused target (`everything`, `user:<id>` or
//! `batch:<id>`), with the user whose work it holds back (none for
//! everything), the batch (for a batch), the reason, the time it ends by
//! itself if any, and who paused when. A claim looks here, so a pause holds
//! on every node and across restarts.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobPauses::Table)
                    .if_not_exists()
                    .col(string_len(JobPauses::Target, 200).primary_key())
                    .col(string_len_null(JobPauses::UserId, 128))
                    .col(uuid_null(JobPauses::BatchId))
                    .col(text(JobPauses::Reason))
                    .col(timestamp_with_time_zone_null(JobPauses::ResumeAt))
                    .col(timestamp_with_time_zone(JobPauses::PausedAt))
                    .col(string_len(JobPauses::PausedBy, 128))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(JobPauses::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum JobPauses {
    Table,
    Target,
    UserId,
    BatchId,
    Reason,
    ResumeAt,
    PausedAt,
    PausedBy,
}
