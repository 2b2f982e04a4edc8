//! Pauses: what is paused (a batch, one user's work, or everything), why,
//! and until when; which waiting job a pause holds back; the rules for a
//! pause's reason and resume time. Paused jobs stay QUEUED or RETRYING:
//! a pause only keeps them from starting.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::job::{Job, JobState, UserId};
use crate::error::{Error, Result};

/// A pause's reason holds at most this many characters.
pub const MAX_PAUSE_REASON_LEN: usize = 500;

/// What a pause holds back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PauseTarget {
    /// Every user's work (an admin's pause of the whole queue).
    Everything,
    /// One user's work, batches included.
    User(UserId),
    /// One batch's children; `owner` is the batch's user.
    Batch { id: Uuid, owner: UserId },
}

impl PauseTarget {
    /// The pause's unique name in storage: one pause per target.
    pub fn key(&self) -> String {
        match self {
            PauseTarget::Everything => "everything".into(),
            PauseTarget::User(user) => format!("user:{user}"),
            PauseTarget::Batch { id, .. } => format!("batch:{id}"),
        }
    }

    /// Whether `job` is among what this target names.
    pub fn covers(&self, job: &Job) -> bool {
        match self {
            PauseTarget::Everything => true,
            PauseTarget::User(user) => job.user_id == *user,
            PauseTarget::Batch { id, .. } => job.batch_id == Some(*id),
        }
    }
}

/// A pause in force (or, once `resume_at` has passed, one that has ended).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub target: PauseTarget,
    /// Why, in the words of whoever paused; may be empty.
    pub reason: String,
    /// When it ends by itself; `None`: when someone resumes.
    pub resume_at: Option<DateTime<Utc>>,
    pub paused_at: DateTime<Utc>,
    pub paused_by: UserId,
}

impl Pause {
    /// Whether a caller of `scope` sees this pause: it holds their work
    /// (their own, a batch of theirs, everyone's); an admin sees every one.
    pub fn seen_by(&self, scope: &super::job::Scope) -> bool {
        match (scope.user(), &self.target) {
            (None, _) | (Some(_), PauseTarget::Everything) => true,
            (Some(me), PauseTarget::User(user)) => me == user,
            (Some(me), PauseTarget::Batch { owner, .. }) => me == owner,
        }
    }

    /// Whether the pause still holds at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.resume_at.is_none_or(|at| at > now)
    }

    /// What a paused job's stage says.
    pub fn stage(&self) -> String {
        let mut stage = String::from("paused");
        if !self.reason.is_empty() {
            stage.push_str(": ");
            stage.push_str(&self.reason);
        }
        if let Some(at) = self.resume_at {
            stage.push_str(&format!(" (resumes at {})", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        }
        stage
    }
}

/// The pause that holds `job` back at `now`, of those given: none for a job
/// that does not wait (QUEUED or RETRYING). When several hold it, the one
/// that lasts longest (no resume time first, then the latest), since the
/// job waits for that one.
pub fn holding<'a>(pauses: &'a [Pause], job: &Job, now: DateTime<Utc>) -> Option<&'a Pause> {
    if !JobState::WAITING.contains(&job.state) {
        return None;
    }
    let lasts = |pause: &&Pause| (pause.resume_at.is_none(), pause.resume_at);
    pauses.iter().filter(|pause| pause.in_force(now) && pause.target.covers(job)).max_by_key(lasts)
}

/// `job` as users see it under `pauses`: while one holds it back, with that
/// pause and the stage saying so.
pub fn shown(mut job: Job, pauses: &[Pause], now: DateTime<Utc>) -> Job {
    job.paused = holding(pauses, &job, now).cloned();
    if let Some(pause) = &job.paused {
        job.stage = pause.stage();
    }
    job
}

/// A reason: at most [`MAX_PAUSE_REASON_LEN`] characters, no control
/// characters; surrounding space trimmed.
pub fn validate_reason(reason: &str) -> Result<String> {
    let reason = reason.trim();
    if reason.chars().count() > MAX_PAUSE_REASON_LEN {
        return Err(Error::invalid("reason", format!("must be at most {MAX_PAUSE_REASON_LEN} characters")));
    }
    if reason.chars().any(char::is_control) {
        return Err(Error::invalid("reason", "must not contain control characters"));
    }
    Ok(reason.to_string())
}

/// A resume time: in the future, and at most `horizon` ahead of `now`.
pub fn validate_resume_at(
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    horizon: std::time::Duration,
) -> Result<Option<DateTime<Utc>>> {
    let Some(at) = at else { return Ok(None) };
    if at <= now {
        return Err(Error::invalid("resume_at", format!("must be in the future (it was {at})")));
    }
    let latest = now + chrono::Duration::from_std(horizon).unwrap_or(chrono::Duration::MAX);
    if at > latest {
        let days = horizon.as_secs_f64() / 86_400.0;
        return Err(Error::invalid("resume_at", format!("must be at most {days} days ahead (it was {at})")));
    }
    Ok(Some(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause(target: PauseTarget, resume_at: Option<DateTime<Utc>>) -> Pause {
        Pause { target, reason: "why".into(), resume_at, paused_at: Utc::now(), paused_by: "admin".into() }
    }

    #[test]
    fn the_longest_pause_in_force_holds_a_waiting_job() {
        let now = Utc::now();
        let later = now + chrono::Duration::hours(1);
        let batch = Uuid::now_v7();
        let job: Job = serde_json::from_value(serde_json::json!({
            "id": Uuid::now_v7(), "user_id": "alice", "url": "u", "video_id": "v", "subject": "s",
            "assessments": true, "priority": 0, "state": "Queued", "stage": "queued", "progress_percent": 0,
            "attempt": 0, "max_attempts": 3, "error": "", "note_ids": [], "created_at": now,
            "started_at": null, "finished_at": null, "batch_id": batch,
        }))
        .unwrap();
        let ended = pause(PauseTarget::Everything, Some(now - chrono::Duration::seconds(1)));
        let of_batch = pause(PauseTarget::Batch { id: batch, owner: "alice".into() }, Some(later));
        let of_bob = pause(PauseTarget::User("bob".into()), None);
        assert_eq!(holding(&[ended.clone(), of_bob.clone()], &job, now), None);
        let of_alice = pause(PauseTarget::User("alice".into()), None);
        let pauses = [ended, of_batch.clone(), of_alice.clone(), of_bob];
        assert_eq!(holding(&pauses, &job, now), Some(&of_alice));
        assert_eq!(holding(&pauses[..2], &job, now), Some(&of_batch));
        let shown = shown(job.clone(), &pauses[..2], now);
        assert!(shown.stage.starts_with("paused: why (resumes at "), "{}", shown.stage);
        let running = Job { state: JobState::Processing, ..job };
        assert_eq!(holding(&pauses, &running, now), None);
    }

    #[test]
    fn reasons_and_resume_times_are_bounded() {
        assert_eq!(validate_reason("  disk full ").unwrap(), "disk full");
        assert!(validate_reason(&"x".repeat(MAX_PAUSE_REASON_LEN + 1)).is_err());
        assert!(validate_reason("a\nb").is_err());
        let now = Utc::now();
        let day = std::time::Duration::from_secs(86_400);
        assert_eq!(validate_resume_at(None, now, day).unwrap(), None);
        assert!(validate_resume_at(Some(now - chrono::Duration::seconds(1)), now, day).is_err());
        assert!(validate_resume_at(Some(now + chrono::Duration::days(2)), now, day).is_err());
        assert!(validate_resume_at(Some(now + chrono::Duration::hours(2)), now, day).is_ok());
    }
}
