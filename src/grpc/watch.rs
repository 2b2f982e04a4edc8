//! `WatchJobs`: the caller's events from the hub, filtered to the named jobs,
//! through a small per-stream buffer. Named jobs first get a snapshot of where
//! they stand, so a watcher that subscribes late misses no ending. A watcher
//! too slow for the hub's buffer is told so and its stream ends; it never
//! holds up a worker or another watcher.
use std::collections::HashSet;

use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use uuid::Uuid;

use super::convert::event_to_proto;
use crate::domain::{JobEvent, JobEventKind, UserId};
use crate::error::Result;
use crate::worker::JobRunner;

pub type EventStream = ReceiverStream<Result<crate::proto::v1::JobEvent, Status>>;

/// Events buffered per stream between the hub and the network.
const STREAM_BUFFER: usize = 64;

pub async fn watch(
    runner: &JobRunner,
    user: UserId,
    job_ids: Vec<Uuid>,
    shutdown: CancellationToken,
) -> Result<EventStream> {
    // Subscribe before reading snapshots, so no change falls in between.
    let mut live = runner.events.hub().subscribe(&user);
    let mut snapshots = Vec::with_capacity(job_ids.len());
    for id in &job_ids {
        let job = runner.store.job_for_user(&user, *id).await?;
        snapshots.push(JobEvent { sequence: 0, kind: JobEventKind::Snapshot, job: job.into() });
    }
    let only: HashSet<Uuid> = job_ids.into_iter().collect();
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(async move {
        let streams = metrics::gauge!(crate::telemetry::WATCH_STREAMS);
        streams.increment(1.0);
        let _open = scopeguard(move || streams.decrement(1.0));
        for event in snapshots {
            if !forward(&tx, Ok(event_to_proto(&event)), &shutdown).await {
                return;
            }
        }
        loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tx.closed() => return,
                event = live.recv() => event,
            };
            let item = match event {
                Ok(event) if only.is_empty() || only.contains(&event.job.id) => Ok(event_to_proto(&event)),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(missed)) => Err(Status::resource_exhausted(format!(
                    "this watcher fell {missed} events behind and its stream was ended; watch again and read current state with GetJob or ListJobs"
                ))),
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let ended = item.is_err();
            if !forward(&tx, item, &shutdown).await || ended {
                return;
            }
        }
    });
    Ok(ReceiverStream::new(rx))
}

/// Sends one item unless the client left or the node is stopping.
async fn forward(
    tx: &mpsc::Sender<Result<crate::proto::v1::JobEvent, Status>>,
    item: Result<crate::proto::v1::JobEvent, Status>,
    shutdown: &CancellationToken,
) -> bool {
    tokio::select! {
        sent = tx.send(item) => sent.is_ok(),
        _ = shutdown.cancelled() => false,
    }
}

/// Runs `on_drop` when the stream's task ends, however it ends.
fn scopeguard(on_drop: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(on_drop))
}
