//! The kind of a job's latest failed attempt (permanent, transient, timeout,
//! stalled, crashed, no output, cancelled) beside its reason.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Jobs::Table).add_column(text_null(Jobs::FailureKind)).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Jobs::Table).drop_column(Jobs::FailureKind).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    FailureKind,
}
