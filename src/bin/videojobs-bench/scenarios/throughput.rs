//! Scenario 1, end-to-end throughput: N jobs, each running the stand-in with
//! zero stage delays, at several worker concurrencies; jobs/s from the
//! submission of the first to the COMPLETED of the last, every job checked
//! COMPLETED with its notes stored. Beside it: BullMQ running the same
//! program the same way, and a bare tokio loop spawning it (the floor).
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use videojobs::proto::v1 as pb;

use super::{Bench, video_url};
use crate::node::{JobClient, Node, NodeOptions};
use crate::peer::Peer;
use crate::report::{Report, Row, Target};
use crate::scratch::TempDir;
use crate::stats::median;

const SUBJECT: &str = "Physics";

pub async fn run(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let jobs = bench.sizes.throughput_jobs;
    for &concurrency in &bench.sizes.concurrencies {
        let node = Node::start(bench, NodeOptions { concurrency, embedded: false, stage_delay_ms: 0 }).await?;
        let (mut ours, mut peers, mut floors) = (vec![], vec![], vec![]);
        for repeat in 0..bench.sizes.repeats {
            ours.push(videojobs_jobs_per_second(&node, jobs, &format!("throughput-{concurrency}-{repeat}")).await?);
            if let Some(peer) = &bench.peer {
                peers.push(peer_jobs_per_second(bench, peer, jobs, concurrency).await?);
            }
            floors.push(floor_jobs_per_second(&bench.standin, jobs, concurrency).await?);
        }
        node.stop().await?;
        let mut row =
            Row::new(format!("1. End-to-end, {jobs} jobs, concurrency {concurrency}"), "jobs/s", median(&ours))
                .peer((!peers.is_empty()).then(|| median(&peers)))
                .floor("bare spawn", median(&floors))
                .decimals(1);
        if concurrency == 8 {
            row = row.target(Target::PeerRatio(3.0)).target(Target::FloorRatio(0.6));
        }
        report.add(row);
    }
    Ok(())
}

/// Submits `jobs` as one batch, follows them over WatchJobs until all have
/// completed, then checks each one's state and notes.
async fn videojobs_jobs_per_second(node: &Node, jobs: usize, user: &str) -> anyhow::Result<f64> {
    let mut client = node.client(user).await?;
    let mut events = client.watch_jobs(pb::WatchJobsRequest::default()).await?.into_inner();
    let urls = (0..jobs).map(|i| video_url('t', i)).collect();
    let started = Instant::now();
    let batch = pb::SubmitBatchRequest { urls, subject: SUBJECT.into(), ..Default::default() };
    let submitted = client.submit_batch(batch).await?.into_inner();
    let rejected: Vec<_> = submitted.items.iter().filter(|item| !item.error.is_empty()).collect();
    anyhow::ensure!(rejected.is_empty(), "the batch refused items: {:?}", rejected.first());
    let failed = until_ended(&mut events, jobs).await?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(failed == 0, "{failed} of {jobs} jobs did not complete");
    let with_notes = completed_jobs_with_notes(&mut client).await?;
    anyhow::ensure!(with_notes == jobs, "{with_notes} of {jobs} jobs are COMPLETED with notes stored");
    Ok(jobs as f64 / seconds)
}

/// Reads `events` until `jobs` jobs have ended; answers how many of them
/// failed or were cancelled.
pub async fn until_ended(events: &mut tonic::Streaming<pb::JobEvent>, jobs: usize) -> anyhow::Result<usize> {
    let (mut completed, mut failed) = (0, 0);
    while completed + failed < jobs {
        let event = tokio::time::timeout(Duration::from_secs(120), events.message())
            .await
            .map_err(|_| anyhow::anyhow!("no event for 120 s ({completed} of {jobs} completed)"))??
            .ok_or_else(|| anyhow::anyhow!("the watch stream ended"))?;
        match pb::JobEventType::try_from(event.r#type) {
            Ok(pb::JobEventType::Completed) => completed += 1,
            Ok(pb::JobEventType::Failed | pb::JobEventType::Cancelled) => failed += 1,
            _ => {}
        }
    }
    Ok(failed)
}

/// Pages through the caller's COMPLETED jobs; counts those with notes.
async fn completed_jobs_with_notes(client: &mut JobClient) -> anyhow::Result<usize> {
    let (mut count, mut page_token) = (0, String::new());
    loop {
        let request = pb::ListJobsRequest {
            states: vec![pb::JobState::Completed as i32],
            page_size: 1000,
            page_token,
            ..Default::default()
        };
        let page = client.list_jobs(request).await?.into_inner();
        count += page.jobs.iter().filter(|job| !job.note_ids.is_empty()).count();
        if page.next_page_token.is_empty() {
            return Ok(count);
        }
        page_token = page.next_page_token;
    }
}

async fn peer_jobs_per_second(bench: &Bench, peer: &Peer, jobs: usize, concurrency: usize) -> anyhow::Result<f64> {
    let (concurrency, program) = (concurrency.to_string(), bench.standin.display().to_string());
    let extra = ["--concurrency", &concurrency, "--program", &program, "--arg", "--stage-delay-ms", "--arg", "0"];
    let result = peer.run("throughput", &bench.redis_url, jobs, &extra).await?;
    let completed = Peer::field(&result, "completed")?;
    anyhow::ensure!(completed as usize == jobs, "BullMQ completed {completed} of {jobs} jobs");
    Ok(jobs as f64 / Peer::field(&result, "seconds")?)
}

/// The floor: the same program, the same number in flight, each in its own
/// scratch directory (it writes there), spawned by a bare tokio loop.
pub async fn floor_jobs_per_second(standin: &Path, jobs: usize, concurrency: usize) -> anyhow::Result<f64> {
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut running = JoinSet::new();
    let started = Instant::now();
    for number in 0..jobs {
        let slot = slots.clone().acquire_owned().await?;
        let standin = standin.to_path_buf();
        running.spawn(async move {
            let scratch = TempDir::new("floor")?;
            let output = tokio::process::Command::new(&standin)
                .args(["--stage-delay-ms", "0", &video_url('p', number), "--subject", SUBJECT])
                .current_dir(scratch.path())
                .stdin(Stdio::null())
                .output()
                .await?;
            drop(slot);
            anyhow::ensure!(output.status.success(), "the stand-in failed");
            Ok(())
        });
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    Ok(jobs as f64 / started.elapsed().as_secs_f64())
}
