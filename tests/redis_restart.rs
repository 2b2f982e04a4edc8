//! Redis killed and started again empty, with three nodes: one takes
//! submissions and serves watchers, one runs the programs. A submission
//! made while Redis is down is accepted into the database at once and runs
//! once Redis is back; a watcher opened before the outage and one opened
//! after it both see every event of it, in order, with no gap.
mod common;

use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;

/// How long a submission may take while Redis is down.
const ACCEPTED_WITHIN: Duration = Duration::from_secs(3);

/// Reads `stream` until `job_id` is COMPLETED; returns every event read.
async fn until_completed(stream: &mut tonic::Streaming<pb::JobEvent>, job_id: &str) -> Vec<pb::JobEvent> {
    let mut seen = Vec::new();
    let finished = tokio::time::timeout(WAIT, async {
        while let Some(event) = stream.message().await.unwrap() {
            if kind(&event) == pb::JobEventType::Heartbeat {
                continue;
            }
            let done = event.job_id == job_id && state(event.job.as_ref().unwrap()) == pb::JobState::Completed;
            seen.push(event);
            if done {
                return;
            }
        }
    })
    .await;
    let story: Vec<_> = seen.iter().map(|e| (e.sequence, kind(e), e.job_id.clone())).collect();
    assert!(finished.is_ok(), "{job_id} never completed for this watcher; it saw {story:#?}");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_before_and_after_a_redis_restart_miss_nothing_and_a_submission_while_down_runs() {
    let mut redis = PrivateRedis::start().await;
    let backend = Backend::scaled_on(redis.url.clone()).await;
    let (api, _api_dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;
    let (worker, _worker_dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 2).start().await;
    let Backend::Scaled { prefix, .. } = &backend else { unreachable!() };
    let events = videojobs::queue::Keys::new(prefix).events();
    redis.wait_for_subscribers(&events, 2).await;

    let mut jobs = api.jobs("alice").await;
    let mut before = jobs.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let first = jobs.submit_video(submit("beforeAAA01")).await.unwrap().into_inner();
    until_completed(&mut before, &first.id).await;

    redis.kill().await;
    let submitted = tokio::time::timeout(ACCEPTED_WITHIN, jobs.submit_video(submit("whiledown01"))).await;
    let during =
        submitted.expect("accepted without waiting for Redis").expect("accepted into the database").into_inner();
    assert_eq!(state(&during), pb::JobState::Queued);

    redis.start_again().await;
    let request = pb::WatchJobsRequest { job_ids: vec![during.id.clone()], ..Default::default() };
    let mut after = jobs.watch_jobs(request).await.unwrap().into_inner();

    let told_after = until_completed(&mut after, &during.id).await;
    assert_eq!(kind(&told_after[0]), pb::JobEventType::Snapshot);
    let told_before = until_completed(&mut before, &during.id).await;
    // Everything alice's log holds since the first job ended, no gap, in order.
    let sequences: Vec<u64> = told_before.iter().map(|e| e.sequence).collect();
    let first_sequence = sequences[0];
    let expected: Vec<u64> = (first_sequence..first_sequence + sequences.len() as u64).collect();
    assert_eq!(sequences, expected, "the watcher from before the outage saw every event once, in order");
    let story: Vec<_> = told_before.iter().filter(|e| e.job_id == during.id).map(kind).collect();
    assert_eq!(story.first(), Some(&pb::JobEventType::Queued));
    assert!(story.contains(&pb::JobEventType::Processing), "{story:?}");
    assert_eq!(story.last(), Some(&pb::JobEventType::Completed));

    let replay = pb::WatchJobsRequest { after_sequence: Some(0), ..Default::default() };
    let mut replayed = jobs.watch_jobs(replay).await.unwrap().into_inner();
    let logged = until_completed(&mut replayed, &during.id).await;
    let logged_kinds: Vec<_> = logged.iter().filter(|e| e.job_id == during.id).map(kind).collect();
    assert_eq!(story, logged_kinds, "the live story is the log's");
    api.stop().await;
    worker.stop().await;
}
