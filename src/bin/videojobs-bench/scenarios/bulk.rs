//! Scenario 2, bulk submission: one SubmitBatch of many URLs, jobs/s
//! persisted (in PostgreSQL, with their events) and enqueued (in Redis),
//! beside BullMQ's `addBulk` of as many jobs (which persists only to Redis).
use std::time::Instant;

use videojobs::proto::v1 as pb;

use super::{Bench, video_url};
use crate::node::{Node, NodeOptions};
use crate::peer::Peer;
use crate::report::{Report, Row, Target};
use crate::stats::median;

pub async fn run(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let urls = bench.sizes.batch_urls;
    let node = Node::start(bench, NodeOptions { concurrency: 0, embedded: false, stage_delay_ms: 0 }).await?;
    let (mut ours, mut peers) = (vec![], vec![]);
    for repeat in 0..bench.sizes.repeats {
        ours.push(videojobs_jobs_per_second(&node, urls, &format!("bulk-{repeat}")).await?);
        if let Some(peer) = &bench.peer {
            let result = peer.run("addbulk", &bench.redis_url, urls, &[]).await?;
            peers.push(urls as f64 / Peer::field(&result, "seconds")?);
        }
    }
    node.stop().await?;
    report.add(
        Row::new(format!("2. SubmitBatch of {urls} URLs"), "jobs/s", median(&ours))
            .peer((!peers.is_empty()).then(|| median(&peers)))
            .target(Target::PeerRatio(1.0)),
    );
    Ok(())
}

async fn videojobs_jobs_per_second(node: &Node, urls: usize, user: &str) -> anyhow::Result<f64> {
    let mut client = node.client(user).await?;
    let request = pb::SubmitBatchRequest {
        urls: (0..urls).map(|i| video_url('b', i)).collect(),
        subject: "Physics".into(),
        ..Default::default()
    };
    let started = Instant::now();
    let response = client.submit_batch(request).await?.into_inner();
    let seconds = started.elapsed().as_secs_f64();
    let accepted = response.items.iter().filter(|item| item.error.is_empty()).count();
    anyhow::ensure!(accepted == urls, "the batch accepted {accepted} of {urls} URLs");
    let stats = client.get_job_stats(pb::GetJobStatsRequest {}).await?.into_inner();
    anyhow::ensure!(stats.queued as usize == urls, "{} of {urls} jobs are QUEUED", stats.queued);
    Ok(urls as f64 / seconds)
}
