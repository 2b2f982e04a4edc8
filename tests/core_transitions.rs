//! The core's transitions on their own (no server), on SQLite and on
//! PostgreSQL: what the copies that each did their own chain used to get
//! wrong.
mod common;

use std::time::Duration;

use common::*;
use sea_orm::EntityTrait;
use videojobs::domain::job::NewJob;
use videojobs::domain::{AttemptOutcome, JobEventKind, JobState, Outcome, Scope};
use videojobs::jobs::Lease;
use videojobs::queue::JobQueue;
use videojobs::store::entity::job;

fn new_job(video: &str) -> NewJob {
    NewJob {
        user_id: "alice".into(),
        url: format!("https://www.youtube.com/watch?v={video}"),
        video_id: video.into(),
        subject: String::new(),
        assessments: true,
        priority: 0,
        max_attempts: 3,
        idempotency_key: None,
        batch_id: None,
        not_before: None,
    }
}

on_both_backends!(
    one_push_the_full_queue_refuses_during_a_reap_stops_none_of_the_others,
    a_cancelled_batch_child_keeps_a_lease_only_while_its_program_is_stopped
);

async fn one_push_the_full_queue_refuses_during_a_reap_stops_none_of_the_others(backend: Backend) {
    let core = TestCore::start(&backend, 3, Duration::from_millis(200)).await;
    let alice = Scope::Own("alice".into());
    let mut claimed = Vec::new();
    for video in ["reapedAAA01", "reapedBBB01", "reapedCCC01"] {
        let (job, _) = core.jobs.submit(new_job(video)).await.unwrap();
        assert_eq!(core.jobs.next().await, job.id);
        claimed.push(core.jobs.claim(job.id, &core.node).await.unwrap().expect("claimed"));
    }
    // Their node "dies": nobody renews the leases. Meanwhile two more jobs
    // leave room in the queue for one of the three.
    drop(claimed);
    for video in ["waitingDD01", "waitingEE01"] {
        core.jobs.submit(new_job(video)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(core.jobs.reap().await.unwrap(), 3, "all three are handed back");
    let log = core.jobs.event_log().events_after(&"alice".to_string(), 0, None, 100).await.unwrap();
    let page = core
        .jobs
        .jobs(&alice, &Default::default(), videojobs::domain::page::PageRequest::parse(50, "").unwrap())
        .await
        .unwrap();
    for reaped in page.iter().filter(|job| job.video_id.starts_with("reaped")) {
        assert_eq!(reaped.state, JobState::Queued);
        let story: Vec<_> = log.iter().filter(|e| e.job.id == reaped.id).map(|e| e.kind).collect();
        assert_eq!(
            story,
            [JobEventKind::Queued, JobEventKind::Processing, JobEventKind::Queued],
            "{}",
            reaped.video_id
        );
    }
    // The one the queue refused is put back once there is room.
    while core.queue.waiting().await.unwrap() > 0 {
        core.jobs.next().await;
    }
    core.jobs.reconcile().await.unwrap();
    assert_eq!(core.queue.waiting().await.unwrap(), 3, "the reconciler fills the queue with waiting jobs");
    core.stop().await;
}

/// A batch cancel ends every child at once; the running child keeps its
/// lease only while its program is being stopped (so its attempt's watchers
/// wait for what the program prints meanwhile), and its attempt's end,
/// recorded CANCELLED, clears it.
async fn a_cancelled_batch_child_keeps_a_lease_only_while_its_program_is_stopped(backend: Backend) {
    let core = TestCore::start(&backend, 100, Duration::from_secs(30)).await;
    let alice = Scope::Own("alice".into());
    let children = vec![new_job("childAAAA01"), new_job("childBBBB01")];
    let (batch, jobs) = core.jobs.submit_batch("alice".into(), String::new(), children).await.unwrap();
    let running = core.jobs.claim(jobs[0].id, &core.node).await.unwrap().expect("claimed");
    assert!(!running.stop.is_cancelled());

    let cancelled = core.jobs.cancel_batch(&alice, batch.id).await.unwrap();
    assert_eq!(cancelled.counts.cancelled, 2);
    assert!(running.stop.is_cancelled(), "the running child's program is stopped");
    let db = sea_orm::Database::connect(core.database_url.as_str()).await.unwrap();
    let row = |id| {
        let db = &db;
        async move { job::Entity::find_by_id(id).one(db).await.unwrap().unwrap() }
    };
    for child in &jobs {
        let row = row(child.id).await;
        assert_eq!(row.state, "cancelled");
        assert_eq!(row.lease_until.is_some(), child.id == running.job.id, "only the running child keeps its lease");
        assert_eq!(row.run_after, None);
        assert!(row.finished_at.is_some());
    }
    assert!(!core.jobs.attempt_ended(&alice, running.job.id, 1).await.unwrap(), "its program is being stopped");
    assert_eq!(core.jobs.renew_lease(&running.job).await.unwrap(), Lease::Stopping);

    core.jobs.finish(&running, &Outcome::Stopped, "", &Default::default(), &Default::default()).await.unwrap();
    let ended = row(running.job.id).await;
    assert_eq!((ended.state.as_str(), ended.lease_until), ("cancelled", None), "its end clears the lease");
    assert!(core.jobs.attempt_ended(&alice, running.job.id, 1).await.unwrap());
    assert_eq!(core.jobs.renew_lease(&running.job).await.unwrap(), Lease::Lost);
    let (_, attempts) = core.jobs.job_with_attempts(&alice, running.job.id).await.unwrap();
    let kept: Vec<_> = attempts.iter().map(|a| (a.attempt, a.outcome, a.reason.as_str())).collect();
    assert_eq!(kept, [(1, AttemptOutcome::Cancelled, "the batch was cancelled")]);
    db.close().await.unwrap();
    drop(running);
    core.stop().await;
}
