//! Schema migrations for videojobs, shared by SQLite and PostgreSQL.
pub use sea_orm_migration::prelude::*;

mod m20261123_000001_jobs_and_notes;
mod m20261123_000002_job_leases;
mod m20261123_000003_job_log_tail;
mod m20261123_000004_event_log;
mod m20261123_000005_deduplication;
mod m20261123_000006_batches;
mod m20261123_000007_notes_outlive_jobs;
mod m20261201_000008_failure_kind;
mod m20261206_000009_attempts_and_output;
mod m20261206_000010_pauses;
mod m20261206_000011_batch_counts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_jobs_and_notes::Migration),
            Box::new(m20261123_000002_job_leases::Migration),
            Box::new(m20261123_000003_job_log_tail::Migration),
            Box::new(m20261123_000004_event_log::Migration),
            Box::new(m20261123_000005_deduplication::Migration),
            Box::new(m20261123_000006_batches::Migration),
            Box::new(m20261123_000007_notes_outlive_jobs::Migration),
            Box::new(m20261201_000008_failure_kind::Migration),
            Box::new(m20261206_000009_attempts_and_output::Migration),
            Box::new(m20261206_000010_pauses::Migration),
            Box::new(m20261206_000011_batch_counts::Migration),
        ]
    }
}
