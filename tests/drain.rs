//! Draining a node: it finishes what it runs, takes nothing new, then says
//! it is drained; another node takes the work it leaves. Only an admin may
//! drain or ask.
mod common;

use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;

on_both_backends!(a_draining_node_finishes_what_it_runs_takes_nothing_new_and_then_says_it_is_drained);

async fn a_draining_node_finishes_what_it_runs_takes_nothing_new_and_then_says_it_is_drained(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend)
        .with(|c| {
            c.worker.concurrency = 1;
            set_stage_delay(c, Duration::from_millis(300));
        })
        .start()
        .await;
    let mut admin = server.admin().await;
    let mut alice = server.jobs("alice").await;
    let status = admin.get_node_status(pb::GetNodeStatusRequest {}).await.unwrap().into_inner();
    assert!(!status.draining && !status.drained, "{status:?}");
    assert!(status.node.ends_with(&format!(":{}", std::process::id())), "{}", status.node);

    let running = alice.submit_video(submit("drain000001")).await.unwrap().into_inner();
    wait_until_processing(&mut alice, &running.id).await;
    let draining = admin.drain_node(pb::DrainNodeRequest { wait: false }).await.unwrap().into_inner();
    assert!(draining.draining && !draining.drained, "{draining:?}");
    assert_eq!(draining.running, 1);
    let left = alice.submit_video(submit("drain000002")).await.unwrap().into_inner();

    let drained = admin.drain_node(pb::DrainNodeRequest { wait: true }).await.unwrap().into_inner();
    assert!(drained.draining && drained.drained, "{drained:?}");
    assert_eq!(drained.running, 0);
    let finished = alice.get_job(pb::GetJobRequest { job_id: running.id.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&finished), pb::JobState::Completed, "what it ran, it finished: {}", finished.error);
    let waiting = alice.get_job(pb::GetJobRequest { job_id: left.id.clone() }).await.unwrap().into_inner();
    assert_eq!((state(&waiting), waiting.attempt), (pb::JobState::Queued, 0), "nothing new was taken");

    let refused = alice.drain_node(pb::DrainNodeRequest { wait: false }).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let refused = alice.get_node_status(pb::GetNodeStatusRequest {}).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_left_by_a_drained_node_runs_on_another() {
    let backend = Backend::scaled().await;
    let (drained, _dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 1).start().await;
    let mut admin = drained.admin().await;
    let status = admin.drain_node(pb::DrainNodeRequest { wait: true }).await.unwrap().into_inner();
    assert!(status.drained, "{status:?}");
    let mut alice = drained.jobs("alice").await;
    let job = alice.submit_video(submit("drain000003")).await.unwrap().into_inner();

    let (other, _other_dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 1).start().await;
    let done = wait_final(&mut alice, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{}", done.error);
    assert_eq!(done.attempt, 1);
    other.stop().await;
    drained.stop().await;
}
