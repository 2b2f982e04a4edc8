//! Who may see and do what, and every bad input refused with a clear error.
mod common;

use std::time::Duration;

use common::*;
use tonic::Code;
use videojobs::proto::v1 as pb;
use videojobs::proto::v1::job_service_client::JobServiceClient;

on_both_backends!(another_users_job_is_not_found_and_its_events_never_reach_them);

async fn another_users_job_is_not_found_and_its_events_never_reach_them(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut alice = server.jobs("alice").await;
    let mut bob = server.jobs("bob").await;
    let mut bobs_stream = bob.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let job = alice.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    let id = job.id.clone();

    assert_eq!(bob.get_job(pb::GetJobRequest { job_id: id.clone() }).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(bob.cancel_job(pb::CancelJobRequest { job_id: id.clone() }).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(
        bob.retry_job(pb::RetryJobRequest { job_id: id.clone(), priority: None }).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(bob.delete_job(pb::DeleteJobRequest { job_id: id.clone() }).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(
        bob.watch_jobs(pb::WatchJobsRequest { job_ids: vec![id.clone()], ..Default::default() })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert!(bob.list_jobs(pb::ListJobsRequest::default()).await.unwrap().into_inner().jobs.is_empty());

    let done = wait_final(&mut alice, &id).await;
    assert_eq!(state(&done), pb::JobState::Completed);
    let mut bob_notes = server.notes("bob").await;
    let note_error = bob_notes.get_note(pb::GetNoteRequest { note_id: done.note_ids[0].clone() }).await.unwrap_err();
    assert_eq!(note_error.code(), Code::NotFound);
    assert!(bob_notes.list_notes(pb::ListNotesRequest::default()).await.unwrap().into_inner().notes.is_empty());

    // Bob's stream saw none of Alice's events: the first thing on it is his own job.
    let own = bob.submit_video(submit("bobsvideo01")).await.unwrap().into_inner();
    let first = tokio::time::timeout(WAIT, bobs_stream.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(first.job_id, own.id);
    assert_eq!(first.sequence, 1);
    server.stop().await;
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let (server, _dir) = TestServer::embedded().with(|c| c.worker.concurrency = 0).start().await;
    let mut anonymous = JobServiceClient::new(server.channel().await);
    let status = anonymous.list_jobs(pb::ListJobsRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let forged = videojobs::auth::Authenticator::new(&videojobs::config::Secret::new("some-other-secret-123"))
        .issue("alice", Duration::from_secs(60))
        .unwrap();
    let mut forger = JobServiceClient::with_interceptor(server.channel().await, Bearer::new(&forged));
    let status = forger.list_jobs(pb::ListJobsRequest::default()).await.unwrap_err();
    assert_eq!((status.code(), status.message()), (Code::Unauthenticated, "token signature is invalid"));

    let mut garbage = JobServiceClient::with_interceptor(server.channel().await, Bearer::new("not.a.jwt"));
    assert_eq!(garbage.list_jobs(pb::ListJobsRequest::default()).await.unwrap_err().code(), Code::Unauthenticated);
    server.stop().await;
}

#[tokio::test]
async fn a_token_that_is_not_valid_yet_is_unauthenticated() {
    let (server, _dir) = TestServer::embedded().with(|c| c.worker.concurrency = 0).start().await;
    let now = jsonwebtoken::get_current_timestamp();
    let signed = |nbf: u64| {
        let claims = serde_json::json!({ "sub": "alice", "iat": now, "exp": now + 7200, "nbf": nbf });
        let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
    };
    let mut early = JobServiceClient::with_interceptor(server.channel().await, Bearer::new(&signed(now + 3600)));
    let status = early.list_jobs(pb::ListJobsRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("not valid yet"), "{status:?}");

    let mut skewed = JobServiceClient::with_interceptor(server.channel().await, Bearer::new(&signed(now + 20)));
    skewed.list_jobs(pb::ListJobsRequest::default()).await.expect("a clock a little ahead is tolerated");
    let mut current = JobServiceClient::with_interceptor(server.channel().await, Bearer::new(&signed(now - 1)));
    current.list_jobs(pb::ListJobsRequest::default()).await.expect("a token valid since a second ago");
    server.stop().await;
}

#[tokio::test]
async fn every_bad_input_is_refused_naming_the_field_and_nothing_is_stored() {
    let (server, _dir) = TestServer::embedded().with(|c| c.worker.concurrency = 0).start().await;
    let mut jobs = server.jobs("alice").await;
    let bad_submissions = [
        ("https://vimeo.com/123", "Physics", 0, "url"),
        ("https://www.youtube.com/playlist?list=PL1", "Physics", 0, "url"),
        ("", "Physics", 0, "url"),
        ("https://youtu.be/dQw4w9WgXcQ", "../x", 0, "subject"),
        ("https://youtu.be/dQw4w9WgXcQ", "-rf", 0, "subject"),
        ("https://youtu.be/dQw4w9WgXcQ", "bell\u{7}", 0, "subject"),
        ("https://youtu.be/dQw4w9WgXcQ", &"x".repeat(101), 0, "subject"),
        ("https://youtu.be/dQw4w9WgXcQ", "Physics", 1000, "priority"),
    ];
    for (url, subject, priority, field) in bad_submissions {
        let request =
            pb::SubmitVideoRequest { url: url.into(), subject: subject.into(), priority, ..Default::default() };
        let status = jobs.submit_video(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{url} {subject}");
        assert!(status.message().starts_with(&format!("{field}:")), "{field}: {}", status.message());
    }
    let oversized =
        pb::SubmitVideoRequest { url: format!("https://youtu.be/{}", "a".repeat(5000)), ..Default::default() };
    assert_eq!(jobs.submit_video(oversized).await.unwrap_err().code(), Code::InvalidArgument);

    let page = jobs.list_jobs(pb::ListJobsRequest { page_size: 5000, ..Default::default() }).await.unwrap_err();
    assert!(page.code() == Code::InvalidArgument && page.message().starts_with("page_size:"), "{page:?}");
    let token = jobs.list_jobs(pb::ListJobsRequest { page_token: "x".into(), ..Default::default() }).await.unwrap_err();
    assert!(token.message().starts_with("page_token:"), "{token:?}");
    let states = jobs.list_jobs(pb::ListJobsRequest { states: vec![42], ..Default::default() }).await.unwrap_err();
    assert!(states.message().starts_with("states:"), "{states:?}");
    for id in ["", "not-an-id", "../../etc/passwd"] {
        let status = jobs.get_job(pb::GetJobRequest { job_id: id.into() }).await.unwrap_err();
        assert!(status.code() == Code::InvalidArgument && status.message().starts_with("job_id:"), "{status:?}");
    }
    let watch =
        jobs.watch_jobs(pb::WatchJobsRequest { job_ids: vec!["nope".into()], ..Default::default() }).await.unwrap_err();
    assert!(watch.message().starts_with("job_ids:"), "{watch:?}");
    let unknown = jobs.get_job(pb::GetJobRequest { job_id: uuid::Uuid::now_v7().to_string() }).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let mut notes = server.notes("alice").await;
    let note = notes.get_note(pb::GetNoteRequest { note_id: "zzz".into() }).await.unwrap_err();
    assert!(note.message().starts_with("note_id:"), "{note:?}");

    assert!(
        jobs.list_jobs(pb::ListJobsRequest::default()).await.unwrap().into_inner().jobs.is_empty(),
        "nothing was stored"
    );
    server.stop().await;
}

#[tokio::test]
async fn list_pages_newest_first_filters_by_state_and_delete_takes_the_notes_along() {
    let (server, _dir) = TestServer::embedded().with(|c| c.worker.concurrency = 0).start().await;
    let mut jobs = server.jobs("alice").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(jobs.submit_video(submit(&format!("listvideo0{n}"))).await.unwrap().into_inner().id);
    }
    let first = jobs.list_jobs(pb::ListJobsRequest { page_size: 2, ..Default::default() }).await.unwrap().into_inner();
    let second = jobs
        .list_jobs(pb::ListJobsRequest {
            page_size: 2,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let third = jobs
        .list_jobs(pb::ListJobsRequest {
            page_size: 2,
            page_token: second.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let listed: Vec<String> =
        [first.jobs, second.jobs, third.jobs.clone()].concat().into_iter().map(|j| j.id).collect();
    assert_eq!(listed, ids.iter().rev().cloned().collect::<Vec<_>>());
    assert_eq!(third.next_page_token, "");

    let cancelled = jobs.cancel_job(pb::CancelJobRequest { job_id: ids[0].clone() }).await.unwrap().into_inner();
    assert_eq!(state(&cancelled), pb::JobState::Cancelled);
    let only = pb::ListJobsRequest { states: vec![pb::JobState::Cancelled as i32], ..Default::default() };
    let filtered = jobs.list_jobs(only).await.unwrap().into_inner();
    assert_eq!(filtered.jobs.iter().map(|j| j.id.clone()).collect::<Vec<_>>(), [ids[0].clone()]);

    let refused = jobs.delete_job(pb::DeleteJobRequest { job_id: ids[1].clone() }).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "a waiting job is cancelled before it is deleted");
    jobs.delete_job(pb::DeleteJobRequest { job_id: ids[0].clone() }).await.unwrap();
    assert_eq!(jobs.get_job(pb::GetJobRequest { job_id: ids[0].clone() }).await.unwrap_err().code(), Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn deleting_a_completed_job_deletes_its_notes() {
    let (server, _dir) = TestServer::embedded().start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    let done = wait_final(&mut jobs, &job.id).await;
    jobs.delete_job(pb::DeleteJobRequest { job_id: job.id.clone() }).await.unwrap();
    let mut notes = server.notes("alice").await;
    for note_id in done.note_ids {
        assert_eq!(notes.get_note(pb::GetNoteRequest { note_id }).await.unwrap_err().code(), Code::NotFound);
    }
    server.stop().await;
}
