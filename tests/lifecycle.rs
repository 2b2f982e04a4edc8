//! A job's life as a user sees it: submitted, watched, completed with notes;
//! failed and retried; retried by hand; resumed after a restart.
mod common;

use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;

on_both_backends!(
    a_jobs_events_arrive_in_order_and_end_completed_with_readable_notes,
    a_permanent_failure_ends_failed_after_one_attempt_with_its_kind,
    a_transient_failure_is_retried_then_fails_with_the_programs_reason,
    retry_job_brings_a_failed_job_back_and_finished_jobs_refuse_retry_and_cancel,
    a_restart_resumes_queued_and_interrupted_work,
);

async fn a_jobs_events_arrive_in_order_and_end_completed_with_readable_notes(backend: Backend) {
    let (server, dir) = TestServer::on(&backend).start().await;
    let mut jobs = server.jobs("alice").await;
    let mut stream = jobs.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let job = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    assert_eq!(job.url, "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
    assert_eq!(job.video_id, "dQw4w9WgXcQ");
    assert_eq!(state(&job), pb::JobState::Queued);

    let events = events_until_final(&mut stream, &job.id).await;
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=events.len() as u64).collect::<Vec<_>>(), "sequences count up by one");
    let kinds: Vec<_> = events.iter().map(kind).collect();
    assert_eq!(kinds.first(), Some(&pb::JobEventType::Queued));
    assert_eq!(kinds.get(1), Some(&pb::JobEventType::Processing));
    assert_eq!(kinds.last(), Some(&pb::JobEventType::Completed));
    let stages: Vec<String> = events
        .iter()
        .filter(|e| kind(e) == pb::JobEventType::Progress)
        .map(|e| e.job.as_ref().unwrap().stage.clone())
        .collect();
    for expected in ["fetching transcript", "notes generated", "notes saved", "assessment saved"] {
        assert!(stages.iter().any(|s| s == expected), "stage {expected:?} missing from {stages:?}");
    }
    let percents: Vec<u32> = events.iter().map(|e| e.job.as_ref().unwrap().progress_percent).collect();
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "progress never goes back: {percents:?}");

    let done = events.last().unwrap().job.clone().unwrap();
    assert_eq!(done.progress_percent, 100);
    assert_eq!(done.attempt, 1);
    assert_eq!(done.note_ids.len(), 2, "notes and assessment");
    assert!(done.finished_at.is_some() && done.started_at.is_some());

    let mut notes = server.notes("alice").await;
    let listed = notes
        .list_notes(pb::ListNotesRequest { job_id: job.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let mut kinds: Vec<_> = listed.notes.iter().map(|n| pb::NoteKind::try_from(n.kind).unwrap()).collect();
    kinds.sort_by_key(|k| *k as i32);
    assert_eq!(kinds, [pb::NoteKind::Notes, pb::NoteKind::Assessment]);
    let main = listed.notes.iter().find(|n| n.kind == pb::NoteKind::Notes as i32).unwrap();
    let note = notes.get_note(pb::GetNoteRequest { note_id: main.id.clone() }).await.unwrap().into_inner();
    assert_eq!(note.title, "Lecture dQw4w9WgXcQ");
    assert_eq!(note.subject, "Physics");
    assert_eq!(note.job_id, job.id);
    assert!(note.markdown.contains("## Key Points"), "{}", note.markdown);
    assert!(note.html.contains("<h2>Key Points</h2>"), "{}", note.html);

    let scratch: Vec<_> = std::fs::read_dir(dir.path().join("scratch")).unwrap().collect();
    assert!(scratch.is_empty(), "scratch directories are removed: {scratch:?}");
    server.stop().await;
}

const NO_TRANSCRIPT: &str = "Could not get transcript: No transcript found (subtitles are disabled for this video)";

async fn a_permanent_failure_ends_failed_after_one_attempt_with_its_kind(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).with(|c| c.retry.max_attempts = 3).start().await;
    let mut jobs = server.jobs("alice").await;
    let mut stream = jobs.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let job = jobs.submit_video(submit("fail0000001")).await.unwrap().into_inner();
    let events = events_until_final(&mut stream, &job.id).await;
    assert!(events.iter().all(|e| kind(e) != pb::JobEventType::Retrying), "no retry can mend it: {events:?}");
    let failed = events.last().unwrap().job.clone().unwrap();
    assert_eq!(state(&failed), pb::JobState::Failed);
    assert_eq!((failed.attempt, failed.max_attempts), (1, 3));
    assert_eq!(failed.error, NO_TRANSCRIPT);
    assert_eq!(failed.failure_kind(), pb::FailureKind::Permanent);
    assert!(failed.note_ids.is_empty());
    let got = jobs.get_job(pb::GetJobRequest { job_id: job.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got.failure_kind(), pb::FailureKind::Permanent);

    // A person may still try again: the kind is cleared until it fails anew.
    let retried =
        jobs.retry_job(pb::RetryJobRequest { job_id: job.id.clone(), priority: None }).await.unwrap().into_inner();
    assert_eq!(retried.failure_kind(), pb::FailureKind::Unspecified);
    let again = wait_final(&mut jobs, &job.id).await;
    assert_eq!((state(&again), again.attempt), (pb::JobState::Failed, 2));
    server.stop().await;
}

const OFFLINE: &str = "Could not get transcript: Both Tor and yt-dlp fallback failed";

async fn a_transient_failure_is_retried_then_fails_with_the_programs_reason(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).with(|c| c.retry.max_attempts = 3).start().await;
    let mut jobs = server.jobs("alice").await;
    let mut stream = jobs.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let job = jobs.submit_video(submit("offline0001")).await.unwrap().into_inner();
    let events = events_until_final(&mut stream, &job.id).await;
    let retries: Vec<_> = events.iter().filter(|e| kind(e) == pb::JobEventType::Retrying).collect();
    assert_eq!(retries.len(), 2, "three attempts in all");
    let retrying = retries[0].job.as_ref().unwrap();
    assert_eq!((retrying.error.as_str(), retrying.failure_kind()), (OFFLINE, pb::FailureKind::Transient));
    let failed = events.last().unwrap().job.clone().unwrap();
    assert_eq!(state(&failed), pb::JobState::Failed);
    assert_eq!((failed.attempt, failed.max_attempts), (3, 3));
    assert_eq!((failed.error.as_str(), failed.failure_kind()), (OFFLINE, pb::FailureKind::Transient));
    assert!(failed.note_ids.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_permanent_pattern_stops_the_retries_of_a_matching_reason() {
    let (server, _dir) = TestServer::embedded()
        .with(|c| {
            c.retry.max_attempts = 3;
            c.supervisor.patterns.permanent = videojobs::domain::PermanentPatterns::new(["YT-DLP fallback failed"]);
        })
        .start()
        .await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("offline0002")).await.unwrap().into_inner();
    let failed = wait_final(&mut jobs, &job.id).await;
    assert_eq!((state(&failed), failed.attempt), (pb::JobState::Failed, 1));
    assert_eq!((failed.error.as_str(), failed.failure_kind()), (OFFLINE, pb::FailureKind::Permanent));
    server.stop().await;
}

async fn retry_job_brings_a_failed_job_back_and_finished_jobs_refuse_retry_and_cancel(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).with(|c| c.retry.max_attempts = 1).start().await;
    let mut jobs = server.jobs("alice").await;
    // The stand-in's "flaky" videos fail the first time and work after.
    let job = jobs.submit_video(submit("flaky000001")).await.unwrap().into_inner();
    let failed = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&failed), pb::JobState::Failed);

    let again =
        jobs.retry_job(pb::RetryJobRequest { job_id: job.id.clone(), priority: None }).await.unwrap().into_inner();
    assert_eq!(state(&again), pb::JobState::Queued);
    assert_eq!(again.error, "");
    assert_eq!(again.max_attempts, 2, "a fresh set of attempts");
    let done = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed);
    assert_eq!(done.attempt, 2);

    let retry = jobs.retry_job(pb::RetryJobRequest { job_id: job.id.clone(), priority: None }).await.unwrap_err();
    assert_eq!(retry.code(), tonic::Code::FailedPrecondition, "{retry:?}");
    let cancel = jobs.cancel_job(pb::CancelJobRequest { job_id: job.id.clone() }).await.unwrap_err();
    assert_eq!(cancel.code(), tonic::Code::FailedPrecondition, "{cancel:?}");
    server.stop().await;
}

async fn a_restart_resumes_queued_and_interrupted_work(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // First run: a slow program, one worker; stop while one job runs and two wait.
    let slow = |c: &mut videojobs::config::ServeConfig| {
        c.worker.concurrency = 1;
        set_stage_delay(c, Duration::from_millis(2000));
    };
    let server = TestServer::on(&backend).with(slow).start_in(dir.path()).await;
    let mut jobs = server.jobs("alice").await;
    let mut ids = Vec::new();
    for video in ["resume00001", "resume00002", "resume00003"] {
        ids.push(jobs.submit_video(submit(video)).await.unwrap().into_inner().id);
    }
    wait_until_processing(&mut jobs, &ids[0]).await;
    server.stop().await;
    assert!(processes_under(dir.path()).is_empty(), "stopping the node stops its programs");

    let server = TestServer::on(&backend).start_in(dir.path()).await;
    let mut jobs = server.jobs("alice").await;
    for id in &ids {
        let job = wait_final(&mut jobs, id).await;
        assert_eq!(state(&job), pb::JobState::Completed, "{job:?}");
        assert_eq!(job.note_ids.len(), 2);
    }
    server.stop().await;
}
