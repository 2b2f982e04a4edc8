//! One user's big batch does not hold back another user's single video: the
//! queue takes from the users in turn, so with one worker the single video
//! starts right after the first job of the batch, not after 200 of them.
mod common;

use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;

on_both_backends!(a_single_video_is_not_held_back_by_another_users_batch);

const BATCH: usize = 200;
/// How many of alice's jobs may start before bob's: round-robin gives 1.
const AT_MOST_BEFORE: usize = 9;

fn started(job: &pb::Job) -> (i64, i32) {
    let at = job.started_at.as_ref().unwrap_or_else(|| panic!("job {} has no started_at", job.id));
    (at.seconds, at.nanos)
}

async fn a_single_video_is_not_held_back_by_another_users_batch(backend: Backend) {
    // The steps below have no time limit of their own (a node that never
    // starts serving would hold a call forever).
    tokio::time::timeout(2 * WAIT, run(backend)).await.expect("the test took too long");
}

async fn run(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // Everything waits first, on a node that runs nothing.
    let api = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start_in(dir.path()).await;
    let mut alice = api.jobs("alice").await;
    let urls: Vec<String> = (0..BATCH).map(|n| url(&format!("batch{n:06}"))).collect();
    let batch = pb::SubmitBatchRequest { urls, subject: "Physics".into(), ..Default::default() };
    let submitted = alice.submit_batch(batch).await.unwrap().into_inner();
    assert!(submitted.items.iter().all(|item| item.error.is_empty()), "{:?}", submitted.items);
    let mut bob = api.jobs("bob").await;
    let single = bob.submit_video(submit("bobsvideo01")).await.unwrap().into_inner();
    api.stop().await;

    // One worker over the same database (and, scaled, the same Redis queue).
    let node = TestServer::on(&backend).with(|c| c.worker.concurrency = 1).start_in(dir.path()).await;
    let mut bob = node.jobs("bob").await;
    let done = wait_final(&mut bob, &single.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{done:?}");
    let bob_started = started(&done);

    // Alice's jobs that completed (in the order they started), until one
    // started after bob's or more than AT_MOST_BEFORE did before it.
    let mut alice = node.jobs("alice").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let before = loop {
        let request =
            pb::ListJobsRequest { states: vec![pb::JobState::Completed as i32], page_size: 1000, ..Default::default() };
        let completed = alice.list_jobs(request).await.unwrap().into_inner().jobs;
        let mut starts: Vec<(i64, i32)> = completed.iter().map(started).collect();
        starts.sort();
        let before = starts.iter().filter(|at| **at < bob_started).count();
        if before > AT_MOST_BEFORE || starts.iter().any(|at| *at > bob_started) {
            break before;
        }
        assert!(tokio::time::Instant::now() < deadline, "alice's jobs stopped completing: {}", completed.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(before <= AT_MOST_BEFORE, "{before} of alice's jobs started before bob's single one (round-robin: 1)");
    node.stop().await;
}
