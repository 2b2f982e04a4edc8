//! Retention removes finished jobs and their events once old enough, keeps
//! their notes, and touches nothing younger or unfinished; DeleteJob takes a
//! job's notes and events with it. On SQLite and on PostgreSQL.
mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use videojobs::domain::job::NewJob;
use videojobs::domain::{Failure, Job, JobEventKind, JobState, NewNote, NoteKind, Outcome, Scope};

async fn job_in(core: &TestCore, video: &str, end: JobState) -> Job {
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
        not_before: None,
    };
    let alice = Scope::Own("alice".into());
    let (job, _) = core.jobs.submit(new).await.unwrap();
    if end == JobState::Queued {
        return job;
    }
    let running = core.jobs.claim(job.id, &core.node).await.unwrap().expect("claimed");
    let note = NewNote { kind: NoteKind::Notes, title: video.into(), markdown: format!("# {video}\n") };
    match end {
        JobState::Completed => core
            .jobs
            .finish(&running, &Outcome::Succeeded(vec![note]), "", &Default::default(), &Default::default())
            .await
            .unwrap(),
        JobState::Failed => core
            .jobs
            .finish(
                &running,
                &Outcome::Failed(Failure::permanent("no transcript")),
                "",
                &Default::default(),
                &Default::default(),
            )
            .await
            .unwrap(),
        _ => {
            drop(running);
            core.jobs.cancel(&alice, job.id).await.unwrap();
        }
    }
    let done = core.jobs.job(&alice, job.id).await.unwrap();
    assert_eq!(done.state, end);
    done
}

async fn kinds_of(core: &TestCore, job: &Job) -> Vec<JobEventKind> {
    let events = core.jobs.event_log().events_after(&"alice".to_string(), 0, None, 1000).await.unwrap();
    events.iter().filter(|e| e.job.id == job.id).map(|e| e.kind).collect()
}

on_both_backends!(old_finished_jobs_go_with_their_events_and_leave_their_notes);

async fn old_finished_jobs_go_with_their_events_and_leave_their_notes(backend: Backend) {
    let core = TestCore::start(&backend, 100, Duration::from_secs(30)).await;
    let jobs = &core.jobs;
    let alice = Scope::Own("alice".into());
    let completed = job_in(&core, "retainedA01", JobState::Completed).await;
    let failed = job_in(&core, "retainedB01", JobState::Failed).await;
    let cancelled = job_in(&core, "retainedC01", JobState::Cancelled).await;
    let waiting = job_in(&core, "retainedD01", JobState::Queued).await;
    let note_id = completed.note_ids[0];

    let soon = Utc::now() + chrono::Duration::seconds(1);
    let long_ago = Utc::now() - chrono::Duration::hours(1);
    assert_eq!(jobs.remove_expired(soon, long_ago).await.unwrap(), 1, "only the completed job is old enough");
    assert!(jobs.job(&alice, completed.id).await.is_err());
    assert!(kinds_of(&core, &completed).await.is_empty());
    let note = jobs.note(&alice, note_id).await.unwrap();
    assert_eq!((note.job_id, note.title.as_str()), (None, "retainedA01"), "the note stays");
    for young in [&failed, &cancelled, &waiting] {
        assert!(jobs.job(&alice, young.id).await.is_ok());
        assert!(!kinds_of(&core, young).await.is_empty());
    }

    assert_eq!(jobs.remove_expired(soon, soon).await.unwrap(), 2, "failed and cancelled");
    assert!(jobs.job(&alice, waiting.id).await.is_ok(), "an unfinished job is never removed");

    let deleted = job_in(&core, "deletedE01", JobState::Completed).await;
    jobs.delete(&alice, deleted.id).await.unwrap();
    assert!(jobs.note(&alice, deleted.note_ids[0]).await.is_err(), "DeleteJob takes the notes");
    assert_eq!(kinds_of(&core, &deleted).await, [JobEventKind::Deleted], "and its events, but the last");
    core.stop().await;
}
