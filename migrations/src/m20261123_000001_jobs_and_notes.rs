//! Jobs and the notes they produce. Ids are UUIDv7, so `(user_id, id)` orders a
//! user's jobs by creation time and pages with a keyset.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .if_not_exists()
                    .col(pk_uuid(Jobs::Id))
                    .col(string_len(Jobs::UserId, 128))
                    .col(string_len(Jobs::Url, 2048))
                    .col(string_len(Jobs::VideoId, 16))
                    .col(string_len(Jobs::Subject, 200))
                    .col(boolean(Jobs::Assessments))
                    .col(integer(Jobs::Priority))
                    .col(string_len(Jobs::State, 16))
                    .col(string_len(Jobs::Stage, 200))
                    .col(integer(Jobs::ProgressPercent))
                    .col(integer(Jobs::Attempt))
                    .col(integer(Jobs::MaxAttempts))
                    .col(text(Jobs::Error))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone_null(Jobs::StartedAt))
                    .col(timestamp_with_time_zone_null(Jobs::FinishedAt))
                    .col(timestamp_with_time_zone_null(Jobs::RunAfter))
                    .to_owned(),
            )
            .await?;
        index(manager, "idx_jobs_user_id", Jobs::Table, [Jobs::UserId, Jobs::Id]).await?;
        index(manager, "idx_jobs_state", Jobs::Table, [Jobs::State, Jobs::Priority]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Notes::Table)
                    .if_not_exists()
                    .col(pk_uuid(Notes::Id))
                    .col(uuid(Notes::JobId))
                    .col(string_len(Notes::UserId, 128))
                    .col(string_len(Notes::Kind, 16))
                    .col(string_len(Notes::Title, 300))
                    .col(string_len(Notes::Subject, 200))
                    .col(string_len(Notes::VideoUrl, 2048))
                    .col(text(Notes::Markdown))
                    .col(timestamp_with_time_zone(Notes::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notes_job_id")
                            .from(Notes::Table, Notes::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(manager, "idx_notes_user_id", Notes::Table, [Notes::UserId, Notes::Id]).await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_notes_job_kind_title")
                    .table(Notes::Table)
                    .col(Notes::JobId)
                    .col(Notes::Kind)
                    .col(Notes::Title)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Notes::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Jobs::Table).to_owned()).await
    }
}

async fn index<T: Iden + Copy + 'static, C: Iden + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table).if_not_exists();
    for column in columns {
        index.col(column);
    }
    manager.create_index(index.to_owned()).await
}

#[derive(DeriveIden, Clone, Copy)]
enum Jobs {
    Table,
    Id,
    UserId,
    Url,
    VideoId,
    Subject,
    Assessments,
    Priority,
    State,
    Stage,
    ProgressPercent,
    Attempt,
    MaxAttempts,
    Error,
    CreatedAt,
    StartedAt,
    FinishedAt,
    RunAfter,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notes {
    Table,
    Id,
    JobId,
    UserId,
    Kind,
    Title,
    Subject,
    VideoUrl,
    Markdown,
    CreatedAt,
}
