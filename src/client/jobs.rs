//! `submit` and `jobs list|get|retry|cancel|delete|failures|retry-failed`:
//! one call each (list
//! pages until its limit), printed as text or JSON. `submit` sends every URL
//! even when one is refused, and with `--watch` follows the jobs it made.
use super::args::{JobsArgs, JobsCommand, SubmitArgs};
use super::connect::{JobClient, connect};
use super::failure::{Failure, Outcome};
use super::output::{emit, failure_groups_table, failure_name, job_detail, job_json, job_summary, jobs_table, warn};
use super::watch;
use crate::proto::v1 as pb;

/// The server's largest page.
const MAX_PAGE_SIZE: u32 = 1000;

pub async fn submit(args: &SubmitArgs) -> Outcome {
    let json = args.options.json;
    let mut clients = connect(&args.options).await?;
    let mut job_ids = Vec::new();
    let mut refused: Option<Failure> = None;
    for url in &args.urls {
        let request = pb::SubmitVideoRequest {
            url: url.clone(),
            subject: args.subject.clone(),
            assessments: args.no_assessments.then_some(false),
            priority: args.priority,
            // The server already hands back a job of the same video that is
            // still waiting or running, which is all a terminal user needs.
            idempotency_key: String::new(),
            not_before: args.not_before.map(|at| prost_types::Timestamp { seconds: at.timestamp(), nanos: 0 }),
        };
        match clients.jobs.submit_video(request).await {
            Ok(response) => {
                let job = response.into_inner();
                // With --watch, JSON readers get each job once: as it ends.
                if !(json && args.watch) {
                    emit(&if json { job_json(&job).to_string() } else { job.id.clone() });
                }
                job_ids.push(job.id);
            }
            Err(status) => {
                let failure = Failure::status(&status);
                warn(&format!("error: {url}: {}", failure.line));
                if refused.as_ref().is_none_or(|worst| failure.exit > worst.exit) {
                    refused = Some(Failure::silent(failure.exit));
                }
            }
        }
    }
    if args.watch && !job_ids.is_empty() {
        let watched = watch::follow(&mut clients.jobs, job_ids, json).await;
        return match (watched, refused) {
            (Err(failure), Some(worst)) if worst.exit > failure.exit => Err(worst),
            (Err(failure), _) => Err(failure),
            (Ok(()), refused) => refused.map_or(Ok(()), Err),
        };
    }
    refused.map_or(Ok(()), Err)
}

pub async fn jobs(args: &JobsArgs) -> Outcome {
    let json = args.options.json;
    let mut client = connect(&args.options).await?.jobs;
    let print = |job: &pb::Job, text: String| emit(&if json { job_json(job).to_string() } else { text });
    match &args.command {
        JobsCommand::List { states, batch, search, limit } => {
            let filter = pb::ListJobsRequest {
                states: states.iter().map(|s| pb::JobState::from(*s) as i32).collect(),
                batch_id: batch.clone().unwrap_or_default(),
                text: search.clone().unwrap_or_default(),
                ..Default::default()
            };
            let jobs = list(&mut client, filter, *limit).await?;
            if json {
                jobs.iter().for_each(|job| emit(&job_json(job).to_string()));
            } else if jobs.is_empty() {
                warn("no jobs");
            } else {
                emit(&jobs_table(&jobs));
            }
        }
        JobsCommand::Get { job_id } => {
            let job = client.get_job(pb::GetJobRequest { job_id: job_id.clone() }).await?.into_inner();
            print(&job, job_detail(&job));
        }
        JobsCommand::Retry { job_id, priority } => {
            let request = pb::RetryJobRequest { job_id: job_id.clone(), priority: *priority };
            let job = client.retry_job(request).await?.into_inner();
            print(&job, job_summary(&job));
        }
        JobsCommand::Reprocess { job_id, subject, no_assessments, assessments, priority } => {
            let request = pb::ReprocessJobRequest {
                job_id: job_id.clone(),
                subject: subject.clone(),
                assessments: (*no_assessments || *assessments).then_some(*assessments),
                priority: *priority,
            };
            let job = client.reprocess_job(request).await?.into_inner();
            print(&job, job_summary(&job));
        }
        JobsCommand::Cancel { job_id } => {
            let job = client.cancel_job(pb::CancelJobRequest { job_id: job_id.clone() }).await?.into_inner();
            print(&job, job_summary(&job));
        }
        JobsCommand::Delete { job_id } => {
            client.delete_job(pb::DeleteJobRequest { job_id: job_id.clone() }).await?;
            emit(&if json {
                serde_json::json!({ "id": job_id, "deleted": true }).to_string()
            } else {
                format!("{job_id} deleted")
            });
        }
        JobsCommand::Failures { kind } => {
            let kind = kind.map_or(pb::FailureKind::Unspecified, pb::FailureKind::from) as i32;
            let filter = Some(pb::FailureFilter { kind, ..Default::default() });
            let found = client.list_failure_groups(pb::ListFailureGroupsRequest { filter }).await?.into_inner();
            if json {
                for group in &found.groups {
                    let newest = group.newest.as_ref().map(|job| job.id.clone());
                    let value = serde_json::json!({ "kind": failure_name(group.kind()), "reason_group": group.reason_group,
                        "count": group.count, "newest_job_id": newest });
                    emit(&value.to_string());
                }
            } else if found.groups.is_empty() {
                warn("no failed jobs");
            } else {
                emit(&failure_groups_table(&found.groups));
            }
        }
        JobsCommand::RetryFailed { kind, reason_group, batch } => {
            let filter = pb::FailureFilter {
                kind: kind.map_or(pb::FailureKind::Unspecified, pb::FailureKind::from) as i32,
                reason_group: reason_group.clone().unwrap_or_default(),
                batch_id: batch.clone().unwrap_or_default(),
                ..Default::default()
            };
            let request = pb::RetryFailedJobsRequest { filter: Some(filter) };
            let done = client.retry_failed_jobs(request).await?.into_inner();
            emit(&if json {
                serde_json::json!({ "retried": done.retried, "skipped": done.skipped, "more": done.more }).to_string()
            } else {
                let more = if done.more { "; more match, run it again" } else { "" };
                format!("{} retried, {} skipped{more}", done.retried, done.skipped)
            });
        }
    }
    Ok(())
}

/// Up to `limit` jobs `filter` lets through, newest first, over as many
/// pages as that takes.
async fn list(client: &mut JobClient, filter: pb::ListJobsRequest, limit: u32) -> Outcome<Vec<pb::Job>> {
    let limit = limit as usize;
    let mut jobs = Vec::new();
    let mut page_token = String::new();
    loop {
        let page_size = (limit - jobs.len()).min(MAX_PAGE_SIZE as usize) as i32;
        let request = pb::ListJobsRequest { page_size, page_token, ..filter.clone() };
        let page = client.list_jobs(request).await?.into_inner();
        jobs.extend(page.jobs);
        if page.next_page_token.is_empty() || jobs.len() >= limit {
            break;
        }
        page_token = page.next_page_token;
    }
    jobs.truncate(limit);
    Ok(jobs)
}
