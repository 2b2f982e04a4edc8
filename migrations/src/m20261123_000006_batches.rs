//! Batches: a parent row per submission of many URLs; children are jobs with
//! a `batch_id`, counted by state on read so counts are always exact.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Batches::Table)
                    .if_not_exists()
                    .col(pk_uuid(Batches::Id))
                    .col(string_len(Batches::UserId, 128))
                    .col(string_len(Batches::Subject, 200))
                    .col(integer(Batches::Total))
                    .col(string_len(Batches::State, 32))
                    .col(timestamp_with_time_zone(Batches::CreatedAt))
                    .col(timestamp_with_time_zone_null(Batches::FinishedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_batches_user_id")
                    .table(Batches::Table)
                    .col(Batches::UserId)
                    .col(Batches::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager.alter_table(Table::alter().table(Jobs::Table).add_column(uuid_null(Jobs::BatchId)).to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_batch_id")
                    .table(Jobs::Table)
                    .col(Jobs::BatchId)
                    .col(Jobs::State)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(JobEvents::Table).add_column(text_null(JobEvents::Batch)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(JobEvents::Table).drop_column(JobEvents::Batch).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_jobs_batch_id").table(Jobs::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Jobs::Table).drop_column(Jobs::BatchId).to_owned()).await?;
        manager.drop_table(Table::drop().table(Batches::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Batches {
    Table,
    Id,
    UserId,
    Subject,
    Total,
    State,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    BatchId,
    State,
}

#[derive(DeriveIden)]
enum JobEvents {
    Table,
    Batch,
}
