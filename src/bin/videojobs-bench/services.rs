//! Private places on the shared PostgreSQL and Redis: a fresh database and a
//! fresh key prefix for every node, removed when the measurement is done, so
//! runs never see each other's data.
use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

/// A database made for one node.
pub struct FreshDatabase {
    pub name: String,
    pub url: String,
    server_url: String,
}

impl FreshDatabase {
    pub async fn create(server_url: &str) -> anyhow::Result<FreshDatabase> {
        let name = format!("vj_bench_{}", short_id());
        let admin = connect(server_url).await?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.context("creating a bench database")?;
        admin.close().await?;
        let url = with_database(server_url, &name)?;
        Ok(FreshDatabase { name, url, server_url: server_url.to_string() })
    }

    pub async fn connect(&self) -> anyhow::Result<DatabaseConnection> {
        connect(&self.url).await
    }

    pub async fn drop(self) -> anyhow::Result<()> {
        let admin = connect(&self.server_url).await?;
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await?;
        admin.close().await?;
        Ok(())
    }
}

async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    Database::connect(url).await.with_context(|| format!("connecting to {}", videojobs::config::redact_url(url)))
}

/// `server_url` pointing at database `name` instead.
fn with_database(server_url: &str, name: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(server_url)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// A key prefix for one node.
pub fn fresh_prefix() -> String {
    format!("vjbench-{}", short_id())
}

/// Deletes every key under `prefix` (redis-cli scans, then deletes).
pub fn remove_prefix(redis_url: &str, prefix: &str) -> anyhow::Result<()> {
    let pattern = format!("{{{prefix}}}*");
    let scan =
        std::process::Command::new("redis-cli").args(["-u", redis_url, "--scan", "--pattern", &pattern]).output()?;
    let keys: Vec<String> = String::from_utf8_lossy(&scan.stdout).lines().map(String::from).collect();
    for chunk in keys.chunks(500) {
        let status = std::process::Command::new("redis-cli")
            .args(["-u", redis_url, "DEL"])
            .args(chunk)
            .stdout(std::process::Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "redis-cli DEL failed");
    }
    Ok(())
}

pub fn short_id() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}
