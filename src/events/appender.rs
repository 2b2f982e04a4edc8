//! Group commit for job events. Whatever is published while the previous
//! group is being written waits in a bounded channel and goes out as the
//! next group: one transaction appends it to the log, one Redis pipeline
//! delivers it. A busy node pays one commit per group instead of one per
//! event, and the many running jobs of one user no longer take turns on
//! that user's counter row one event at a time. An idle node writes a
//! group of one at once: nothing waits for a timer.
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::bus::Delivery;
use crate::domain::{Batch, Job, JobEvent, JobEventKind};
use crate::store::{LogEntry, Store};

/// Events in one transaction at most.
const GROUP_MAX: usize = 500;
/// Events waiting for the writer at most; publishers wait beyond that.
const WAITING_MAX: usize = 4096;

struct Pending {
    kind: JobEventKind,
    job: Job,
    batch: Option<Batch>,
    written: oneshot::Sender<()>,
}

#[derive(Clone)]
pub struct Appender {
    pending: mpsc::Sender<Pending>,
}

impl Appender {
    /// Starts the writer; it stops when the last `Appender` is dropped.
    pub fn start(store: Store, delivery: Delivery) -> Appender {
        let (pending, waiting) = mpsc::channel(WAITING_MAX);
        tokio::spawn(write_groups(waiting, store, delivery));
        Appender { pending }
    }

    /// Logs the event and delivers it; returns once both are done.
    pub async fn append(&self, kind: JobEventKind, job: Job, batch: Option<Batch>) {
        let (written, done) = oneshot::channel();
        if self.pending.send(Pending { kind, job, batch, written }).await.is_ok() {
            let _ = done.await;
        }
    }
}

impl Appender {
    /// Logs and delivers one event per job; returns once all are done.
    pub async fn append_all(&self, kind: JobEventKind, jobs: Vec<Job>) {
        let mut done = Vec::with_capacity(jobs.len());
        for job in jobs {
            let (written, finished) = oneshot::channel();
            if self.pending.send(Pending { kind, job, batch: None, written }).await.is_err() {
                break;
            }
            done.push(finished);
        }
        for finished in done {
            let _ = finished.await;
        }
    }
}

async fn write_groups(mut waiting: mpsc::Receiver<Pending>, store: Store, delivery: Delivery) {
    let mut group = Vec::with_capacity(GROUP_MAX);
    while waiting.recv_many(&mut group, GROUP_MAX).await > 0 {
        let entries: Vec<LogEntry> =
            group.iter().map(|p| LogEntry { kind: p.kind, job: &p.job, batch: p.batch.as_ref() }).collect();
        let sequences = match store.append_log(&entries).await {
            Ok(sequences) => sequences,
            Err(error) => {
                tracing::error!(%error, events = group.len(), "could not log job events; sending them live only");
                vec![0; group.len()]
            }
        };
        let mut notify = Vec::with_capacity(group.len());
        let events: Vec<JobEvent> = group
            .drain(..)
            .zip(sequences)
            .map(|(pending, sequence)| {
                notify.push(pending.written);
                JobEvent {
                    sequence,
                    kind: pending.kind,
                    job: Arc::new(pending.job),
                    batch: pending.batch.map(Arc::new),
                }
            })
            .collect();
        delivery.deliver_all(events).await;
        for written in notify {
            let _ = written.send(());
        }
    }
}
