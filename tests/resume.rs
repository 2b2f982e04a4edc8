//! Lossless, resumable watches: every event is in a durable per-user log, a
//! watcher that reconnects with its last sequence gets exactly what it
//! missed (also from a restarted node), a slow watcher is caught up from the
//! log instead of losing events, a trimmed sequence answers OUT_OF_RANGE, and
//! idle streams get heartbeats.
mod common;

use std::time::Duration;

use common::*;
use tonic::Code;
use videojobs::proto::v1 as pb;

fn summary(events: &[pb::JobEvent]) -> Vec<(u64, pb::JobEventType, String)> {
    events.iter().map(|e| (e.sequence, kind(e), e.job.as_ref().map(|j| j.stage.clone()).unwrap_or_default())).collect()
}

fn resume_from(after: u64) -> pb::WatchJobsRequest {
    pb::WatchJobsRequest { after_sequence: Some(after), ..Default::default() }
}

on_both_backends!(
    a_watcher_that_reconnects_with_its_last_sequence_gets_exactly_what_it_missed,
    a_slow_watcher_still_gets_every_event_in_order,
);

async fn a_watcher_that_reconnects_with_its_last_sequence_gets_exactly_what_it_missed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::on(&backend).start_in(dir.path()).await;
    // Scaled out, the watcher is on an API-only node and the job runs on the first.
    let watcher_node = match backend.is_scaled() {
        true => Some(TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await),
        false => None,
    };
    let watched = watcher_node.as_ref().map_or(&server, |(node, _)| node);
    let mut jobs = server.jobs("alice").await;
    let mut watcher = watched.jobs("alice").await;
    let mut steady = watcher.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let mut flaky = watcher.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let job = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();

    let mut seen = vec![flaky.message().await.unwrap().unwrap(), flaky.message().await.unwrap().unwrap()];
    drop(flaky); // disconnected mid-job
    let reference = events_until_final(&mut steady, &job.id).await;
    let mut resumed = watcher.watch_jobs(resume_from(seen[1].sequence)).await.unwrap().into_inner();
    seen.extend(events_until_final(&mut resumed, &job.id).await);
    if let Some((node, _dir)) = watcher_node {
        node.stop().await;
    }
    assert_eq!(summary(&seen), summary(&reference), "no gap, no duplicate at the seam");
    assert!(reference.len() >= 7, "{:?}", summary(&reference));

    // A node restarted from the same state replays the whole log.
    server.stop().await;
    let server = TestServer::on(&backend).start_in(dir.path()).await;
    let mut jobs = server.jobs("alice").await;
    let mut replay = jobs.watch_jobs(resume_from(0)).await.unwrap().into_inner();
    let replayed = events_until_final(&mut replay, &job.id).await;
    assert_eq!(summary(&replayed), summary(&reference));
    server.stop().await;
}

async fn a_slow_watcher_still_gets_every_event_in_order(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend)
        .with(|c| {
            c.watch.buffer = 16;
            c.worker.concurrency = 3;
        })
        .start()
        .await;
    let mut jobs = server.jobs("alice").await;
    let mut slow = jobs.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(jobs.submit_video(submit(&format!("slowwatch{n:02}"))).await.unwrap().into_inner().id);
    }
    for id in &ids {
        assert_eq!(state(&wait_final(&mut jobs, id).await), pb::JobState::Completed);
    }
    // Only now does the slow watcher read: far more events than its buffers hold.
    let mut events = Vec::new();
    let mut completed = std::collections::HashSet::new();
    while completed.len() < ids.len() {
        let event = tokio::time::timeout(WAIT, slow.message()).await.unwrap().unwrap().unwrap();
        if kind(&event) == pb::JobEventType::Completed {
            completed.insert(event.job_id.clone());
        }
        events.push(event);
    }
    assert!(events.len() > 16 + 64, "the test outran the buffers: {} events", events.len());
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=events.len() as u64).collect::<Vec<_>>(), "every event, in order");
    server.stop().await;
}

#[tokio::test]
async fn a_sequence_trimmed_from_the_log_is_out_of_range_and_one_ahead_is_invalid() {
    let (server, _dir) = TestServer::embedded()
        .with(|c| {
            c.maintenance.event_retention = Duration::ZERO;
            c.maintenance.reconcile_interval = Duration::from_millis(100);
        })
        .start()
        .await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    let done = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed);
    let status = tokio::time::timeout(WAIT, async {
        loop {
            match jobs.watch_jobs(resume_from(0)).await {
                Err(status) => return status,
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await, // not trimmed yet
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(status.message().contains("the oldest available event is"), "{status:?}");
    let ahead = jobs.watch_jobs(resume_from(10_000)).await.unwrap_err();
    assert_eq!(ahead.code(), Code::InvalidArgument);
    assert!(ahead.message().starts_with("after_sequence:"), "{ahead:?}");
    server.stop().await;
}

#[tokio::test]
async fn an_idle_stream_gets_heartbeats_carrying_the_last_sequence() {
    let (server, _dir) = TestServer::embedded().with(|c| c.watch.keepalive = Duration::from_millis(100)).start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    let done = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed);
    let mut stream = jobs.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let beat = tokio::time::timeout(Duration::from_secs(5), stream.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(kind(&beat), pb::JobEventType::Heartbeat);
    assert!(beat.sequence >= 7, "the last logged sequence: {}", beat.sequence);
    assert!(beat.job.is_none());
    server.stop().await;
}
