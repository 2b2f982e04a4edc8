//! The batch calls of `JobService`: validate every URL on its own (a bad one
//! is reported in its item, not by failing the rest), then one core call.
use tonic::Status;

use super::convert::{batch_to_proto, not_before_from_proto};
use super::parse_id;
use crate::domain::batch::MAX_BATCH_URLS;
use crate::domain::job::{NewJob, validate_priority};
use crate::domain::page::PageRequest;
use crate::domain::subject::validate_subject;
use crate::domain::video_url::VideoUrl;
use crate::domain::{Scope, UserId};
use crate::error::Error;
use crate::jobs::Jobs;
use crate::proto::v1 as pb;

pub async fn submit(
    jobs: &Jobs,
    user: UserId,
    body: pb::SubmitBatchRequest,
) -> Result<pb::SubmitBatchResponse, Status> {
    if body.urls.is_empty() || body.urls.len() > MAX_BATCH_URLS {
        return Err(
            Error::invalid("urls", format!("must hold 1 to {MAX_BATCH_URLS} URLs, got {}", body.urls.len())).into()
        );
    }
    let subject = validate_subject(&body.subject)?;
    let priority = validate_priority(body.priority)?;
    let not_before = not_before_from_proto(body.not_before, jobs.rules().max_schedule_ahead)?;
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
                    priority,
                    max_attempts: jobs.rules().retry.max_attempts,
                    idempotency_key: None,
                    batch_id: None,
                    not_before,
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
    let (batch, children) = jobs.submit_batch(user, subject, children).await?;
    let mut accepted = children.iter();
    for item in items.iter_mut().filter(|item| item.error.is_empty()) {
        item.job_id = accepted.next().expect("one job per accepted URL").id.to_string();
    }
    Ok(pb::SubmitBatchResponse { batch: Some(batch_to_proto(&batch)), items })
}

pub async fn get(jobs: &Jobs, scope: Scope, batch_id: &str) -> Result<pb::Batch, Status> {
    let id = parse_id("batch_id", batch_id)?;
    Ok(batch_to_proto(&jobs.batch(&scope, id).await?))
}

pub async fn list(jobs: &Jobs, scope: Scope, body: pb::ListBatchesRequest) -> Result<pb::ListBatchesResponse, Status> {
    let page = PageRequest::parse(body.page_size, &body.page_token)?;
    let batches = jobs.batches(&scope, page).await?;
    let ids: Vec<_> = batches.iter().map(|b| b.id).collect();
    Ok(pb::ListBatchesResponse {
        next_page_token: page.next_token(&ids),
        batches: batches.iter().map(batch_to_proto).collect(),
    })
}

pub async fn cancel(jobs: &Jobs, scope: Scope, batch_id: &str) -> Result<pb::Batch, Status> {
    let id = parse_id("batch_id", batch_id)?;
    Ok(batch_to_proto(&jobs.cancel_batch(&scope, id).await?))
}
