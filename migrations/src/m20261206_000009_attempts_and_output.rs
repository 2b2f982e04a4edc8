//! Attempt history and the program's output. `job_attempts` keeps one row per
//! ended attempt of a job (its node, times, outcome, failure kind, reason,
//! exit status or signal, duration and the program's stage timings);
//! `job_output_lines` every kept stdout and stderr line of every attempt, in
//! order, with its stream and line number (a marker row says what was
//! dropped between the kept head and tail). Both go with their job.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobAttempts::Table)
                    .if_not_exists()
                    .col(uuid(JobAttempts::JobId))
                    .col(integer(JobAttempts::Attempt))
                    .col(string_len(JobAttempts::Node, 255))
                    .col(timestamp_with_time_zone_null(JobAttempts::StartedAt))
                    .col(timestamp_with_time_zone(JobAttempts::EndedAt))
                    .col(string_len(JobAttempts::Outcome, 16))
                    .col(text_null(JobAttempts::FailureKind))
                    .col(text(JobAttempts::Reason))
                    .col(integer_null(JobAttempts::ExitCode))
                    .col(integer_null(JobAttempts::Signal))
                    .col(big_integer(JobAttempts::DurationMs))
                    .col(text(JobAttempts::Timings))
                    .primary_key(Index::create().col(JobAttempts::JobId).col(JobAttempts::Attempt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobOutputLines::Table)
                    .if_not_exists()
                    .col(uuid(JobOutputLines::JobId))
                    .col(integer(JobOutputLines::Attempt))
                    .col(big_integer(JobOutputLines::Line))
                    .col(string_len(JobOutputLines::Stream, 8))
                    .col(text(JobOutputLines::Text))
                    .primary_key(
                        Index::create()
                            .col(JobOutputLines::JobId)
                            .col(JobOutputLines::Attempt)
                            .col(JobOutputLines::Line),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(JobOutputLines::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(JobAttempts::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum JobAttempts {
    Table,
    JobId,
    Attempt,
    Node,
    StartedAt,
    EndedAt,
    Outcome,
    FailureKind,
    Reason,
    ExitCode,
    Signal,
    DurationMs,
    Timings,
}

#[derive(DeriveIden)]
enum JobOutputLines {
    Table,
    JobId,
    Attempt,
    Line,
    Stream,
    Text,
}
