//! The core's transitions on their own (no server), on SQLite and on
//! PostgreSQL: what the copies that each did their own chain used to get
//! wrong.
mod common;

use std::time::Duration;

use common::*;
use sea_orm::EntityTrait;
use videojobs::domain::job::NewJob;
use videojobs::domain::{JobEventKind, JobState, Scope};
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
    a_cancelled_batch_child_keeps_no_lease
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

async fn a_cancelled_batch_child_keeps_no_lease(backend: Backend) {
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
    for child in &jobs {
        let row = job::Entity::find_by_id(child.id).one(&db).await.unwrap().unwrap();
        assert_eq!(row.state, "cancelled");
        assert_eq!((row.lease_until, row.run_after), (None, None), "a cancelled child holds no lease");
        assert!(row.finished_at.is_some());
    }
    db.close().await.unwrap();
    drop(running);
    core.stop().await;
}
