//! The domain's error type and its one mapping to `tonic::Status`.
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
    /// A backing service (the queue) cannot be reached; try again.
    #[error("{0}")]
    Unavailable(String),
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
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
