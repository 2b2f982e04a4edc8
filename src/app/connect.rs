//! Start-up connections to the database and Redis. A backend that cannot be
//! reached is named with its address (password hidden) and tried again with
//! backoff, so a node survives starting before its database does.
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use fred::clients::SubscriberClient;
use fred::interfaces::ClientLike;
use tokio_util::sync::CancellationToken;

use crate::config::ServeConfig;
use crate::events::connect_subscriber;
use crate::queue::{Keys, RedisQueue};
use crate::store::Store;

pub struct Backends {
    pub store: Store,
    pub redis: Option<RedisBackend>,
}

pub struct RedisBackend {
    pub queue: RedisQueue,
    pub keys: Keys,
    pub subscriber: SubscriberClient,
}

impl RedisBackend {
    pub async fn close(self) {
        let _ = self.subscriber.quit().await;
        self.queue.close().await;
    }
}

/// Connects everything the configuration asks for; `None` if `stop` fired
/// first.
pub async fn backends(config: &ServeConfig, stop: &CancellationToken) -> anyhow::Result<Option<Backends>> {
    let pool = (config.worker.concurrency as u32 + 8).min(64);
    let database = config.database_url.as_str();
    let Some(store) = with_retries("the database", database, stop, || Store::connect_only(database, pool)).await else {
        return Ok(None);
    };
    store.migrate().await.map_err(|e| anyhow::anyhow!("cannot migrate the database schema: {e}"))?;
    let Some(url) = config.queue.redis_url.as_deref() else {
        return Ok(Some(Backends { store, redis: None }));
    };
    let (prefix, capacity, blocking) =
        (config.queue.redis_prefix.as_str(), config.queue.capacity, config.worker.concurrency.max(1));
    let Some(queue) = with_retries("Redis", url, stop, || RedisQueue::connect(url, prefix, capacity, blocking)).await
    else {
        return Ok(None);
    };
    let redis_config = fred::types::config::Config::from_url(url)?;
    let Some(subscriber) = with_retries("Redis pub/sub", url, stop, || connect_subscriber(redis_config.clone())).await
    else {
        return Ok(None);
    };
    Ok(Some(Backends { store, redis: Some(RedisBackend { queue, keys: Keys::new(prefix), subscriber }) }))
}

async fn with_retries<T, E, F, Fut>(what: &str, url: &str, stop: &CancellationToken, mut connect: F) -> Option<T>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .without_max_times()
        .build();
    let place = crate::config::redact_url(url);
    loop {
        let attempt = tokio::select! {
            attempt = connect() => attempt,
            _ = stop.cancelled() => return None,
        };
        match attempt {
            Ok(connected) => return Some(connected),
            Err(error) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(30));
                tracing::error!(%error, retry_in_ms = delay.as_millis() as u64, "cannot reach {what} at {place}; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.cancelled() => return None,
                }
            }
        }
    }
}
