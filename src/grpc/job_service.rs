//! `videojobs.v1.JobService`.
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::{
    estimate_to_proto, estimated_jobs_to_proto, job_to_proto, not_before_from_proto, state_from_proto,
};
use super::{failures, node, parse_id};
use crate::auth::caller;
use crate::domain::job::{NewJob, Rerun, validate_idempotency_key, validate_priority};
use crate::domain::limits::{MAX_STATE_FILTERS, at_most, parse_watched_job_ids};
use crate::domain::page::PageRequest;
use crate::domain::subject::validate_subject;
use crate::domain::video_url::VideoUrl;
use crate::domain::{JobFilter, JobState};
use crate::error::Error;
use crate::jobs::Jobs;
use crate::proto::v1 as pb;
use crate::proto::v1::job_service_server::JobService;

pub struct JobApi {
    pub jobs: Arc<Jobs>,
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
        let new = NewJob {
            user_id: user,
            url: video.canonical(),
            video_id: video.video_id,
            subject,
            assessments: body.assessments.unwrap_or(true),
            priority: validate_priority(body.priority)?,
            max_attempts: self.jobs.rules().retry.max_attempts,
            idempotency_key: validate_idempotency_key(&body.idempotency_key)?,
            batch_id: None,
            not_before: not_before_from_proto(body.not_before, self.jobs.rules().max_schedule_ahead)?,
        };
        let (job, created) = self.jobs.submit(new).await?;
        if created {
            tracing::info!(job_id = %job.id, user = %job.user_id, url = %job.url, "job submitted");
        } else {
            tracing::info!(job_id = %job.id, user = %job.user_id, "duplicate submission; returning the existing job");
        }
        Ok(Response::new(job_to_proto(&job)))
    }

    async fn get_job(&self, request: Request<pb::GetJobRequest>) -> Result<Response<pb::Job>, Status> {
        let scope = caller(&request)?.scope();
        let id = parse_id("job_id", &request.get_ref().job_id)?;
        let (job, attempts) = self.jobs.job_with_attempts(&scope, id).await?;
        let attempts = attempts.iter().map(super::logs::attempt_to_proto).collect();
        let estimate = self.jobs.estimates(std::slice::from_ref(&job)).await.pop().flatten();
        Ok(Response::new(pb::Job {
            log_tail: job.log_tail.clone(),
            attempts,
            estimate: estimate.as_ref().map(estimate_to_proto),
            ..job_to_proto(&job)
        }))
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
        let filter = JobFilter::parse(states, &body.batch_id, &body.text)?;
        let jobs = self.jobs.jobs(&scope, &filter, page).await?;
        let ids: Vec<_> = jobs.iter().map(|j| j.id).collect();
        let estimates = self.jobs.estimates(&jobs).await;
        Ok(Response::new(pb::ListJobsResponse {
            next_page_token: page.next_token(&ids),
            jobs: estimated_jobs_to_proto(&jobs, &estimates),
        }))
    }

    async fn retry_job(&self, request: Request<pb::RetryJobRequest>) -> Result<Response<pb::Job>, Status> {
        let scope = caller(&request)?.scope();
        let id = parse_id("job_id", &request.get_ref().job_id)?;
        let priority = request.get_ref().priority.map(validate_priority).transpose()?;
        let job = self.jobs.retry(&scope, id, priority).await?;
        Ok(Response::new(job_to_proto(&job)))
    }

    async fn reprocess_job(&self, request: Request<pb::ReprocessJobRequest>) -> Result<Response<pb::Job>, Status> {
        let scope = caller(&request)?.scope();
        let body = request.into_inner();
        let id = parse_id("job_id", &body.job_id)?;
        let rerun = Rerun {
            subject: body.subject.as_deref().map(validate_subject).transpose()?,
            assessments: body.assessments,
            priority: body.priority.map(validate_priority).transpose()?,
        };
        let job = self.jobs.reprocess(&scope, id, rerun).await?;
        Ok(Response::new(job_to_proto(&job)))
    }

    async fn cancel_job(&self, request: Request<pb::CancelJobRequest>) -> Result<Response<pb::Job>, Status> {
        let scope = caller(&request)?.scope();
        let id = parse_id("job_id", &request.get_ref().job_id)?;
        let job = self.jobs.cancel(&scope, id).await?;
        Ok(Response::new(job_to_proto(&job)))
    }

    async fn delete_job(&self, request: Request<pb::DeleteJobRequest>) -> Result<Response<()>, Status> {
        let scope = caller(&request)?.scope();
        let id = parse_id("job_id", &request.get_ref().job_id)?;
        self.jobs.delete(&scope, id).await?;
        Ok(Response::new(()))
    }

    async fn submit_batch(
        &self,
        request: Request<pb::SubmitBatchRequest>,
    ) -> Result<Response<pb::SubmitBatchResponse>, Status> {
        let user = caller(&request)?.user_id;
        Ok(Response::new(super::batches::submit(&self.jobs, user, request.into_inner()).await?))
    }

    async fn get_batch(&self, request: Request<pb::GetBatchRequest>) -> Result<Response<pb::Batch>, Status> {
        let scope = caller(&request)?.scope();
        Ok(Response::new(super::batches::get(&self.jobs, scope, &request.get_ref().batch_id).await?))
    }

    async fn list_batches(
        &self,
        request: Request<pb::ListBatchesRequest>,
    ) -> Result<Response<pb::ListBatchesResponse>, Status> {
        let scope = caller(&request)?.scope();
        Ok(Response::new(super::batches::list(&self.jobs, scope, request.into_inner()).await?))
    }

    async fn cancel_batch(&self, request: Request<pb::CancelBatchRequest>) -> Result<Response<pb::Batch>, Status> {
        let scope = caller(&request)?.scope();
        Ok(Response::new(super::batches::cancel(&self.jobs, scope, &request.get_ref().batch_id).await?))
    }

    async fn list_failure_groups(
        &self,
        request: Request<pb::ListFailureGroupsRequest>,
    ) -> Result<Response<pb::ListFailureGroupsResponse>, Status> {
        let scope = caller(&request)?.scope();
        let filter = failures::filter_from_proto(request.into_inner().filter)?;
        let groups = self.jobs.failure_groups(&scope, &filter).await?;
        Ok(Response::new(failures::groups_to_proto(groups)))
    }

    async fn retry_failed_jobs(
        &self,
        request: Request<pb::RetryFailedJobsRequest>,
    ) -> Result<Response<pb::RetryFailedJobsResponse>, Status> {
        let scope = caller(&request)?.scope();
        let filter = failures::filter_from_proto(request.into_inner().filter)?;
        let done = self.jobs.retry_failed(&scope, &filter).await?;
        Ok(Response::new(failures::retry_to_proto(done)))
    }

    async fn drain_node(&self, request: Request<pb::DrainNodeRequest>) -> Result<Response<pb::NodeStatus>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(node::drain(&self.jobs, &caller, request.into_inner()).await?))
    }

    async fn get_node_status(
        &self,
        request: Request<pb::GetNodeStatusRequest>,
    ) -> Result<Response<pb::NodeStatus>, Status> {
        Ok(Response::new(node::status(&self.jobs, &caller(&request)?)?))
    }

    async fn pause_jobs(&self, request: Request<pb::PauseJobsRequest>) -> Result<Response<pb::PauseState>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(super::pause::pause(&self.jobs, &caller, request.into_inner()).await?))
    }

    async fn resume_jobs(&self, request: Request<pb::ResumeJobsRequest>) -> Result<Response<pb::PauseState>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(super::pause::resume(&self.jobs, &caller, request.into_inner()).await?))
    }

    async fn list_pauses(
        &self,
        request: Request<pb::ListPausesRequest>,
    ) -> Result<Response<pb::ListPausesResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(super::pause::list(&self.jobs, &caller).await?))
    }

    async fn get_job_stats(&self, request: Request<pb::GetJobStatsRequest>) -> Result<Response<pb::JobStats>, Status> {
        let scope = caller(&request)?.scope();
        let stats = self.jobs.stats(&scope).await?;
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

    async fn get_job_log(
        &self,
        request: Request<pb::GetJobLogRequest>,
    ) -> Result<Response<pb::GetJobLogResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(super::logs::get(&self.jobs, &caller, request.into_inner()).await?))
    }

    type WatchJobLogsStream = super::log_watch::LogLineStream;

    async fn watch_job_logs(
        &self,
        request: Request<pb::WatchJobLogsRequest>,
    ) -> Result<Response<Self::WatchJobLogsStream>, Status> {
        let caller = caller(&request)?;
        let stream = super::log_watch::watch(
            Arc::clone(&self.jobs),
            &caller,
            request.into_inner(),
            self.watch_keepalive,
            self.shutdown.clone(),
        )
        .await?;
        Ok(Response::new(stream))
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
            self.jobs.batch(&caller.scope(), batch_id).await?;
        }
        let watch = super::watch::WatchRequest {
            caller,
            job_ids,
            batch_id,
            after_sequence: body.after_sequence,
            estimates: body.estimates,
            keepalive: self.watch_keepalive,
        };
        let stream = super::watch::watch(self.jobs.event_log(), watch, self.shutdown.clone()).await?;
        Ok(Response::new(stream))
    }
}
