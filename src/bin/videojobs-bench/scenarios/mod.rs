//! The eight scenarios of the benchmark, and what they share: where the
//! binaries are, the servers to use, the sizes and the installed peer.
pub mod bulk;
pub mod eta;
pub mod fanout;
pub mod history;
pub mod idle;
pub mod output;
pub mod throughput;
pub mod unary;

use std::path::PathBuf;

use anyhow::Context;

use crate::peer::Peer;
use crate::{Args, Sizes};

pub struct Bench {
    pub server: PathBuf,
    pub standin: PathBuf,
    pub database_url: String,
    pub redis_url: String,
    pub sizes: Sizes,
    pub peer: Option<Peer>,
    mode: &'static str,
}

impl Bench {
    pub async fn prepare(args: &Args, sizes: Sizes) -> anyhow::Result<Bench> {
        let dir = std::env::current_exe()?.parent().context("the bench binary's directory")?.to_path_buf();
        let (server, standin) = (dir.join("videojobs"), dir.join("study-buddy-standin"));
        for binary in [&server, &standin] {
            anyhow::ensure!(
                binary.exists(),
                "{} is missing: build with `cargo build --release --bins`",
                binary.display()
            );
        }
        let peer = match args.no_peer {
            true => None,
            false => Some(Peer::install(env!("CARGO_MANIFEST_DIR").as_ref(), args.peer_dir.as_deref()).await?),
        };
        Ok(Bench {
            server,
            standin,
            database_url: args.database_url.clone(),
            redis_url: args.redis_url.clone(),
            mode: if args.quick { "quick (CI size)" } else { "full size" },
            sizes,
            peer,
        })
    }

    /// One line on what the figures were measured on.
    pub fn machine(&self) -> String {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|kib| kib.parse::<u64>().ok())
            })
            .map_or(0, |kib| kib / 1024 / 1024);
        let version = |program: &str, arg: &str| {
            std::process::Command::new(program)
                .arg(arg)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|_| "?".into())
        };
        let bullmq = self.peer.as_ref().map_or("not run".to_string(), |p| p.version.clone());
        format!(
            "{cpu}, {cores} cores, {memory} GiB; {}; {}; Node {}, BullMQ {bullmq}; {}, median of {} run(s) each; \
             server and clients in separate processes on the same machine.",
            version("psql", "--version"),
            version("redis-server", "--version").split(" sha=").next().unwrap_or("?"),
            version("node", "--version"),
            self.mode,
            self.sizes.repeats,
        )
    }
}

/// A canonical URL with an 11-character video id: `tag` and a number. The tag
/// must not start one of the stand-in's failure modes.
pub fn video_url(tag: char, number: usize) -> String {
    format!("https://youtu.be/{tag}{number:010}")
}
