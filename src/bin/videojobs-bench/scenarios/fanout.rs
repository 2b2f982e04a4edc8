//! Scenario 4, watch fan-out: many users, several WatchJobs streams each,
//! held by this process while jobs are submitted at a fixed rate (each
//! submission is one QUEUED event for every stream of its owner). Delivery
//! latency from the job's creation on the server to its arrival here, events
//! lost, and the server's resident memory with the streams open.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;
use videojobs::proto::v1 as pb;
use videojobs::proto::v1::job_service_client::JobServiceClient;

use super::{Bench, video_url};
use crate::node::{Node, NodeOptions, bearer};
use crate::report::{Report, Row, Target};
use crate::stats::{Latencies, median};

/// Streams multiplexed on one HTTP/2 connection.
const STREAMS_PER_CONNECTION: usize = 100;
/// How long stragglers may take once every event has been produced.
const GRACE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Measured {
    p50: f64,
    p99: f64,
    lost: f64,
    rss_mib: f64,
    per_stream_kib: f64,
    produced_per_second: f64,
}

pub async fn run(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let sizes = &bench.sizes;
    let mut runs = Vec::new();
    for _ in 0..sizes.repeats {
        runs.push(fan_out(bench).await?);
    }
    let pick = |f: fn(&Measured) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
    let scenario = format!(
        "4. WatchJobs, {} users × {} streams, {} events/s",
        sizes.watch_users, sizes.streams_per_user, sizes.events_per_second
    );
    report.add(Row::new(&scenario, "events produced/s", pick(|m| m.produced_per_second)).decimals(0));
    report.add(Row::new(&scenario, "delivery p50, ms", pick(|m| m.p50)).decimals(2));
    report.add(Row::new(&scenario, "delivery p99, ms", pick(|m| m.p99)).decimals(2).target(Target::AtMost(50.0)));
    report.add(Row::new(&scenario, "events lost", pick(|m| m.lost)).target(Target::AtMost(0.0)));
    report.add(Row::new(&scenario, "server RSS, MiB", pick(|m| m.rss_mib)).decimals(1));
    report.add(
        Row::new(&scenario, "RSS per idle stream, KiB", pick(|m| m.per_stream_kib))
            .decimals(1)
            .target(Target::AtMost(16.0)),
    );
    Ok(())
}

async fn fan_out(bench: &Bench) -> anyhow::Result<Measured> {
    let sizes = &bench.sizes;
    let (users, per_user) = (sizes.watch_users, sizes.streams_per_user);
    let events = (sizes.events_per_second * sizes.event_seconds) as usize;
    let node = Node::start(bench, NodeOptions { concurrency: 0, embedded: false, stage_delay_ms: 0 }).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = node.rss_bytes()?;

    // Signed once per user, not per request: the clients share the machine.
    let tokens: Vec<MetadataValue<Ascii>> = (0..users).map(|user| bearer(&format!("fanout-{user}"))).collect();
    let streams = users * per_user;
    let mut connections = Vec::new();
    for _ in 0..streams.div_ceil(STREAMS_PER_CONNECTION) {
        connections.push(node.channel().await?);
    }
    let stop = CancellationToken::new();
    let opened = Arc::new(AtomicUsize::new(0));
    let all_open = Arc::new(tokio::sync::Notify::new());
    let mut watchers = JoinSet::new();
    for stream in 0..streams {
        let user = stream % users;
        let expected = events / users + usize::from(user < events % users);
        let (channel, token) = (connections[stream % connections.len()].clone(), tokens[user].clone());
        let (stop, opened, all_open) = (stop.clone(), opened.clone(), all_open.clone());
        watchers.spawn(async move {
            let result = watch(channel, token, expected, &stop, || {
                if opened.fetch_add(1, Ordering::SeqCst) + 1 == streams {
                    all_open.notify_one();
                }
            })
            .await;
            result.map(|latencies| (expected, latencies))
        });
    }
    tokio::time::timeout(Duration::from_secs(120), all_open.notified())
        .await
        .map_err(|_| anyhow::anyhow!("only {} of {streams} streams opened", opened.load(Ordering::SeqCst)))?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_open = node.rss_bytes()?;

    let produced_per_second = produce(&node, &tokens, events, sizes.events_per_second).await?;
    let stopper = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(GRACE).await;
        stopper.cancel();
    });
    let (mut latencies, mut lost) = (Latencies::default(), 0);
    while let Some(done) = watchers.join_next().await {
        let (expected, received) = done??;
        lost += expected - received.len();
        latencies.merge(received);
    }
    let rss_mib = rss_open as f64 / (1 << 20) as f64;
    node.stop().await?;
    Ok(Measured {
        p50: latencies.quantile_ms(0.50),
        p99: latencies.quantile_ms(0.99),
        lost: lost as f64,
        rss_mib,
        per_stream_kib: rss_open.saturating_sub(rss_before) as f64 / 1024.0 / streams as f64,
        produced_per_second,
    })
}

/// Follows one stream until it has seen `expected` QUEUED events or `stop`.
async fn watch(
    channel: Channel,
    token: MetadataValue<Ascii>,
    expected: usize,
    stop: &CancellationToken,
    on_open: impl FnOnce(),
) -> anyhow::Result<Latencies> {
    let mut client = JobServiceClient::new(channel);
    let mut request = tonic::Request::new(pb::WatchJobsRequest::default());
    request.metadata_mut().insert("authorization", token);
    let mut stream = client.watch_jobs(request).await?.into_inner();
    on_open();
    let mut latencies = Latencies::default();
    while latencies.len() < expected {
        let message = tokio::select! {
            message = stream.message() => message?,
            _ = stop.cancelled() => break,
        };
        let Some(event) = message else { break };
        if event.r#type != pb::JobEventType::Queued as i32 {
            continue;
        }
        let created = event
            .job
            .and_then(|job| job.created_at)
            .map(|t| SystemTime::UNIX_EPOCH + Duration::new(t.seconds as u64, t.nanos as u32));
        if let Some(created) = created {
            latencies.record(SystemTime::now().duration_since(created).unwrap_or_default());
        }
    }
    Ok(latencies)
}

/// Submits `events` jobs at `rate` per second, round robin over the users
/// (one token each);
/// returns the rate actually reached.
async fn produce(node: &Node, tokens: &[MetadataValue<Ascii>], events: usize, rate: u64) -> anyhow::Result<f64> {
    let mut clients = Vec::new();
    for _ in 0..16 {
        clients.push(JobServiceClient::new(node.channel().await?));
    }
    let in_flight = Arc::new(Semaphore::new(256));
    let mut sent = JoinSet::new();
    let started = tokio::time::Instant::now();
    for number in 0..events {
        tokio::time::sleep_until(started + Duration::from_secs_f64(number as f64 / rate as f64)).await;
        let permit = in_flight.clone().acquire_owned().await?;
        let mut client = clients[number % clients.len()].clone();
        let mut request = tonic::Request::new(pb::SubmitVideoRequest {
            url: video_url('w', number),
            subject: "Physics".into(),
            ..Default::default()
        });
        request.metadata_mut().insert("authorization", tokens[number % tokens.len()].clone());
        sent.spawn(async move {
            let result = client.submit_video(request).await;
            drop(permit);
            result
        });
    }
    while let Some(done) = sent.join_next().await {
        done??;
    }
    Ok(events as f64 / started.elapsed().as_secs_f64())
}
