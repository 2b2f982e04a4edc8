//! Prometheus text scraped from the metrics port moves as jobs run. (The
//! recorder is process-wide, so this file holds one test: one server.)
mod common;

use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;

async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

/// The value of the sample line that starts with `series`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_as_jobs_are_submitted_finish_fail_and_calls_are_refused() {
    let metrics_addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (server, _dir) = TestServer::embedded()
        .with(|c| {
            c.metrics_listen = Some(metrics_addr);
            c.retry.max_attempts = 2;
            c.maintenance.reap_interval = Duration::from_millis(100);
        })
        .start()
        .await;
    let mut jobs = server.jobs("alice").await;
    let good = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    // Retried once (a transient failure), then failed.
    let bad = jobs.submit_video(submit("offline0001")).await.unwrap().into_inner();
    assert_eq!(state(&wait_final(&mut jobs, &good.id).await), pb::JobState::Completed);
    assert_eq!(state(&wait_final(&mut jobs, &bad.id).await), pb::JobState::Failed);
    let refused =
        jobs.submit_video(pb::SubmitVideoRequest { url: "https://vimeo.com/1".into(), ..Default::default() }).await;
    assert!(refused.is_err());
    // A cancelled batch counts each child it cancelled, as CancelJob does.
    let batch = pb::SubmitBatchRequest { urls: vec![url("hang0000001"), url("hang0000002")], ..Default::default() };
    let batch = jobs.submit_batch(batch).await.unwrap().into_inner().batch.unwrap();
    jobs.cancel_batch(pb::CancelBatchRequest { batch_id: batch.id }).await.unwrap();

    // Once the cancelled programs are gone and a reaper tick has set the
    // queue depth gauge.
    // The depth gauge is set on the reaper's ticks only: wait for one that
    // saw the queue empty.
    let settled = |text: &str| {
        sample(text, "videojobs_running_programs") == 0.0
            && text.contains("videojobs_queue_depth")
            && sample(text, "videojobs_queue_depth") == 0.0
    };
    let text = tokio::time::timeout(WAIT, async {
        loop {
            let text = scrape(metrics_addr).await;
            if settled(&text) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the cancelled programs never stopped");
    assert_eq!(sample(&text, "videojobs_jobs_submitted_total"), 4.0);
    assert_eq!(sample(&text, "videojobs_jobs_finished_total{outcome=\"cancelled\"}"), 2.0);
    assert_eq!(sample(&text, "videojobs_jobs_finished_total{outcome=\"completed\"}"), 1.0);
    assert_eq!(sample(&text, "videojobs_jobs_finished_total{outcome=\"failed\"}"), 1.0);
    assert_eq!(sample(&text, "videojobs_job_retries_total"), 1.0);
    assert_eq!(sample(&text, "videojobs_attempt_duration_seconds_count{outcome=\"succeeded\"}"), 1.0);
    assert_eq!(sample(&text, "videojobs_attempt_duration_seconds_count{outcome=\"failed\"}"), 2.0);
    assert_eq!(sample(&text, "videojobs_running_programs"), 0.0);
    assert_eq!(sample(&text, "videojobs_queue_depth"), 0.0);
    assert_eq!(
        sample(&text, "videojobs_grpc_requests_total{method=\"/videojobs.v1.JobService/SubmitVideo\",code=\"Ok\"}"),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            "videojobs_grpc_requests_total{method=\"/videojobs.v1.JobService/SubmitVideo\",code=\"InvalidArgument\"}"
        ),
        1.0
    );
    assert!(sample(&text, "videojobs_watch_streams") >= 0.0);
    server.stop().await;
}
