//! Leases and fencing in the store, on SQLite and on PostgreSQL: a claim
//! gives an attempt number that fences every later write; a lease that is not
//! renewed expires and the job goes back to the queue; a superseded attempt
//! can neither report progress, nor complete, nor store notes.
mod common;

use std::time::Duration;

use common::*;
use videojobs::domain::NewNote;
use videojobs::domain::job::NewJob;
use videojobs::domain::{JobState, NoteKind};

fn new_job() -> NewJob {
    NewJob {
        user_id: "alice".into(),
        url: "https://www.youtube.com/watch?v=dQw4w9WgXcQ".into(),
        video_id: "dQw4w9WgXcQ".into(),
        subject: "Physics".into(),
        assessments: true,
        priority: 0,
        max_attempts: 3,
        idempotency_key: None,
        batch_id: None,
    }
}

fn notes() -> Vec<NewNote> {
    vec![NewNote { kind: NoteKind::Notes, title: "Lecture".into(), markdown: "# Lecture\n".into() }]
}

on_both_backends!(
    an_expired_lease_is_reaped_and_the_old_attempt_is_fenced_out,
    a_job_is_claimed_by_one_of_many_concurrent_workers
);

async fn an_expired_lease_is_reaped_and_the_old_attempt_is_fenced_out(backend: Backend) {
    let (store, _dir) = store_on(&backend).await;
    let (job, _) = store.insert_job(new_job()).await.unwrap();
    let first = store.claim(job.id, Duration::from_millis(300), None).await.unwrap().claimed().expect("claimed");
    assert_eq!((first.state, first.attempt), (JobState::Processing, 1));
    assert!(store.renew_lease(job.id, 1, Duration::from_millis(300)).await.unwrap());
    assert!(store.reap_expired_leases().await.unwrap().is_empty(), "a renewed lease is not reaped");

    tokio::time::sleep(Duration::from_millis(400)).await;
    let reaped = store.reap_expired_leases().await.unwrap();
    assert_eq!(reaped.iter().map(|j| (j.id, j.state)).collect::<Vec<_>>(), [(job.id, JobState::Queued)]);
    assert!(!store.renew_lease(job.id, 1, Duration::from_secs(30)).await.unwrap(), "the old attempt lost its lease");

    let second = store.claim(job.id, Duration::from_secs(30), None).await.unwrap().claimed().expect("claimed again");
    assert_eq!(second.attempt, 2);
    assert!(store.record_progress(job.id, 1, "stale", 50).await.unwrap().is_none(), "stale progress is refused");
    assert!(store.complete(job.id, 1, notes(), "").await.unwrap().is_none(), "stale completion is refused");
    assert!(store.fail(job.id, 1, "stale failure", "").await.unwrap().is_none());
    let done = store.complete(job.id, 2, notes(), "").await.unwrap().expect("the holder completes");
    assert_eq!(done.note_ids.len(), 1);
    assert!(store.complete(job.id, 2, notes(), "").await.unwrap().is_none(), "completes once");
    let stored = store.job_for_user(&videojobs::domain::Scope::Own("alice".into()), job.id).await.unwrap();
    assert_eq!((stored.state, stored.note_ids.len()), (JobState::Completed, 1));
    store.close().await.unwrap();
}

async fn a_job_is_claimed_by_one_of_many_concurrent_workers(backend: Backend) {
    let (store, _dir) = store_on(&backend).await;
    let (job, _) = store.insert_job(new_job()).await.unwrap();
    let claims = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.claim(job.id, Duration::from_secs(30), None).await.unwrap().claimed() })
    });
    let winners = futures::future::join_all(claims).await.into_iter().filter(|c| c.as_ref().unwrap().is_some()).count();
    assert_eq!(winners, 1);
    store.close().await.unwrap();
}
