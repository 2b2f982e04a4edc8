//! Leases and fencing through the core, on SQLite and on PostgreSQL: a claim
//! gives an attempt number that fences every later write; a lease that is not
//! renewed expires and the job goes back to the queue; a superseded attempt
//! can neither report progress, nor complete, nor store notes.
mod common;

use std::time::Duration;

use common::*;
use videojobs::domain::job::NewJob;
use videojobs::domain::{JobEventKind, JobState, NewNote, NoteKind, Outcome, Scope, StageUpdate};
use videojobs::jobs::Lease;

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
        not_before: None,
    }
}

fn notes() -> Outcome {
    Outcome::Succeeded(vec![NewNote { kind: NoteKind::Notes, title: "Lecture".into(), markdown: "# Lecture\n".into() }])
}

on_both_backends!(
    an_expired_lease_is_reaped_and_the_old_attempt_is_fenced_out,
    a_job_is_claimed_by_one_of_many_concurrent_workers
);

async fn an_expired_lease_is_reaped_and_the_old_attempt_is_fenced_out(backend: Backend) {
    let core = TestCore::start(&backend, 100, Duration::from_millis(300)).await;
    let alice = Scope::Own("alice".into());
    let (job, _) = core.jobs.submit(new_job()).await.unwrap();
    let first = core.jobs.claim(job.id, &core.node).await.unwrap().expect("claimed");
    assert_eq!((first.job.state, first.job.attempt), (JobState::Processing, 1));
    assert_eq!(core.jobs.renew_lease(&first.job).await.unwrap(), Lease::Held);
    assert_eq!(core.jobs.reap().await.unwrap(), 0, "a renewed lease is not reaped");

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(core.jobs.reap().await.unwrap(), 1);
    assert_eq!(core.jobs.job(&alice, job.id).await.unwrap().state, JobState::Queued);
    assert_eq!(core.jobs.renew_lease(&first.job).await.unwrap(), Lease::Lost, "the old attempt lost its lease");

    let second = core.jobs.claim(job.id, &core.node).await.unwrap().expect("claimed again");
    assert_eq!(second.job.attempt, 2);
    let stale = vec![StageUpdate { stage: "stale".into(), percent: 50 }];
    core.jobs.record_progress(&first.job, stale).await.unwrap();
    core.jobs.finish(&first, &notes(), "", &Default::default(), &Default::default()).await.unwrap();
    let stored = core.jobs.job(&alice, job.id).await.unwrap();
    assert_eq!(
        (stored.state, stored.attempt, stored.note_ids.len()),
        (JobState::Processing, 2, 0),
        "stale completion is refused"
    );

    core.jobs.finish(&second, &notes(), "", &Default::default(), &Default::default()).await.unwrap();
    let stored = core.jobs.job(&alice, job.id).await.unwrap();
    assert_eq!((stored.state, stored.note_ids.len()), (JobState::Completed, 1));
    let story: Vec<_> = core
        .jobs
        .event_log()
        .events_after(&"alice".to_string(), 0, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|event| (event.kind, event.job.attempt))
        .collect();
    use JobEventKind::*;
    assert_eq!(story, [(Queued, 0), (Processing, 1), (Queued, 1), (Processing, 2), (Completed, 2)]);
    core.stop().await;
}

async fn a_job_is_claimed_by_one_of_many_concurrent_workers(backend: Backend) {
    let core = TestCore::start(&backend, 100, Duration::from_secs(30)).await;
    let (job, _) = core.jobs.submit(new_job()).await.unwrap();
    let claims = (0..8).map(|_| {
        let (jobs, node) = (core.jobs.clone(), core.node.clone());
        tokio::spawn(async move { jobs.claim(job.id, &node).await.unwrap().map(|claimed| claimed.job.attempt) })
    });
    let winners: Vec<u32> = futures::future::join_all(claims).await.into_iter().filter_map(|c| c.unwrap()).collect();
    assert_eq!(winners, [1]);
    core.stop().await;
}
