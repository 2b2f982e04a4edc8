//! sea-orm entities, one per table; the schema itself lives in `migrations/`.
pub mod batch;
pub mod job;
pub mod job_attempt;
pub mod job_event;
pub mod job_output_line;
pub mod job_pause;
pub mod note;
pub mod user_event_sequence;
