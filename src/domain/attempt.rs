//! What one attempt of the program produced, as the core consumes it: its
//! progress, the notes it wrote, or a failure that says whether another
//! attempt can help.
use std::borrow::Cow;

use super::NoteKind;
use super::failure::FailureKind;

/// A stage the program reached and how far along it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageUpdate {
    pub stage: String,
    pub percent: u32,
}

/// Text from the program as a database can hold it: NUL, which PostgreSQL
/// refuses in text, becomes U+FFFD. Everything else is kept.
pub fn storable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') { Cow::Owned(text.replace('\0', "\u{FFFD}")) } else { Cow::Borrowed(text) }
}

/// A note collected from a finished attempt, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewNote {
    pub kind: NoteKind,
    pub title: String,
    pub markdown: String,
}

/// How an attempt ended.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Succeeded(Vec<NewNote>),
    /// The attempt failed; the reason is the program's own where it gave one.
    Failed(Failure),
    /// Stopped from outside (cancelled, or the node is shutting down).
    Stopped,
}

/// Why an attempt failed, and of which kind (which says whether another
/// attempt can succeed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    pub kind: FailureKind,
}

impl Failure {
    pub fn new(kind: FailureKind, reason: impl Into<String>) -> Failure {
        Failure { reason: reason.into(), kind }
    }

    /// A failure another attempt may mend.
    pub fn retryable(reason: impl Into<String>) -> Failure {
        Failure::new(FailureKind::Transient, reason)
    }

    /// A failure no attempt can mend: the job fails at once (a person may
    /// still retry it by hand).
    pub fn permanent(reason: impl Into<String>) -> Failure {
        Failure::new(FailureKind::Permanent, reason)
    }
}

impl NewNote {
    /// The note as a database can hold it (see [`storable`]).
    pub fn storable(&self) -> NewNote {
        NewNote {
            kind: self.kind,
            title: storable(&self.title).into_owned(),
            markdown: storable(&self.markdown).into_owned(),
        }
    }
}

impl Outcome {
    /// A short name for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Succeeded(_) => "succeeded",
            Outcome::Failed(_) => "failed",
            Outcome::Stopped => "stopped",
        }
    }
}
