//! Outages of the services videojobs depends on, each a server of the test's
//! own: while PostgreSQL is down every call answers UNAVAILABLE at once
//! (never INTERNAL) and health says NOT_SERVING; while Redis is down only its
//! own health entry does; both come back by themselves.
mod common;

use std::time::Duration;

use common::*;
use tokio::time::timeout;
use tonic::Code;
use videojobs::proto::v1 as pb;

const SERVICES: [&str; 3] = ["", "videojobs.v1.JobService", "videojobs.v1.NoteService"];
const POSTGRESQL: &str = "videojobs.dependency.PostgreSQL";
const REDIS: &str = "videojobs.dependency.Redis";
/// How long a call may take to say the database is unavailable.
const FAIL_FAST: Duration = Duration::from_secs(3);
/// How long health may take to follow a dependency going or coming back.
const HEALTH_FOLLOWS: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgresql_is_down_calls_are_unavailable_and_health_is_not_serving() {
    let postgres = PrivatePostgres::start().await;
    let backend = Backend::scaled_at(postgres.url.clone(), redis_url());
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut jobs = server.jobs("alice").await;
    let mut notes = server.notes("alice").await;
    let before = jobs.submit_video(submit("beforedown1")).await.unwrap().into_inner();
    assert_eq!(state(&wait_final(&mut jobs, &before.id).await), pb::JobState::Completed);
    for service in SERVICES.into_iter().chain([POSTGRESQL, REDIS]) {
        assert_eq!(health(&server, service).await, ServingStatus::Serving, "{service:?}");
    }

    postgres.stop_immediately().await;
    let get = timeout(FAIL_FAST, jobs.get_job(pb::GetJobRequest { job_id: before.id.clone() })).await;
    assert_unavailable("GetJob", get);
    assert_unavailable("SubmitVideo", timeout(FAIL_FAST, jobs.submit_video(submit("whiledown01"))).await);
    assert_unavailable("ListJobs", timeout(FAIL_FAST, jobs.list_jobs(pb::ListJobsRequest::default())).await);
    assert_unavailable("ListNotes", timeout(FAIL_FAST, notes.list_notes(pb::ListNotesRequest::default())).await);
    for service in SERVICES.into_iter().chain([POSTGRESQL]) {
        wait_for_health(&server, service, ServingStatus::NotServing, HEALTH_FOLLOWS).await;
    }
    assert_eq!(health(&server, REDIS).await, ServingStatus::Serving, "Redis is still up");
    let (failed, said) = health_command(&server).await;
    assert!(failed, "the node cannot serve without its database:\n{said}");
    assert!(
        said.contains(&format!("{POSTGRESQL:<34}NOT_SERVING")) && said.contains(&format!("{REDIS:<34}SERVING")),
        "{said}"
    );

    postgres.start_again().await;
    for service in SERVICES.into_iter().chain([POSTGRESQL]) {
        wait_for_health(&server, service, ServingStatus::Serving, HEALTH_FOLLOWS).await;
    }
    let after = jobs.submit_video(submit("afterdown01")).await.unwrap().into_inner();
    assert_eq!(state(&wait_final(&mut jobs, &after.id).await), pb::JobState::Completed);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_only_its_health_entry_is_not_serving() {
    let mut redis = PrivateRedis::start().await;
    let backend = Backend::scaled_on(redis.url.clone()).await;
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut jobs = server.jobs("alice").await;
    wait_for_health(&server, REDIS, ServingStatus::Serving, HEALTH_FOLLOWS).await;

    redis.kill().await;
    wait_for_health(&server, REDIS, ServingStatus::NotServing, HEALTH_FOLLOWS).await;
    for service in SERVICES.into_iter().chain([POSTGRESQL]) {
        assert_eq!(health(&server, service).await, ServingStatus::Serving, "{service:?} stays SERVING");
    }
    let (failed, said) = health_command(&server).await;
    assert!(!failed, "Redis down degrades dispatch, not service:\n{said}");
    assert!(
        said.contains(&format!("{REDIS:<34}NOT_SERVING")) && said.contains(&format!("{POSTGRESQL:<34}SERVING")),
        "{said}"
    );
    jobs.list_jobs(pb::ListJobsRequest::default()).await.expect("the database answers without Redis");

    redis.start_again().await;
    wait_for_health(&server, REDIS, ServingStatus::Serving, HEALTH_FOLLOWS).await;
    // Live events reach watchers once the node's subscriber is back.
    let Backend::Scaled { prefix, .. } = &backend else { unreachable!() };
    redis.wait_for_subscribers(&videojobs::queue::Keys::new(prefix).events(), 1).await;
    let job = jobs.submit_video(submit("redisback01")).await.unwrap().into_inner();
    assert_eq!(state(&wait_final(&mut jobs, &job.id).await), pb::JobState::Completed);
    server.stop().await;
}

/// `videojobs health` against `server`: whether it failed, and what it printed.
async fn health_command(server: &TestServer) -> (bool, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_videojobs"))
        .args(["health", "--addr", &format!("http://{}", server.addr)])
        .output()
        .await
        .unwrap();
    (!output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The call ended within [`FAIL_FAST`] with UNAVAILABLE.
fn assert_unavailable<T: std::fmt::Debug>(call: &str, answer: Result<Result<T, tonic::Status>, impl std::fmt::Debug>) {
    let answer = answer.unwrap_or_else(|_| panic!("{call} took longer than {FAIL_FAST:?}"));
    let status = answer.expect_err(call);
    assert_eq!(status.code(), Code::Unavailable, "{call}: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_running_through_a_postgresql_outage_completes_on_its_first_attempt() {
    let postgres = PrivatePostgres::start().await;
    let backend = Backend::scaled_at(postgres.url.clone(), redis_url());
    let (server, _dir) =
        TestServer::on(&backend).with(|c| set_stage_delay(c, Duration::from_millis(100))).start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("throughdown")).await.unwrap().into_inner();
    wait_until_processing(&mut jobs, &job.id).await;

    // Down for longer than the lease (2 s): the program ends meanwhile, its
    // lease cannot be renewed and its end cannot be stored.
    postgres.stop_immediately().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    postgres.start_again().await;

    let done = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{done:?}");
    assert_eq!(done.attempt, 1, "the outage spent no attempt");
    assert!(!done.note_ids.is_empty());
    server.stop().await;
}
