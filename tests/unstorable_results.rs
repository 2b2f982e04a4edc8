//! Whatever a program writes is either stored safely or ends the job FAILED
//! with a clear reason; storing never retries forever. On PostgreSQL, which
//! refuses NUL in text: NUL bytes in what the program says, in its failure
//! reason and in its notes are stored as U+FFFD; bytes that are not UTF-8 in
//! its lines are decoded leniently. A program that writes thousands of notes
//! files is over what one job keeps (see `src/supervisor/notes.rs`: the
//! real program writes two per video, a job is one video, and an unbounded
//! walk would hold every file in memory and store it): its attempts fail
//! saying so, with the limit raised they are all stored. A notes file or
//! folder that is a symbolic link out of the job's scratch directory is
//! never read. Every job here ends within `WAIT` and within its attempts.
mod common;

use common::*;
use videojobs::config::ServeConfig;
use videojobs::proto::v1 as pb;

const ATTEMPTS: u32 = 2;

/// A job run to its end, as `GetJob` shows it, and the node that ran it.
struct Ended {
    server: TestServer,
    job: pb::Job,
    _data_dir: tempfile::TempDir,
}

/// Runs one job of `video_id` on a fresh PostgreSQL + Redis node to its end.
async fn run_to_end(video_id: &str, configure: impl FnOnce(&mut ServeConfig)) -> Ended {
    let backend = Backend::scaled().await;
    let (server, data_dir) = TestServer::on(&backend)
        .with(|c| {
            c.retry.max_attempts = ATTEMPTS;
            configure(c);
        })
        .start()
        .await;
    let mut jobs = server.jobs("alice").await;
    let submitted = jobs.submit_video(submit(video_id)).await.unwrap().into_inner();
    wait_final(&mut jobs, &submitted.id).await;
    let job = jobs.get_job(pb::GetJobRequest { job_id: submitted.id }).await.unwrap().into_inner();
    assert!(job.attempt <= job.max_attempts, "{} attempts of {}: {job:?}", job.attempt, job.max_attempts);
    assert!(!job.log_tail.contains('\0') && !job.error.contains('\0'), "no NUL comes back: {job:?}");
    Ended { server, job, _data_dir: data_dir }
}

/// Every note of the job, each read with `GetNote`.
async fn notes_of(server: &TestServer, job: &pb::Job) -> Vec<pb::Note> {
    let mut client = server.notes("alice").await;
    let mut notes = Vec::new();
    for note_id in &job.note_ids {
        notes.push(client.get_note(pb::GetNoteRequest { note_id: note_id.clone() }).await.unwrap().into_inner());
    }
    notes
}

async fn listed_notes(server: &TestServer, job: &pb::Job) -> Vec<pb::Note> {
    let mut client = server.notes("alice").await;
    let (mut notes, mut page_token) = (Vec::new(), String::new());
    loop {
        let request = pb::ListNotesRequest { job_id: job.id.clone(), page_size: 1000, page_token };
        let page = client.list_notes(request).await.unwrap().into_inner();
        notes.extend(page.notes);
        if page.next_page_token.is_empty() {
            return notes;
        }
        page_token = page.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_in_a_programs_lines_and_notes_are_stored_as_replacement_characters() {
    let Ended { server, job, _data_dir } = run_to_end("nulbytes001", |_| {}).await;
    assert_eq!(state(&job), pb::JobState::Completed, "{}", job.error);
    assert_eq!(job.attempt, 1, "stored on the first attempt");
    assert!(job.log_tail.contains("caption chunk with a NUL \u{FFFD} here"), "{}", job.log_tail);
    assert!(job.log_tail.contains("\u{FFFD}\u{FFFD}\u{FFFD} three NULs first"), "{}", job.log_tail);
    assert!(job.log_tail.contains("bytes \u{FFFD}\u{FFFD} that are not UTF-8"), "{}", job.log_tail);
    let notes = notes_of(&server, &job).await;
    assert_eq!(notes.len(), 2, "the notes and the assessment");
    let main = notes.iter().find(|n| n.markdown.contains("central")).expect("the notes");
    assert!(main.markdown.contains("central\u{FFFD}idea"), "{}", main.markdown);
    assert!(main.markdown.starts_with("# \u{FFFD}Lecture nulbytes001"), "{}", main.markdown);
    assert_eq!(main.title, "Lecture nulbytes001", "the program's report gives the title");
    assert!(notes.iter().all(|n| !n.markdown.contains('\0') && !n.title.contains('\0')));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_reason_with_nul_bytes_fails_the_job_with_that_reason_stored() {
    let Ended { server, job, _data_dir } = run_to_end("nulfail0001", |_| {}).await;
    assert_eq!(state(&job), pb::JobState::Failed);
    assert_eq!(job.attempt, ATTEMPTS, "retried while attempts remained, then failed");
    assert_eq!(job.error, "the caption track had a \u{FFFD} and \u{FFFD}\u{FFFD} in it");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_notes_files_fail_the_job_saying_so_within_its_attempts() {
    let Ended { server, job, _data_dir } = run_to_end("many0000001", |_| {}).await;
    assert_eq!(state(&job), pb::JobState::Failed);
    assert_eq!(
        job.error,
        "the program wrote more than 100 notes files; a job keeps at most 100 (it writes two per video)"
    );
    assert!(job.note_ids.is_empty() && listed_notes(&server, &job).await.is_empty(), "nothing is stored");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_notes_files_are_all_stored_when_the_limit_allows_them() {
    let Ended { server, job, _data_dir } =
        run_to_end("many0000002", |c| c.supervisor.note_files.max_files = 10_000).await;
    assert_eq!(state(&job), pb::JobState::Completed, "{}", job.error);
    assert_eq!(job.attempt, 1);
    assert_eq!(job.note_ids.len(), 5_002, "5,000 parts, the notes and the assessment");
    let listed = listed_notes(&server, &job).await;
    assert_eq!(listed.len(), 5_002);
    let part = listed.iter().find(|n| n.title == "Part 4321").expect("every part is listed");
    let mut notes = server.notes("alice").await;
    let read = notes.get_note(pb::GetNoteRequest { note_id: part.id.clone() }).await.unwrap().into_inner();
    assert_eq!(read.markdown, "# Part 4321\n\nOne small note.\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notes_file_that_is_a_symlink_to_etc_passwd_is_never_read() {
    let Ended { server, job, _data_dir } = run_to_end("links000001", |_| {}).await;
    assert_eq!(state(&job), pb::JobState::Completed, "{}", job.error);
    let notes = notes_of(&server, &job).await;
    let titles: Vec<_> = notes.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, ["Assessment: Lecture links000001", "Lecture links000001"], "the link is skipped");
    assert!(notes.iter().all(|n| !n.markdown.contains("root:")), "nothing of /etc/passwd");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notes_folder_that_is_a_symlink_out_of_the_scratch_directory_is_never_read() {
    let Ended { server, job, _data_dir } = run_to_end("linkdir0001", |_| {}).await;
    assert_eq!(state(&job), pb::JobState::Failed);
    assert_eq!(
        job.error,
        "the notes folder \"notes\" is a symbolic link out of the job's scratch directory; it was not read"
    );
    assert!(listed_notes(&server, &job).await.is_empty(), "the file outside is not stored");
    server.stop().await;
}
