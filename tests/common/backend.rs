//! Where a test server keeps its state: the embedded default (a SQLite file
//! in its data directory, the in-process queue), or PostgreSQL + Redis with a
//! fresh database and a fresh key prefix per test, so tests never collide.
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use videojobs::config::ServeConfig;

/// Admin connection used to create each test's database.
pub fn postgres_admin_url() -> String {
    std::env::var("VIDEOJOBS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("VIDEOJOBS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

#[derive(Clone, Debug)]
pub enum Backend {
    Embedded,
    Scaled { database_url: String, redis_url: String, prefix: String },
}

impl Backend {
    /// A new PostgreSQL database and Redis prefix for one test.
    pub async fn scaled() -> Backend {
        Backend::scaled_on(redis_url()).await
    }

    pub async fn scaled_on(redis_url: String) -> Backend {
        let name = format!("vj_test_{}", uuid::Uuid::now_v7().simple());
        let admin_url = postgres_admin_url();
        let admin =
            Database::connect(admin_url.as_str()).await.expect("PostgreSQL is reachable (see scripts/services.sh)");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
        admin.close().await.unwrap();
        let base = admin_url.rsplit_once('/').unwrap().0;
        Backend::scaled_at(format!("{base}/{name}"), redis_url)
    }

    /// The given database (one the test owns) and Redis, with a fresh prefix.
    pub fn scaled_at(database_url: String, redis_url: String) -> Backend {
        Backend::Scaled { database_url, redis_url, prefix: format!("test-{}", uuid::Uuid::now_v7()) }
    }

    pub fn is_scaled(&self) -> bool {
        matches!(self, Backend::Scaled { .. })
    }

    pub fn apply(&self, config: &mut ServeConfig) {
        if let Backend::Scaled { database_url, redis_url, prefix } = self {
            config.database_url = database_url.clone();
            config.queue.redis_url = Some(redis_url.clone());
            config.queue.redis_prefix = prefix.clone();
            config.maintenance.reap_interval = Duration::from_millis(200);
            config.maintenance.reconcile_interval = Duration::from_millis(300);
        }
    }
}

/// Runs a test case once on each backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() {
                    super::$case($crate::common::Backend::Embedded).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_and_redis() {
                    super::$case($crate::common::Backend::scaled().await).await
                }
            }
        )*
    };
}
