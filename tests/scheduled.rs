//! Scheduled runs: `not_before` on SubmitVideo and SubmitBatch. A scheduled
//! job waits QUEUED, says until when, and starts no earlier — also after a
//! restart; a time in the past means now; a time beyond the horizon or not
//! a time at all is refused, naming the field.
mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use videojobs::proto::v1 as pb;

on_both_backends!(
    a_scheduled_job_waits_queued_saying_until_when_and_starts_no_earlier,
    every_job_of_a_scheduled_batch_starts_no_earlier,
    a_scheduled_job_keeps_its_time_across_a_restart,
    the_past_means_now_and_beyond_the_horizon_is_refused,
);

fn wire(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: at.timestamp(), nanos: 0 }
}

fn time(at: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    let at = at.as_ref().expect("a time");
    DateTime::from_timestamp(at.seconds, at.nanos as u32).unwrap()
}

/// Whole seconds from now, so the times compare exactly after the trip.
fn seconds_from_now(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp() + seconds, 0).unwrap()
}

async fn a_scheduled_job_waits_queued_saying_until_when_and_starts_no_earlier(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut jobs = server.jobs("alice").await;
    let at = seconds_from_now(3);
    let request = pb::SubmitVideoRequest { not_before: Some(wire(at)), ..submit("sched000001") };
    let job = jobs.submit_video(request).await.unwrap().into_inner();
    assert_eq!(state(&job), pb::JobState::Queued);
    assert_eq!(time(&job.not_before), at);
    assert!(job.stage.starts_with("scheduled: starts not before "), "{}", job.stage);
    let got = jobs.get_job(pb::GetJobRequest { job_id: job.id.clone() }).await.unwrap().into_inner();
    assert_eq!(time(&got.not_before), at, "GetJob says when too");

    let done = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{}", done.error);
    assert!(time(&done.started_at) >= at, "started {:?}, not before {at}", done.started_at);
    assert_eq!(done.not_before, None, "a job that ran waits for nothing");
    server.stop().await;
}

async fn every_job_of_a_scheduled_batch_starts_no_earlier(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut jobs = server.jobs("alice").await;
    let at = seconds_from_now(3);
    let request = pb::SubmitBatchRequest {
        urls: vec![url("schedb00001"), url("schedb00002"), url("schedb00003")],
        not_before: Some(wire(at)),
        ..Default::default()
    };
    let batch = jobs.submit_batch(request).await.unwrap().into_inner();
    let listed = jobs.list_jobs(pb::ListJobsRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.jobs.len(), 3);
    if Utc::now() < at {
        assert!(listed.jobs.iter().all(|job| job.not_before.is_some() && state(job) == pb::JobState::Queued));
    }
    for item in &batch.items {
        let done = wait_final(&mut jobs, &item.job_id).await;
        assert_eq!(state(&done), pb::JobState::Completed, "{}", done.error);
        assert!(time(&done.started_at) >= at, "started {:?}, not before {at}", done.started_at);
    }
    server.stop().await;
}

async fn a_scheduled_job_keeps_its_time_across_a_restart(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::on(&backend).start_in(dir.path()).await;
    let mut jobs = server.jobs("alice").await;
    let at = seconds_from_now(4);
    let request = pb::SubmitVideoRequest { not_before: Some(wire(at)), ..submit("sched000002") };
    let job = jobs.submit_video(request).await.unwrap().into_inner();
    server.stop().await;

    let server = TestServer::on(&backend).start_in(dir.path()).await;
    let mut jobs = server.jobs("alice").await;
    let waiting = jobs.get_job(pb::GetJobRequest { job_id: job.id.clone() }).await.unwrap().into_inner();
    if state(&waiting) == pb::JobState::Queued && Utc::now() < at {
        assert_eq!(time(&waiting.not_before), at, "the restarted node knows the time");
    }
    let done = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{}", done.error);
    assert!(time(&done.started_at) >= at, "started {:?}, not before {at}", done.started_at);
    server.stop().await;
}

async fn the_past_means_now_and_beyond_the_horizon_is_refused(backend: Backend) {
    let (server, _dir) =
        TestServer::on(&backend).with(|c| c.queue.max_schedule_ahead = Duration::from_secs(24 * 60 * 60)).start().await;
    let mut jobs = server.jobs("alice").await;
    let past = pb::SubmitVideoRequest { not_before: Some(wire(seconds_from_now(-3600))), ..submit("sched000003") };
    let job = jobs.submit_video(past).await.unwrap().into_inner();
    assert_eq!(job.not_before, None, "the past means now");
    assert!(job.stage.is_empty(), "{}", job.stage);
    assert_eq!(state(&wait_final(&mut jobs, &job.id).await), pb::JobState::Completed);

    let too_far =
        pb::SubmitVideoRequest { not_before: Some(wire(seconds_from_now(2 * 86_400))), ..submit("sched000004") };
    let refused = jobs.submit_video(too_far).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("not_before") && refused.message().contains("at most 1 days ahead"),
        "{}",
        refused.message()
    );

    let garbage = pb::SubmitVideoRequest {
        not_before: Some(prost_types::Timestamp { seconds: 0, nanos: -5 }),
        ..submit("sched000005")
    };
    let refused = jobs.submit_video(garbage).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("not_before"), "{}", refused.message());

    let batch = pb::SubmitBatchRequest {
        urls: vec![url("sched000006")],
        not_before: Some(wire(seconds_from_now(3 * 86_400))),
        ..Default::default()
    };
    let refused = jobs.submit_batch(batch).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("not_before"), "{}", refused.message());
    let listed = jobs.list_jobs(pb::ListJobsRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.jobs.len(), 1, "nothing refused was stored");
    server.stop().await;
}
