//! Scenario 8, the estimates' error: after a warm-up (so the node knows a
//! run time), one user submits a batch and a second user a few single
//! videos behind it; right after, every job's estimated start is read with
//! ListJobs. When all have completed, each estimate is compared with the
//! job's real start: the p50 and p90 of |estimated − actual| start, beside
//! the mean real wait for scale. The stand-in's runs take about the same
//! time each (a fixed stage delay); a real program's vary more.
use std::collections::HashMap;
use std::time::Duration;

use videojobs::proto::v1 as pb;

use super::{Bench, video_url};
use crate::node::{JobClient, Node, NodeOptions};
use crate::report::{Report, Row};
use crate::stats::{Latencies, median};

const CONCURRENCY: usize = 4;
/// Per stage: a run of the stand-in takes a few hundred ms.
const STAGE_DELAY_MS: u64 = 40;
const WARM_UP_JOBS: usize = 8;

pub async fn run(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let (batch, singles) = (bench.sizes.eta_batch, bench.sizes.eta_singles);
    let options = NodeOptions { concurrency: CONCURRENCY, embedded: false, stage_delay_ms: STAGE_DELAY_MS };
    let (mut p50s, mut p90s, mut waits) = (vec![], vec![], vec![]);
    for repeat in 0..bench.sizes.repeats {
        let node = Node::start(bench, options.clone()).await?;
        let mut errors = Latencies::default();
        let wait = measure(&node, batch, singles, &format!("eta-{repeat}"), &mut errors).await?;
        node.stop().await?;
        p50s.push(errors.quantile_ms(0.5) / 1000.0);
        p90s.push(errors.quantile_ms(0.9) / 1000.0);
        waits.push(wait);
    }
    let scenario = format!("8. Estimated start, {batch} + {singles} jobs, concurrency {CONCURRENCY}");
    report.add(Row::new(&scenario, "p50 error of the estimated start, s", median(&p50s)).decimals(2));
    report.add(Row::new(&scenario, "p90 error of the estimated start, s", median(&p90s)).decimals(2));
    report.add(Row::new(&scenario, "mean actual wait, s", median(&waits)).decimals(2));
    Ok(())
}

/// Records the start error of each job that was waiting when read; returns
/// the mean real wait in seconds.
async fn measure(node: &Node, batch: usize, singles: usize, user: &str, errors: &mut Latencies) -> anyhow::Result<f64> {
    let mut warm = node.client(&format!("{user}-warm")).await?;
    let urls = (0..WARM_UP_JOBS).map(|i| video_url('w', i)).collect();
    run_to_completion(&mut warm, urls, WARM_UP_JOBS).await?;

    let (mut first, mut second) = (node.client(&format!("{user}-a")).await?, node.client(&format!("{user}-b")).await?);
    let mut first_events = first.watch_jobs(pb::WatchJobsRequest::default()).await?.into_inner();
    let mut second_events = second.watch_jobs(pb::WatchJobsRequest::default()).await?.into_inner();
    let request = pb::SubmitBatchRequest {
        urls: (0..batch).map(|i| video_url('e', i)).collect(),
        subject: "Physics".into(),
        ..Default::default()
    };
    first.submit_batch(request).await?;
    for i in 0..singles {
        let request =
            pb::SubmitVideoRequest { url: video_url('s', i), subject: "Physics".into(), ..Default::default() };
        second.submit_video(request).await?;
    }
    let mut estimated = estimated_starts(&mut first).await?;
    estimated.extend(estimated_starts(&mut second).await?);

    count_completions(&mut first_events, batch).await?;
    count_completions(&mut second_events, singles).await?;
    let mut waits = Vec::new();
    for client in [&mut first, &mut second] {
        for job in all_jobs(client).await? {
            let (Some(actual), Some(created)) = (time(job.started_at), time(job.created_at)) else {
                anyhow::bail!("job {} has no start", job.id)
            };
            // A job that had started by the time the estimates were read has none.
            let Some(&estimate) = estimated.get(&job.id) else { continue };
            errors.record(Duration::from_secs_f64((estimate - actual).abs()));
            waits.push(actual - created);
        }
    }
    Ok(waits.iter().sum::<f64>() / waits.len().max(1) as f64)
}

async fn run_to_completion(client: &mut JobClient, urls: Vec<String>, jobs: usize) -> anyhow::Result<()> {
    let mut events = client.watch_jobs(pb::WatchJobsRequest::default()).await?.into_inner();
    client.submit_batch(pb::SubmitBatchRequest { urls, subject: "Physics".into(), ..Default::default() }).await?;
    count_completions(&mut events, jobs).await
}

async fn count_completions(events: &mut tonic::Streaming<pb::JobEvent>, jobs: usize) -> anyhow::Result<()> {
    let failed = super::throughput::until_ended(events, jobs).await?;
    anyhow::ensure!(failed == 0, "{failed} of {jobs} jobs did not complete");
    Ok(())
}

/// Each waiting job's estimated start, in seconds since the epoch.
async fn estimated_starts(client: &mut JobClient) -> anyhow::Result<HashMap<String, f64>> {
    let jobs = all_jobs(client).await?;
    Ok(jobs.into_iter().filter_map(|job| Some((job.id, time(job.estimate?.start)?))).collect())
}

async fn all_jobs(client: &mut JobClient) -> anyhow::Result<Vec<pb::Job>> {
    let (mut jobs, mut page_token) = (Vec::new(), String::new());
    loop {
        let request = pb::ListJobsRequest { page_size: 1000, page_token, ..Default::default() };
        let page = client.list_jobs(request).await?.into_inner();
        jobs.extend(page.jobs);
        if page.next_page_token.is_empty() {
            return Ok(jobs);
        }
        page_token = page.next_page_token;
    }
}

fn time(at: Option<prost_types::Timestamp>) -> Option<f64> {
    at.map(|at| at.seconds as f64 + f64::from(at.nanos) / 1e9)
}
