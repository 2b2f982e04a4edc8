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
