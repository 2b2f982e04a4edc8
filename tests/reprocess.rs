//! Reprocess: a COMPLETED or FAILED job runs again with changed options
//! (subject, assessments, priority); its old notes stay readable until the
//! new run stores its own, which replace them. A waiting, running or
//! cancelled job is FAILED_PRECONDITION, another user's NOT_FOUND. A retry,
//! like a reprocess, may set another priority, within the domain's bounds.
mod common;

use common::*;
use tonic::Code;
use videojobs::proto::v1 as pb;

on_both_backends!(
    a_completed_job_runs_again_changed_and_its_new_notes_replace_the_old_once_stored,
    only_a_completed_or_failed_job_is_reprocessed_and_retries_may_go_first,
);

fn reprocess(job_id: &str) -> pb::ReprocessJobRequest {
    pb::ReprocessJobRequest { job_id: job_id.into(), ..Default::default() }
}

async fn a_completed_job_runs_again_changed_and_its_new_notes_replace_the_old_once_stored(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut alice = server.jobs("alice").await;
    let mut notes = server.notes("alice").await;
    let job = alice.submit_video(submit("reproc00001")).await.unwrap().into_inner();
    let first = wait_final(&mut alice, &job.id).await;
    assert_eq!(state(&first), pb::JobState::Completed, "{}", first.error);
    assert_eq!(first.note_ids.len(), 2, "notes and an assessment");

    // Paused, the reprocessed job waits: the old notes must still be there.
    alice.pause_jobs(pb::PauseJobsRequest::default()).await.unwrap();
    let request = pb::ReprocessJobRequest {
        subject: Some("Chemistry".into()),
        assessments: Some(false),
        priority: Some(9),
        ..reprocess(&job.id)
    };
    let queued = alice.reprocess_job(request).await.unwrap().into_inner();
    assert_eq!(state(&queued), pb::JobState::Queued);
    assert_eq!((queued.subject.as_str(), queued.assessments, queued.priority), ("Chemistry", false, 9));
    assert_eq!(queued.note_ids, first.note_ids, "the old notes stay until the new ones are stored");
    for id in &first.note_ids {
        notes.get_note(pb::GetNoteRequest { note_id: id.clone() }).await.expect("an old note is still readable");
    }
    let again = alice.reprocess_job(reprocess(&job.id)).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "a waiting job is not reprocessed: {again:?}");

    alice.resume_jobs(pb::ResumeJobsRequest::default()).await.unwrap();
    let done = wait_final(&mut alice, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{}", done.error);
    assert_eq!(done.note_ids.len(), 1, "notes only, this time: {done:?}");
    assert!(!first.note_ids.contains(&done.note_ids[0]));
    let note = notes.get_note(pb::GetNoteRequest { note_id: done.note_ids[0].clone() }).await.unwrap().into_inner();
    assert_eq!((note.subject.as_str(), note.job_id.as_str()), ("Chemistry", job.id.as_str()));
    for id in &first.note_ids {
        let gone = notes.get_note(pb::GetNoteRequest { note_id: id.clone() }).await.unwrap_err();
        assert_eq!(gone.code(), Code::NotFound, "the new notes replaced the old");
    }
    let listed = notes.list_notes(pb::ListNotesRequest { job_id: job.id.clone(), ..Default::default() }).await;
    assert_eq!(listed.unwrap().into_inner().notes.len(), 1);
    server.stop().await;
}

async fn only_a_completed_or_failed_job_is_reprocessed_and_retries_may_go_first(backend: Backend) {
    let (server, _dir) = TestServer::on(&backend).start().await;
    let mut alice = server.jobs("alice").await;
    let failing = alice.submit_video(submit("fail0000001")).await.unwrap().into_inner();
    let failed = wait_final(&mut alice, &failing.id).await;
    assert_eq!(state(&failed), pb::JobState::Failed);

    let mut bob = server.jobs("bob").await;
    assert_eq!(bob.reprocess_job(reprocess(&failing.id)).await.unwrap_err().code(), Code::NotFound);
    let bad_subject = pb::ReprocessJobRequest { subject: Some("<script>".into()), ..reprocess(&failing.id) };
    let refused = alice.reprocess_job(bad_subject).await.unwrap_err();
    assert!(refused.code() == Code::InvalidArgument && refused.message().contains("subject"), "{refused:?}");
    let too_high = pb::ReprocessJobRequest { priority: Some(101), ..reprocess(&failing.id) };
    let refused = alice.reprocess_job(too_high).await.unwrap_err();
    assert!(refused.code() == Code::InvalidArgument && refused.message().contains("priority"), "{refused:?}");

    let queued = alice.reprocess_job(reprocess(&failing.id)).await.unwrap().into_inner();
    assert_eq!((state(&queued), queued.error.as_str()), (pb::JobState::Queued, ""), "{queued:?}");
    let failed_again = wait_final(&mut alice, &failing.id).await;
    assert_eq!(state(&failed_again), pb::JobState::Failed);
    assert!(failed_again.attempt > failed.attempt, "it ran again: {failed_again:?}");

    let too_high = pb::RetryJobRequest { job_id: failing.id.clone(), priority: Some(-101) };
    let refused = alice.retry_job(too_high).await.unwrap_err();
    assert!(refused.code() == Code::InvalidArgument && refused.message().contains("priority"), "{refused:?}");
    let first = pb::RetryJobRequest { job_id: failing.id.clone(), priority: Some(50) };
    let retried = alice.retry_job(first).await.unwrap().into_inner();
    assert_eq!((state(&retried), retried.priority), (pb::JobState::Queued, 50));
    assert_eq!(state(&wait_final(&mut alice, &failing.id).await), pb::JobState::Failed);

    let hung = alice.submit_video(submit("hang0000001")).await.unwrap().into_inner();
    wait_until_processing(&mut alice, &hung.id).await;
    let running = alice.reprocess_job(reprocess(&hung.id)).await.unwrap_err();
    assert_eq!(running.code(), Code::FailedPrecondition, "a running job is not reprocessed: {running:?}");
    alice.cancel_job(pb::CancelJobRequest { job_id: hung.id.clone() }).await.unwrap();
    let cancelled = alice.reprocess_job(reprocess(&hung.id)).await.unwrap_err();
    assert_eq!(cancelled.code(), Code::FailedPrecondition, "a cancelled job is retried instead: {cancelled:?}");
    server.stop().await;
}
