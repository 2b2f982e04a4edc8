//! Scenario 3, unary submission under load: many clients, each with its own
//! connection and user, call SubmitVideo back to back for a fixed time with
//! no workers running; requests/s and latency. The floor is pgbench doing
//! single-row INSERTs with as many clients on the same PostgreSQL.
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use tokio::task::JoinSet;
use videojobs::proto::v1 as pb;

use super::{Bench, video_url};
use crate::node::{Node, NodeOptions};
use crate::report::{Report, Row, Target};
use crate::scratch::TempDir;
use crate::services::FreshDatabase;
use crate::stats::{Latencies, median};

pub async fn run(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let (clients, seconds) = (bench.sizes.unary_clients, bench.sizes.unary_seconds);
    let (mut rates, mut p50s, mut p99s, mut floors) = (vec![], vec![], vec![], vec![]);
    for repeat in 0..bench.sizes.repeats {
        let node = Node::start(bench, NodeOptions { concurrency: 0, embedded: false, stage_delay_ms: 0 }).await?;
        let (rate, mut latencies) = submissions(&node, clients, Duration::from_secs(seconds), repeat).await?;
        node.stop().await?;
        rates.push(rate);
        p50s.push(latencies.quantile_ms(0.50));
        p99s.push(latencies.quantile_ms(0.99));
        floors.push(pgbench_inserts_per_second(bench, clients, seconds).await?);
    }
    let scenario = format!("3. SubmitVideo, {clients} clients, {seconds} s");
    report.add(
        Row::new(&scenario, "requests/s", median(&rates))
            .floor("pgbench INSERT", median(&floors))
            .target(Target::AtLeast(5000.0))
            .target(Target::FloorRatio(0.35)),
    );
    report.add(Row::new(&scenario, "p50 latency, ms", median(&p50s)).decimals(2));
    report.add(Row::new(&scenario, "p99 latency, ms", median(&p99s)).decimals(2).target(Target::AtMost(25.0)));
    Ok(())
}

/// Requests per second over the whole run, and every request's latency.
async fn submissions(node: &Node, clients: usize, length: Duration, repeat: usize) -> anyhow::Result<(f64, Latencies)> {
    let mut callers = Vec::with_capacity(clients);
    for client in 0..clients {
        callers.push(node.client(&format!("unary-{repeat}-{client}")).await?);
    }
    let started = Instant::now();
    let deadline = started + length;
    let mut running = JoinSet::new();
    for mut caller in callers {
        running.spawn(async move {
            let mut latencies = Latencies::default();
            let mut number = 0;
            while Instant::now() < deadline {
                let request = pb::SubmitVideoRequest {
                    url: video_url('u', number),
                    subject: "Physics".into(),
                    ..Default::default()
                };
                let sent = Instant::now();
                caller.submit_video(request).await?;
                latencies.record(sent.elapsed());
                number += 1;
            }
            anyhow::Ok(latencies)
        });
    }
    let mut all = Latencies::default();
    while let Some(done) = running.join_next().await {
        all.merge(done??);
    }
    Ok((all.len() as f64 / started.elapsed().as_secs_f64(), all))
}

/// pgbench's transactions per second for a one-row INSERT into a table shaped
/// like a small job row, on a fresh database.
async fn pgbench_inserts_per_second(bench: &Bench, clients: usize, seconds: u64) -> anyhow::Result<f64> {
    let database = FreshDatabase::create(&bench.database_url).await?;
    let connection = database.connect().await?;
    connection
        .execute_unprepared(
            "CREATE TABLE bench_jobs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id text NOT NULL, \
             url text NOT NULL, state text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    connection.close().await?;
    let dir = TempDir::new("pgbench")?;
    let script = dir.path().join("insert.sql");
    std::fs::write(
        &script,
        "\\set uid random(1, 64)\n\
         INSERT INTO bench_jobs (user_id, url, state) VALUES ('user-' || :uid, 'https://youtu.be/dQw4w9WgXcQ', 'queued');\n",
    )?;
    let output = tokio::process::Command::new("pgbench")
        .args(["-n", "-j", "2", "-c", &clients.to_string(), "-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .arg(&database.url)
        .output()
        .await?;
    database.drop().await?;
    let text = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(output.status.success(), "pgbench failed: {}", String::from_utf8_lossy(&output.stderr));
    let tps = text
        .lines()
        .find(|line| line.starts_with("tps = "))
        .and_then(|line| line.split_whitespace().nth(2))
        .and_then(|value| value.parse().ok());
    tps.ok_or_else(|| anyhow::anyhow!("no tps in pgbench's output: {text}"))
}
