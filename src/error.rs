//! The domain's error type and its one mapping to `tonic::Status`.
use sea_orm::{DbErr, RuntimeErr, sqlx};
use tonic::{Code, Status};

/// Everything a request can fail with. The gRPC layer maps each variant to a
/// status code in exactly one place, so a new variant forces a decision.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; `field` names what was wrong.
    #[error("{field}: {message}")]
    InvalidArgument { field: &'static str, message: String },
    /// No such thing for this caller (also when it belongs to someone else).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The thing exists but is in the wrong state for the request.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A position outside what is kept (a sequence trimmed from the log).
    #[error("{0}")]
    OutOfRange(String),
    /// A bound was reached; try again later.
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this (an admin's call by a user).
    #[error("{0}")]
    PermissionDenied(String),
    /// A backing service (the database or the queue) cannot be reached;
    /// try again.
    #[error("{0}")]
    Unavailable(String),
    /// Any other database failure (see `From<DbErr>`); logged, not shown.
    #[error("database error")]
    Database(sea_orm::DbErr),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidArgument { field, message: message.into() }
    }

    /// Whether storing failed (as opposed to a request being refused).
    pub fn is_storage(&self) -> bool {
        matches!(self, Error::Database(_) | Error::Internal(_) | Error::Unavailable(_))
    }

    /// The whole story, for logs and for a job's failure reason: the
    /// underlying error, not the sentence a caller is shown.
    pub fn detail(&self) -> String {
        match self {
            Error::Database(source) => format!("database error: {source}"),
            Error::Internal(source) => format!("{source:#}"),
            other => other.to_string(),
        }
    }
}

/// The one place a database error becomes an [`Error`]. One that says the
/// database cannot be reached (no connection within the pool's acquire
/// timeout; a connection refused, dropped or shut down by the server) is
/// `Unavailable`, which clients retry; its detail goes to the log, URLs
/// redacted. Anything else is `Database`, an internal error.
impl From<DbErr> for Error {
    fn from(error: DbErr) -> Self {
        if !database_unreachable(&error) {
            return Error::Database(error);
        }
        tracing::warn!(error = crate::config::redact_urls_in(&error.to_string()), "the database cannot be reached");
        Error::Unavailable("the database is unavailable; try again".into())
    }
}

/// Whether `error` is about reaching the database rather than about the
/// statement.
pub fn database_unreachable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(error)) | DbErr::Query(RuntimeErr::SqlxError(error)) => {
            match error.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(error) => error.code().is_some_and(|code| connection_sqlstate(&code)),
                _ => false,
            }
        }
        _ => false,
    }
}

/// PostgreSQL's SQLSTATEs for a lost or refused connection: class 08
/// (connection exception), the server shutting down, crashed or starting
/// up (57P01-57P03), too many connections (53300).
fn connection_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let message = error.to_string();
        match error {
            Error::InvalidArgument { .. } => Status::new(Code::InvalidArgument, message),
            Error::NotFound(_) => Status::new(Code::NotFound, message),
            Error::FailedPrecondition(_) => Status::new(Code::FailedPrecondition, message),
            Error::OutOfRange(_) => Status::new(Code::OutOfRange, message),
            Error::ResourceExhausted(_) => Status::new(Code::ResourceExhausted, message),
            Error::Unauthenticated(_) => Status::new(Code::Unauthenticated, message),
            Error::PermissionDenied(_) => Status::new(Code::PermissionDenied, message),
            Error::Unavailable(_) => Status::new(Code::Unavailable, message),
            Error::Database(source) => {
                tracing::error!(error = %source, "database error");
                Status::internal("internal error")
            }
            Error::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn sqlx_error(error: sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(error)))
    }

    #[test]
    fn an_unreachable_database_is_unavailable_and_a_bad_statement_internal() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for unreachable in [
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout),
            DbErr::Conn(RuntimeErr::Internal("Disconnected".into())),
            sqlx_error(sqlx::Error::Io(refused)),
            sqlx_error(sqlx::Error::PoolTimedOut),
        ] {
            assert_eq!(Status::from(Error::from(unreachable)).code(), Code::Unavailable);
        }
        for internal in [sqlx_error(sqlx::Error::RowNotFound), DbErr::Custom("bad row".into())] {
            assert_eq!(Status::from(Error::from(internal)).code(), Code::Internal);
        }
    }

    #[test]
    fn only_connection_sqlstates_count_as_unreachable() {
        assert!(connection_sqlstate("08006") && connection_sqlstate("57P01") && connection_sqlstate("57P03"));
        assert!(!connection_sqlstate("23505") && !connection_sqlstate("42P01"));
    }
}
