//! The history of a job's attempts: one record per ended attempt, kept
//! beside the job so a person can see every try, not only the last.
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::FailureKind;

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    Failed,
    /// Its node stopped; the job was queued again, the attempt not counted.
    Interrupted,
    /// A person cancelled the job while it ran.
    Cancelled,
}

impl AttemptOutcome {
    pub const ALL: [AttemptOutcome; 4] =
        [AttemptOutcome::Succeeded, AttemptOutcome::Failed, AttemptOutcome::Interrupted, AttemptOutcome::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Interrupted => "interrupted",
            AttemptOutcome::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<AttemptOutcome> {
        AttemptOutcome::ALL.into_iter().find(|outcome| outcome.as_str() == text)
    }
}

/// How the program ended, when it ended by itself or by a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramExit {
    Code(i32),
    Signal(i32),
}

/// Seconds the program says it spent in one stage (its report's `timings`).
#[derive(Clone, Debug, PartialEq)]
pub struct StageTiming {
    pub stage: String,
    pub seconds: f64,
}

/// What the worker knows of an attempt besides its outcome.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttemptFacts {
    pub exit: Option<ProgramExit>,
    /// From the program's start to its end.
    pub duration: Duration,
    pub timings: Vec<StageTiming>,
}

/// One ended attempt, as kept.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptRecord {
    pub job_id: Uuid,
    pub attempt: u32,
    /// The node that ran it.
    pub node: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: DateTime<Utc>,
    pub outcome: AttemptOutcome,
    pub failure_kind: Option<FailureKind>,
    /// Why it failed; empty when it did not.
    pub reason: String,
    pub facts: AttemptFacts,
}
