//! Background upkeep that keeps the queue honest to the database, the
//! source of truth, each service on its own timer (a node that dies sends
//! no notification): the [`Reaper`] hands back jobs whose lease expired, the
//! [`Reconciler`] queues what the database says is waiting but the queue
//! lacks, [`Retention`] removes what is old enough, and the [`Resumer`]
//! tidies away pauses whose resume time has come; the [`Estimator`] tells
//! watchers when their waiting jobs' estimates move. Each runs on the
//! node's task tracker until its stop token fires.
mod estimator;
mod reaper;
mod reconciler;
mod resumer;
mod retention;

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use estimator::Estimator;
pub use reaper::Reaper;
pub use reconciler::Reconciler;
pub use resumer::Resumer;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A service stepping every `period` until `stop`, each step counted
    /// as it starts and taking `step_takes`.
    fn counting(
        period: Duration,
        step_takes: Duration,
        stop: &CancellationToken,
    ) -> (Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
        let steps = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&steps);
        let service = tokio::spawn(every(period, stop.clone(), move || {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(step_takes).await;
            }
        }));
        (steps, service)
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_steps_at_once_then_every_period_and_ends_when_stopped() {
        let stop = CancellationToken::new();
        let (steps, service) = counting(Duration::from_secs(5), Duration::ZERO, &stop);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(steps.load(Ordering::SeqCst), 1, "the first step runs at once");
        tokio::time::sleep(Duration::from_secs(15)).await;
        assert_eq!(steps.load(Ordering::SeqCst), 4, "then one per period");
        stop.cancel();
        service.await.unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(steps.load(Ordering::SeqCst), 4, "none after the stop");
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_that_overruns_delays_the_next_instead_of_bunching_them() {
        let stop = CancellationToken::new();
        let (steps, service) = counting(Duration::from_secs(1), Duration::from_secs(10), &stop);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(steps.load(Ordering::SeqCst), 1, "the first step is still running");
        tokio::time::sleep(Duration::from_millis(5_500)).await;
        assert_eq!(steps.load(Ordering::SeqCst), 2, "one step once it ended, not the ten missed ticks");
        stop.cancel();
        service.await.unwrap();
    }
}
