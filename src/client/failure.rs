//! How a client command fails: one line on stderr naming the gRPC status code
//! and message, and an exit status — 2 for a usage mistake or an
//! `INVALID_ARGUMENT` from the server, 1 for everything else.
use tonic::{Code, Status};

/// Exit status of a command that went wrong in the user's hands.
pub const EXIT_USAGE: i32 = 2;
/// Exit status of any other failure, and of a watched job that did not complete.
pub const EXIT_FAILURE: i32 = 1;

/// A failed client command, ready to be reported.
#[derive(Debug)]
pub struct Failure {
    /// The process's exit status.
    pub exit: i32,
    /// The line printed on stderr (without the `error: ` prefix); empty when
    /// there is nothing more to say.
    pub line: String,
}

pub type Outcome<T = ()> = Result<T, Failure>;

impl Failure {
    /// A mistake in the command line or its input.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { exit: EXIT_USAGE, line: message.into() }
    }

    /// Any other failure.
    pub fn other(message: impl Into<String>) -> Failure {
        Failure { exit: EXIT_FAILURE, line: message.into() }
    }

    /// A failure already reported (e.g. a job's summary line): only the
    /// exit status is left to give.
    pub fn silent(exit: i32) -> Failure {
        Failure { exit, line: String::new() }
    }

    /// `CODE: message`, with the exit status the code calls for.
    pub fn status(status: &Status) -> Failure {
        let exit = if status.code() == Code::InvalidArgument { EXIT_USAGE } else { EXIT_FAILURE };
        let mut message = status.message().trim().replace('\n', " ");
        // Transport failures say only "transport error"; the cause is in the source.
        if let Some(cause) = std::error::Error::source(status) {
            let cause = chain(cause);
            if !message.contains(&cause) {
                message = if cause.starts_with(&message) { cause } else { format!("{message}: {cause}") };
            }
        }
        let line = if message.is_empty() {
            code_name(status.code()).to_string()
        } else {
            format!("{}: {message}", code_name(status.code()))
        };
        Failure { exit, line }
    }
}

impl From<Status> for Failure {
    fn from(status: Status) -> Failure {
        Failure::status(&status)
    }
}

/// The canonical gRPC name of a status code, e.g. `FAILED_PRECONDITION`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// An error and its causes on one line: `outer: inner: innermost`.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_arguments_are_usage_errors_and_others_are_failures() {
        let invalid = Failure::status(&Status::invalid_argument("url: is not a YouTube URL"));
        assert_eq!((invalid.exit, invalid.line.as_str()), (2, "INVALID_ARGUMENT: url: is not a YouTube URL"));
        let finished = Failure::status(&Status::failed_precondition("job has finished"));
        assert_eq!((finished.exit, finished.line.as_str()), (1, "FAILED_PRECONDITION: job has finished"));
        assert_eq!(Failure::status(&Status::not_found("")).line, "NOT_FOUND");
    }
}
