//! Scenario 5, scale of history: ListJobs (pages of 50) with a large history
//! in PostgreSQL across many users. The jobs (nine in ten completed with one
//! note each, one in ten failed) are written straight into the node's fresh
//! database with SQL, then several clients page through random users' jobs.
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use tokio::task::JoinSet;
use videojobs::proto::v1 as pb;
use videojobs::proto::v1::job_service_client::JobServiceClient;

use super::Bench;
use crate::node::{Node, NodeOptions, bearer};
use crate::report::{Report, Row, Target};
use crate::stats::{Latencies, median};

const PAGE_SIZE: i32 = 50;
const CLIENTS: usize = 4;

pub async fn run(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let (jobs, users) = (bench.sizes.history_jobs, bench.sizes.history_users);
    let node = Node::start(bench, NodeOptions { concurrency: 0, embedded: false, stage_delay_ms: 0 }).await?;
    let seeding = Instant::now();
    seed(&node, jobs, users).await?;
    println!("seeded {jobs} jobs for {users} users in {:.1} s", seeding.elapsed().as_secs_f64());
    let (mut p50s, mut p99s) = (vec![], vec![]);
    for _ in 0..bench.sizes.repeats {
        let mut latencies = list_pages(&node, users, bench.sizes.history_requests).await?;
        p50s.push(latencies.quantile_ms(0.50));
        p99s.push(latencies.quantile_ms(0.99));
    }
    node.stop().await?;
    let scenario = format!("5. ListJobs page of {PAGE_SIZE}, {jobs} jobs, {users} users");
    report.add(Row::new(&scenario, "p50 latency, ms", median(&p50s)).decimals(2));
    report.add(Row::new(&scenario, "p99 latency, ms", median(&p99s)).decimals(2).target(Target::AtMost(10.0)));
    Ok(())
}

/// Writes `jobs` jobs with time-ordered (v7-shaped) ids over the last days,
/// round robin across `users`, and a note for each completed one.
async fn seed(node: &Node, jobs: u64, users: u64) -> anyhow::Result<()> {
    let db = node.database.as_ref().expect("a PostgreSQL node").connect().await?;
    db.execute_unprepared(&format!(
        "INSERT INTO jobs (id, user_id, url, video_id, subject, assessments, priority, state, stage, progress_percent, \
           attempt, max_attempts, error, created_at, started_at, finished_at) \
         SELECT (lpad(to_hex((extract(epoch FROM created) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) \
                 || '8' || substr(h, 4, 15))::uuid, \
                'history-' || (i % {users}), 'https://youtu.be/' || v, v, 'Physics', true, 0, \
                CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'completed' END, \
                CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'completed' END, 100, 1, 3, \
                CASE WHEN i % 10 = 0 THEN 'Transcript unavailable' ELSE '' END, \
                created, created + interval '1 second', created + interval '30 seconds' \
         FROM (SELECT i, md5(i::text) AS h, 'h' || lpad(i::text, 10, '0') AS v, \
                      now() - interval '12 days' + i * interval '1 second' * (1000000.0 / {jobs}) AS created \
               FROM generate_series(1, {jobs}) AS i) AS s"
    ))
    .await?;
    db.execute_unprepared(
        "INSERT INTO notes (id, job_id, user_id, kind, title, subject, video_url, markdown, created_at) \
         SELECT gen_random_uuid(), id, user_id, 'notes', 'Lecture ' || video_id, subject, url, \
                '# Lecture ' || video_id || E'\\n\\n[YouTube Video](' || url || E')\\n\\n---\\n\\n## Core Concepts\\n', \
                finished_at \
         FROM jobs WHERE state = 'completed'",
    )
    .await?;
    db.execute_unprepared("VACUUM ANALYZE jobs").await?;
    db.execute_unprepared("VACUUM ANALYZE notes").await?;
    db.close().await?;
    Ok(())
}

/// `requests` ListJobs calls from a few concurrent clients, each one a random
/// user's first page followed by their next page.
async fn list_pages(node: &Node, users: u64, requests: usize) -> anyhow::Result<Latencies> {
    let mut running = JoinSet::new();
    for client_number in 0..CLIENTS {
        let mut client = JobServiceClient::new(node.channel().await?);
        running.spawn(async move {
            let mut latencies = Latencies::default();
            let (mut page_token, mut user) = (String::new(), String::new());
            for call in 0..requests / CLIENTS {
                if call % 2 == 0 {
                    page_token.clear();
                    user = format!("history-{}", rand::random::<u64>().wrapping_add(client_number as u64) % users);
                }
                let mut request = tonic::Request::new(pb::ListJobsRequest {
                    page_size: PAGE_SIZE,
                    page_token: std::mem::take(&mut page_token),
                    ..Default::default()
                });
                request.metadata_mut().insert("authorization", bearer(&user));
                let sent = Instant::now();
                let page = client.list_jobs(request).await?.into_inner();
                latencies.record(sent.elapsed());
                anyhow::ensure!(page.jobs.len() == PAGE_SIZE as usize, "a page of {} jobs", page.jobs.len());
                page_token = page.next_page_token;
            }
            anyhow::Ok(latencies)
        });
    }
    let mut all = Latencies::default();
    while let Some(done) = tokio::time::timeout(Duration::from_secs(300), running.join_next()).await? {
        all.merge(done??);
    }
    Ok(all)
}
