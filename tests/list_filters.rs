//! `ListJobs` filters on the server: by batch and by text in a job's URL,
//! video id, subject, stage or failure reason (ASCII case ignored, LIKE's
//! wildcards taken literally), together with states and paging, and never
//! across users. Bad filters are INVALID_ARGUMENT naming the field.
mod common;

use common::*;
use tonic::Code;
use videojobs::proto::v1 as pb;

on_both_backends!(jobs_are_listed_by_batch_and_by_text_and_only_the_callers);

async fn ids(client: &mut JobsClient, request: pb::ListJobsRequest) -> Vec<String> {
    let mut ids: Vec<String> =
        client.list_jobs(request).await.unwrap().into_inner().jobs.into_iter().map(|j| j.id).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn jobs_are_listed_by_batch_and_by_text_and_only_the_callers(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let (mut alice, mut bob) = (server.jobs("alice").await, server.jobs("bob").await);
    let urls = vec![url("lista000001"), url("lista000002")];
    let request = pb::SubmitBatchRequest { urls, subject: "Physics".into(), ..Default::default() };
    let batch = alice.submit_batch(request).await.unwrap().into_inner();
    let batch_id = batch.batch.unwrap().id;
    let in_batch: Vec<String> = batch.items.iter().map(|item| item.job_id.clone()).collect();
    let request = pb::SubmitVideoRequest { subject: "Organic Chemistry".into(), ..submit("listb000001") };
    let chemistry = alice.submit_video(request).await.unwrap().into_inner().id;
    let failing = alice.submit_video(submit("fail0000042")).await.unwrap().into_inner().id;
    let request = pb::SubmitVideoRequest { subject: "Organic Chemistry".into(), ..submit("listc000001") };
    let bobs = bob.submit_video(request).await.unwrap().into_inner().id;
    for id in in_batch.iter().chain([&chemistry, &failing]) {
        wait_final(&mut alice, id).await;
    }
    wait_final(&mut bob, &bobs).await;

    let by_batch = pb::ListJobsRequest { batch_id: batch_id.clone(), ..Default::default() };
    assert_eq!(ids(&mut alice, by_batch.clone()).await, sorted(in_batch.clone()));
    assert!(ids(&mut bob, by_batch).await.is_empty(), "another user's batch lists nothing");
    let text = |t: &str| pb::ListJobsRequest { text: t.into(), ..Default::default() };
    assert_eq!(ids(&mut alice, text("CHEMISTRY")).await, std::slice::from_ref(&chemistry), "subject, case ignored");
    assert_eq!(ids(&mut bob, text("chemistry")).await, [bobs], "each user sees only their own");
    assert_eq!(ids(&mut alice, text("lista00000")).await, sorted(in_batch.clone()), "by video id");
    let failed = alice.get_job(pb::GetJobRequest { job_id: failing.clone() }).await.unwrap().into_inner();
    let reason_word = failed.error.split_whitespace().max_by_key(|w| w.len()).unwrap().to_string();
    assert_eq!(
        ids(&mut alice, text(&reason_word)).await,
        std::slice::from_ref(&failing),
        "by failure reason {reason_word:?}"
    );
    assert!(ids(&mut alice, text("%")).await.is_empty(), "a wildcard is taken literally");
    assert!(ids(&mut alice, text("lista_00001")).await.is_empty(), "so is an underscore");
    // With a state and paging: one job a page, both pages of the batch.
    let request = pb::ListJobsRequest {
        batch_id: batch_id.clone(),
        states: vec![pb::JobState::Completed as i32],
        page_size: 1,
        ..Default::default()
    };
    let first = alice.list_jobs(request.clone()).await.unwrap().into_inner();
    assert_eq!(first.jobs.len(), 1);
    let request = pb::ListJobsRequest { page_token: first.next_page_token, ..request };
    let second = alice.list_jobs(request).await.unwrap().into_inner();
    assert_eq!(sorted(vec![first.jobs[0].id.clone(), second.jobs[0].id.clone()]), sorted(in_batch));

    for (request, field) in [
        (pb::ListJobsRequest { batch_id: "not-an-id".into(), ..Default::default() }, "batch_id"),
        (text(&"a".repeat(201)), "text"),
    ] {
        let refused = alice.list_jobs(request).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(refused.message().starts_with(field), "{}", refused.message());
    }
    server.stop().await;
}
