//! Every repeated field and string of a request is bounded: beyond its limit
//! the call is refused at once with INVALID_ARGUMENT naming the field, and a
//! message larger than the server decodes is refused before it is read.
mod common;

use std::time::Duration;

use common::*;
use tokio::time::timeout;
use tonic::Code;
use videojobs::domain::limits::{MAX_ID_LEN, MAX_REQUEST_BYTES, MAX_STATE_FILTERS, MAX_WATCHED_JOB_IDS};
use videojobs::domain::page::MAX_PAGE_TOKEN_LEN;
use videojobs::proto::v1 as pb;

/// How long a refusal may take (a debug build on a busy machine).
const REFUSED_WITHIN: Duration = Duration::from_secs(5);

fn assert_refused(what: &str, status: tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    assert!(status.message().starts_with(&format!("{field}:")), "{what}: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_of_more_job_ids_than_the_limit_is_refused_at_once_and_the_limit_is_served() {
    let (server, _dir) = TestServer::embedded().with(|c| c.worker.concurrency = 0).start().await;
    let mut jobs = server.jobs("alice").await;
    let urls = (0..MAX_WATCHED_JOB_IDS).map(|n| url(&format!("lim{n:08}"))).collect();
    let batch = pb::SubmitBatchRequest { urls, subject: "Physics".into(), ..Default::default() };
    let items = jobs.submit_batch(batch).await.unwrap().into_inner().items;
    let ids: Vec<String> = items.into_iter().map(|item| item.job_id).collect();

    let flood = pb::WatchJobsRequest { job_ids: vec![ids[0].clone(); 100_000], ..Default::default() };
    let refused = timeout(REFUSED_WITHIN, jobs.watch_jobs(flood)).await.expect("refused quickly").unwrap_err();
    assert_refused("100,000 job ids", refused, "job_ids");
    let mut one_too_many = ids.clone();
    one_too_many.push(ids[0].clone());
    let request = pb::WatchJobsRequest { job_ids: one_too_many, ..Default::default() };
    assert_refused("one id too many", jobs.watch_jobs(request).await.unwrap_err(), "job_ids");

    let request = pb::WatchJobsRequest { job_ids: ids.clone(), ..Default::default() };
    let mut stream = jobs.watch_jobs(request).await.expect("the limit itself is allowed").into_inner();
    let mut snapshots = 0;
    timeout(WAIT, async {
        while snapshots < ids.len() {
            let event = stream.message().await.unwrap().expect("stream open");
            if kind(&event) == pb::JobEventType::Snapshot {
                snapshots += 1;
            }
        }
    })
    .await
    .expect("one snapshot per watched job");
    server.stop().await;
}

#[tokio::test]
async fn strings_and_lists_beyond_their_limits_are_refused_naming_the_field() {
    let (server, _dir) = TestServer::embedded().with(|c| c.worker.concurrency = 0).start().await;
    let mut jobs = server.jobs("alice").await;
    let mut notes = server.notes("alice").await;
    let long_id = "a".repeat(MAX_ID_LEN + 1);

    let states = vec![pb::JobState::Queued as i32; MAX_STATE_FILTERS + 1];
    let status = jobs.list_jobs(pb::ListJobsRequest { states, ..Default::default() }).await.unwrap_err();
    assert_refused("states", status, "states");
    let page_token = "a".repeat(MAX_PAGE_TOKEN_LEN + 1);
    let status = jobs.list_jobs(pb::ListJobsRequest { page_token, ..Default::default() }).await.unwrap_err();
    assert_refused("page_token", status, "page_token");
    let status = jobs.get_job(pb::GetJobRequest { job_id: long_id.clone() }).await.unwrap_err();
    assert_refused("job_id", status, "job_id");
    let status = jobs.get_batch(pb::GetBatchRequest { batch_id: long_id.clone() }).await.unwrap_err();
    assert_refused("batch_id", status, "batch_id");
    let watch = pb::WatchJobsRequest { batch_id: long_id.clone(), ..Default::default() };
    assert_refused("watched batch_id", jobs.watch_jobs(watch).await.unwrap_err(), "batch_id");
    let status = notes.get_note(pb::GetNoteRequest { note_id: long_id.clone() }).await.unwrap_err();
    assert_refused("note_id", status, "note_id");
    let status = notes.list_notes(pb::ListNotesRequest { job_id: long_id, ..Default::default() }).await.unwrap_err();
    assert_refused("notes of job_id", status, "job_id");
    let key = "k".repeat(129);
    let status = jobs.submit_video(pb::SubmitVideoRequest { idempotency_key: key, ..submit("dQw4w9WgXcQ") }).await;
    assert_refused("idempotency_key", status.unwrap_err(), "idempotency_key");
    server.stop().await;
}

#[tokio::test]
async fn a_request_larger_than_the_server_decodes_is_refused_saying_so() {
    let (server, _dir) = TestServer::embedded().with(|c| c.worker.concurrency = 0).start().await;
    let mut jobs = server.jobs("alice").await;
    let huge = pb::SubmitVideoRequest { url: "a".repeat(MAX_REQUEST_BYTES + 1), ..Default::default() };
    let status = timeout(REFUSED_WITHIN, jobs.submit_video(huge)).await.expect("refused quickly").unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(status.message().contains(&format!("the limit is: {MAX_REQUEST_BYTES} bytes")), "{status:?}");
    assert!(jobs.list_jobs(pb::ListJobsRequest::default()).await.unwrap().into_inner().jobs.is_empty());
    server.stop().await;
}
