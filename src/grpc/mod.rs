//! The gRPC surface: thin handlers that validate, convert, make one call
//! into the core ([`crate::jobs`]) and convert back. Authentication is an interceptor (see [`crate::auth`]).
mod batches;
pub mod codec;
mod convert;
mod failures;
mod job_service;
mod log_watch;
mod logs;
mod node;
mod note_service;
mod pause;
mod watch;

pub use job_service::JobApi;
pub use note_service::NoteApi;

use crate::domain::limits::parse_id;
