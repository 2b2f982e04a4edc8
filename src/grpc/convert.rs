//! Domain values to protobuf messages.
use chrono::{DateTime, Utc};

use crate::domain::{
    Batch, BatchState, Estimate, FailureKind, Job, JobEvent, JobEventKind, JobState, Note, NoteKind, Pause, PauseTarget,
};
use crate::proto::v1 as pb;

/// A time from the wire; `field` names it in the error.
pub fn time_from_proto(field: &'static str, at: prost_types::Timestamp) -> crate::error::Result<DateTime<Utc>> {
    let nanos = u32::try_from(at.nanos).ok().filter(|n| *n < 1_000_000_000);
    nanos
        .and_then(|nanos| DateTime::from_timestamp(at.seconds, nanos))
        .ok_or_else(|| crate::error::Error::invalid(field, "is not a valid time"))
}

/// A submission's `not_before`, checked against the core's horizon.
pub fn not_before_from_proto(
    at: Option<prost_types::Timestamp>,
    horizon: std::time::Duration,
) -> crate::error::Result<Option<DateTime<Utc>>> {
    let at = at.map(|at| time_from_proto("not_before", at)).transpose()?;
    crate::domain::job::validate_not_before(at, chrono::Utc::now(), horizon)
}

pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: at.timestamp(), nanos: at.timestamp_subsec_nanos() as i32 }
}

pub fn state_to_proto(state: JobState) -> pb::JobState {
    match state {
        JobState::Queued => pb::JobState::Queued,
        JobState::Processing => pb::JobState::Processing,
        JobState::Retrying => pb::JobState::Retrying,
        JobState::Completed => pb::JobState::Completed,
        JobState::Failed => pb::JobState::Failed,
        JobState::Cancelled => pb::JobState::Cancelled,
    }
}

pub fn state_from_proto(value: i32) -> Option<JobState> {
    match pb::JobState::try_from(value).ok()? {
        pb::JobState::Unspecified => None,
        pb::JobState::Queued => Some(JobState::Queued),
        pb::JobState::Processing => Some(JobState::Processing),
        pb::JobState::Retrying => Some(JobState::Retrying),
        pb::JobState::Completed => Some(JobState::Completed),
        pb::JobState::Failed => Some(JobState::Failed),
        pb::JobState::Cancelled => Some(JobState::Cancelled),
    }
}

pub fn job_to_proto(job: &Job) -> pb::Job {
    pb::Job {
        id: job.id.to_string(),
        url: job.url.clone(),
        video_id: job.video_id.clone(),
        subject: job.subject.clone(),
        state: state_to_proto(job.state) as i32,
        stage: job.stage.clone(),
        progress_percent: job.progress_percent,
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        error: job.error.clone(),
        note_ids: job.note_ids.iter().map(|id| id.to_string()).collect(),
        created_at: Some(timestamp(job.created_at)),
        started_at: job.started_at.map(timestamp),
        finished_at: job.finished_at.map(timestamp),
        assessments: job.assessments,
        priority: job.priority,
        log_tail: String::new(),
        batch_id: job.batch_id.map(|id| id.to_string()).unwrap_or_default(),
        failure_kind: job.failure_kind.map_or(pb::FailureKind::Unspecified, failure_kind_to_pb) as i32,
        not_before: job.not_before.map(timestamp),
        attempts: Vec::new(),
        paused: job.paused.as_ref().map(|pause| pause_to_proto(pause, true)),
        estimate: None,
    }
}

pub fn batch_to_proto(batch: &Batch) -> pb::Batch {
    let state = match batch.state {
        BatchState::Running => pb::BatchState::Running,
        BatchState::Completed => pb::BatchState::Completed,
        BatchState::CompletedWithErrors => pb::BatchState::CompletedWithErrors,
        BatchState::Failed => pb::BatchState::Failed,
        BatchState::Cancelled => pb::BatchState::Cancelled,
    };
    let counts = &batch.counts;
    pb::Batch {
        id: batch.id.to_string(),
        total: batch.total,
        queued: counts.queued,
        processing: counts.processing,
        completed: counts.completed,
        failed: counts.failed,
        cancelled: counts.cancelled,
        state: state as i32,
        subject: batch.subject.clone(),
        created_at: Some(timestamp(batch.created_at)),
        finished_at: batch.finished_at.map(timestamp),
    }
}

pub fn event_to_proto(event: &JobEvent) -> pb::JobEvent {
    let kind = match event.kind {
        JobEventKind::Queued => pb::JobEventType::Queued,
        JobEventKind::Processing => pb::JobEventType::Processing,
        JobEventKind::Progress => pb::JobEventType::Progress,
        JobEventKind::Retrying => pb::JobEventType::Retrying,
        JobEventKind::Completed => pb::JobEventType::Completed,
        JobEventKind::Failed => pb::JobEventType::Failed,
        JobEventKind::Cancelled => pb::JobEventType::Cancelled,
        JobEventKind::Deleted => pb::JobEventType::Deleted,
        JobEventKind::Snapshot => pb::JobEventType::Snapshot,
        JobEventKind::Paused => pb::JobEventType::Paused,
        JobEventKind::Resumed => pb::JobEventType::Resumed,
    };
    pb::JobEvent {
        sequence: event.sequence,
        job_id: event.job.id.to_string(),
        r#type: kind as i32,
        job: Some(job_to_proto(&event.job)),
        batch: event.batch.as_deref().map(batch_to_proto),
        estimate: None,
    }
}

/// An ESTIMATE event: not logged, so sequence 0, and no job (see the proto).
pub fn estimate_event(job_id: uuid::Uuid, estimate: &Estimate) -> pb::JobEvent {
    pb::JobEvent {
        job_id: job_id.to_string(),
        r#type: pb::JobEventType::Estimate as i32,
        estimate: Some(estimate_to_proto(estimate)),
        ..Default::default()
    }
}

pub fn estimate_to_proto(estimate: &Estimate) -> pb::JobEstimate {
    pb::JobEstimate {
        jobs_ahead: estimate.jobs_ahead,
        start: estimate.start.map(timestamp),
        finish: estimate.finish.map(timestamp),
    }
}

/// The jobs as answers show them: each with its estimate, if it has one.
pub fn estimated_jobs_to_proto(jobs: &[Job], estimates: &[Option<Estimate>]) -> Vec<pb::Job> {
    jobs.iter()
        .zip(estimates)
        .map(|(job, estimate)| pb::Job { estimate: estimate.as_ref().map(estimate_to_proto), ..job_to_proto(job) })
        .collect()
}

pub fn note_to_proto(note: Note) -> pb::Note {
    let html = markdown::to_html_with_options(&note.markdown, &markdown::Options::gfm())
        .unwrap_or_else(|_| markdown::to_html(&note.markdown));
    let kind = match note.kind {
        NoteKind::Notes => pb::NoteKind::Notes,
        NoteKind::Assessment => pb::NoteKind::Assessment,
    };
    pb::Note {
        id: note.id.to_string(),
        job_id: note.job_id.map(|id| id.to_string()).unwrap_or_default(),
        kind: kind as i32,
        title: note.title,
        subject: note.subject,
        video_url: note.video_url,
        html,
        markdown: note.markdown,
        created_at: Some(timestamp(note.created_at)),
    }
}

pub fn failure_kind_to_pb(kind: FailureKind) -> pb::FailureKind {
    match kind {
        FailureKind::Permanent => pb::FailureKind::Permanent,
        FailureKind::Transient => pb::FailureKind::Transient,
        FailureKind::Timeout => pb::FailureKind::Timeout,
        FailureKind::Stalled => pb::FailureKind::Stalled,
        FailureKind::Crashed => pb::FailureKind::Crashed,
        FailureKind::NoOutput => pb::FailureKind::NoOutput,
        FailureKind::Cancelled => pb::FailureKind::Cancelled,
    }
}

/// A pause as the API shows it; `paused` is false for one just ended.
pub fn pause_to_proto(pause: &Pause, paused: bool) -> pb::PauseState {
    let (batch_id, user_id, everything) = match &pause.target {
        PauseTarget::Everything => (String::new(), String::new(), true),
        PauseTarget::User(user) => (String::new(), user.clone(), false),
        PauseTarget::Batch { id, owner } => (id.to_string(), owner.clone(), false),
    };
    pb::PauseState {
        paused,
        batch_id,
        user_id,
        everything,
        reason: pause.reason.clone(),
        resume_at: pause.resume_at.map(timestamp),
        paused_at: Some(timestamp(pause.paused_at)),
        paused_by: pause.paused_by.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_github_flavoured_and_raw_html_is_escaped() {
        let note = Note {
            id: uuid::Uuid::now_v7(),
            job_id: Some(uuid::Uuid::now_v7()),
            user_id: "alice".into(),
            kind: NoteKind::Notes,
            title: "t".into(),
            subject: "s".into(),
            video_url: "u".into(),
            markdown: "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ <script>alert(1)</script>\n".into(),
            created_at: Utc::now(),
        };
        let html = note_to_proto(note).html;
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<del>old</del>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }
}
