//! A program's output followed from another node: the watcher on node B
//! replays what node A's program printed so far, then follows the rest live
//! (a line printed only once the watcher was following arrives while the
//! attempt still runs), with the API key redacted, and its stream ends when
//! the attempt does. A watcher of a cancelled attempt whose node dies while
//! it stops the program sees the lines printed after SIGTERM, and its
//! stream is ended by the reaper once that node's lease expires.
mod common;

use std::time::Duration;

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

/// A node killed while it stops a cancelled program: the watcher on another
/// node follows what the program prints after SIGTERM live, and its stream
/// ends once the dead node's lease expires (the reaper there records the
/// attempt CANCELLED, its node unknown). The job stays CANCELLED, and the
/// process keeper leaves no process behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_of_a_cancelled_attempt_whose_node_dies_while_stopping_it_is_ended_by_the_reaper() {
    let backend = Backend::scaled().await;
    let doomed_dir = tempfile::tempdir().unwrap();
    // The program cleans up until SIGKILL, which comes only after this grace.
    let grace = Duration::from_secs(10);
    let doomed = DetachedNode::start(&backend, doomed_dir.path(), |c| {
        c.worker.concurrency = 1;
        c.supervisor.kill_grace = grace;
    });
    let (survivor, _dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;
    let mut client = survivor.jobs("alice").await;
    let job = client.submit_video(submit("stubborn001")).await.unwrap().into_inner().id;
    let request = pb::WatchJobLogsRequest { job_id: job.clone(), attempt: 1, after_line: 0 };
    let mut stream = client.watch_job_logs(request).await.unwrap().into_inner();
    let mut seen: Vec<String> = Vec::new();
    let mut read_until = async |text: &str, seen: &mut Vec<String>| {
        tokio::time::timeout(WAIT, async {
            while !seen.iter().any(|line| line.ends_with(text)) {
                let line = stream.message().await.unwrap().expect("the attempt has not ended");
                if line.stream() != pb::LogStream::Heartbeat {
                    seen.push(line.text);
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{text:?} never came"));
    };
    read_until("waiting to be stopped", &mut seen).await;
    client.cancel_job(pb::CancelJobRequest { job_id: job.clone() }).await.unwrap();
    // Printed once SIGTERM came, while the node still stops the program.
    read_until("caught SIGTERM, cleaning up", &mut seen).await;
    doomed.kill();

    let ended = tokio::time::timeout(WAIT, async {
        while let Some(line) = stream.message().await.unwrap() {
            assert!(line.text.is_empty() || line.text.ends_with("still cleaning up"), "{line:?}");
        }
    });
    ended.await.expect("the reaper ends the stream once the dead node's lease expires");
    let stored = client.get_job(pb::GetJobRequest { job_id: job.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&stored), pb::JobState::Cancelled);
    let attempts: Vec<_> =
        stored.attempts.iter().map(|a| (a.attempt, a.outcome(), a.failure_kind(), a.node.as_str())).collect();
    assert_eq!(attempts, [(1, pb::AttemptOutcome::Cancelled, pb::FailureKind::Cancelled, "")]);
    assert_no_processes_under(doomed_dir.path(), grace + Duration::from_secs(5)).await;
    survivor.stop().await;
}
