//! Group commit for job events. Whatever is published while the previous
//! group is being written waits in a bounded channel and goes out as the
//! next group: one transaction appends it to the log, one Redis pipeline
//! delivers it. A busy node pays one commit per group instead of one per
//! event, and the many running jobs of one user no longer take turns on
//! that user's counter row one event at a time. An idle node writes a
//! group of one at once: nothing waits for a timer. Publishers hand events
//! over and go on (waiting only while the channel is full); `flush` waits
//! for everything handed over before it.
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

struct Event {
    kind: JobEventKind,
    job: Job,
    /// The job's batch, to be counted and carried by the event.
    count_batch: Option<Uuid>,
}

/// An event to write, or (without one) a marker; `written` hears when
/// everything sent before it has been written and delivered.
struct Pending {
    event: Option<Event>,
    written: Option<oneshot::Sender<()>>,
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

    /// Hands the event to the writer and returns (waiting only while the
    /// writer is full): events are written and delivered in the order they
    /// were handed over. With `count_batch`, the event carries that batch as
    /// it is once its group is written (counted once per group, however many
    /// of its children changed).
    pub async fn append(&self, kind: JobEventKind, job: Job, count_batch: Option<Uuid>) {
        let event = Event { kind, job, count_batch };
        let _ = self.pending.send(Pending { event: Some(event), written: None }).await;
    }

    /// Returns once every event handed over before has been written and
    /// delivered.
    pub async fn flush(&self) {
        let (written, done) = oneshot::channel();
        if self.pending.send(Pending { event: None, written: Some(written) }).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn write_groups(mut waiting: mpsc::Receiver<Pending>, store: Store, delivery: Delivery) {
    let mut group = Vec::with_capacity(GROUP_MAX);
    while waiting.recv_many(&mut group, GROUP_MAX).await > 0 {
        let mut notify = Vec::new();
        let mut events = Vec::with_capacity(group.len());
        for pending in group.drain(..) {
            events.extend(pending.event);
            notify.extend(pending.written);
        }
        write(&store, &delivery, events).await;
        for written in notify {
            let _ = written.send(());
        }
    }
}

/// Logs the events in one transaction, then delivers them.
async fn write(store: &Store, delivery: &Delivery, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    let batches = count_batches(store, &events).await;
    let batch_of = |event: &Event| event.count_batch.and_then(|id| batches.get(&id));
    let entries: Vec<LogEntry> =
        events.iter().map(|e| LogEntry { kind: e.kind, job: &e.job, batch: batch_of(e) }).collect();
    let sequences = match store.append_log(&entries).await {
        Ok(sequences) => sequences,
        Err(error) => {
            tracing::error!(%error, events = events.len(), "could not log job events; sending them live only");
            vec![0; events.len()]
        }
    };
    let live = events
        .into_iter()
        .zip(sequences)
        .map(|(event, sequence)| {
            let batch = batch_of(&event).cloned().map(Arc::new);
            JobEvent { sequence, kind: event.kind, job: Arc::new(event.job), batch }
        })
        .collect();
    delivery.deliver_all(live).await;
}

/// Each batch the group's events need, counted once (settling a batch whose
/// last child just finished).
async fn count_batches(store: &Store, events: &[Event]) -> HashMap<Uuid, Batch> {
    let ids: HashSet<Uuid> = events.iter().filter_map(|event| event.count_batch).collect();
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
