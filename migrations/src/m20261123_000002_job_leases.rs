//! Leases: a worker holds a PROCESSING job until `lease_until`, renewing it
//! while the program runs; the reaper hands back jobs whose lease expired.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(timestamp_with_time_zone_null(Jobs::LeaseUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_state_lease_until")
                    .table(Jobs::Table)
                    .col(Jobs::State)
                    .col(Jobs::LeaseUntil)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_jobs_state_lease_until").table(Jobs::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Jobs::Table).drop_column(Jobs::LeaseUntil).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    State,
    LeaseUntil,
}
