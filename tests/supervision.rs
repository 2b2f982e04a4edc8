//! The program misbehaving: hanging, starting children, leaving them behind,
//! crashing, flooding its output, writing nothing or garbage. Each ends in a
//! clear state and leaves no process behind.
mod common;

use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;

async fn run_to_end(
    video_id: &str,
    configure: impl FnOnce(&mut videojobs::config::ServeConfig),
) -> (pb::Job, tempfile::TempDir) {
    run_to_end_on(&Backend::Embedded, video_id, configure).await
}

async fn run_to_end_on(
    backend: &Backend,
    video_id: &str,
    configure: impl FnOnce(&mut videojobs::config::ServeConfig),
) -> (pb::Job, tempfile::TempDir) {
    let (server, dir) = TestServer::on(backend)
        .with(|c| {
            c.retry.max_attempts = 1;
            configure(c);
        })
        .start()
        .await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit(video_id)).await.unwrap().into_inner();
    let job = wait_final(&mut jobs, &job.id).await;
    assert_no_processes_under(dir.path(), Duration::from_secs(3)).await;
    server.stop().await;
    (job, dir)
}

on_both_backends!(
    a_hanging_program_times_out_and_is_killed,
    cancel_kills_the_program_and_every_child_it_started,
    a_silent_program_is_stopped_as_stalled_and_retried,
    the_programs_report_decides_over_its_lines_and_a_malformed_one_falls_back,
    the_programs_report_names_the_notes_and_the_assessment_and_the_title,
);

/// A `named…` video's files do not follow the naming rule (the assessment
/// lacks its `Assessment_` prefix, the notes' heading is a draft's): the
/// report's `notes_filepath`, `assessment_filepath` and `video_title` decide.
async fn the_programs_report_names_the_notes_and_the_assessment_and_the_title(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("named000001")).await.unwrap().into_inner();
    let job = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&job), pb::JobState::Completed, "{}", job.error);
    let mut notes = server.notes("alice").await;
    let mut kinds = Vec::new();
    for note_id in &job.note_ids {
        let note = notes.get_note(pb::GetNoteRequest { note_id: note_id.clone() }).await.unwrap().into_inner();
        kinds.push((note.kind(), note.title));
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            (pb::NoteKind::Notes, "Lecture named000001".to_string()),
            (pb::NoteKind::Assessment, "Assessment: Lecture named000001".to_string())
        ]
    );
    server.stop().await;
}

async fn the_programs_report_decides_over_its_lines_and_a_malformed_one_falls_back(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).with(|c| c.retry.max_attempts = 3).start().await;
    let mut jobs = server.jobs("alice").await;
    // Its lines and files say it worked; its report says the video is gone.
    let reported = jobs.submit_video(submit("report00001")).await.unwrap().into_inner();
    // Works, but its report is not JSON.
    let malformed = jobs.submit_video(submit("badreport01")).await.unwrap().into_inner();

    let reported = wait_final(&mut jobs, &reported.id).await;
    assert_eq!((state(&reported), reported.attempt), (pb::JobState::Failed, 1), "{reported:?}");
    assert_eq!(reported.failure_kind(), pb::FailureKind::Permanent, "the report says no retry can help");
    assert_eq!(reported.error, "Video unavailable: this video has been removed by the uploader");
    assert!(reported.note_ids.is_empty());
    let malformed = wait_final(&mut jobs, &malformed.id).await;
    assert_eq!(state(&malformed), pb::JobState::Completed, "{}", malformed.error);
    assert!(!malformed.note_ids.is_empty());
    server.stop().await;
}

async fn a_silent_program_is_stopped_as_stalled_and_retried(backend: Backend) {
    let (server, dir) = TestServer::on(&backend)
        .with(|c| {
            c.retry.max_attempts = 2;
            c.supervisor.stall_timeout = Some(Duration::from_millis(400));
        })
        .start()
        .await;
    let mut jobs = server.jobs("alice").await;
    let mut stream = jobs.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let job = jobs.submit_video(submit("hang0000002")).await.unwrap().into_inner();
    let events = events_until_final(&mut stream, &job.id).await;
    let retries: Vec<_> = events.iter().filter(|e| kind(e) == pb::JobEventType::Retrying).collect();
    assert_eq!(retries.len(), 1, "a stalled attempt is retried");
    assert_eq!(retries[0].job.as_ref().unwrap().failure_kind(), pb::FailureKind::Stalled);
    let failed = events.last().unwrap().job.clone().unwrap();
    assert_eq!((state(&failed), failed.attempt), (pb::JobState::Failed, 2));
    assert_eq!(failed.failure_kind(), pb::FailureKind::Stalled);
    assert!(failed.error.contains("printed nothing for 0.4 s"), "{}", failed.error);
    assert_no_processes_under(dir.path(), Duration::from_secs(5)).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_keeps_printing_is_never_stalled() {
    // Lines 100 ms apart against a 2 s watchdog.
    let (job, _dir) = run_to_end("dQw4w9WgXcQ", |c| {
        set_stage_delay(c, Duration::from_millis(100));
        c.supervisor.stall_timeout = Some(Duration::from_secs(2));
    })
    .await;
    assert_eq!(state(&job), pb::JobState::Completed, "{}", job.error);
}

async fn a_hanging_program_times_out_and_is_killed(backend: Backend) {
    let (job, _dir) =
        run_to_end_on(&backend, "hang0000001", |c| c.supervisor.timeout = Duration::from_millis(800)).await;
    assert_eq!(state(&job), pb::JobState::Failed);
    assert!(job.error.contains("timed out after 0.8 s"), "{}", job.error);
    assert_eq!(job.failure_kind(), pb::FailureKind::Timeout);
}

async fn cancel_kills_the_program_and_every_child_it_started(backend: Backend) {
    let (server, dir) = TestServer::on(&backend).start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("kids0000001")).await.unwrap().into_inner();
    // The stand-in starts two `sleep 300` children, then hangs: wait for all three.
    wait_for_processes(dir.path(), 3).await;
    let cancelled = jobs.cancel_job(pb::CancelJobRequest { job_id: job.id.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&cancelled), pb::JobState::Cancelled);
    assert_no_processes_under(dir.path(), Duration::from_secs(3)).await;
    let after = jobs.get_job(pb::GetJobRequest { job_id: job.id }).await.unwrap().into_inner();
    assert_eq!(state(&after), pb::JobState::Cancelled, "the killed attempt does not overwrite the cancel");
    server.stop().await;
}

#[tokio::test]
async fn children_left_behind_by_a_program_that_exited_are_ended() {
    let (job, _dir) = run_to_end("orphan00001", |_| {}).await;
    assert_eq!(state(&job), pb::JobState::Completed, "{}", job.error);
}

#[tokio::test]
async fn a_crash_fails_with_the_exit_status_and_its_last_words() {
    let (job, _dir) = run_to_end("crash000001", |_| {}).await;
    assert_eq!(state(&job), pb::JobState::Failed);
    assert!(job.error.contains("exited with status 1"), "{}", job.error);
    assert_eq!(job.failure_kind(), pb::FailureKind::Crashed);
    assert!(job.error.contains("RuntimeError: model returned no content"), "{}", job.error);
}

#[tokio::test]
async fn the_end_of_the_programs_stderr_is_kept_on_the_job_for_get_job_only() {
    let (server, _dir) = TestServer::embedded().with(|c| c.retry.max_attempts = 1).start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("crash000001")).await.unwrap().into_inner();
    let failed = wait_final(&mut jobs, &job.id).await;
    assert_eq!(failed.log_tail, "", "events stay small");
    let fetched = jobs.get_job(pb::GetJobRequest { job_id: job.id }).await.unwrap().into_inner();
    assert!(fetched.log_tail.contains("Traceback (most recent call last):"), "{}", fetched.log_tail);
    assert!(fetched.log_tail.ends_with("RuntimeError: model returned no content"), "{}", fetched.log_tail);
    assert!(fetched.log_tail.lines().count() <= 20);
    server.stop().await;
}

#[tokio::test]
async fn a_flood_of_output_and_a_megabyte_line_do_not_stop_the_job() {
    let (job, _dir) = run_to_end("flood000001", |_| {}).await;
    assert_eq!(state(&job), pb::JobState::Completed, "{}", job.error);
    assert_eq!(job.note_ids.len(), 2);
}

#[tokio::test]
async fn claiming_success_without_writing_notes_is_a_failure() {
    let (job, _dir) = run_to_end("empty000001", |_| {}).await;
    assert_eq!(state(&job), pb::JobState::Failed);
    assert_eq!(job.error, "the program reported success but wrote no notes file");
    assert_eq!(job.failure_kind(), pb::FailureKind::NoOutput);
}

#[tokio::test]
async fn notes_that_are_not_text_are_refused() {
    let (job, _dir) = run_to_end("garb0000001", |_| {}).await;
    assert_eq!(state(&job), pb::JobState::Failed);
    assert!(job.error.contains("is not UTF-8 text"), "{}", job.error);
}

#[tokio::test]
async fn a_program_that_cannot_start_fails_the_job_with_the_reason() {
    let program = tempfile::NamedTempFile::new().unwrap();
    let path = program.path().to_path_buf();
    let (job, _dir) = run_to_end("dQw4w9WgXcQ", |c| c.supervisor.command.program = path.clone()).await;
    assert_eq!(state(&job), pb::JobState::Failed);
    assert!(job.error.starts_with(&format!("could not start {}: Permission denied", path.display())), "{}", job.error);
}

#[tokio::test]
async fn a_missing_program_stops_start_up_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.supervisor.command.program = "/nonexistent/youtube-study-buddy".into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = videojobs::app::run(config, listener, std::future::pending()).await.unwrap_err();
    assert!(error.to_string().contains("/nonexistent/youtube-study-buddy was not found"), "{error}");
}
