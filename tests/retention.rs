//! Retention removes finished jobs and their events once old enough, keeps
//! their notes, and touches nothing younger or unfinished; DeleteJob takes a
//! job's notes and events with it. On SQLite and on PostgreSQL.
mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use videojobs::domain::NewNote;
use videojobs::domain::job::NewJob;
use videojobs::domain::{Job, JobEventKind, JobState, NoteKind, Scope};
use videojobs::store::Store;

async fn job_in(store: &Store, video: &str, end: JobState) -> Job {
    let new = NewJob {
        user_id: "alice".into(),
        url: format!("https://www.youtube.com/watch?v={video}"),
        video_id: video.into(),
        subject: String::new(),
        assessments: true,
        priority: 0,
        max_attempts: 1,
        idempotency_key: None,
        batch_id: None,
    };
    let (job, _) = store.insert_job(new).await.unwrap();
    store.append_event(JobEventKind::Queued, &job, None).await.unwrap();
    if end == JobState::Queued {
        return job;
    }
    let running = store.claim(job.id, Duration::from_secs(30), None).await.unwrap().claimed().unwrap();
    let note = NewNote { kind: NoteKind::Notes, title: video.into(), markdown: format!("# {video}\n") };
    let done = match end {
        JobState::Completed => store.complete(job.id, 1, vec![note], "").await.unwrap(),
        JobState::Failed => store.fail(job.id, 1, "no transcript", "").await.unwrap(),
        _ => Some(store.cancel(&Scope::Own("alice".into()), job.id).await.unwrap()),
    };
    let done = done.unwrap_or(running);
    store.append_event(JobEventKind::Completed, &done, None).await.unwrap();
    done
}

async fn events_of(store: &Store, job: &Job) -> usize {
    store.events_after(&"alice".to_string(), 0, None, 1000).await.unwrap().iter().filter(|e| e.job.id == job.id).count()
}

on_both_backends!(old_finished_jobs_go_with_their_events_and_leave_their_notes);

async fn old_finished_jobs_go_with_their_events_and_leave_their_notes(backend: Backend) {
    let (store, _dir) = store_on(&backend).await;
    let alice = Scope::Own("alice".into());
    let completed = job_in(&store, "retainedA01", JobState::Completed).await;
    let failed = job_in(&store, "retainedB01", JobState::Failed).await;
    let cancelled = job_in(&store, "retainedC01", JobState::Cancelled).await;
    let waiting = job_in(&store, "retainedD01", JobState::Queued).await;
    let note_id = completed.note_ids[0];

    let soon = Utc::now() + chrono::Duration::seconds(1);
    let long_ago = Utc::now() - chrono::Duration::hours(1);
    assert_eq!(store.remove_expired_jobs(soon, long_ago).await.unwrap(), 1, "only the completed job is old enough");
    assert!(store.job_for_user(&alice, completed.id).await.is_err());
    assert_eq!(events_of(&store, &completed).await, 0);
    let note = store.note_for_user(&alice, note_id).await.unwrap();
    assert_eq!((note.job_id, note.title.as_str()), (None, "retainedA01"), "the note stays");
    for young in [&failed, &cancelled, &waiting] {
        assert!(store.job_for_user(&alice, young.id).await.is_ok());
        assert!(events_of(&store, young).await > 0);
    }

    assert_eq!(store.remove_expired_jobs(soon, soon).await.unwrap(), 2, "failed and cancelled");
    assert!(store.job_for_user(&alice, waiting.id).await.is_ok(), "an unfinished job is never removed");

    let deleted = job_in(&store, "deletedE01", JobState::Completed).await;
    store.delete(&alice, deleted.id).await.unwrap();
    assert!(store.note_for_user(&alice, deleted.note_ids[0]).await.is_err(), "DeleteJob takes the notes");
    assert_eq!(events_of(&store, &deleted).await, 0, "and the events");
    store.close().await.unwrap();
}
