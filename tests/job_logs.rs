//! The program's output and the attempt history, as a user reads them: every
//! attempt of a retried job listed by GetJob; GetJobLog pages through an
//! attempt's lines (stdout and stderr, numbered, the API key redacted, bytes
//! that are not UTF-8 and NUL replaced), only
//! for the job's owner; a flood keeps its head and tail with a marker a
//! watcher sees, within the configured bound; the output goes with its job.
mod common;

use std::time::Duration;

use common::*;
use videojobs::auth::Authenticator;
use videojobs::config::Secret;
use videojobs::proto::v1 as pb;
use videojobs::proto::v1::job_service_client::JobServiceClient;
use videojobs::store::Store;
use videojobs::supervisor::output::{LINE_COST, OutputLimits};

on_both_backends!(
    every_attempt_is_kept_and_its_output_is_paged_for_its_owner_only,
    a_flood_keeps_its_head_and_tail_and_a_watcher_sees_the_marker,
    a_watcher_of_a_silent_program_gets_heartbeats_and_the_stream_ends_with_the_attempt,
    a_watcher_sees_what_a_cancelled_program_prints_while_it_is_stopped,
);

/// What the `tidy…` stand-in prints once SIGTERM comes, in order.
const STOP_LINES: [&str; 4] = [
    "caught SIGTERM, cleaning up",
    "removed the partial transcript",
    "closed the API session",
    "cleanup done; exiting",
];

/// A cancel ends the job at once but not its attempt: a watcher attached to
/// the running program gets what the program prints while it is being
/// stopped (after SIGTERM), and only then does its stream end. The job stays
/// CANCELLED, its attempt is kept as CANCELLED, GetJobLog reads the same
/// lines and says the attempt ended, and no process is left.
async fn a_watcher_sees_what_a_cancelled_program_prints_while_it_is_stopped(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("tidy0000001")).await.unwrap().into_inner();
    let request = pb::WatchJobLogsRequest { job_id: job.id.clone(), attempt: 1, after_line: 0 };
    let mut stream = jobs.watch_job_logs(request).await.unwrap().into_inner();
    let mut watched = Vec::new();
    let waiting = tokio::time::timeout(WAIT, async {
        while let Some(line) = stream.message().await.unwrap() {
            let waits = line.text.ends_with("waiting to be stopped");
            keep_printed(&mut watched, line);
            if waits {
                return;
            }
        }
        panic!("the stream ended before the program waited to be stopped");
    });
    waiting.await.expect("the program waits to be stopped");

    jobs.cancel_job(pb::CancelJobRequest { job_id: job.id.clone() }).await.unwrap();
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(line) = stream.message().await.unwrap() {
            keep_printed(&mut watched, line);
        }
    });
    ended.await.expect("the stream ends once the attempt has");

    let texts: Vec<&str> = watched.iter().map(|line| line.text.as_str()).collect();
    let waited = texts.iter().position(|text| text.ends_with("waiting to be stopped")).unwrap();
    let after: Vec<&str> = texts[waited + 1..].iter().map(|text| text.rsplit(" - ").next().unwrap()).collect();
    assert_eq!(after, STOP_LINES, "the watcher saw what the program printed while it was stopped");
    let numbers: Vec<u64> = watched.iter().map(|line| line.line).collect();
    assert_eq!(numbers, (1..=watched.len() as u64).collect::<Vec<_>>(), "every line, once, in order");

    let stored = jobs.get_job(pb::GetJobRequest { job_id: job.id.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&stored), pb::JobState::Cancelled);
    let attempts: Vec<_> = stored.attempts.iter().map(|a| (a.attempt, a.outcome(), a.failure_kind())).collect();
    assert_eq!(attempts, [(1, pb::AttemptOutcome::Cancelled, pb::FailureKind::Cancelled)]);
    let (logged, _) = read_log(&mut jobs, &job.id, 1, 1000).await;
    assert_eq!(logged, watched, "GetJobLog reads what the watcher saw");
    assert_no_processes_under(&server.data_dir, WAIT).await;
    server.stop().await;
}

/// Keeps a line the program printed (heartbeats aside).
fn keep_printed(lines: &mut Vec<pb::JobLogLine>, line: pb::JobLogLine) {
    if line.stream() != pb::LogStream::Heartbeat {
        lines.push(line);
    }
}

/// A program that prints and then hangs silently: its watcher gets the lines,
/// then HEARTBEAT lines (the last line sent, no text) while nothing comes, and
/// the stream ends once the job is cancelled and its attempt is over.
async fn a_watcher_of_a_silent_program_gets_heartbeats_and_the_stream_ends_with_the_attempt(backend: Backend) {
    let (server, _dir) =
        TestServer::on(&backend).with(|c| c.watch.keepalive = Duration::from_millis(200)).start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("hang0000077")).await.unwrap().into_inner();
    wait_until_processing(&mut jobs, &job.id).await;
    let request = pb::WatchJobLogsRequest { job_id: job.id.clone(), attempt: 0, after_line: 0 };
    let mut stream = jobs.watch_job_logs(request).await.unwrap().into_inner();
    let mut last_line = 0;
    let heartbeat = loop {
        let line = tokio::time::timeout(WAIT, stream.message()).await.expect("a line or a heartbeat").unwrap().unwrap();
        if line.stream() == pb::LogStream::Heartbeat {
            break line;
        }
        last_line = line.line;
    };
    assert!(last_line > 0, "the program's lines came first");
    assert_eq!((heartbeat.line, heartbeat.text.as_str(), heartbeat.attempt), (last_line, "", 1));
    jobs.cancel_job(pb::CancelJobRequest { job_id: job.id.clone() }).await.unwrap();
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(line) = stream.message().await.unwrap() {
            assert!(line.stream() == pb::LogStream::Heartbeat || line.line > last_line, "{line:?}");
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ends with the attempt");
    server.stop().await;
}

const KEY: &str = "sk-ant-api03-test-key-0123456789abcdefXYZ";

/// Every stored line of an attempt, through GetJobLog pages of `page_size`.
async fn read_log(client: &mut JobsClient, job_id: &str, attempt: u32, page_size: i32) -> (Vec<pb::JobLogLine>, u32) {
    let (mut lines, mut after_line, mut pages) = (Vec::new(), 0, 0);
    loop {
        let request = pb::GetJobLogRequest { job_id: job_id.into(), attempt, after_line, page_size };
        let page = client.get_job_log(request).await.unwrap().into_inner();
        assert!(page.attempt_ended, "the job is final, so its attempts have ended");
        pages += 1;
        lines.extend(page.lines);
        if page.next_after_line == 0 {
            return (lines, pages);
        }
        after_line = page.next_after_line;
    }
}

/// The server's own database.
async fn server_store(backend: &Backend, server: &TestServer) -> Store {
    let url = match backend {
        Backend::Embedded => videojobs::config::sqlite_url(&server.data_dir),
        Backend::Scaled { database_url, .. } => database_url.clone(),
    };
    Store::connect_only(&url, 2).await.unwrap()
}

async fn every_attempt_is_kept_and_its_output_is_paged_for_its_owner_only(backend: Backend) {
    let (server, _dir) =
        TestServer::on(&backend).with(|c| c.supervisor.command.api_key = Some(Secret::new(KEY))).start().await;
    let (mut alice, mut bob) = (server.jobs("alice").await, server.jobs("bob").await);
    // Fails once (transient), then completes.
    let flaky = alice.submit_video(submit("flaky000001")).await.unwrap().into_inner().id;
    let leaky = alice.submit_video(submit("leak0000002")).await.unwrap().into_inner().id;
    // Prints NUL bytes and bytes that are not UTF-8.
    let garbled = alice.submit_video(submit("nul00000003")).await.unwrap().into_inner().id;
    for id in [&flaky, &leaky, &garbled] {
        assert_eq!(state(&wait_final(&mut alice, id).await), pb::JobState::Completed);
    }

    let job = alice.get_job(pb::GetJobRequest { job_id: flaky.clone() }).await.unwrap().into_inner();
    let attempts: Vec<_> =
        job.attempts.iter().map(|a| (a.attempt, a.outcome(), a.failure_kind(), a.exit_code)).collect();
    assert_eq!(
        attempts,
        [
            (1, pb::AttemptOutcome::Failed, pb::FailureKind::Transient, Some(0)),
            (2, pb::AttemptOutcome::Succeeded, pb::FailureKind::Unspecified, Some(0)),
        ]
    );
    let (first, second) = (&job.attempts[0], &job.attempts[1]);
    assert!(first.reason.contains("Both Tor and yt-dlp fallback failed"), "{}", first.reason);
    assert!(second.reason.is_empty());
    assert!(!first.node.is_empty() && first.started_at.is_some() && first.ended_at.is_some());
    assert!(first.ended_at.as_ref().unwrap().seconds <= second.started_at.as_ref().unwrap().seconds);
    let stages: Vec<_> = second.stage_timings.iter().map(|t| t.stage.as_str()).collect();
    assert_eq!(stages, ["assessment", "notes", "transcript"], "from the program's report");
    let listed = alice.list_jobs(pb::ListJobsRequest::default()).await.unwrap().into_inner();
    assert!(listed.jobs.iter().all(|job| job.attempts.is_empty()), "only GetJob lists attempts");

    // Each attempt's own output, paged; 0 is the latest.
    let (failed_log, _) = read_log(&mut alice, &flaky, 1, 0).await;
    assert!(failed_log.iter().any(|l| l.text.contains("✗ Job failed")), "{failed_log:?}");
    let (latest, _) = read_log(&mut alice, &flaky, 0, 0).await;
    let (paged, pages) = read_log(&mut alice, &flaky, 2, 2).await;
    assert_eq!(latest, paged, "attempt 0 is the latest, and pages add up to the whole");
    assert!(pages >= 3, "{pages} pages of 2 lines");
    assert!(latest.iter().all(|l| l.attempt == 2));
    let numbers: Vec<u64> = latest.iter().map(|l| l.line).collect();
    assert_eq!(numbers, (1..=latest.len() as u64).collect::<Vec<_>>(), "numbered in order, none missing");
    assert!(latest.iter().any(|l| l.text.contains("COMPLETE: 1/1")), "{latest:?}");

    // Both streams, the key redacted everywhere.
    let (leaked, _) = read_log(&mut alice, &leaky, 0, 0).await;
    let on = |stream: pb::LogStream| leaked.iter().filter(move |l| l.stream() == stream).map(|l| l.text.as_str());
    assert!(on(pb::LogStream::Stdout).any(|t| t == "api key: [redacted]"), "{leaked:?}");
    assert!(on(pb::LogStream::Stderr).any(|t| t.contains("api_key=[redacted]")), "{leaked:?}");
    assert!(!format!("{leaked:?}").contains(&KEY[..20]), "the key never reaches a reader");

    let (garbled, _) = read_log(&mut alice, &garbled, 0, 0).await;
    let line = garbled.iter().find(|l| l.text.contains("caption chunk with a NUL")).expect("the line is kept");
    assert_eq!(line.text.matches('\u{FFFD}').count(), 3, "NUL and each invalid byte replaced: {:?}", line.text);
    assert!(garbled.iter().all(|l| !l.text.contains('\0')));

    // Another user's job does not exist for them; bad fields are named.
    let request = |job_id: &str| pb::GetJobLogRequest { job_id: job_id.into(), ..Default::default() };
    let hidden = bob.get_job_log(request(&flaky)).await.unwrap_err();
    assert_eq!(hidden.code(), tonic::Code::NotFound);
    let watch = pb::WatchJobLogsRequest { job_id: flaky.clone(), ..Default::default() };
    assert_eq!(bob.watch_job_logs(watch).await.unwrap_err().code(), tonic::Code::NotFound);
    let too_big = pb::GetJobLogRequest { page_size: 5001, ..request(&flaky) };
    let refused = alice.get_job_log(too_big).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().starts_with("page_size"), "{}", refused.message());
    let unrun = pb::GetJobLogRequest { attempt: 3, ..request(&flaky) };
    let refused = alice.get_job_log(unrun).await.unwrap_err();
    assert!(refused.message().starts_with("attempt"), "{}", refused.message());
    let admin_token = Authenticator::new(&Secret::new(SECRET)).issue_admin("ops", Duration::from_secs(600)).unwrap();
    let mut admin = JobServiceClient::with_interceptor(server.channel().await, Bearer::new(&admin_token));
    let read_by_admin = admin.get_job_log(request(&flaky)).await.unwrap().into_inner();
    assert_eq!(read_by_admin.lines.len(), latest.len(), "an admin reads anyone's");

    // Gone with the job: not only hidden, removed from storage.
    let id: uuid::Uuid = flaky.parse().unwrap();
    let store = server_store(&backend, &server).await;
    assert!(!store.output_after(id, 1, 0, 10).await.unwrap().is_empty());
    alice.delete_job(pb::DeleteJobRequest { job_id: flaky.clone() }).await.unwrap();
    assert_eq!(alice.get_job_log(request(&flaky)).await.unwrap_err().code(), tonic::Code::NotFound);
    for attempt in [1, 2] {
        assert!(store.output_after(id, attempt, 0, 10).await.unwrap().is_empty(), "attempt {attempt}'s lines");
    }
    assert!(store.attempts(id).await.unwrap().is_empty(), "the attempt history");
    store.close().await.unwrap();
    server.stop().await;
}

async fn a_flood_keeps_its_head_and_tail_and_a_watcher_sees_the_marker(backend: Backend) {
    let limits = OutputLimits { head_bytes: 8 * 1024, tail_bytes: 64 * 1024 };
    let (server, _dir) = TestServer::on(&backend)
        .with(move |c| {
            c.retry.max_attempts = 1;
            c.output.limits = limits;
        })
        .start()
        .await;
    let mut alice = server.jobs("alice").await;
    let job = alice.submit_video(submit("flood000001")).await.unwrap().into_inner().id;
    // Watching attempt 0 of a job that has not started follows its first.
    let watch = pb::WatchJobLogsRequest { job_id: job.clone(), attempt: 0, after_line: 0 };
    let mut stream = alice.watch_job_logs(watch).await.unwrap().into_inner();
    let watched = tokio::time::timeout(WAIT, async {
        let mut lines = Vec::new();
        while let Some(line) = stream.message().await.unwrap() {
            lines.push(line);
        }
        lines
    })
    .await
    .expect("the watch ends when the attempt does");
    let done = alice.get_job(pb::GetJobRequest { job_id: job.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&done), pb::JobState::Completed, "a flood is not a failure: {}", done.error);

    let markers: Vec<_> = watched.iter().filter(|l| l.stream() == pb::LogStream::Marker).collect();
    assert!(!markers.is_empty(), "the watcher was told lines were dropped");
    let (stored, _) = read_log(&mut alice, &job, 0, 0).await;
    let stored_markers: Vec<_> = stored.iter().filter(|l| l.stream() == pb::LogStream::Marker).collect();
    assert_eq!(stored_markers.len(), 1, "one marker stands for every dropped line");
    let marker = stored_markers[0];
    assert!(marker.text.contains("lines (") && marker.text.contains("dropped"), "{}", marker.text);
    let kept: usize =
        stored.iter().filter(|l| l.stream() != pb::LogStream::Marker).map(|l| l.text.len() + LINE_COST).sum();
    assert!(kept <= limits.head_bytes + limits.tail_bytes, "{kept} bytes kept");
    assert_eq!(stored[0].line, 1, "the head is kept");
    assert!(stored[..5].iter().any(|l| l.text.contains("Fetching transcript")), "{:?}", &stored[..5]);
    let last = stored.last().unwrap();
    assert!(last.text.contains("COMPLETE: 1/1"), "the tail is kept: {}", last.text);
    let long = stored.iter().find(|l| l.text.starts_with("xxxx")).expect("the 1 MiB line, cut");
    assert_eq!(long.text.len(), 16 * 1024, "a long line is cut at 16 KiB");
    let first_after = stored.iter().find(|l| l.line > marker.line).unwrap();
    assert!(first_after.line > marker.line + 1000, "the middle went: marker {} then {}", marker.line, first_after.line);
    // What the watcher saw after the marker (once the flood ended) is what is stored.
    let tail_watched: Vec<_> = watched.iter().filter(|l| l.line >= last.line - 5).map(|l| &l.text).collect();
    assert!(tail_watched.iter().any(|t| t.contains("COMPLETE: 1/1")));
    server.stop().await;
}
