//! Duplicate submissions return the existing job, decided by the database's
//! unique indexes, so even concurrent identical requests make one job.
mod common;

use common::*;
use tonic::Code;
use videojobs::proto::v1 as pb;

on_both_backends!(
    twenty_concurrent_identical_submissions_make_one_job,
    an_idempotency_key_returns_the_first_job_even_after_it_finished,
);

async fn twenty_concurrent_identical_submissions_make_one_job(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;
    let client = server.jobs("alice").await;
    let submissions = (0..20).map(|_| {
        let mut client = client.clone();
        tokio::spawn(async move { client.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner().id })
    });
    let ids: std::collections::HashSet<String> =
        futures::future::join_all(submissions).await.into_iter().map(|id| id.unwrap()).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let mut client = client;
    let listed = client.list_jobs(pb::ListJobsRequest::default()).await.unwrap().into_inner().jobs;
    assert_eq!(listed.len(), 1);

    // Once that job has ended, the same video makes a new job; a cancelled
    // job cannot be retried while its video has another job waiting.
    let first = listed[0].id.clone();
    client.cancel_job(pb::CancelJobRequest { job_id: first.clone() }).await.unwrap();
    let second = client.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    assert_ne!(second.id, first);
    let retry = client.retry_job(pb::RetryJobRequest { job_id: first, priority: None }).await.unwrap_err();
    assert_eq!(retry.code(), Code::FailedPrecondition, "{retry:?}");
    assert!(retry.message().contains("another job for this video"), "{retry:?}");
    // Another user's identical submission is theirs alone.
    let mut bob = server.jobs("bob").await;
    assert_ne!(bob.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner().id, second.id);
    server.stop().await;
}

async fn an_idempotency_key_returns_the_first_job_even_after_it_finished(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut client = server.jobs("alice").await;
    let keyed = |video: &str, key: &str| pb::SubmitVideoRequest { idempotency_key: key.into(), ..submit(video) };
    let first = client.submit_video(keyed("dQw4w9WgXcQ", "order-42")).await.unwrap().into_inner();
    let done = wait_final(&mut client, &first.id).await;
    assert_eq!(state(&done), pb::JobState::Completed);
    let again = client.submit_video(keyed("dQw4w9WgXcQ", "order-42")).await.unwrap().into_inner();
    assert_eq!(again.id, first.id);
    assert_eq!(state(&again), pb::JobState::Completed);
    let other_key = client.submit_video(keyed("dQw4w9WgXcQ", "order-43")).await.unwrap().into_inner();
    assert_ne!(other_key.id, first.id, "a different key is a different job");
    let too_long = client.submit_video(keyed("dQw4w9WgXcQ", &"k".repeat(129))).await.unwrap_err();
    assert!(too_long.message().starts_with("idempotency_key:"), "{too_long:?}");
    server.stop().await;
}
