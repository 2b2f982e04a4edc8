//! The last lines the program wrote to stderr in its latest attempt, kept on
//! the job (bounded) for debugging instead of in the service log.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Jobs::Table).add_column(text_null(Jobs::LogTail)).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Jobs::Table).drop_column(Jobs::LogTail).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    LogTail,
}
