//! Background upkeep that keeps the queue honest to the database, the
//! source of truth, each service on its own timer (a node that dies sends
//! no notification): the [`Reaper`] hands back jobs whose lease expired, the
//! [`Reconciler`] queues what the database says is waiting but the queue
//! lacks, and [`Retention`] removes what is old enough. Each runs on the
//! node's task tracker until its stop token fires.
mod reaper;
mod reconciler;
mod retention;

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use reaper::Reaper;
pub use reconciler::Reconciler;
pub use retention::Retention;

/// Runs `step` every `period` (the first at once) until `stop` fires; a
/// step that overruns delays the next instead of bunching them up.
async fn every<F, Fut>(period: Duration, stop: CancellationToken, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => step().await,
        }
    }
}
