//! Batches: per-item validation, exact counts under concurrent workers on
//! several nodes, the right final state, cancelling, and bulk size.
mod common;

use common::*;
use tonic::Code;
use videojobs::proto::v1 as pb;

fn batch_state(batch: &pb::Batch) -> pb::BatchState {
    pb::BatchState::try_from(batch.state).unwrap()
}

on_both_backends!(
    a_batch_of_fifty_with_ten_failing_ends_completed_with_errors_with_exact_counts,
    cancelling_a_batch_cancels_every_unfinished_child,
    a_batchs_counts_follow_every_change_of_its_children,
    ten_thousand_urls_are_stored_and_queued_in_bulk,
);

async fn a_batch_of_fifty_with_ten_failing_ends_completed_with_errors_with_exact_counts(backend: Backend) {
    let one_attempt = |c: &mut videojobs::config::ServeConfig| {
        c.retry.max_attempts = 1;
        c.worker.concurrency = 3;
    };
    let (node, _dir) = TestServer::on(&backend).with(one_attempt).start().await;
    // Scaled out, a second node works on the same batch.
    let second =
        if backend.is_scaled() { Some(TestServer::on(&backend).with(one_attempt).start().await) } else { None };
    let mut client = node.jobs("alice").await;
    let mut urls: Vec<String> = (0..40).map(|n| url(&format!("batchgood{n:02}"))).collect();
    urls.extend((0..10).map(|n| url(&format!("failbatch{n:02}"))));
    urls.insert(7, "https://vimeo.com/1".into());
    let request = pb::SubmitBatchRequest { urls, subject: "Physics".into(), ..Default::default() };
    let response = client.submit_batch(request).await.unwrap().into_inner();
    let batch = response.batch.unwrap();
    assert_eq!((batch.total, batch.queued), (50, 50));
    assert_eq!(response.items.len(), 51);
    assert!(
        response.items[7].job_id.is_empty() && response.items[7].error.starts_with("url:"),
        "{:?}",
        response.items[7]
    );
    assert!(response.items.iter().enumerate().all(|(i, item)| i == 7 || !item.job_id.is_empty()));

    let watch = pb::WatchJobsRequest { batch_id: batch.id.clone(), after_sequence: Some(0), ..Default::default() };
    let mut stream = client.watch_jobs(watch).await.unwrap().into_inner();
    let last = tokio::time::timeout(WAIT * 2, async {
        loop {
            let event = stream.message().await.unwrap().expect("stream open");
            let Some(seen) = event.batch else { continue };
            assert_eq!(event.job.unwrap().batch_id, batch.id);
            if batch_state(&seen) != pb::BatchState::Running {
                return seen;
            }
        }
    })
    .await
    .expect("the batch ends");
    assert_eq!(batch_state(&last), pb::BatchState::CompletedWithErrors);
    assert_eq!((last.completed, last.failed, last.cancelled, last.queued, last.processing), (40, 10, 0, 0, 0));
    let fetched = client.get_batch(pb::GetBatchRequest { batch_id: batch.id.clone() }).await.unwrap().into_inner();
    assert_eq!(
        (batch_state(&fetched), fetched.completed, fetched.failed),
        (pb::BatchState::CompletedWithErrors, 40, 10)
    );
    assert!(fetched.finished_at.is_some());
    // An ended batch stays as it ended: cancelling it cancels nothing.
    let cancel = pb::CancelBatchRequest { batch_id: batch.id.clone() };
    let after_cancel = client.cancel_batch(cancel).await.unwrap().into_inner();
    assert_eq!(
        (batch_state(&after_cancel), after_cancel.completed, after_cancel.cancelled),
        (pb::BatchState::CompletedWithErrors, 40, 0)
    );
    assert_eq!(after_cancel.finished_at, fetched.finished_at);
    if let Some((second, _dir)) = second {
        second.stop().await;
    }
    node.stop().await;
}

async fn cancelling_a_batch_cancels_every_unfinished_child(backend: Backend) {
    let (node, _dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;
    let mut client = node.jobs("alice").await;
    let urls = (0..5).map(|n| url(&format!("cancelbat{n:02}"))).collect();
    let batch = client.submit_batch(pb::SubmitBatchRequest { urls, ..Default::default() }).await.unwrap().into_inner();
    let id = batch.batch.unwrap().id;
    let cancelled = client.cancel_batch(pb::CancelBatchRequest { batch_id: id.clone() }).await.unwrap().into_inner();
    assert_eq!(batch_state(&cancelled), pb::BatchState::Cancelled);
    assert_eq!((cancelled.cancelled, cancelled.queued), (5, 0));
    let listed = client.list_batches(pb::ListBatchesRequest::default()).await.unwrap().into_inner().batches;
    assert_eq!(listed.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    let mut bob = node.jobs("bob").await;
    assert_eq!(bob.get_batch(pb::GetBatchRequest { batch_id: id.clone() }).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(bob.cancel_batch(pb::CancelBatchRequest { batch_id: id }).await.unwrap_err().code(), Code::NotFound);
    node.stop().await;
}

/// The batch's counts as (queued, processing, completed, failed, cancelled),
/// checked against its children's states as `ListJobs` gives them.
async fn counts(client: &mut JobsClient, batch_id: &str) -> (u32, u32, u32, u32, u32) {
    let batch = client.get_batch(pb::GetBatchRequest { batch_id: batch_id.into() }).await.unwrap().into_inner();
    let counted = (batch.queued, batch.processing, batch.completed, batch.failed, batch.cancelled);
    let request = pb::ListJobsRequest { batch_id: batch_id.into(), ..Default::default() };
    let children = client.list_jobs(request).await.unwrap().into_inner().jobs;
    let mut tally = (0, 0, 0, 0, 0);
    for child in &children {
        match state(child) {
            pb::JobState::Queued | pb::JobState::Retrying => tally.0 += 1,
            pb::JobState::Processing => tally.1 += 1,
            pb::JobState::Completed => tally.2 += 1,
            pb::JobState::Failed => tally.3 += 1,
            pb::JobState::Cancelled => tally.4 += 1,
            pb::JobState::Unspecified => panic!("a child without a state"),
        }
    }
    assert_eq!(counted, tally, "the batch's counts against its children");
    counted
}

async fn a_batchs_counts_follow_every_change_of_its_children(backend: Backend) {
    let (node, _dir) = TestServer::on(&backend)
        .with(|c| {
            c.retry.max_attempts = 1;
            c.worker.concurrency = 1;
        })
        .start()
        .await;
    let mut client = node.jobs("alice").await;
    let urls = ["hangcount01", "waitcount01", "goodcount01", "failcount01"].map(url).to_vec();
    let response =
        client.submit_batch(pb::SubmitBatchRequest { urls, ..Default::default() }).await.unwrap().into_inner();
    let batch_id = response.batch.unwrap().id;
    let [hang, waiting, good, fail] = [0, 1, 2, 3].map(|i| response.items[i].job_id.clone());
    wait_until_processing(&mut client, &hang).await;
    assert_eq!(counts(&mut client, &batch_id).await, (3, 1, 0, 0, 0));

    client.cancel_job(pb::CancelJobRequest { job_id: waiting.clone() }).await.unwrap();
    assert_eq!(counts(&mut client, &batch_id).await, (2, 1, 0, 0, 1), "a waiting child cancelled");

    client.cancel_job(pb::CancelJobRequest { job_id: hang.clone() }).await.unwrap();
    assert_eq!(state(&wait_final(&mut client, &good).await), pb::JobState::Completed);
    assert_eq!(state(&wait_final(&mut client, &fail).await), pb::JobState::Failed);
    assert_eq!(state(&wait_final(&mut client, &hang).await), pb::JobState::Cancelled);
    assert_eq!(counts(&mut client, &batch_id).await, (0, 0, 1, 1, 2), "a running child cancelled, two run");
    let ended = client.get_batch(pb::GetBatchRequest { batch_id: batch_id.clone() }).await.unwrap().into_inner();
    assert_eq!(batch_state(&ended), pb::BatchState::CompletedWithErrors);
    assert!(ended.finished_at.is_some());

    client.retry_job(pb::RetryJobRequest { job_id: waiting.clone(), ..Default::default() }).await.unwrap();
    assert_eq!(state(&wait_final(&mut client, &waiting).await), pb::JobState::Completed);
    assert_eq!(counts(&mut client, &batch_id).await, (0, 0, 2, 1, 1), "a cancelled child retried and run");

    client.delete_job(pb::DeleteJobRequest { job_id: fail.clone() }).await.unwrap();
    assert_eq!(counts(&mut client, &batch_id).await, (0, 0, 2, 0, 1), "a failed child deleted");
    let listed = client.list_batches(pb::ListBatchesRequest::default()).await.unwrap().into_inner().batches;
    let batch = listed.iter().find(|b| b.id == batch_id).unwrap();
    assert_eq!((batch.total, batch.completed, batch.failed, batch.cancelled), (4, 2, 0, 1));
    assert_eq!(batch_state(batch), pb::BatchState::CompletedWithErrors);
    node.stop().await;
}

async fn ten_thousand_urls_are_stored_and_queued_in_bulk(backend: Backend) {
    let (node, _dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 0).start().await;
    let mut client = node.jobs("alice").await;
    let urls: Vec<String> = (0..10_000).map(|n| url(&format!("bulk{n:07}"))).collect();
    let request = pb::SubmitBatchRequest { urls: urls.clone(), ..Default::default() };
    let batch = client.submit_batch(request).await.unwrap().into_inner().batch.unwrap();
    assert_eq!((batch.total, batch.queued), (10_000, 10_000));
    let page =
        client.list_jobs(pb::ListJobsRequest { page_size: 1000, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(page.jobs.len(), 1000);
    let mut too_many = urls;
    too_many.push(url("onetoomany1"));
    let refused =
        client.submit_batch(pb::SubmitBatchRequest { urls: too_many, ..Default::default() }).await.unwrap_err();
    assert!(refused.code() == Code::InvalidArgument && refused.message().starts_with("urls:"), "{refused:?}");
    let none_valid = pb::SubmitBatchRequest { urls: vec!["nope".into()], ..Default::default() };
    assert_eq!(client.submit_batch(none_valid).await.unwrap_err().code(), Code::InvalidArgument);
    node.stop().await;
}
