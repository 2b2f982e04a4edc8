//! A token with the admin role sees and manages every user's jobs, batches,
//! notes, events and stats; an ordinary token still sees only its own.
mod common;

use std::time::Duration;

use common::*;
use videojobs::auth::Authenticator;
use videojobs::config::Secret;
use videojobs::proto::v1 as pb;
use videojobs::proto::v1::job_service_client::JobServiceClient;

#[tokio::test]
async fn an_admin_sees_and_manages_every_users_jobs_and_events() {
    let (server, _dir) = TestServer::embedded().start().await;
    let admin_token = Authenticator::new(&Secret::new(SECRET)).issue_admin("ops", Duration::from_secs(600)).unwrap();
    let mut admin = JobServiceClient::with_interceptor(server.channel().await, Bearer::new(&admin_token));
    let mut everything = admin.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();

    let mut alice = server.jobs("alice").await;
    let mut bob = server.jobs("bob").await;
    let bobs = bob.submit_video(submit("hang0000001")).await.unwrap().into_inner();
    let alices = alice.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();

    let done = events_until_final(&mut everything, &alices.id).await;
    assert!(done.iter().any(|e| e.job_id == bobs.id), "the admin's stream carries bob's events too");
    assert_eq!(
        admin.get_job(pb::GetJobRequest { job_id: alices.id.clone() }).await.unwrap().into_inner().id,
        alices.id
    );
    let listed = admin.list_jobs(pb::ListJobsRequest::default()).await.unwrap().into_inner().jobs;
    assert_eq!(listed.len(), 2);
    let cancelled = admin.cancel_job(pb::CancelJobRequest { job_id: bobs.id.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&cancelled), pb::JobState::Cancelled);
    let stats = admin.get_job_stats(pb::GetJobStatsRequest {}).await.unwrap().into_inner();
    assert_eq!((stats.completed, stats.cancelled), (1, 1));
    let resume =
        admin.watch_jobs(pb::WatchJobsRequest { after_sequence: Some(0), ..Default::default() }).await.unwrap_err();
    assert!(resume.message().starts_with("after_sequence:"), "{resume:?}");

    // Ordinary tokens are unchanged: bob still cannot see alice's job.
    let hidden = bob.get_job(pb::GetJobRequest { job_id: alices.id }).await.unwrap_err();
    assert_eq!(hidden.code(), tonic::Code::NotFound);
    assert_eq!(bob.get_job_stats(pb::GetJobStatsRequest {}).await.unwrap().into_inner().completed, 0);
    server.stop().await;
}
