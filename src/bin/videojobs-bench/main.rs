//! `videojobs-bench`: measures videojobs on the real stack (PostgreSQL +
//! Redis, release build, the server in its own process) beside its best-known
//! peer (BullMQ) and the physical floor (bare process spawns, pgbench), all in
//! one run, and prints one Markdown table of figures, ratios and targets.
//!
//! Run it through `scripts/bench.sh`, which builds the release binaries and
//! makes sure PostgreSQL and Redis are up.
mod node;
mod peer;
mod report;
mod scenarios;
mod scratch;
mod services;
mod stats;

use std::path::PathBuf;

use clap::Parser;

/// Sizes of every scenario; `--quick` shrinks them for CI.
#[derive(Clone, Debug)]
pub struct Sizes {
    pub repeats: usize,
    pub throughput_jobs: usize,
    pub concurrencies: Vec<usize>,
    pub batch_urls: usize,
    pub unary_clients: usize,
    pub unary_seconds: u64,
    pub watch_users: usize,
    pub streams_per_user: usize,
    pub events_per_second: u64,
    pub event_seconds: u64,
    pub history_jobs: u64,
    pub history_users: u64,
    pub history_requests: usize,
    pub eta_batch: usize,
    pub eta_singles: usize,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            repeats: 3,
            throughput_jobs: 2_000,
            concurrencies: vec![2, 8, 32],
            batch_urls: 10_000,
            unary_clients: 64,
            unary_seconds: 10,
            watch_users: 1_000,
            streams_per_user: 10,
            events_per_second: 1_000,
            event_seconds: 10,
            history_jobs: 1_000_000,
            history_users: 1_000,
            history_requests: 2_000,
            eta_batch: 400,
            eta_singles: 40,
        }
    }

    fn quick() -> Sizes {
        Sizes {
            repeats: 1,
            throughput_jobs: 40,
            concurrencies: vec![2, 8],
            batch_urls: 500,
            unary_clients: 8,
            unary_seconds: 2,
            watch_users: 20,
            streams_per_user: 5,
            events_per_second: 100,
            event_seconds: 2,
            history_jobs: 20_000,
            history_users: 100,
            history_requests: 200,
            eta_batch: 40,
            eta_singles: 8,
        }
    }
}

#[derive(Debug, Parser)]
#[command(name = "videojobs-bench", about = "videojobs against BullMQ and the floor, one table.")]
pub struct Args {
    /// Every scenario at full size.
    #[arg(long)]
    all: bool,
    /// Every scenario, small enough for CI (the numbers are not judged).
    #[arg(long, conflicts_with = "all")]
    quick: bool,
    /// Only these scenarios (1-8); repeatable. Default: all of them.
    #[arg(long = "scenario")]
    scenarios: Vec<u8>,
    /// Scenario 1 at these worker concurrencies only; repeatable.
    #[arg(long = "concurrency")]
    concurrencies: Vec<usize>,
    /// Repeat each measurement this often and report the median.
    #[arg(long)]
    repeats: Option<usize>,
    /// PostgreSQL server; each node gets a fresh database on it.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres:postgres@127.0.0.1:5432/postgres")]
    pub database_url: String,
    /// Redis server; each node gets a fresh key prefix on it.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Where the BullMQ peer is installed with npm (default: a scratch directory).
    #[arg(long)]
    pub peer_dir: Option<PathBuf>,
    /// Skip the BullMQ peer (no Node.js here).
    #[arg(long)]
    pub no_peer: bool,
    /// Also write the table to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.all || args.quick, "say --all (full size) or --quick (CI size)");
    let mut sizes = if args.quick { Sizes::quick() } else { Sizes::full() };
    if let Some(repeats) = args.repeats {
        sizes.repeats = repeats.max(1);
    }
    if !args.concurrencies.is_empty() {
        sizes.concurrencies = args.concurrencies.clone();
    }
    let wanted = |n: u8| args.scenarios.is_empty() || args.scenarios.contains(&n);
    let bench = scenarios::Bench::prepare(&args, sizes).await?;
    let mut report = report::Report::default();
    if wanted(1) {
        scenarios::throughput::run(&bench, &mut report).await?;
    }
    if wanted(2) {
        scenarios::bulk::run(&bench, &mut report).await?;
    }
    if wanted(3) {
        scenarios::unary::run(&bench, &mut report).await?;
    }
    if wanted(4) {
        scenarios::fanout::run(&bench, &mut report).await?;
    }
    if wanted(5) {
        scenarios::history::run(&bench, &mut report).await?;
    }
    if wanted(6) {
        scenarios::idle::run(&bench, &mut report).await?;
    }
    if wanted(7) {
        scenarios::output::run(&bench, &mut report).await?;
    }
    if wanted(8) {
        scenarios::eta::run(&bench, &mut report).await?;
    }
    let table = report.render(&bench.machine());
    println!("\n{table}");
    if let Some(path) = &args.out {
        std::fs::write(path, &table)?;
    }
    Ok(())
}
