//! sea-orm entities, one per table; the schema itself lives in `migrations/`.
pub mod job;
pub mod note;
