//! Jobs, their states and the transitions between them, and the notes a job
//! produces.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The authenticated caller: the JWT's `sub`.
pub type UserId = String;

/// Whose jobs, batches, notes and events a call may see and touch: the
/// caller's own, or everyone's for a token with the `admin` role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Own(UserId),
    Everyone,
}

impl Scope {
    /// The one user the scope is limited to; `None` for everyone.
    pub fn user(&self) -> Option<&str> {
        match self {
            Scope::Own(user) => Some(user),
            Scope::Everyone => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobState {
    Queued,
    Processing,
    Retrying,
    Completed,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Processing,
        JobState::Retrying,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
    ];
    /// States a worker may still pick the job up from.
    pub const WAITING: [JobState; 2] = [JobState::Queued, JobState::Retrying];
    /// States that have not reached an end yet.
    pub const UNFINISHED: [JobState; 3] = [JobState::Queued, JobState::Processing, JobState::Retrying];
    /// States from which `RetryJob` brings a job back.
    pub const RETRYABLE: [JobState; 2] = [JobState::Failed, JobState::Cancelled];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Processing => "processing",
            JobState::Retrying => "retrying",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(name: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|state| state.as_str() == name)
    }

    pub fn is_finished(self) -> bool {
        !JobState::UNFINISHED.contains(&self)
    }

    pub fn is_waiting(self) -> bool {
        JobState::WAITING.contains(&self)
    }
}

/// A job as users see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    pub user_id: UserId,
    pub url: String,
    pub video_id: String,
    pub subject: String,
    pub assessments: bool,
    pub priority: i32,
    pub state: JobState,
    pub stage: String,
    pub progress_percent: u32,
    pub attempt: u32,
    pub max_attempts: u32,
    pub error: String,
    /// The kind of the latest failed attempt, while `error` says why.
    #[serde(default)]
    pub failure_kind: Option<super::FailureKind>,
    pub note_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The end of the program's stderr in the latest attempt; only `GetJob`
    /// returns it, so events and lists stay small.
    #[serde(skip)]
    pub log_tail: String,
    #[serde(default)]
    pub batch_id: Option<Uuid>,
    /// While it waits QUEUED for a scheduled start: that time.
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
    /// While a pause holds it back (it waits QUEUED or RETRYING): that
    /// pause. Filled when the job is read or its pause changes.
    #[serde(default)]
    pub paused: Option<super::Pause>,
}

/// What a user asks for when submitting a video, already validated.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub user_id: UserId,
    pub url: String,
    pub video_id: String,
    pub subject: String,
    pub assessments: bool,
    pub priority: i32,
    pub max_attempts: u32,
    /// Resubmitting with the same key returns the first job.
    pub idempotency_key: Option<String>,
    pub batch_id: Option<Uuid>,
    /// Not to start before this time (`None`: now).
    pub not_before: Option<DateTime<Utc>>,
}

/// What a person may change when a finished job runs again: `RetryJob`
/// its priority, `ReprocessJob` also its subject and assessments. `None`
/// keeps what the job had.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rerun {
    pub subject: Option<String>,
    pub assessments: Option<bool>,
    pub priority: Option<i32>,
}

/// Priorities run from `-MAX_PRIORITY` to `MAX_PRIORITY` (higher first).
pub const MAX_PRIORITY: i32 = 100;
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

pub fn validate_priority(priority: i32) -> Result<i32> {
    if !(-MAX_PRIORITY..=MAX_PRIORITY).contains(&priority) {
        return Err(Error::invalid("priority", format!("must be between -{MAX_PRIORITY} and {MAX_PRIORITY}")));
    }
    Ok(priority)
}

/// When a scheduled job may start: `None` (now) for no time or a time
/// already past; refused when more than `horizon` ahead of `now`.
pub fn validate_not_before(
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    horizon: std::time::Duration,
) -> Result<Option<DateTime<Utc>>> {
    let Some(at) = at.filter(|at| *at > now) else { return Ok(None) };
    let latest = now + chrono::Duration::from_std(horizon).unwrap_or(chrono::Duration::MAX);
    if at > latest {
        let days = horizon.as_secs_f64() / 86_400.0;
        return Err(Error::invalid("not_before", format!("must be at most {days} days ahead (it was {at})")));
    }
    Ok(Some(at))
}

/// What a scheduled job's stage says while it waits.
pub fn scheduled_stage(at: DateTime<Utc>) -> String {
    format!("scheduled: starts not before {}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The key, or `None` for the empty string (no key).
pub fn validate_idempotency_key(key: &str) -> Result<Option<String>> {
    if key.is_empty() {
        return Ok(None);
    }
    if key.len() > MAX_IDEMPOTENCY_KEY_LEN || key.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(
            "idempotency_key",
            format!("must be at most {MAX_IDEMPOTENCY_KEY_LEN} bytes of printable characters"),
        ));
    }
    Ok(Some(key.to_string()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    Notes,
    Assessment,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Notes => "notes",
            NoteKind::Assessment => "assessment",
        }
    }

    pub fn parse(name: &str) -> Option<NoteKind> {
        [NoteKind::Notes, NoteKind::Assessment].into_iter().find(|kind| kind.as_str() == name)
    }
}

/// A note as stored: markdown only; HTML is rendered when it is read.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub id: Uuid,
    /// None once retention removed the job; the note stays.
    pub job_id: Option<Uuid>,
    pub user_id: UserId,
    pub kind: NoteKind,
    pub title: String,
    pub subject: String,
    pub video_url: String,
    pub markdown: String,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip_and_finished_states_are_the_three_ends() {
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        let finished: Vec<_> = JobState::ALL.into_iter().filter(|s| s.is_finished()).collect();
        assert_eq!(finished, [JobState::Completed, JobState::Failed, JobState::Cancelled]);
        assert_eq!(JobState::parse("done"), None);
    }
}
