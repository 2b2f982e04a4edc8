//! What the client prints: JSON objects built from the proto fields (prost
//! types derive no `Serialize`), one per line, or text for people — tables
//! for lists, a block for one job, one summary line per finished job.
use std::io::Write;

use chrono::{DateTime, Local, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::proto::v1 as pb;

/// Writes `text` and a newline to stdout. A reader that went away (`| head`)
/// ends the process quietly instead of panicking.
pub fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_all(text.as_bytes()).and_then(|()| {
        if !text.ends_with('\n') {
            stdout.write_all(b"\n")?;
        }
        stdout.flush()
    });
    if let Err(error) = written {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {error}");
        std::process::exit(super::failure::EXIT_FAILURE);
    }
}

/// Writes one line to stderr, ignoring a closed stderr.
pub fn warn(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// `COMPLETED`, `FAILED`, … for a `JobState` value.
pub fn state_name(state: i32) -> &'static str {
    match pb::JobState::try_from(state).unwrap_or(pb::JobState::Unspecified) {
        pb::JobState::Unspecified => "UNSPECIFIED",
        pb::JobState::Queued => "QUEUED",
        pb::JobState::Processing => "PROCESSING",
        pb::JobState::Retrying => "RETRYING",
        pb::JobState::Completed => "COMPLETED",
        pb::JobState::Failed => "FAILED",
        pb::JobState::Cancelled => "CANCELLED",
    }
}

/// `NOTES` or `ASSESSMENT` for a `NoteKind` value.
pub fn kind_name(kind: i32) -> &'static str {
    match pb::NoteKind::try_from(kind).unwrap_or(pb::NoteKind::Unspecified) {
        pb::NoteKind::Unspecified => "UNSPECIFIED",
        pb::NoteKind::Notes => "NOTES",
        pb::NoteKind::Assessment => "ASSESSMENT",
    }
}

/// COMPLETED, FAILED or CANCELLED: the job will not change by itself again.
pub fn is_final(state: i32) -> bool {
    matches!(
        pb::JobState::try_from(state),
        Ok(pb::JobState::Completed | pb::JobState::Failed | pb::JobState::Cancelled)
    )
}

fn utc(at: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let at = at?;
    DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).unwrap_or(0))
}

fn time_json(at: Option<&prost_types::Timestamp>) -> Value {
    utc(at).map_or(Value::Null, |at| Value::String(at.to_rfc3339_opts(SecondsFormat::Millis, true)))
}

fn time_text(at: Option<&prost_types::Timestamp>) -> String {
    utc(at).map_or_else(|| "-".into(), |at| at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string())
}

pub fn job_json(job: &pb::Job) -> Value {
    json!({
        "id": job.id,
        "state": state_name(job.state),
        "url": job.url,
        "video_id": job.video_id,
        "subject": job.subject,
        "stage": job.stage,
        "progress_percent": job.progress_percent,
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "error": job.error,
        "failure_kind": failure_name(job.failure_kind()),
        "note_ids": job.note_ids,
        "assessments": job.assessments,
        "priority": job.priority,
        "created_at": time_json(job.created_at.as_ref()),
        "started_at": time_json(job.started_at.as_ref()),
        "finished_at": time_json(job.finished_at.as_ref()),
        "not_before": time_json(job.not_before.as_ref()),
        "paused": job.paused.as_ref().map_or(Value::Null, pause_json),
        "estimate": job.estimate.as_ref().map_or(Value::Null, estimate_json),
        "attempts": job.attempts.iter().map(attempt_json).collect::<Vec<_>>(),
    })
}

pub fn estimate_json(estimate: &pb::JobEstimate) -> Value {
    json!({
        "jobs_ahead": estimate.jobs_ahead,
        "start": time_json(estimate.start.as_ref()),
        "finish": time_json(estimate.finish.as_ref()),
    })
}

/// An estimate as people read it, e.g. `3 jobs ahead, starts in ~2m 5s,
/// done in ~3m 5s`; empty when it says nothing.
pub fn estimate_line(estimate: &pb::JobEstimate) -> String {
    let now = Utc::now();
    let within = |at: Option<&prost_types::Timestamp>| {
        let wait = (utc(at)? - now).to_std().unwrap_or_default();
        Some(format!("~{}", humantime_short(wait)))
    };
    let mut parts = Vec::new();
    match estimate.jobs_ahead {
        Some(1) => parts.push("1 job ahead".to_string()),
        Some(ahead) => parts.push(format!("{ahead} jobs ahead")),
        None => {}
    }
    if let Some(start) = within(estimate.start.as_ref()) {
        parts.push(format!("starts in {start}"));
    }
    if let Some(finish) = within(estimate.finish.as_ref()) {
        parts.push(format!("done in {finish}"));
    }
    parts.join(", ")
}

/// `2h 5m`, `3m 10s`, `42s`: the two largest units.
fn humantime_short(wait: std::time::Duration) -> String {
    let seconds = wait.as_secs();
    match (seconds / 3600, seconds / 60 % 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

fn attempt_json(attempt: &pb::Attempt) -> Value {
    json!({
        "attempt": attempt.attempt,
        "node": attempt.node,
        "outcome": outcome_name(attempt.outcome()),
        "failure_kind": failure_name(attempt.failure_kind()),
        "reason": attempt.reason,
        "exit_code": attempt.exit_code,
        "signal": attempt.signal,
        "duration_seconds": attempt.duration.map_or(0.0, |d| d.seconds as f64 + d.nanos as f64 / 1e9),
        "started_at": time_json(attempt.started_at.as_ref()),
        "ended_at": time_json(attempt.ended_at.as_ref()),
        "stage_timings": attempt.stage_timings.iter().map(|t| json!({"stage": t.stage, "seconds": t.seconds})).collect::<Vec<_>>(),
    })
}

fn outcome_name(outcome: pb::AttemptOutcome) -> &'static str {
    match outcome {
        pb::AttemptOutcome::Unspecified => "UNSPECIFIED",
        pb::AttemptOutcome::Succeeded => "SUCCEEDED",
        pb::AttemptOutcome::Failed => "FAILED",
        pb::AttemptOutcome::Interrupted => "INTERRUPTED",
        pb::AttemptOutcome::Cancelled => "CANCELLED",
    }
}

/// One attempt on one line: `#1 FAILED transient 2.3s exit 0 host:42: reason`.
fn attempt_line(attempt: &pb::Attempt) -> String {
    let mut line = format!("#{} {}", attempt.attempt, outcome_name(attempt.outcome()));
    if let Some(kind) = failure_name(attempt.failure_kind()) {
        line.push_str(&format!(" {kind}"));
    }
    let seconds = attempt.duration.map_or(0.0, |d| d.seconds as f64 + d.nanos as f64 / 1e9);
    line.push_str(&format!(" {seconds:.1}s"));
    match (attempt.exit_code, attempt.signal) {
        (Some(code), _) => line.push_str(&format!(" exit {code}")),
        (None, Some(signal)) => line.push_str(&format!(" signal {signal}")),
        _ => {}
    }
    line.push_str(&format!(" {}", attempt.node));
    if !attempt.reason.is_empty() {
        line.push_str(&format!(": {}", one_line(&attempt.reason)));
    }
    line
}

/// A note as JSON; `with_body` adds its markdown and HTML.
pub fn note_json(note: &pb::Note, with_body: bool) -> Value {
    let mut value = json!({
        "id": note.id,
        "job_id": note.job_id,
        "kind": kind_name(note.kind),
        "title": note.title,
        "subject": note.subject,
        "video_url": note.video_url,
        "created_at": time_json(note.created_at.as_ref()),
    });
    if with_body {
        value["markdown"] = Value::String(note.markdown.clone());
        value["html"] = Value::String(note.html.clone());
    }
    value
}

/// One line for a job that changed or ended, e.g.
/// `ID COMPLETED dQw4w9WgXcQ notes: A, B` or `ID FAILED dQw4w9WgXcQ: reason`.
pub fn job_summary(job: &pb::Job) -> String {
    let mut line = format!("{} {} {}", job.id, state_name(job.state), job.video_id);
    if !job.note_ids.is_empty() {
        line.push_str(&format!(" notes: {}", job.note_ids.join(", ")));
    }
    if !job.error.is_empty() {
        let kind = failure_name(job.failure_kind()).map(|kind| format!(", {kind}")).unwrap_or_default();
        line.push_str(&format!(" (attempt {} of {}{kind}): {}", job.attempt, job.max_attempts, one_line(&job.error)));
    }
    line
}

/// A failure kind as people read it; `None` when no attempt failed.
pub fn failure_name(kind: pb::FailureKind) -> Option<&'static str> {
    match kind {
        pb::FailureKind::Unspecified => None,
        pb::FailureKind::Permanent => Some("permanent"),
        pb::FailureKind::Transient => Some("transient"),
        pb::FailureKind::Timeout => Some("timeout"),
        pb::FailureKind::Stalled => Some("stalled"),
        pb::FailureKind::Crashed => Some("crashed"),
        pb::FailureKind::NoOutput => Some("no-output"),
        pb::FailureKind::Cancelled => Some("cancelled"),
    }
}

/// Failure groups, one a line: count, kind, reason group, newest job.
pub fn failure_groups_table(groups: &[pb::FailureGroup]) -> String {
    groups
        .iter()
        .map(|group| {
            let newest = group.newest.as_ref().map(|job| job.id.as_str()).unwrap_or("-");
            let kind = failure_name(group.kind()).unwrap_or("-");
            format!("{:>6}  {kind:<10}  {}  (newest {newest})", group.count, group.reason_group)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A job in full, one field a line.
pub fn job_detail(job: &pb::Job) -> String {
    let mut rows = vec![
        ("job", job.id.clone()),
        ("state", format!("{} {}% {}", state_name(job.state), job.progress_percent, job.stage).trim_end().to_string()),
        ("video", job.url.clone()),
        ("subject", or_dash(&job.subject)),
        ("attempt", format!("{} of {}", job.attempt, job.max_attempts)),
        ("priority", job.priority.to_string()),
        ("assessments", if job.assessments { "yes" } else { "no" }.into()),
        ("created", time_text(job.created_at.as_ref())),
        ("started", time_text(job.started_at.as_ref())),
        ("finished", time_text(job.finished_at.as_ref())),
    ];
    if job.not_before.is_some() {
        rows.push(("not before", time_text(job.not_before.as_ref())));
    }
    if let Some(pause) = &job.paused {
        rows.push(("paused", pause_line(pause)));
    }
    if let Some(estimate) = job.estimate.as_ref().map(estimate_line).filter(|line| !line.is_empty()) {
        rows.push(("estimate", estimate));
    }
    if !job.error.is_empty() {
        rows.push(("error", one_line(&job.error)));
    }
    if let Some(kind) = failure_name(job.failure_kind()) {
        rows.push(("failure", kind.into()));
    }
    if !job.note_ids.is_empty() {
        rows.push(("notes", job.note_ids.join(", ")));
    }
    rows.extend(job.attempts.iter().map(|attempt| ("attempts", attempt_line(attempt))));
    rows.into_iter().map(|(name, value)| format!("{name:<12}{value}")).collect::<Vec<_>>().join("\n")
}

pub fn jobs_table(jobs: &[pb::Job]) -> String {
    let rows = jobs.iter().map(|job| {
        vec![
            job.id.clone(),
            state_name(job.state).into(),
            format!("{}%", job.progress_percent),
            job.video_id.clone(),
            or_dash(&job.subject),
            time_text(job.created_at.as_ref()),
        ]
    });
    table(&["ID", "STATE", "PROGRESS", "VIDEO", "SUBJECT", "CREATED"], rows)
}

pub fn notes_table(notes: &[pb::Note]) -> String {
    let rows = notes.iter().map(|note| {
        vec![
            note.id.clone(),
            kind_name(note.kind).into(),
            note.job_id.clone(),
            time_text(note.created_at.as_ref()),
            or_dash(&one_line(&note.title)),
        ]
    });
    table(&["ID", "KIND", "JOB", "CREATED", "TITLE"], rows)
}

/// Left-aligned columns two spaces apart; the last one is not padded.
fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut all = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    all.extend(rows);
    let mut widths = vec![0; header.len()];
    for row in &all {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    all.iter()
        .map(|row| {
            let cells = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}"));
            cells.collect::<Vec<_>>().join("  ").trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn or_dash(text: &str) -> String {
    if text.trim().is_empty() { "-".into() } else { text.to_string() }
}

/// Text from the program on one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn pause_json(pause: &pb::PauseState) -> Value {
    json!({
        "paused": pause.paused,
        "batch_id": pause.batch_id,
        "user_id": pause.user_id,
        "everything": pause.everything,
        "reason": pause.reason,
        "resume_at": time_json(pause.resume_at.as_ref()),
        "paused_at": time_json(pause.paused_at.as_ref()),
        "paused_by": pause.paused_by,
    })
}

/// "paused: batch B of alice (disk full) until …, by admin", or "not paused: …".
pub fn pause_line(pause: &pb::PauseState) -> String {
    let what = match (pause.everything, pause.batch_id.as_str(), pause.user_id.as_str()) {
        (true, _, _) => "everyone's work".to_string(),
        (false, "", user) => format!("{user}'s work"),
        (false, batch, "") => format!("batch {batch}"),
        (false, batch, user) => format!("batch {batch} of {user}"),
    };
    if !pause.paused {
        return format!("not paused: {what}");
    }
    let mut line = format!("paused: {what}");
    if !pause.reason.is_empty() {
        line.push_str(&format!(" ({})", one_line(&pause.reason)));
    }
    if pause.resume_at.is_some() {
        line.push_str(&format!(" until {}", time_text(pause.resume_at.as_ref())));
    }
    if !pause.paused_by.is_empty() {
        line.push_str(&format!(", by {}", pause.paused_by));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: pb::JobState) -> pb::Job {
        pb::Job {
            id: "j1".into(),
            video_id: "dQw4w9WgXcQ".into(),
            state: state as i32,
            attempt: 1,
            max_attempts: 3,
            created_at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 5_000_000 }),
            ..Default::default()
        }
    }

    #[test]
    fn jobs_become_json_with_readable_states_and_times() {
        let mut completed = job(pb::JobState::Completed);
        completed.note_ids = vec!["n1".into(), "n2".into()];
        let value = job_json(&completed);
        assert_eq!(value["state"], "COMPLETED");
        assert_eq!(value["note_ids"], json!(["n1", "n2"]));
        assert_eq!(value["created_at"], "2023-11-14T22:13:20.005Z");
        assert_eq!(value["finished_at"], Value::Null);
        assert_eq!(job_summary(&completed), "j1 COMPLETED dQw4w9WgXcQ notes: n1, n2");
    }

    #[test]
    fn failures_are_summarised_with_their_reason_on_one_line() {
        let mut failed = job(pb::JobState::Failed);
        failed.error = "Transcript unavailable:\n  disabled".into();
        assert_eq!(job_summary(&failed), "j1 FAILED dQw4w9WgXcQ (attempt 1 of 3): Transcript unavailable: disabled");
        assert!(is_final(failed.state) && !is_final(pb::JobState::Retrying as i32));
    }

    #[test]
    fn tables_line_up() {
        let text = table(&["A", "BB"], vec![vec!["xyz".into(), "1".into()]].into_iter());
        assert_eq!(text, "A    BB\nxyz  1");
    }
}
