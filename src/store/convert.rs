//! Rows to domain values. A row that breaks an invariant (an unknown state
//! name) is reported as a database error rather than guessed at.
use sea_orm::DbErr;
use uuid::Uuid;

use super::entity::{job, note};
use crate::domain::{FailureKind, Job, JobState, Note, NoteKind};

pub fn job_from_row(row: job::Model, note_ids: Vec<Uuid>) -> Result<Job, DbErr> {
    let state = JobState::parse(&row.state)
        .ok_or_else(|| DbErr::Custom(format!("job {} has unknown state {:?}", row.id, row.state)))?;
    Ok(Job {
        id: row.id,
        user_id: row.user_id,
        url: row.url,
        video_id: row.video_id,
        subject: row.subject,
        assessments: row.assessments,
        priority: row.priority,
        state,
        stage: row.stage,
        progress_percent: row.progress_percent.clamp(0, 100) as u32,
        attempt: row.attempt.max(0) as u32,
        max_attempts: row.max_attempts.max(0) as u32,
        error: row.error,
        failure_kind: row.failure_kind.as_deref().and_then(FailureKind::parse),
        note_ids,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        log_tail: row.log_tail.unwrap_or_default(),
        batch_id: row.batch_id,
        // A QUEUED job's run_after is its scheduled start (a retry's
        // backoff is RETRYING's).
        not_before: row.run_after.filter(|at| state == JobState::Queued && *at > chrono::Utc::now()),
        paused: None,
    })
}

pub fn note_from_row(row: note::Model) -> Result<Note, DbErr> {
    let kind = NoteKind::parse(&row.kind)
        .ok_or_else(|| DbErr::Custom(format!("note {} has unknown kind {:?}", row.id, row.kind)))?;
    Ok(Note {
        id: row.id,
        job_id: row.job_id,
        user_id: row.user_id,
        kind,
        title: row.title,
        subject: row.subject,
        video_url: row.video_url,
        markdown: row.markdown,
        created_at: row.created_at,
    })
}
