//! `videojobs.v1.JobService`.
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::{job_to_proto, state_from_proto};
use super::parse_id;
use crate::auth::caller;
use crate::domain::job::NewJob;
use crate::domain::limits::{MAX_STATE_FILTERS, at_most, parse_watched_job_ids};
use crate::domain::page::PageRequest;
use crate::domain::subject::validate_subject;
use crate::domain::video_url::VideoUrl;
use crate::domain::{JobEventKind, JobState};
use crate::error::Error;
use crate::proto::v1 as pb;
use crate::proto::v1::job_service_server::JobService;
use crate::telemetry;
use crate::worker::{Intake, JobRunner};

pub const MAX_PRIORITY: i32 = 100;
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

pub(super) fn validate_priority(priority: i32) -> Result<(), Error> {
    if !(-MAX_PRIORITY..=MAX_PRIORITY).contains(&priority) {
        return Err(Error::invalid("priority", format!("must be between -{MAX_PRIORITY} and {MAX_PRIORITY}")));
    }
    Ok(())
}

fn validate_idempotency_key(key: &str) -> Result<Option<String>, Error> {
    if key.is_empty() {
        return Ok(None);
    }
    if key.len() > MAX_IDEMPOTENCY_KEY_LEN || key.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(
            "idempotency_key",
            format!("must be at most {MAX_IDEMPOTENCY_KEY_LEN} bytes of printable characters"),
        ));
    }
    Ok(Some(key.to_string()))
}

pub struct JobApi {
    pub runner: Arc<JobRunner>,
    /// Stores submissions that arrive together as one group.
    pub intake: Intake,
    /// Ends open watch streams when the node shuts down.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// How often an idle watch stream sends a heartbeat.
    pub watch_keepalive: std::time::Duration,
}

#[tonic::async_trait]
impl JobService for JobApi {
    async fn submit_video(&self, request: Request<pb::SubmitVideoRequest>) -> Result<Response<pb::Job>, Status> {
        let user = caller(&request)?.user_id;
        let body = request.into_inner();
        let video = VideoUrl::parse(&body.url)?;
        let subject = validate_subject(&body.subject)?;
        validate_priority(body.priority)?;
        let new = NewJob {
            user_id: user,
            url: video.canonical(),
            video_id: video.video_id,
            subject,
            assessments: body.assessments.unwrap_or(true),
            priority: body.priority,
            max_attempts: self.runner.retry.max_attempts,
            idempotency_key: validate_idempotency_key(&body.idempotency_key)?,
            batch_id: None,
        };
        let (job, created) = self.intake.submit(new).await?;
        if !created {
            tracing::info!(job_id = %job.id, user = %job.user_id, "duplicate submission; returning the existing job");
            return Ok(Response::new(job_to_proto(&job)));
        }
        tracing::info!(job_id = %job.id, user = %job.user_id, url = %job.url, "job submitted");
        metrics::counter!(telemetry::JOBS_SUBMITTED).increment(1);
        Ok(Response::new(job_to_proto(&job)))
    }

    async fn get_job(&self, request: Request<pb::GetJobRequest>) -> Result<Response<pb::Job>, Status> {
        let scope = caller(&request)?.scope();
        let id = parse_id("job_id", &request.get_ref().job_id)?;
        let job = self.runner.store.job_for_user(&scope, id).await?;
        Ok(Response::new(pb::Job { log_tail: job.log_tail.clone(), ..job_to_proto(&job) }))
    }

    async fn list_jobs(&self, request: Request<pb::ListJobsRequest>) -> Result<Response<pb::ListJobsResponse>, Status> {
        let scope = caller(&request)?.scope();
        let body = request.into_inner();
        let page = PageRequest::parse(body.page_size, &body.page_token)?;
        at_most("states", body.states.len(), MAX_STATE_FILTERS)?;
        let states = body
            .states
            .iter()
            .map(|&s| state_from_proto(s).ok_or_else(|| Error::invalid("states", format!("{s} is not a job state"))))
            .collect::<Result<Vec<JobState>, Error>>()?;
        let jobs = self.runner.store.list_jobs(&scope, &states, page).await?;
        let ids: Vec<_> = jobs.iter().map(|j| j.id).collect();
        Ok(Response::new(pb::ListJobsResponse {
            next_page_token: page.next_token(&ids),
            jobs: jobs.iter().map(job_to_proto).collect(),
        }))
    }

    async fn retry_job(&self, request: Request<pb::RetryJobRequest>) -> Result<Response<pb::Job>, Status> {
        let scope = caller(&request)?.scope();
        let id = parse_id("job_id", &request.get_ref().job_id)?;
        let runner = &self.runner;
        let job = runner.store.retry(&scope, id, runner.retry.max_attempts).await?;
        runner.events.publish(JobEventKind::Queued, job.clone()).await;
        // The job is stored; if the queue refuses it now, the reconciler
        // queues it later, so the caller still gets the job.
        if let Err(error) = runner.enqueue(&job, None).await {
            tracing::warn!(job_id = %job.id, %error, "job stored but not queued yet");
        }
        Ok(Response::new(job_to_proto(&job)))
    }

    async fn cancel_job(&self, request: Request<pb::CancelJobRequest>) -> Result<Response<pb::Job>, Status> {
        let scope = caller(&request)?.scope();
        let id = parse_id("job_id", &request.get_ref().job_id)?;
        let job = self.runner.store.cancel(&scope, id).await?;
        self.runner.events.cancel(id).await;
        tracing::info!(job_id = %id, user = %job.user_id, "job cancelled");
        metrics::counter!(telemetry::JOBS_FINISHED, "outcome" => "cancelled").increment(1);
        self.runner.events.publish(JobEventKind::Cancelled, job.clone()).await;
        Ok(Response::new(job_to_proto(&job)))
    }

    async fn delete_job(&self, request: Request<pb::DeleteJobRequest>) -> Result<Response<()>, Status> {
        let scope = caller(&request)?.scope();
        let id = parse_id("job_id", &request.get_ref().job_id)?;
        let job = self.runner.store.delete(&scope, id).await?;
        self.runner.events.publish(JobEventKind::Deleted, job).await;
        Ok(Response::new(()))
    }

    async fn submit_batch(
        &self,
        request: Request<pb::SubmitBatchRequest>,
    ) -> Result<Response<pb::SubmitBatchResponse>, Status> {
        let user = caller(&request)?.user_id;
        Ok(Response::new(super::batches::submit(&self.runner, user, request.into_inner()).await?))
    }

    async fn get_batch(&self, request: Request<pb::GetBatchRequest>) -> Result<Response<pb::Batch>, Status> {
        let scope = caller(&request)?.scope();
        Ok(Response::new(super::batches::get(&self.runner, scope, &request.get_ref().batch_id).await?))
    }

    async fn list_batches(
        &self,
        request: Request<pb::ListBatchesRequest>,
    ) -> Result<Response<pb::ListBatchesResponse>, Status> {
        let scope = caller(&request)?.scope();
        Ok(Response::new(super::batches::list(&self.runner, scope, request.into_inner()).await?))
    }

    async fn cancel_batch(&self, request: Request<pb::CancelBatchRequest>) -> Result<Response<pb::Batch>, Status> {
        let scope = caller(&request)?.scope();
        Ok(Response::new(super::batches::cancel(&self.runner, scope, &request.get_ref().batch_id).await?))
    }

    async fn get_job_stats(&self, request: Request<pb::GetJobStatsRequest>) -> Result<Response<pb::JobStats>, Status> {
        let scope = caller(&request)?.scope();
        let stats = self.runner.store.job_stats(&scope).await?;
        let count = |state| stats.count(state);
        Ok(Response::new(pb::JobStats {
            queued: count(JobState::Queued),
            processing: count(JobState::Processing),
            retrying: count(JobState::Retrying),
            completed: count(JobState::Completed),
            failed: count(JobState::Failed),
            cancelled: count(JobState::Cancelled),
            success_rate: stats.success_rate(),
            average_processing_seconds: stats.average_processing_seconds,
            p95_processing_seconds: stats.p95_processing_seconds,
            queue_depth: count(JobState::Queued) + count(JobState::Retrying),
            oldest_waiting_seconds: stats.oldest_waiting_seconds,
        }))
    }

    type WatchJobsStream = super::watch::EventStream;

    async fn watch_jobs(
        &self,
        request: Request<pb::WatchJobsRequest>,
    ) -> Result<Response<Self::WatchJobsStream>, Status> {
        let caller = caller(&request)?;
        let body = request.into_inner();
        let job_ids = parse_watched_job_ids(&body.job_ids)?;
        let batch_id = match body.batch_id.as_str() {
            "" => None,
            id => Some(parse_id("batch_id", id)?),
        };
        if let Some(batch_id) = batch_id {
            self.runner.store.batch_for_user(&caller.scope(), batch_id).await?;
        }
        let watch = super::watch::WatchRequest {
            caller,
            job_ids,
            batch_id,
            after_sequence: body.after_sequence,
            keepalive: self.watch_keepalive,
        };
        let events = &self.runner.events;
        let stream = super::watch::watch(&events.store, &events.hub, watch, self.shutdown.clone()).await?;
        Ok(Response::new(stream))
    }
}
