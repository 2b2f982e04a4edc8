//! Pause and resume: a batch, a user's work, everyone's. Paused jobs stay
//! QUEUED, say so (Job.paused, the stage, PAUSED events) and do not start —
//! shown against a job queued after them that does run — on any node and
//! across a restart; resuming lets them run; a resume time ends a pause by
//! itself. Pausing twice answers the same pause; a finished batch is
//! FAILED_PRECONDITION; an unknown or another user's batch NOT_FOUND.
mod common;

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use common::*;
use tonic::Code;
use videojobs::proto::v1 as pb;

on_both_backends!(
    a_paused_batch_waits_while_later_work_runs_and_runs_once_resumed,
    bad_pauses_are_refused_with_the_right_code,
    a_users_paused_work_stays_paused_across_a_restart,
    a_pause_with_a_resume_time_ends_by_itself,
    each_caller_lists_the_pauses_that_hold_their_work,
    a_job_submitted_during_a_pause_never_starts_its_program_until_resumed,
);

type Events = tonic::Streaming<pb::JobEvent>;

fn wire(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: at.timestamp(), nanos: 0 }
}

fn time(at: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    let at = at.as_ref().expect("a time");
    DateTime::from_timestamp(at.seconds, at.nanos as u32).unwrap()
}

async fn watch(client: &mut JobsClient) -> Events {
    client.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner()
}

/// Reads `stream` until `ids` have each had an event of `wanted`; returns
/// every event read.
async fn until_each(stream: &mut Events, ids: &[&str], wanted: pb::JobEventType) -> Vec<pb::JobEvent> {
    let mut missing: HashSet<String> = ids.iter().map(|id| id.to_string()).collect();
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        while !missing.is_empty() {
            let event = stream.message().await.unwrap().expect("the stream goes on");
            if kind(&event) == wanted {
                missing.remove(&event.job_id);
            }
            seen.push(event);
        }
    })
    .await
    .unwrap_or_else(|_| {
        let kinds: Vec<_> = seen.iter().map(|e| (kind(e), e.job_id.clone())).collect();
        panic!("no {wanted:?} for {missing:?}; saw {kinds:#?}")
    });
    seen
}

async fn job(client: &mut JobsClient, id: &str) -> pb::Job {
    client.get_job(pb::GetJobRequest { job_id: id.into() }).await.unwrap().into_inner()
}

/// Lets a `gate…` job of the stand-in run to its end.
fn open_gate(data_dir: &Path, video_id: &str) {
    for what in ["open", "finish"] {
        std::fs::write(data_dir.join("scratch").join(format!("{video_id}.{what}")), b"").unwrap();
    }
}

fn pause_batch(batch_id: &str, reason: &str) -> pb::PauseJobsRequest {
    pb::PauseJobsRequest { batch_id: batch_id.into(), reason: reason.into(), ..Default::default() }
}

async fn a_paused_batch_waits_while_later_work_runs_and_runs_once_resumed(backend: Backend) {
    // One worker, held by a job that waits for its gate: what is queued
    // behind it cannot start before the test says.
    let (server, _dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 1).start().await;
    let mut alice = server.jobs("alice").await;
    let mut events = watch(&mut alice).await;
    let gate = alice.submit_video(submit("gatepause01")).await.unwrap().into_inner();
    wait_until_processing(&mut alice, &gate.id).await;

    let urls = vec![url("pausebat001"), url("pausebat002"), url("pausebat003")];
    let batch = alice.submit_batch(pb::SubmitBatchRequest { urls, ..Default::default() }).await.unwrap().into_inner();
    let children: Vec<&str> = batch.items.iter().map(|item| item.job_id.as_str()).collect();
    let paused = alice.pause_jobs(pause_batch(&batch.batch.as_ref().unwrap().id, "hold on")).await.unwrap();
    let paused = paused.into_inner();
    assert!(paused.paused && paused.reason == "hold on" && paused.paused_by == "alice", "{paused:?}");
    assert_eq!(paused.user_id, "alice", "a batch's pause names its owner");
    until_each(&mut events, &children, pb::JobEventType::Paused).await;
    let shown = job(&mut alice, children[0]).await;
    assert_eq!(state(&shown), pb::JobState::Queued);
    assert_eq!(shown.paused.as_ref().map(|p| p.reason.as_str()), Some("hold on"), "{shown:?}");
    assert_eq!(shown.stage, "paused: hold on");

    let again = alice.pause_jobs(pause_batch(&paused.batch_id, "another reason")).await.unwrap().into_inner();
    assert_eq!(again, paused, "pausing twice answers the same pause");

    // Queued after the batch, so it would run after its children: it
    // completing while they still wait shows they were held back.
    let control = alice.submit_video(submit("pausectl001")).await.unwrap().into_inner();
    open_gate(&server.data_dir, "gatepause01");
    let seen = until_each(&mut events, &[&control.id], pb::JobEventType::Completed).await;
    assert!(
        !seen.iter().any(|e| children.contains(&e.job_id.as_str()) && kind(e) == pb::JobEventType::Processing),
        "a paused job started"
    );
    for child in &children {
        let waiting = job(&mut alice, child).await;
        assert_eq!((state(&waiting), waiting.attempt), (pb::JobState::Queued, 0), "{waiting:?}");
    }

    let resumed = alice
        .resume_jobs(pb::ResumeJobsRequest { batch_id: paused.batch_id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(!resumed.paused && resumed.batch_id == paused.batch_id, "{resumed:?}");
    let seen = until_each(&mut events, &children, pb::JobEventType::Completed).await;
    for child in &children {
        let resumed_event = seen.iter().find(|e| e.job_id == *child && kind(e) == pb::JobEventType::Resumed);
        let resumed_job = resumed_event.and_then(|e| e.job.clone()).expect("a RESUMED event");
        assert!(resumed_job.paused.is_none() && !resumed_job.stage.starts_with("paused"), "{resumed_job:?}");
    }
    let done = job(&mut alice, children[2]).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{}", done.error);

    let ended = alice.pause_jobs(pause_batch(&paused.batch_id, "")).await.unwrap_err();
    assert_eq!(ended.code(), Code::FailedPrecondition, "{ended:?}");
    server.stop().await;
}

async fn bad_pauses_are_refused_with_the_right_code(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;
    let mut alice = server.jobs("alice").await;
    let mut bob = server.jobs("bob").await;
    let batch = alice
        .submit_batch(pb::SubmitBatchRequest { urls: vec![url("pausebad001")], ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let batch_id = batch.batch.unwrap().id;

    let unknown = uuid::Uuid::now_v7().to_string();
    let refused = alice.pause_jobs(pause_batch(&unknown, "")).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    let refused = bob.pause_jobs(pause_batch(&batch_id, "")).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "another user's batch is not found: {refused:?}");
    let resume_alices = pb::ResumeJobsRequest { batch_id: batch_id.clone(), ..Default::default() };
    let refused = bob.resume_jobs(resume_alices.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    let refused =
        alice.resume_jobs(pb::ResumeJobsRequest { batch_id: unknown, ..Default::default() }).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");

    let everyone = pb::PauseJobsRequest { everything: true, ..Default::default() };
    assert_eq!(bob.pause_jobs(everyone.clone()).await.unwrap_err().code(), Code::PermissionDenied);
    let alices_work = pb::PauseJobsRequest { user_id: "alice".into(), ..Default::default() };
    assert_eq!(bob.pause_jobs(alices_work).await.unwrap_err().code(), Code::PermissionDenied);

    let long = pb::PauseJobsRequest { reason: "x".repeat(501), ..Default::default() };
    let refused = alice.pause_jobs(long).await.unwrap_err();
    assert!(refused.code() == Code::InvalidArgument && refused.message().contains("reason"), "{refused:?}");
    let past =
        pb::PauseJobsRequest { resume_at: Some(wire(Utc::now() - chrono::Duration::hours(1))), ..Default::default() };
    let refused = alice.pause_jobs(past).await.unwrap_err();
    assert!(refused.code() == Code::InvalidArgument && refused.message().contains("resume_at"), "{refused:?}");
    let far =
        pb::PauseJobsRequest { resume_at: Some(wire(Utc::now() + chrono::Duration::days(365))), ..Default::default() };
    let refused = alice.pause_jobs(far).await.unwrap_err();
    assert!(refused.code() == Code::InvalidArgument && refused.message().contains("resume_at"), "{refused:?}");
    let two = pb::PauseJobsRequest { batch_id: batch_id.clone(), everything: true, ..Default::default() };
    assert_eq!(alice.pause_jobs(two).await.unwrap_err().code(), Code::InvalidArgument);

    // Resuming what is not paused is harmless; nothing was paused above.
    let resumed = alice.resume_jobs(resume_alices).await.unwrap().into_inner();
    assert!(!resumed.paused && resumed.batch_id == batch_id, "{resumed:?}");
    let mut admin = server.admin().await;
    assert!(
        !admin
            .resume_jobs(pb::ResumeJobsRequest { everything: true, ..Default::default() })
            .await
            .unwrap()
            .into_inner()
            .paused
    );
    server.stop().await;
}

async fn a_users_paused_work_stays_paused_across_a_restart(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let one_worker = |c: &mut videojobs::config::ServeConfig| c.worker.concurrency = 1;
    let server = TestServer::on(&backend).with(one_worker).start_in(dir.path()).await;
    let mut admin = server.admin().await;
    let request = pb::PauseJobsRequest { user_id: "alice".into(), reason: "quota".into(), ..Default::default() };
    let paused = admin.pause_jobs(request).await.unwrap().into_inner();
    assert!(paused.paused && paused.user_id == "alice" && paused.paused_by == "ops", "{paused:?}");
    let mut alice = server.jobs("alice").await;
    let mut events = watch(&mut alice).await;
    let held = alice.submit_video(submit("pauseusr001")).await.unwrap().into_inner();
    // Submitted during the pause: the worker that reaches it is refused.
    until_each(&mut events, &[&held.id], pb::JobEventType::Paused).await;
    server.stop().await;

    let server = TestServer::on(&backend).with(one_worker).start_in(dir.path()).await;
    let mut alice = server.jobs("alice").await;
    let shown = job(&mut alice, &held.id).await;
    assert_eq!(shown.paused.as_ref().map(|p| p.reason.as_str()), Some("quota"), "{shown:?}");
    // Bob's job, queued after alice's, runs on the restarted node; hers
    // still waits.
    let mut bob = server.jobs("bob").await;
    let control = bob.submit_video(submit("pausectl002")).await.unwrap().into_inner();
    assert_eq!(state(&wait_final(&mut bob, &control.id).await), pb::JobState::Completed);
    let waiting = job(&mut alice, &held.id).await;
    assert_eq!((state(&waiting), waiting.attempt), (pb::JobState::Queued, 0), "{waiting:?}");

    let mut admin = server.admin().await;
    let resumed = admin.resume_jobs(pb::ResumeJobsRequest { user_id: "alice".into(), ..Default::default() }).await;
    assert!(!resumed.unwrap().into_inner().paused);
    let done = wait_final(&mut alice, &held.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{}", done.error);
    assert!(done.paused.is_none());
    server.stop().await;
}

async fn a_pause_with_a_resume_time_ends_by_itself(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut alice = server.jobs("alice").await;
    let mut events = watch(&mut alice).await;
    let at = DateTime::from_timestamp(Utc::now().timestamp() + 3, 0).unwrap();
    let request = pb::PauseJobsRequest { reason: "quiet hour".into(), resume_at: Some(wire(at)), ..Default::default() };
    let paused = alice.pause_jobs(request).await.unwrap().into_inner();
    assert_eq!(time(&paused.resume_at), at);
    let held = alice.submit_video(submit("pauseauto01")).await.unwrap().into_inner();
    let seen = until_each(&mut events, &[&held.id], pb::JobEventType::Completed).await;
    let kinds: Vec<_> = seen.iter().filter(|e| e.job_id == held.id).map(kind).collect();
    let paused_at = kinds.iter().position(|k| *k == pb::JobEventType::Paused).expect("a PAUSED event");
    let started_at = kinds.iter().position(|k| *k == pb::JobEventType::Processing).expect("a PROCESSING event");
    assert!(paused_at < started_at, "{kinds:?}");
    let paused_job = seen[seen.iter().position(|e| kind(e) == pb::JobEventType::Paused).unwrap()].job.clone().unwrap();
    assert!(paused_job.stage.starts_with("paused: quiet hour (resumes at "), "{}", paused_job.stage);
    let done = job(&mut alice, &held.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{}", done.error);
    assert!(time(&done.started_at) >= at, "started {:?} before {at}", done.started_at);
    server.stop().await;
}

/// Two nodes on one PostgreSQL and Redis: an admin pauses everything on
/// one; what is submitted on either is refused by whichever worker reaches
/// it and starts on neither, also once a node restarted; resuming on the
/// other lets it all run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_everything_on_one_node_stops_every_node_until_resumed() {
    let backend = Backend::scaled().await;
    let (first, _first_dir) = TestServer::on(&backend).start().await;
    let second_dir = tempfile::tempdir().unwrap();
    let second = TestServer::on(&backend).start_in(second_dir.path()).await;
    let mut admin = first.admin().await;
    let mut everyone = watch(&mut admin).await;
    let request = pb::PauseJobsRequest { everything: true, reason: "maintenance".into(), ..Default::default() };
    let paused = admin.pause_jobs(request.clone()).await.unwrap().into_inner();
    assert!(paused.paused && paused.everything, "{paused:?}");

    let mut on_first = first.jobs("alice").await;
    let mut on_second = second.jobs("bob").await;
    let mut held = vec![
        on_first.submit_video(submit("pauseall001")).await.unwrap().into_inner().id,
        on_second.submit_video(submit("pauseall002")).await.unwrap().into_inner().id,
        on_second.submit_video(submit("pauseall003")).await.unwrap().into_inner().id,
    ];
    // Each was popped by some node's worker, whose claim was refused.
    let ids: Vec<&str> = held.iter().map(String::as_str).collect();
    let seen = until_each(&mut everyone, &ids, pb::JobEventType::Paused).await;
    assert!(!seen.iter().any(|e| kind(e) == pb::JobEventType::Processing), "nothing started");

    second.stop().await;
    let second = TestServer::on(&backend).start_in(second_dir.path()).await;
    let mut on_second = second.jobs("bob").await;
    held.push(on_second.submit_video(submit("pauseall004")).await.unwrap().into_inner().id);
    let seen = until_each(&mut everyone, &[held[3].as_str()], pb::JobEventType::Paused).await;
    assert!(!seen.iter().any(|e| kind(e) == pb::JobEventType::Processing), "nothing started");
    let shown = job(&mut on_second, &held[1]).await;
    assert_eq!(shown.paused.as_ref().map(|p| p.everything), Some(true), "{shown:?}");
    let again = second.admin().await.pause_jobs(request).await.unwrap().into_inner();
    assert_eq!(again, paused, "the restarted node answers the same pause");
    for id in &held {
        let (client, id) = if id == &held[0] { (&mut on_first, id) } else { (&mut on_second, id) };
        let waiting = job(client, id).await;
        assert_eq!((state(&waiting), waiting.attempt), (pb::JobState::Queued, 0), "{waiting:?}");
    }

    let mut admin_second = second.admin().await;
    let resumed = admin_second.resume_jobs(pb::ResumeJobsRequest { everything: true, ..Default::default() }).await;
    assert!(!resumed.unwrap().into_inner().paused);
    let ids: Vec<&str> = held.iter().map(String::as_str).collect();
    until_each(&mut everyone, &ids, pb::JobEventType::Completed).await;
    first.stop().await;
    second.stop().await;
}

fn pause_of(request: pb::PauseJobsRequest) -> pb::PauseJobsRequest {
    pb::PauseJobsRequest { reason: "listed".into(), ..request }
}

async fn listed(client: &mut JobsClient) -> Vec<(String, String, bool)> {
    let pauses = client.list_pauses(pb::ListPausesRequest {}).await.unwrap().into_inner().pauses;
    assert!(pauses.iter().all(|pause| pause.paused && pause.reason == "listed"), "{pauses:?}");
    pauses.into_iter().map(|pause| (pause.batch_id, pause.user_id, pause.everything)).collect()
}

/// ListPauses: a user sees the pauses that hold their own work (theirs,
/// their batches', everyone's), not another user's; an admin sees all; a
/// resumed pause is gone from the list.
async fn each_caller_lists_the_pauses_that_hold_their_work(backend: Backend) {
    let (node, _dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;
    let (mut alice, mut bob, mut admin) = (node.jobs("alice").await, node.jobs("bob").await, node.admin().await);
    assert!(listed(&mut alice).await.is_empty(), "nothing is paused yet");

    let urls = vec![url("listbatch01"), url("listbatch02")];
    let batch = alice.submit_batch(pb::SubmitBatchRequest { urls, ..Default::default() }).await.unwrap().into_inner();
    let batch_id = batch.batch.unwrap().id;
    alice
        .pause_jobs(pause_of(pb::PauseJobsRequest { batch_id: batch_id.clone(), ..Default::default() }))
        .await
        .unwrap();
    alice.pause_jobs(pause_of(pb::PauseJobsRequest::default())).await.unwrap();
    bob.pause_jobs(pause_of(pb::PauseJobsRequest::default())).await.unwrap();
    admin.pause_jobs(pause_of(pb::PauseJobsRequest { everything: true, ..Default::default() })).await.unwrap();

    let alices = listed(&mut alice).await;
    assert_eq!(alices.len(), 3, "alice's batch, alice's work, everything: {alices:?}");
    assert!(alices.contains(&(batch_id.clone(), "alice".into(), false)), "{alices:?}");
    assert!(alices.contains(&(String::new(), "alice".into(), false)), "{alices:?}");
    assert!(alices.contains(&(String::new(), String::new(), true)), "{alices:?}");
    assert!(alices.iter().all(|(_, user, _)| user != "bob"), "alice does not see bob's pause: {alices:?}");
    let mut bobs = listed(&mut bob).await;
    bobs.sort();
    assert_eq!(bobs, vec![(String::new(), String::new(), true), (String::new(), "bob".into(), false)]);
    assert_eq!(listed(&mut admin).await.len(), 4, "an admin sees every pause");

    alice.resume_jobs(pb::ResumeJobsRequest { batch_id, ..Default::default() }).await.unwrap();
    assert_eq!(listed(&mut alice).await.len(), 2, "the resumed batch's pause is gone");
    node.stop().await;
}

/// How often the stand-in was started for `video_id` on this server.
fn runs_of(server: &TestServer, video_id: &str) -> usize {
    let runs = server.data_dir.join("standin-state").join(format!("{video_id}.runs"));
    std::fs::read_to_string(runs).map_or(0, |runs| runs.lines().count())
}

/// A job that starts waiting while its user's work is paused hears PAUSED
/// when a worker reaches it, and its program is not started (not even to be
/// stopped at once); resumed, it runs once.
async fn a_job_submitted_during_a_pause_never_starts_its_program_until_resumed(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut alice = server.jobs("alice").await;
    let mut events = watch(&mut alice).await;
    alice.pause_jobs(pb::PauseJobsRequest { reason: "later".into(), ..Default::default() }).await.unwrap();
    let held = alice.submit_video(submit("pausedrun01")).await.unwrap().into_inner();
    until_each(&mut events, &[&held.id], pb::JobEventType::Paused).await;
    assert_eq!(runs_of(&server, "pausedrun01"), 0, "the program of a paused job was started");

    alice.resume_jobs(pb::ResumeJobsRequest::default()).await.unwrap();
    until_each(&mut events, &[&held.id], pb::JobEventType::Completed).await;
    assert_eq!(runs_of(&server, "pausedrun01"), 1, "resumed, the program ran once");
    server.stop().await;
}
