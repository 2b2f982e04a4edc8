//! The peer: BullMQ (latest from npm) on the same Redis, driven by
//! `bench/bullmq/peer.cjs`, whose worker spawns the same stand-in with the
//! same arguments in a scratch directory and stores the notes it wrote.
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;

use crate::scratch::TempDir;

pub struct Peer {
    script: PathBuf,
    node_modules: PathBuf,
    pub version: String,
    _scratch: Option<TempDir>,
}

impl Peer {
    /// Installs bullmq with npm into `dir` (or a scratch directory).
    pub async fn install(repo: &Path, dir: Option<&Path>) -> anyhow::Result<Peer> {
        let scratch = match dir {
            Some(_) => None,
            None => Some(TempDir::new("bullmq")?),
        };
        let prefix = dir.map(Path::to_path_buf).unwrap_or_else(|| scratch.as_ref().unwrap().path().to_path_buf());
        std::fs::create_dir_all(&prefix)?;
        // bullmq 6 made ioredis an optional peer dependency: install it beside.
        println!("installing bullmq@latest and ioredis with npm into {}", prefix.display());
        let status = tokio::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
            .arg(&prefix)
            .args(["bullmq@latest", "ioredis@latest"])
            .stdout(Stdio::null())
            .status()
            .await
            .context("running npm (is Node.js installed?)")?;
        anyhow::ensure!(status.success(), "npm install bullmq failed");
        let node_modules = prefix.join("node_modules");
        let manifest = std::fs::read_to_string(node_modules.join("bullmq/package.json"))?;
        let version =
            serde_json::from_str::<serde_json::Value>(&manifest)?["version"].as_str().unwrap_or("?").to_string();
        Ok(Peer { script: repo.join("bench/bullmq/peer.cjs"), node_modules, version, _scratch: scratch })
    }

    /// Runs the peer script in `mode` for `jobs` jobs on Redis at
    /// `redis_url`, under a fresh key prefix, with `extra` arguments; returns
    /// the JSON line it printed.
    pub async fn run(
        &self,
        mode: &str,
        redis_url: &str,
        jobs: usize,
        extra: &[&str],
    ) -> anyhow::Result<serde_json::Value> {
        let prefix = crate::services::fresh_prefix();
        let output = tokio::process::Command::new("node")
            .arg(&self.script)
            .arg(mode)
            .args(["--redis", redis_url, "--prefix", &prefix, "--jobs", &jobs.to_string()])
            .args(extra)
            .env("NODE_PATH", &self.node_modules)
            .env("TMPDIR", crate::scratch::scratch_base())
            .stderr(Stdio::inherit())
            .output()
            .await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        anyhow::ensure!(output.status.success(), "the BullMQ peer ({mode}) failed: {stdout}");
        let line = stdout.lines().rev().find(|l| l.starts_with('{')).context("the peer printed no JSON")?;
        Ok(serde_json::from_str(line)?)
    }

    /// The figure `key` from a run's JSON line.
    pub fn field(value: &serde_json::Value, key: &str) -> anyhow::Result<f64> {
        value[key].as_f64().with_context(|| format!("the peer's output has no {key}: {value}"))
    }
}
