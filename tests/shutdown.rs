//! A stopping node claims nothing: whatever is ready in the queue when it is
//! told to stop, no worker takes it, so no stop burns an attempt of a job
//! that never ran. The interrupted job itself is handed back with its
//! attempt not counted against it.
mod common;

use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;

/// Watches `job_id` until it is in `wanted`.
async fn wait_for_state(jobs: &mut JobsClient, job_id: &str, wanted: pb::JobState) -> pb::Job {
    let request = pb::WatchJobsRequest { job_ids: vec![job_id.into()], ..Default::default() };
    let mut stream = jobs.watch_jobs(request).await.unwrap().into_inner();
    tokio::time::timeout(WAIT, async {
        while let Some(event) = stream.message().await.unwrap() {
            if let Some(job) = event.job.filter(|job| state(job) == wanted) {
                return job;
            }
        }
        panic!("stream ended early");
    })
    .await
    .unwrap_or_else(|_| panic!("job {job_id} never reached {wanted:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_twenty_times_with_a_retry_due_burns_no_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let retry_in = Duration::from_millis(1500);
    let settings = move |concurrency: usize| {
        move |c: &mut videojobs::config::ServeConfig| {
            c.worker.concurrency = concurrency;
            c.retry.base_delay = retry_in;
            c.retry.max_delay = retry_in;
        }
    };
    // One worker runs a program that hangs (high priority, so a restarted
    // node takes it first); the other fails a video once, which then waits
    // to be retried (its second attempt would work).
    let server = TestServer::embedded().with(settings(2)).start_in(dir.path()).await;
    let mut jobs = server.jobs("alice").await;
    let hung = pb::SubmitVideoRequest { priority: 10, ..submit("hang0000001") };
    let hung = jobs.submit_video(hung).await.unwrap().into_inner();
    wait_for_state(&mut jobs, &hung.id, pb::JobState::Processing).await;
    let retried = jobs.submit_video(submit("flaky000001")).await.unwrap().into_inner();
    let waiting = wait_for_state(&mut jobs, &retried.id, pb::JobState::Retrying).await;
    assert_eq!(waiting.attempt, 1);
    server.stop().await;
    tokio::time::sleep(retry_in).await; // the retry is due from now on

    // Each time, the one worker runs the hung job, and the retry is ready in
    // the queue when the node is told to stop.
    for round in 1..=20 {
        let server = TestServer::embedded().with(settings(1)).start_in(dir.path()).await;
        let mut jobs = server.jobs("alice").await;
        let running = wait_for_state(&mut jobs, &hung.id, pb::JobState::Processing).await;
        server.stop().await;

        let server = TestServer::embedded().with(settings(0)).start_in(dir.path()).await;
        let mut jobs = server.jobs("alice").await;
        let request = |id: &str| pb::GetJobRequest { job_id: id.into() };
        let job = jobs.get_job(request(&retried.id)).await.unwrap().into_inner();
        assert_eq!((state(&job), job.attempt), (pb::JobState::Retrying, 1), "round {round}: the retry was claimed");
        let hung_now = jobs.get_job(request(&hung.id)).await.unwrap().into_inner();
        assert_eq!(state(&hung_now), pb::JobState::Queued, "round {round}: the hung job is handed back");
        assert_eq!(hung_now.attempt, running.attempt);
        assert!(hung_now.attempt < hung_now.max_attempts, "round {round}: interrupted attempts are not counted");
        server.stop().await;
    }
}
