//! The gRPC surface: thin handlers that validate, convert, call the domain
//! and convert back. Authentication is an interceptor (see [`crate::auth`]).
mod batches;
pub mod codec;
mod convert;
mod job_service;
mod note_service;
mod watch;

pub use job_service::JobApi;
pub use note_service::NoteApi;

use uuid::Uuid;

use crate::error::{Error, Result};

/// Parses an id field, naming it when it is malformed.
fn parse_id(field: &'static str, value: &str) -> Result<Uuid> {
    if value.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    Uuid::parse_str(value).map_err(|_| Error::invalid(field, "is not a valid id"))
}
