//! Several nodes sharing PostgreSQL and Redis: work submitted on one runs on
//! another and is watched from a third; a cancel crosses nodes; a node that
//! dies mid-job loses nothing; Redis emptied by FLUSHALL loses nothing; a
//! node stopping lets its running job finish.
mod common;

use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitted_on_one_node_run_on_another_watched_on_a_third_cancelled_from_the_first() {
    let backend = Backend::scaled().await;
    let (api, _api_dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;
    let (worker, worker_dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 2).start().await;
    let (watcher, _watcher_dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;

    let mut watch = watcher.jobs("alice").await;
    let mut stream = watch.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let mut submit_node = api.jobs("alice").await;
    let good = submit_node.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    let events = events_until_final(&mut stream, &good.id).await;
    let kinds: Vec<_> = events.iter().map(kind).collect();
    assert_eq!(kinds.first(), Some(&pb::JobEventType::Queued));
    assert!(kinds.contains(&pb::JobEventType::Progress), "{kinds:?}");
    let done = events.last().unwrap().job.clone().unwrap();
    assert_eq!(state(&done), pb::JobState::Completed);
    let mut notes = watcher.notes("alice").await;
    let note = notes.get_note(pb::GetNoteRequest { note_id: done.note_ids[0].clone() }).await.unwrap().into_inner();
    assert_eq!(note.job_id, good.id);

    // A program that hangs with two children, running on the worker node.
    let stuck = submit_node.submit_video(submit("kids0000001")).await.unwrap().into_inner();
    wait_for_processes(worker_dir.path(), 3).await;
    submit_node.cancel_job(pb::CancelJobRequest { job_id: stuck.id.clone() }).await.unwrap();
    assert_no_processes_under(worker_dir.path(), Duration::from_secs(1)).await;
    let events = events_until_final(&mut stream, &stuck.id).await;
    assert_eq!(kind(events.last().unwrap()), pb::JobEventType::Cancelled);
    for node in [api, worker, watcher] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_job_loses_nothing_and_leaves_no_program_running() {
    let backend = Backend::scaled().await;
    let doomed_dir = tempfile::tempdir().unwrap();
    let doomed = DetachedNode::start(&backend, doomed_dir.path(), |c| {
        c.worker.concurrency = 1;
        set_stage_delay(c, Duration::from_millis(1000));
    });
    let mut client = doomed.server.jobs("alice").await;
    let job = client.submit_video(submit("slowvideo01")).await.unwrap().into_inner();
    // The program starts while its claim commits, so a running program does
    // not yet mean a claimed job: wait for both before the node dies.
    wait_for_processes(doomed_dir.path(), 1).await;
    wait_until_processing(&mut client, &job.id).await;
    doomed.kill();
    assert_no_processes_under(doomed_dir.path(), Duration::from_secs(2)).await;

    let (survivor, _dir) = TestServer::on(&backend).start().await;
    let mut client = survivor.jobs("alice").await;
    let done = wait_final(&mut client, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{done:?}");
    assert_eq!(done.attempt, 2, "the dead node's attempt, then the survivor's");
    let history = client.get_job(pb::GetJobRequest { job_id: job.id.clone() }).await.unwrap().into_inner().attempts;
    let outcomes: Vec<_> = history.iter().map(|a| (a.attempt, a.outcome())).collect();
    assert_eq!(
        outcomes,
        [(1, pb::AttemptOutcome::Interrupted), (2, pb::AttemptOutcome::Succeeded)],
        "the lost attempt is kept too"
    );
    assert!(history[0].node.is_empty() && !history[1].node.is_empty(), "a lost attempt's node is not known");
    let mut notes = survivor.notes("alice").await;
    let stored = notes.list_notes(pb::ListNotesRequest { job_id: job.id.clone(), ..Default::default() }).await.unwrap();
    assert_eq!(stored.into_inner().notes.len(), 2, "notes stored exactly once");
    survivor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_of_redis_while_jobs_wait_and_run_loses_no_job() {
    let redis = PrivateRedis::start().await;
    let backend = Backend::scaled_on(redis.url.clone()).await;
    let (node, _dir) = TestServer::on(&backend)
        .with(|c| {
            c.worker.concurrency = 2;
            set_stage_delay(c, Duration::from_millis(150));
        })
        .start()
        .await;
    let mut client = node.jobs("alice").await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(client.submit_video(submit(&format!("flushme000{n}"))).await.unwrap().into_inner().id);
    }
    wait_until_processing(&mut client, &ids[0]).await;
    redis.flushall();
    for id in &ids {
        let job = wait_final(&mut client, id).await;
        assert_eq!(state(&job), pb::JobState::Completed, "{job:?}");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_node_lets_its_running_job_finish_within_the_grace_period() {
    let backend = Backend::scaled().await;
    let (node, _dir) = TestServer::on(&backend)
        .with(|c| {
            c.worker.concurrency = 1;
            c.worker.shutdown_grace = Duration::from_secs(15);
            set_stage_delay(c, Duration::from_millis(300));
        })
        .start()
        .await;
    let mut client = node.jobs("alice").await;
    let job = client.submit_video(submit("gracefully1")).await.unwrap().into_inner();
    wait_until_processing(&mut client, &job.id).await;
    node.stop().await;
    let (observer, _dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;
    let mut client = observer.jobs("alice").await;
    let after = client.get_job(pb::GetJobRequest { job_id: job.id }).await.unwrap().into_inner();
    assert_eq!(state(&after), pb::JobState::Completed, "finished during the grace period: {after:?}");
    assert_eq!(after.attempt, 1);
    observer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_waits_for_an_unreachable_database_instead_of_exiting() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    config.database_url = format!("postgres://postgres:secret-pw@127.0.0.1:{closed_port}/videojobs");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node = tokio::spawn(videojobs::app::run(config, listener, async move {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!node.is_finished(), "the node keeps retrying");
    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), node).await.expect("stops when asked").unwrap();
    assert!(result.is_ok(), "{result:?}");
}
