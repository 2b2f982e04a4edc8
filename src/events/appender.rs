//! Group commit for job events. Whatever is published while the previous
//! group is being written waits in a bounded channel and goes out as the
//! next group: one transaction appends it to the log, one Redis pipeline
//! delivers it. A busy node pays one commit per group instead of one per
//! event, and the many running jobs of one user no longer take turns on
//! that user's counter row one event at a time. An idle node writes a
//! group of one at once: nothing waits for a timer.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

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
    /// The job's batch, to be counted and carried by the event.
    count_batch: Option<Uuid>,
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

    /// Logs the event and delivers it; returns once both are done. With
    /// `count_batch`, the event carries that batch as it is once the group is
    /// written (counted once per group, however many of its children changed).
    pub async fn append(&self, kind: JobEventKind, job: Job, count_batch: Option<Uuid>) {
        let (written, done) = oneshot::channel();
        if self.pending.send(Pending { kind, job, count_batch, written }).await.is_ok() {
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
            if self.pending.send(Pending { kind, job, count_batch: None, written }).await.is_err() {
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
        let batches = count_batches(&store, &group).await;
        let batch_of = |pending: &Pending| pending.count_batch.and_then(|id| batches.get(&id));
        let entries: Vec<LogEntry> =
            group.iter().map(|p| LogEntry { kind: p.kind, job: &p.job, batch: batch_of(p) }).collect();
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
                let batch = batch_of(&pending).cloned().map(Arc::new);
                notify.push(pending.written);
                JobEvent { sequence, kind: pending.kind, job: Arc::new(pending.job), batch }
            })
            .collect();
        delivery.deliver_all(events).await;
        for written in notify {
            let _ = written.send(());
        }
    }
}

/// Each batch the group's events need, counted once (settling a batch whose
/// last child just finished).
async fn count_batches(store: &Store, group: &[Pending]) -> HashMap<Uuid, Batch> {
    let ids: HashSet<Uuid> = group.iter().filter_map(|pending| pending.count_batch).collect();
    let mut batches = HashMap::with_capacity(ids.len());
    for id in ids {
        match store.settle_batch(id).await {
            Ok(batch) => {
                batches.insert(id, batch);
            }
            Err(error) => tracing::error!(%error, batch_id = %id, "cannot count a batch"),
        }
    }
    batches
}
