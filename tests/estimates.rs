//! Queue positions and estimates, as a user sees them: a waiting job's place
//! is the number of jobs the fair scheduler starts before it (not a global
//! count), it comes with start and finish estimates once a run time is
//! known, a running job has an estimated finish, and a watch that asks for
//! estimates is told when places move.
mod common;

use std::collections::HashMap;

use common::*;
use videojobs::proto::v1 as pb;

on_both_backends!(places_follow_the_fair_order_and_watchers_hear_when_they_move);

async fn get(client: &mut JobsClient, id: &str) -> pb::Job {
    client.get_job(pb::GetJobRequest { job_id: id.into() }).await.unwrap().into_inner()
}

fn ahead(job: &pb::Job) -> Option<u64> {
    job.estimate.as_ref().and_then(|estimate| estimate.jobs_ahead)
}

fn start(job: &pb::Job) -> (i64, i32) {
    let at = job.estimate.as_ref().and_then(|e| e.start).unwrap_or_else(|| panic!("no estimated start: {job:?}"));
    (at.seconds, at.nanos)
}

/// Reads ESTIMATE events until the latest place of each job in `wanted`
/// is the one wanted.
async fn until_places(stream: &mut tonic::Streaming<pb::JobEvent>, wanted: &[(&str, u64)]) {
    let mut latest: HashMap<String, Option<u64>> = HashMap::new();
    let reached =
        |latest: &HashMap<String, Option<u64>>| wanted.iter().all(|(id, ahead)| latest.get(*id) == Some(&Some(*ahead)));
    tokio::time::timeout(WAIT, async {
        while !reached(&latest) {
            let event = stream.message().await.unwrap().expect("the watch ended");
            if kind(&event) == pb::JobEventType::Estimate {
                assert!(event.job.is_none(), "an ESTIMATE event carries no job");
                assert_eq!(event.sequence, 0, "an ESTIMATE event is not logged");
                latest.insert(event.job_id.clone(), event.estimate.and_then(|e| e.jobs_ahead));
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("places never became {wanted:?}; the latest were {latest:?}"));
}

async fn places_follow_the_fair_order_and_watchers_hear_when_they_move(backend: Backend) {
    let (node, _dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 1).start().await;
    let mut carol = node.jobs("carol").await;
    // One completed job gives the node a run time to estimate with.
    let quick = carol.submit_video(submit("carolquick1")).await.unwrap().into_inner();
    assert_eq!(state(&wait_final(&mut carol, &quick.id).await), pb::JobState::Completed);
    // Then carol's hanging job holds the only worker.
    let blocker = carol.submit_video(submit("hangcarol01")).await.unwrap().into_inner();
    wait_until_processing(&mut carol, &blocker.id).await;

    let mut alice = node.jobs("alice").await;
    let request = pb::WatchJobsRequest { estimates: true, ..Default::default() };
    let mut watch = alice.watch_jobs(request).await.unwrap().into_inner();
    let mut alices = Vec::new();
    for n in 0..3 {
        alices.push(alice.submit_video(submit(&format!("hangalice{n:02}"))).await.unwrap().into_inner().id);
    }
    let mut bob = node.jobs("bob").await;
    let bobs = bob.submit_video(submit("hangbob0001")).await.unwrap().into_inner().id;

    // Turns go alice, bob, alice, alice: bob's single job has one ahead of
    // it, not alice's three.
    let (a0, a1, a2) =
        (get(&mut alice, &alices[0]).await, get(&mut alice, &alices[1]).await, get(&mut alice, &alices[2]).await);
    let b0 = get(&mut bob, &bobs).await;
    assert_eq!([ahead(&a0), ahead(&b0), ahead(&a1), ahead(&a2)], [Some(0), Some(1), Some(2), Some(3)]);
    assert!(
        start(&a0) <= start(&b0) && start(&b0) <= start(&a1) && start(&a1) <= start(&a2),
        "{a0:?} {b0:?} {a1:?} {a2:?}"
    );
    for job in [&a0, &b0, &a1, &a2] {
        let estimate = job.estimate.as_ref().unwrap();
        assert!(estimate.finish.unwrap().seconds >= estimate.start.unwrap().seconds, "{estimate:?}");
    }
    let listed = alice.list_jobs(pb::ListJobsRequest::default()).await.unwrap().into_inner().jobs;
    let listed_places: HashMap<&str, Option<u64>> = listed.iter().map(|job| (job.id.as_str(), ahead(job))).collect();
    assert_eq!(listed_places[alices[2].as_str()], Some(3), "ListJobs gives the same places");

    let running = get(&mut carol, &blocker.id).await;
    let estimate = running.estimate.expect("a running job has an estimate");
    assert!(estimate.jobs_ahead.is_none() && estimate.start.is_none() && estimate.finish.is_some(), "{estimate:?}");
    let finished = get(&mut carol, &quick.id).await;
    assert!(finished.estimate.is_none(), "a finished job has no estimate");

    // Alice's watch heard her places, then hears them move when carol's
    // job ends and alice's first one starts: bob's turn is next.
    until_places(&mut watch, &[(&alices[0], 0), (&alices[1], 2), (&alices[2], 3)]).await;
    carol.cancel_job(pb::CancelJobRequest { job_id: blocker.id.clone() }).await.unwrap();
    until_places(&mut watch, &[(&alices[1], 1), (&alices[2], 2)]).await;
    let a0 = get(&mut alice, &alices[0]).await;
    assert_eq!(state(&a0), pb::JobState::Processing);

    for id in &alices {
        alice.cancel_job(pb::CancelJobRequest { job_id: id.clone() }).await.unwrap();
    }
    bob.cancel_job(pb::CancelJobRequest { job_id: bobs }).await.unwrap();
    node.stop().await;
}
