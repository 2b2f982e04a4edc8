//! The batch calls of `JobService`: validate every URL on its own (a bad one
//! is reported in its item, not by failing the rest), store the batch and
//! its children in one transaction, log their events in one, queue them in
//! bulk.
use tonic::Status;

use super::convert::batch_to_proto;
use super::parse_id;
use crate::domain::batch::MAX_BATCH_URLS;
use crate::domain::job::NewJob;
use crate::domain::page::PageRequest;
use crate::domain::subject::validate_subject;
use crate::domain::video_url::VideoUrl;
use crate::domain::{JobEventKind, Scope, UserId};
use crate::error::Error;
use crate::proto::v1 as pb;
use crate::queue::QueueItem;
use crate::worker::JobRunner;

pub async fn submit(
    runner: &JobRunner,
    user: UserId,
    body: pb::SubmitBatchRequest,
) -> Result<pb::SubmitBatchResponse, Status> {
    if body.urls.is_empty() || body.urls.len() > MAX_BATCH_URLS {
        return Err(
            Error::invalid("urls", format!("must hold 1 to {MAX_BATCH_URLS} URLs, got {}", body.urls.len())).into()
        );
    }
    let subject = validate_subject(&body.subject)?;
    super::job_service::validate_priority(body.priority)?;
    let mut items = Vec::with_capacity(body.urls.len());
    let mut children = Vec::new();
    for url in &body.urls {
        match VideoUrl::parse(url) {
            Ok(video) => {
                items.push(pb::BatchItem { url: url.clone(), ..Default::default() });
                children.push(NewJob {
                    user_id: user.clone(),
                    url: video.canonical(),
                    video_id: video.video_id,
                    subject: subject.clone(),
                    assessments: body.assessments.unwrap_or(true),
                    priority: body.priority,
                    max_attempts: runner.retry.max_attempts,
                    idempotency_key: None,
                    batch_id: None,
                });
            }
            Err(error) => {
                items.push(pb::BatchItem { url: url.clone(), error: error.to_string(), ..Default::default() })
            }
        }
    }
    if children.is_empty() {
        return Err(Error::invalid("urls", "none of the URLs is a YouTube video").into());
    }
    runner.ensure_room(children.len()).await?;
    let (batch, jobs) = runner.store.insert_batch(&user, &subject, children).await?;
    let mut accepted = jobs.iter();
    for item in items.iter_mut().filter(|item| item.error.is_empty()) {
        item.job_id = accepted.next().expect("one job per accepted URL").id.to_string();
    }
    let queue_items: Vec<QueueItem> = jobs.iter().map(QueueItem::now).collect();
    // Logged before any child is queued, so each child's QUEUED comes before
    // anything a worker says of it; then sent live while the children are
    // queued (a watcher orders what it hears by sequence either way).
    let events = runner.events.log_many(JobEventKind::Queued, jobs, Some(batch.clone())).await;
    let (_, queued) = tokio::join!(runner.events.deliver_all(events), runner.queue.restore(&queue_items));
    if let Err(error) = queued {
        tracing::warn!(batch_id = %batch.id, %error, "batch stored but not queued yet; the reconciler queues it");
    }
    tracing::info!(batch_id = %batch.id, user = %batch.user_id, total = batch.total, "batch submitted");
    metrics::counter!(crate::telemetry::JOBS_SUBMITTED).increment(batch.total as u64);
    Ok(pb::SubmitBatchResponse { batch: Some(batch_to_proto(&batch)), items })
}

pub async fn get(runner: &JobRunner, scope: Scope, batch_id: &str) -> Result<pb::Batch, Status> {
    let id = parse_id("batch_id", batch_id)?;
    Ok(batch_to_proto(&runner.store.batch_for_user(&scope, id).await?))
}

pub async fn list(
    runner: &JobRunner,
    scope: Scope,
    body: pb::ListBatchesRequest,
) -> Result<pb::ListBatchesResponse, Status> {
    let page = PageRequest::parse(body.page_size, &body.page_token)?;
    let batches = runner.store.list_batches(&scope, page).await?;
    let ids: Vec<_> = batches.iter().map(|b| b.id).collect();
    Ok(pb::ListBatchesResponse {
        next_page_token: page.next_token(&ids),
        batches: batches.iter().map(batch_to_proto).collect(),
    })
}

pub async fn cancel(runner: &JobRunner, scope: Scope, batch_id: &str) -> Result<pb::Batch, Status> {
    let id = parse_id("batch_id", batch_id)?;
    let cancelled = runner.store.cancel_batch(&scope, id).await?;
    for job in cancelled {
        runner.events.cancel(job.id).await;
        runner.events.publish(JobEventKind::Cancelled, job).await;
    }
    let batch = runner.store.batch_for_user(&scope, id).await?;
    tracing::info!(batch_id = %id, "batch cancelled");
    Ok(batch_to_proto(&batch))
}
