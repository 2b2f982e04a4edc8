//! Notes outlive their job when retention removes it: `notes.job_id` becomes
//! nullable with `ON DELETE SET NULL` (DeleteJob deletes a job's notes
//! itself). PostgreSQL alters the constraint; SQLite cannot, so the table is
//! rebuilt with the same columns and indexes, in one transaction.
use sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction, so the SQLite rebuild runs on one connection and
    /// either happens whole or not at all.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared("ALTER TABLE notes DROP CONSTRAINT IF EXISTS fk_notes_job_id").await?;
            db.execute_unprepared("ALTER TABLE notes ALTER COLUMN job_id DROP NOT NULL").await?;
            db.execute_unprepared(
                "ALTER TABLE notes ADD CONSTRAINT fk_notes_job_id FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE SET NULL",
            )
            .await?;
            return Ok(());
        }
        manager
            .create_table(
                Table::create()
                    .table(NotesNew::Table)
                    .col(pk_uuid(Notes::Id))
                    .col(uuid_null(Notes::JobId))
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
                            .from(NotesNew::Table, Notes::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "INSERT INTO notes_new (id, job_id, user_id, kind, title, subject, video_url, markdown, created_at) \
             SELECT id, job_id, user_id, kind, title, subject, video_url, markdown, created_at FROM notes",
        )
        .await?;
        db.execute_unprepared("DROP TABLE notes").await?;
        db.execute_unprepared("ALTER TABLE notes_new RENAME TO notes").await?;
        db.execute_unprepared("CREATE INDEX IF NOT EXISTS idx_notes_user_id ON notes (user_id, id)").await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_notes_job_kind_title ON notes (job_id, kind, title)",
        )
        .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum NotesNew {
    Table,
}

#[derive(DeriveIden)]
enum Notes {
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

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
}
