//! Scenario 7, the programs' output: 8 programs at once (8 users, one job
//! each, concurrency 8), each printing 100,000 log lines as fast as it can,
//! on a node that keeps all of it (`--log-head-bytes` 64 MiB) and a
//! WatchJobLogs stream following each from before it starts. Reported: lines
//! per second stored (every job's lines, counted back through GetJobLog) and
//! delivered (lines the watchers received), both over the time from the first
//! submission until the last stream ended (an attempt's lines are all stored
//! before it ends); the server's CPU (seconds of CPU per second, from the
//! first submission until every job was read back) and its peak RSS.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use videojobs::proto::v1 as pb;

use super::Bench;
use crate::node::{Node, NodeOptions};
use crate::report::{Report, Row};
use crate::stats::median;

const PROGRAMS: usize = 8;
/// The stand-in's `chatty<N>` mode: N thousand lines.
const VIDEO: &str = "chatty00100";
const LINES_PER_PROGRAM: u64 = 100_000;
/// Every line is kept: 100,000 lines of ~90 bytes plus 32 each fit the head.
const HEAD_BYTES: &str = "67108864";

struct Figures {
    stored_per_second: f64,
    delivered_per_second: f64,
    cpu: f64,
    peak_rss_mb: f64,
}

pub async fn run(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    for repeat in 0..bench.sizes.repeats {
        let options = NodeOptions { concurrency: PROGRAMS, embedded: false, stage_delay_ms: 0 };
        let node = Node::start_with(bench, options, &["--log-head-bytes", HEAD_BYTES]).await?;
        runs.push(measure(&node, repeat).await?);
        node.stop().await?;
    }
    let title = format!("7. Output, {PROGRAMS} programs × {LINES_PER_PROGRAM} lines, all kept, each watched");
    let pick = |f: fn(&Figures) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
    report.add(Row::new(&title, "lines/s stored", pick(|f| f.stored_per_second)).decimals(0));
    report.add(Row::new(&title, "lines/s delivered to watchers", pick(|f| f.delivered_per_second)).decimals(0));
    report.add(Row::new(&title, "server CPU, cores busy", pick(|f| f.cpu)).decimals(2));
    report.add(Row::new(&title, "server peak RSS, MB", pick(|f| f.peak_rss_mb)).decimals(1));
    Ok(())
}

async fn measure(node: &Node, repeat: usize) -> anyhow::Result<Figures> {
    let users: Vec<String> = (0..PROGRAMS).map(|n| format!("output-{repeat}-{n}")).collect();
    let peak_rss = Arc::new(AtomicU64::new(0));
    // Dropped (and so stopped) when the measurement ends, however it ends.
    let mut sampling = JoinSet::new();
    let (peak, pid) = (Arc::clone(&peak_rss), node.pid()?);
    sampling.spawn(async move {
        loop {
            if let Ok(rss) = crate::node::rss_of(pid) {
                peak.fetch_max(rss, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let cpu_before = node.cpu_seconds()?;
    let started = Instant::now();
    let mut watchers = JoinSet::new();
    let mut jobs = Vec::new();
    for user in &users {
        let mut client = node.client(user).await?;
        let request = pb::SubmitVideoRequest { url: format!("https://youtu.be/{VIDEO}"), ..Default::default() };
        let job = client.submit_video(request).await?.into_inner();
        let watch = pb::WatchJobLogsRequest { job_id: job.id.clone(), attempt: 0, after_line: 0 };
        let mut stream = client.watch_job_logs(watch).await?.into_inner();
        watchers.spawn(async move {
            let mut received = 0u64;
            while let Some(_line) = stream.message().await? {
                received += 1;
            }
            anyhow::Ok(received)
        });
        jobs.push((client, job.id));
    }
    let mut delivered = 0;
    while let Some(received) = watchers.join_next().await {
        delivered += received??;
    }
    let delivered_after = started.elapsed();
    let mut stored = 0u64;
    for (client, id) in &mut jobs {
        wait_completed(client, id).await?;
        stored += count_stored(client, id).await?;
    }
    let cpu = (node.cpu_seconds()? - cpu_before) / started.elapsed().as_secs_f64();
    drop(sampling);
    anyhow::ensure!(
        stored >= LINES_PER_PROGRAM * PROGRAMS as u64,
        "only {stored} lines were stored of {} printed",
        LINES_PER_PROGRAM * PROGRAMS as u64
    );
    // An attempt's lines are all stored before it ends, and a watch ends
    // with its attempt: the watchers' end bounds both.
    Ok(Figures {
        stored_per_second: stored as f64 / delivered_after.as_secs_f64(),
        delivered_per_second: delivered as f64 / delivered_after.as_secs_f64(),
        cpu,
        peak_rss_mb: peak_rss.load(Ordering::Relaxed) as f64 / 1e6,
    })
}

async fn wait_completed(client: &mut crate::node::JobClient, id: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let job = client.get_job(pb::GetJobRequest { job_id: id.into() }).await?.into_inner();
        match pb::JobState::try_from(job.state) {
            Ok(pb::JobState::Completed) => return Ok(()),
            Ok(pb::JobState::Failed | pb::JobState::Cancelled) => anyhow::bail!("job {id} ended: {}", job.error),
            _ => {}
        }
        anyhow::ensure!(Instant::now() < deadline, "job {id} did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count_stored(client: &mut crate::node::JobClient, id: &str) -> anyhow::Result<u64> {
    let (mut count, mut after_line) = (0, 0);
    loop {
        let request = pb::GetJobLogRequest { job_id: id.into(), attempt: 0, after_line, page_size: 5000 };
        let page = client.get_job_log(request).await?.into_inner();
        count += page.lines.len() as u64;
        if page.next_after_line == 0 {
            return Ok(count);
        }
        after_line = page.next_after_line;
    }
}
