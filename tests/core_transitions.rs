//! The core's transitions on their own (no server), on SQLite and on
//! PostgreSQL: what the copies that each did their own chain used to get
//! wrong.
mod common;

use std::time::Duration;

use common::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use videojobs::domain::job::NewJob;
use videojobs::domain::{
    AttemptOutcome, JobEventKind, JobState, NewNote, NoteKind, Outcome, OutputGroup, OutputLine, OutputStream, Scope,
    StageUpdate,
};
use videojobs::jobs::Lease;
use videojobs::queue::JobQueue;
use videojobs::store::entity::{job, job_attempt, job_output_line};

fn new_job(video: &str) -> NewJob {
    NewJob {
        user_id: "alice".into(),
        url: format!("https://www.youtube.com/watch?v={video}"),
        video_id: video.into(),
        subject: String::new(),
        assessments: true,
        priority: 0,
        max_attempts: 3,
        idempotency_key: None,
        batch_id: None,
        not_before: None,
    }
}

on_both_backends!(
    one_push_the_full_queue_refuses_during_a_reap_stops_none_of_the_others,
    a_cancelled_batch_child_keeps_a_lease_only_while_its_program_is_stopped,
    attempts_written_together_each_keep_their_own_progress_notes_lines_and_story,
    the_reconciler_does_not_queue_again_a_job_a_worker_took_and_is_claiming,
    a_job_deleted_while_its_cancelled_attempt_ends_leaves_no_history_or_output
);

async fn one_push_the_full_queue_refuses_during_a_reap_stops_none_of_the_others(backend: Backend) {
    let core = TestCore::start(&backend, 3, Duration::from_millis(200)).await;
    let alice = Scope::Own("alice".into());
    let mut claimed = Vec::new();
    for video in ["reapedAAA01", "reapedBBB01", "reapedCCC01"] {
        let (job, _) = core.jobs.submit(new_job(video)).await.unwrap();
        assert_eq!(core.jobs.next().await, job.id);
        claimed.push(core.jobs.claim(job.id, &core.node).await.unwrap().expect("claimed"));
    }
    // Their node "dies": nobody renews the leases. Meanwhile two more jobs
    // leave room in the queue for one of the three.
    drop(claimed);
    for video in ["waitingDD01", "waitingEE01"] {
        core.jobs.submit(new_job(video)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(core.jobs.reap().await.unwrap(), 3, "all three are handed back");
    let log = core.jobs.event_log().events_after(&"alice".to_string(), 0, None, 100).await.unwrap();
    let page = core
        .jobs
        .jobs(&alice, &Default::default(), videojobs::domain::page::PageRequest::parse(50, "").unwrap())
        .await
        .unwrap();
    for reaped in page.iter().filter(|job| job.video_id.starts_with("reaped")) {
        assert_eq!(reaped.state, JobState::Queued);
        let story: Vec<_> = log.iter().filter(|e| e.job.id == reaped.id).map(|e| e.kind).collect();
        assert_eq!(
            story,
            [JobEventKind::Queued, JobEventKind::Processing, JobEventKind::Queued],
            "{}",
            reaped.video_id
        );
    }
    // The one the queue refused is put back once there is room: here the
    // queue loses what it held (a pop would not do: the reconciler leaves
    // out a job a worker took moments ago, whose claim is on its way).
    let ids: Vec<_> = page.iter().map(|job| job.id).collect();
    assert_eq!(core.queue.withdraw(&ids).await.unwrap(), 3);
    core.jobs.reconcile().await.unwrap();
    assert_eq!(core.queue.waiting().await.unwrap(), 3, "the reconciler fills the queue with waiting jobs");
    core.stop().await;
}

/// A batch cancel ends every child at once; the running child keeps its
/// lease only while its program is being stopped (so its attempt's watchers
/// wait for what the program prints meanwhile), and its attempt's end,
/// recorded CANCELLED, clears it.
async fn a_cancelled_batch_child_keeps_a_lease_only_while_its_program_is_stopped(backend: Backend) {
    let core = TestCore::start(&backend, 100, Duration::from_secs(30)).await;
    let alice = Scope::Own("alice".into());
    let children = vec![new_job("childAAAA01"), new_job("childBBBB01")];
    let (batch, jobs) = core.jobs.submit_batch("alice".into(), String::new(), children).await.unwrap();
    let running = core.jobs.claim(jobs[0].id, &core.node).await.unwrap().expect("claimed");
    assert!(!running.stop.is_cancelled());

    let cancelled = core.jobs.cancel_batch(&alice, batch.id).await.unwrap();
    assert_eq!(cancelled.counts.cancelled, 2);
    assert!(running.stop.is_cancelled(), "the running child's program is stopped");
    let db = sea_orm::Database::connect(core.database_url.as_str()).await.unwrap();
    let row = |id| {
        let db = &db;
        async move { job::Entity::find_by_id(id).one(db).await.unwrap().unwrap() }
    };
    for child in &jobs {
        let row = row(child.id).await;
        assert_eq!(row.state, "cancelled");
        assert_eq!(row.lease_until.is_some(), child.id == running.job.id, "only the running child keeps its lease");
        assert_eq!(row.run_after, None);
        assert!(row.finished_at.is_some());
    }
    assert!(!core.jobs.attempt_ended(&alice, running.job.id, 1).await.unwrap(), "its program is being stopped");
    assert_eq!(core.jobs.renew_lease(&running.job).await.unwrap(), Lease::Stopping);

    core.jobs.finish(&running, &Outcome::Stopped, "", &Default::default(), &Default::default()).await.unwrap();
    let ended = row(running.job.id).await;
    assert_eq!((ended.state.as_str(), ended.lease_until), ("cancelled", None), "its end clears the lease");
    assert!(core.jobs.attempt_ended(&alice, running.job.id, 1).await.unwrap());
    assert_eq!(core.jobs.renew_lease(&running.job).await.unwrap(), Lease::Lost);
    let (_, attempts) = core.jobs.job_with_attempts(&alice, running.job.id).await.unwrap();
    let kept: Vec<_> = attempts.iter().map(|a| (a.attempt, a.outcome, a.reason.as_str())).collect();
    assert_eq!(kept, [(1, AttemptOutcome::Cancelled, "the batch was cancelled")]);
    db.close().await.unwrap();
    drop(running);
    core.stop().await;
}

/// Twelve attempts claimed, progressing and completing at once: the writer
/// folds their claims, their progress and their completions into shared
/// statements, and each job still ends with its own log tail, notes,
/// output and history, and its events in the order they happened.
async fn attempts_written_together_each_keep_their_own_progress_notes_lines_and_story(backend: Backend) {
    let core = TestCore::start(&backend, 100, Duration::from_secs(30)).await;
    let alice = Scope::Own("alice".into());
    let mut ids = Vec::new();
    for number in 0..12 {
        let (job, _) = core.jobs.submit(new_job(&format!("together{number:03}"))).await.unwrap();
        ids.push(job.id);
    }
    let claims = ids.iter().map(|id| core.jobs.claim(*id, &core.node));
    let claimed: Vec<_> = futures::future::join_all(claims).await.into_iter().map(|c| c.unwrap().unwrap()).collect();

    let jobs = core.jobs.as_ref();
    let stage = |name: String, percent| vec![StageUpdate { stage: name, percent }];
    let progress = claimed.iter().enumerate().map(|(number, running)| async move {
        jobs.record_progress(&running.job, stage(format!("fetching {number}"), 20)).await.unwrap();
        jobs.record_progress(&running.job, stage(format!("writing {number}"), 80)).await.unwrap();
    });
    futures::future::join_all(progress).await;
    let ends = claimed.iter().enumerate().map(|(number, running)| async move {
        let note = NewNote { kind: NoteKind::Notes, title: format!("notes {number}"), markdown: "# n".into() };
        let line = OutputLine { line: 1, stream: OutputStream::Stderr, text: format!("said {number}") };
        let rest = OutputGroup { lines: vec![line], dropped: None };
        let tail = format!("tail {number}");
        jobs.finish(running, &Outcome::Succeeded(vec![note]), &tail, &Default::default(), &rest).await.unwrap();
    });
    futures::future::join_all(ends).await;

    let db = sea_orm::Database::connect(core.database_url.as_str()).await.unwrap();
    let log = core.jobs.event_log().events_after(&"alice".to_string(), 0, None, 1000).await.unwrap();
    let page = videojobs::domain::page::PageRequest::parse(50, "").unwrap();
    for (number, id) in ids.iter().enumerate() {
        let row = job::Entity::find_by_id(*id).one(&db).await.unwrap().unwrap();
        assert_eq!(row.state, "completed", "job {number}");
        assert_eq!(row.log_tail.as_deref(), Some(format!("tail {number}").as_str()), "job {number}'s own log tail");
        let notes = core.jobs.notes(&alice, Some(*id), page).await.unwrap();
        let titles: Vec<_> = notes.iter().map(|note| note.title.as_str()).collect();
        assert_eq!(titles, [format!("notes {number}")], "job {number}'s own notes");
        let output = core.jobs.output_page(&alice, *id, 1, 0, 10).await.unwrap();
        let said: Vec<_> = output.lines.iter().map(|line| line.text.as_str()).collect();
        assert_eq!((said, output.ended), (vec![format!("said {number}").as_str()], true), "job {number}'s output");
        let (_, attempts) = core.jobs.job_with_attempts(&alice, *id).await.unwrap();
        let kept: Vec<_> = attempts.iter().map(|a| (a.attempt, a.outcome)).collect();
        assert_eq!(kept, [(1, AttemptOutcome::Succeeded)], "job {number}'s history");
        let story: Vec<_> = log
            .iter()
            .filter(|e| e.job.id == *id)
            .map(|e| (e.kind, e.job.stage.clone(), e.job.progress_percent))
            .collect();
        let expected = [
            (JobEventKind::Queued, String::new(), 0),
            (JobEventKind::Processing, "starting".to_string(), 0),
            (JobEventKind::Progress, format!("fetching {number}"), 20),
            (JobEventKind::Progress, format!("writing {number}"), 80),
            (JobEventKind::Completed, "completed".to_string(), 100),
        ];
        assert_eq!(story, expected, "job {number}'s events");
    }
    let sequences: Vec<u64> = log.iter().map(|event| event.sequence).collect();
    assert!(sequences.windows(2).all(|pair| pair[0] < pair[1]), "the log is in sequence order");
    db.close().await.unwrap();
    drop(claimed);
    core.stop().await;
}

/// A worker took a job from the queue and has not claimed it yet, so the
/// database still says it waits: the reconciler leaves it out of the queue
/// (put back, its id would wait in the queue while the job runs).
async fn the_reconciler_does_not_queue_again_a_job_a_worker_took_and_is_claiming(backend: Backend) {
    let core = TestCore::start(&backend, 100, Duration::from_secs(30)).await;
    let (job, _) = core.jobs.submit(new_job("claimingAA1")).await.unwrap();
    assert_eq!(core.jobs.next().await, job.id);

    assert_eq!(core.jobs.reconcile().await.unwrap(), 0, "the job being claimed is left out");
    assert_eq!(core.queue.waiting().await.unwrap(), 0);
    let claimed = core.jobs.claim(job.id, &core.node).await.unwrap().expect("the claim holds");
    assert_eq!(core.jobs.reconcile().await.unwrap(), 0);
    assert_eq!(core.queue.waiting().await.unwrap(), 0, "nothing of the running job waits in the queue");
    drop(claimed);
    core.stop().await;
}

/// A person cancels a running job and deletes it while its worker stores
/// the attempt's end (its record and last lines, which a group inserts as
/// it commits): whichever lands first, nothing of the job is left.
async fn a_job_deleted_while_its_cancelled_attempt_ends_leaves_no_history_or_output(backend: Backend) {
    let core = TestCore::start(&backend, 100, Duration::from_secs(30)).await;
    let alice = Scope::Own("alice".into());
    let db = sea_orm::Database::connect(core.database_url.as_str()).await.unwrap();
    for round in 0..10 {
        let (job, _) = core.jobs.submit(new_job(&format!("deleted{round:04}"))).await.unwrap();
        assert_eq!(core.jobs.next().await, job.id);
        let running = core.jobs.claim(job.id, &core.node).await.unwrap().expect("claimed");
        core.jobs.cancel(&alice, job.id).await.unwrap();
        let line = OutputLine { line: 1, stream: OutputStream::Stdout, text: "stopping".into() };
        let rest = OutputGroup { lines: vec![line], dropped: None };
        let facts = Default::default();
        let (ended, deleted) = tokio::join!(
            core.jobs.finish(&running, &Outcome::Stopped, "", &facts, &rest),
            core.jobs.delete(&alice, job.id)
        );
        ended.unwrap();
        deleted.unwrap();
        let attempts =
            job_attempt::Entity::find().filter(job_attempt::Column::JobId.eq(job.id)).all(&db).await.unwrap();
        let lines = job_output_line::Entity::find().filter(job_output_line::Column::JobId.eq(job.id)).all(&db).await;
        assert_eq!((attempts.len(), lines.unwrap().len()), (0, 0), "round {round}: the deleted job's rows are gone");
        drop(running);
    }
    db.close().await.unwrap();
    core.stop().await;
}
