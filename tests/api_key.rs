//! The API key videojobs hands the program never reaches a user: the
//! stand-in's `leak…` mode prints it on stdout, in a debug line, in a stage
//! line and in its notes, `leakfail…` also in its failure reason, and none of
//! GetJob (log tail, error, stage), the notes (GetNote, ListNotes) or the
//! WatchJobs events carries it — `[redacted]` stands where it was.
mod common;

use std::collections::HashSet;

use common::*;
use videojobs::config::Secret;
use videojobs::proto::v1 as pb;

const KEY: &str = "sk-ant-api03-test-key-0123456789abcdefXYZ";

/// Neither the key nor a long piece of it.
fn assert_no_key(what: &str, text: &str) {
    for trace in [KEY, &KEY[KEY.len() - 20..], &KEY[..20]] {
        assert!(!text.contains(trace), "{what} carries the API key: {text}");
    }
}

#[tokio::test]
async fn a_program_that_prints_its_api_key_never_shows_it_to_anyone() {
    let (server, _dir) = TestServer::embedded()
        .with(|c| {
            c.retry.max_attempts = 1;
            c.supervisor.command.api_key = Some(Secret::new(KEY));
        })
        .start()
        .await;
    let mut jobs = server.jobs("alice").await;
    let mut stream = jobs.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let completed = jobs.submit_video(submit("leak0000001")).await.unwrap().into_inner().id;
    let failed = jobs.submit_video(submit("leakfail001")).await.unwrap().into_inner().id;

    let mut unfinished: HashSet<String> = [completed.clone(), failed.clone()].into();
    let mut events = 0;
    tokio::time::timeout(WAIT, async {
        while !unfinished.is_empty() {
            let event = stream.message().await.unwrap().expect("the stream stays open");
            assert_no_key("a WatchJobs event", &format!("{event:?}"));
            events += 1;
            if let Some(job) = event.job.filter(|job| is_final(state(job))) {
                unfinished.remove(&job.id);
            }
        }
    })
    .await
    .expect("both jobs finish");
    assert!(events >= 6, "queued, processing, progress and final events were seen: {events}");

    let get = |id: &str| pb::GetJobRequest { job_id: id.into() };
    let done = jobs.get_job(get(&completed)).await.unwrap().into_inner();
    assert_eq!(state(&done), pb::JobState::Completed, "{}", done.error);
    assert_no_key("GetJob", &format!("{done:?}"));
    assert!(done.log_tail.contains("api_key=[redacted]"), "the key was printed, and redacted: {}", done.log_tail);
    assert!(done.log_tail.contains("Fetching transcript... (key [redacted])"), "{}", done.log_tail);

    let gave_up = jobs.get_job(get(&failed)).await.unwrap().into_inner();
    assert_eq!(state(&gave_up), pb::JobState::Failed);
    assert_eq!(gave_up.error, "the API refused the key [redacted]");
    assert_no_key("GetJob of the failed job", &format!("{gave_up:?}"));

    let mut notes = server.notes("alice").await;
    let listed = notes.list_notes(pb::ListNotesRequest { job_id: completed, ..Default::default() }).await.unwrap();
    let listed = listed.into_inner();
    assert_no_key("ListNotes", &format!("{listed:?}"));
    assert_eq!(listed.notes.len(), 2);
    for note_id in &done.note_ids {
        let note = notes.get_note(pb::GetNoteRequest { note_id: note_id.clone() }).await.unwrap().into_inner();
        assert_no_key("GetNote", &format!("{note:?}"));
        assert!(note.title.contains("[redacted]"), "{}", note.title);
    }
    server.stop().await;
}
