//! GetJobStats matches what was run.
mod common;

use common::*;
use videojobs::proto::v1 as pb;

on_both_backends!(stats_match_what_was_run);

async fn stats_match_what_was_run(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let node = TestServer::on(&backend).with(|c| c.retry.max_attempts = 1).start_in(dir.path()).await;
    let mut alice = node.jobs("alice").await;
    for video in ["statsgood01", "statsgood02", "statsgood03", "fail0000001"] {
        let job = alice.submit_video(submit(video)).await.unwrap().into_inner();
        wait_final(&mut alice, &job.id).await;
    }
    node.stop().await;
    // Queued work and its age, on a node that runs nothing.
    let api = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start_in(dir.path()).await;
    let mut alice = api.jobs("alice").await;
    alice.submit_video(submit("statswait01")).await.unwrap();
    let mut bob = api.jobs("bob").await;
    bob.submit_video(submit("bobwaiting1")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let stats = alice.get_job_stats(pb::GetJobStatsRequest {}).await.unwrap().into_inner();
    assert_eq!((stats.completed, stats.failed, stats.cancelled, stats.queued), (3, 1, 0, 1));
    assert_eq!(stats.success_rate, 0.75);
    assert_eq!(stats.queue_depth, 1, "bob's job is not alice's");
    assert!(stats.average_processing_seconds > 0.0 && stats.average_processing_seconds < 10.0, "{stats:?}");
    assert!(stats.p95_processing_seconds >= stats.average_processing_seconds * 0.5, "{stats:?}");
    assert!(stats.oldest_waiting_seconds >= 0.2 && stats.oldest_waiting_seconds < 30.0, "{stats:?}");
    api.stop().await;
}
