//! A batch's counts kept on its row: how many of its children are waiting,
//! running, completed, failed and cancelled, and when the last of them
//! finished. Each child remembers the state it was last counted in
//! (`counted_state`), so the transaction that changes children moves the
//! counts by exactly the difference; nothing counts 2,000 children again.
//! Existing batches are counted once here.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COUNTS: [(Batches, &str); 5] = [
    (Batches::Queued, "'queued', 'retrying'"),
    (Batches::Processing, "'processing'"),
    (Batches::Completed, "'completed'"),
    (Batches::Failed, "'failed'"),
    (Batches::Cancelled, "'cancelled'"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for (column, _) in COUNTS {
            manager
                .alter_table(Table::alter().table(Batches::Table).add_column(integer(column).default(0)).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Batches::Table)
                    .add_column(timestamp_with_time_zone_null(Batches::LastFinishedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Jobs::Table).add_column(string_len_null(Jobs::CountedState, 16)).to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for (column, states) in COUNTS {
            let column = column.to_string();
            db.execute_unprepared(&format!(
                "UPDATE batches SET {column} = \
                 (SELECT COUNT(*) FROM jobs WHERE jobs.batch_id = batches.id AND jobs.state IN ({states}))"
            ))
            .await?;
        }
        db.execute_unprepared(
            "UPDATE batches SET last_finished_at = (SELECT MAX(finished_at) FROM jobs WHERE jobs.batch_id = batches.id)",
        )
        .await?;
        db.execute_unprepared("UPDATE jobs SET counted_state = state WHERE batch_id IS NOT NULL").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Jobs::Table).drop_column(Jobs::CountedState).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Batches::Table).drop_column(Batches::LastFinishedAt).to_owned())
            .await?;
        for (column, _) in COUNTS {
            manager.alter_table(Table::alter().table(Batches::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Batches {
    Table,
    Queued,
    Processing,
    Completed,
    Failed,
    Cancelled,
    LastFinishedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    CountedState,
}
