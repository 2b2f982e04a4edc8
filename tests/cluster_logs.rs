//! A program's output followed from another node: the watcher on node B
//! replays what node A's program printed so far, then follows the rest live
//! (a line printed only once the watcher was following arrives while the
//! attempt still runs), with the API key redacted, and its stream ends when
//! the attempt does.
mod common;

use common::*;
use videojobs::config::Secret;
use videojobs::proto::v1 as pb;

const KEY: &str = "sk-ant-api03-test-key-0123456789abcdefXYZ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_on_another_node_replays_then_follows_live_with_the_key_redacted() {
    let backend = Backend::scaled().await;
    let (runner, runner_dir) = TestServer::on(&backend)
        .with(|c| {
            c.worker.concurrency = 1;
            c.supervisor.command.api_key = Some(Secret::new(KEY));
        })
        .start()
        .await;
    let (watcher, _watcher_dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;
    let mut on_runner = runner.jobs("alice").await;
    // Prints its first lines, then waits for the gate file before the rest.
    let job = on_runner.submit_video(submit("gate0000001")).await.unwrap().into_inner().id;

    let mut on_watcher = watcher.jobs("alice").await;
    let request = pb::WatchJobLogsRequest { job_id: job.clone(), attempt: 0, after_line: 0 };
    let mut stream = on_watcher.watch_job_logs(request).await.unwrap().into_inner();
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        while !seen.iter().any(|l: &pb::JobLogLine| l.text.contains("waiting for the gate")) {
            seen.push(stream.message().await.unwrap().expect("the attempt has not ended"));
        }
    })
    .await
    .expect("the first lines arrive");
    let before_gate = seen.len();

    let gate = |what: &str| std::fs::write(runner_dir.path().join("scratch").join(format!("gate0000001.{what}")), b"");
    gate("open").unwrap();
    // Printed after the watcher was following, while the attempt still runs
    // (it waits for the next gate): only the live path can bring it.
    tokio::time::timeout(WAIT, async {
        while !seen.iter().any(|l: &pb::JobLogLine| l.text.contains("the gate is open")) {
            seen.push(stream.message().await.unwrap().expect("the attempt has not ended"));
        }
    })
    .await
    .expect("a line printed after the watch began arrives live");
    gate("finish").unwrap();
    tokio::time::timeout(WAIT, async {
        while let Some(line) = stream.message().await.unwrap() {
            seen.push(line);
        }
    })
    .await
    .expect("the stream ends when the attempt ends");

    let after: Vec<&str> = seen[before_gate..].iter().map(|l| l.text.as_str()).collect();
    assert!(after.iter().any(|t| t.ends_with("the gate is open; key [redacted]")), "{after:?}");
    assert!(after.iter().any(|t| t.contains("COMPLETE: 1/1")), "followed to the end: {after:?}");
    let numbers: Vec<u64> = seen.iter().map(|l| l.line).collect();
    assert_eq!(numbers, (1..=seen.len() as u64).collect::<Vec<_>>(), "every line once, in order");
    assert!(seen.iter().all(|l| l.attempt == 1));
    assert!(!format!("{seen:?}").contains(&KEY[..20]), "the key never reaches a watcher");
    let done = wait_final(&mut on_watcher, &job).await;
    assert_eq!(state(&done), pb::JobState::Completed);
    let stored = on_watcher
        .get_job_log(pb::GetJobLogRequest { job_id: job.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.lines, seen, "what was followed live is what is stored");
    for node in [runner, watcher] {
        node.stop().await;
    }
}
