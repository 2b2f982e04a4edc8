//! A per-user concurrency cap holds across workers and nodes, and a capped
//! user never holds up another user.
mod common;

use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;

on_both_backends!(one_user_never_runs_more_than_the_cap_and_others_are_not_held_up);

async fn one_user_never_runs_more_than_the_cap_and_others_are_not_held_up(backend: Backend) {
    let capped = |c: &mut videojobs::config::ServeConfig| {
        c.worker.concurrency = 2;
        c.worker.per_user_concurrency = Some(1);
        set_stage_delay(c, Duration::from_millis(150));
    };
    let (node, _dir) = TestServer::on(&backend).with(capped).start().await;
    let second = if backend.is_scaled() { Some(TestServer::on(&backend).with(capped).start().await) } else { None };
    let mut alice = node.jobs("alice").await;
    let mut stream = alice.watch_jobs(pb::WatchJobsRequest::default()).await.unwrap().into_inner();
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(alice.submit_video(submit(&format!("capped0000{n}"))).await.unwrap().into_inner().id);
    }
    let mut bob = node.jobs("bob").await;
    let bobs = bob.submit_video(submit("bobuncapped")).await.unwrap().into_inner();

    let (mut running, mut most, mut done) = (std::collections::HashSet::new(), 0, 0);
    tokio::time::timeout(WAIT, async {
        while done < ids.len() {
            let event = stream.message().await.unwrap().unwrap();
            let Some(job) = event.job else { continue };
            match pb::JobState::try_from(job.state).unwrap() {
                pb::JobState::Processing => {
                    running.insert(job.id.clone());
                }
                state if is_final(state) => {
                    running.remove(&job.id);
                    done += 1;
                }
                _ => {}
            }
            most = most.max(running.len());
        }
    })
    .await
    .expect("alice's jobs finish");
    assert_eq!(most, 1, "alice never had two jobs processing at once");
    let bobs = bob.get_job(pb::GetJobRequest { job_id: bobs.id }).await.unwrap().into_inner();
    let alices_last = alice.get_job(pb::GetJobRequest { job_id: ids[2].clone() }).await.unwrap().into_inner();
    assert_eq!(state(&bobs), pb::JobState::Completed);
    let started = |job: &pb::Job| job.started_at.as_ref().map(|t| (t.seconds, t.nanos)).unwrap();
    assert!(started(&bobs) < started(&alices_last), "bob's job ran while alice's waited for her cap");
    if let Some((second, _dir)) = second {
        second.stop().await;
    }
    node.stop().await;
}
