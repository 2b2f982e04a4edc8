//! Failures in bulk: FAILED jobs grouped by kind and normalised reason, and
//! a bulk retry that takes exactly the matching jobs of the caller (an
//! admin's: anyone's), never another user's.
mod common;

use common::*;
use videojobs::proto::v1 as pb;

on_both_backends!(failures_are_grouped_and_a_retry_by_kind_takes_exactly_the_callers_matching_jobs);

const OFFLINE_GROUP: &str = "could not get transcript: both tor and yt-dlp fallback failed";

async fn failures_are_grouped_and_a_retry_by_kind_takes_exactly_the_callers_matching_jobs(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).with(|c| c.retry.max_attempts = 1).start().await;
    let (mut alice, mut bob) = (server.jobs("alice").await, server.jobs("bob").await);
    let mut failed = Vec::new();
    for video in ["offline0001", "offline0002", "fail0000001"] {
        failed.push(alice.submit_video(submit(video)).await.unwrap().into_inner().id);
    }
    let bobs = bob.submit_video(submit("offline0003")).await.unwrap().into_inner().id;
    for id in &failed {
        assert_eq!(state(&wait_final(&mut alice, id).await), pb::JobState::Failed);
    }
    assert_eq!(state(&wait_final(&mut bob, &bobs).await), pb::JobState::Failed);

    let listed = alice.list_failure_groups(pb::ListFailureGroupsRequest::default()).await.unwrap().into_inner();
    let groups: Vec<_> = listed.groups.iter().map(|g| (g.kind(), g.reason_group.as_str(), g.count)).collect();
    assert_eq!(
        groups,
        [
            (pb::FailureKind::Transient, OFFLINE_GROUP, 2),
            (
                pb::FailureKind::Permanent,
                "could not get transcript: no transcript found (subtitles are disabled for this video)",
                1
            ),
        ],
        "alice's failures only, largest group first"
    );
    let newest = listed.groups[0].newest.as_ref().unwrap();
    assert!(failed[..2].contains(&newest.id), "the example is one of the group's jobs");

    let transient = pb::FailureFilter { kind: pb::FailureKind::Transient as i32, ..Default::default() };
    let request = pb::RetryFailedJobsRequest { filter: Some(transient) };
    let done = alice.retry_failed_jobs(request).await.unwrap().into_inner();
    assert_eq!((done.retried, done.skipped, done.more), (2, 0, false));
    for id in &failed[..2] {
        let again = wait_final(&mut alice, id).await;
        assert_eq!((state(&again), again.attempt), (pb::JobState::Failed, 2), "retried once more");
    }
    let get = |id: &str| pb::GetJobRequest { job_id: id.into() };
    let permanent = alice.get_job(get(&failed[2])).await.unwrap().into_inner();
    assert_eq!((state(&permanent), permanent.attempt), (pb::JobState::Failed, 1), "another kind is left alone");
    let bobs = bob.get_job(get(&bobs)).await.unwrap().into_inner();
    assert_eq!((state(&bobs), bobs.attempt), (pb::JobState::Failed, 1), "another user's job is left alone");

    let by_reason = pb::FailureFilter { reason_group: "no such group".into(), ..Default::default() };
    let none = alice.retry_failed_jobs(pb::RetryFailedJobsRequest { filter: Some(by_reason) }).await.unwrap();
    assert_eq!(none.into_inner().retried, 0);
    let bad = pb::FailureFilter { batch_id: "not-an-id".into(), ..Default::default() };
    let refused = alice.retry_failed_jobs(pb::RetryFailedJobsRequest { filter: Some(bad) }).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    server.stop().await;
}
