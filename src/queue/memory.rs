//! The in-process queue of the embedded default: two heaps under a mutex and
//! a `Notify` to wake a waiting worker.
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;
use uuid::Uuid;

use super::{JobQueue, QueueError, QueueItem};

pub struct MemoryQueue {
    /// A std mutex: it is never held across an await, and every critical
    /// section is a few heap operations.
    state: Mutex<State>,
    wake: Notify,
    capacity: usize,
}

#[derive(Default)]
struct State {
    ready: BinaryHeap<Ready>,
    delayed: BinaryHeap<Reverse<Delayed>>,
    next_seq: u64,
}

#[derive(PartialEq, Eq)]
struct Ready {
    priority: i32,
    seq: u64,
    job_id: Uuid,
}

impl Ord for Ready {
    fn cmp(&self, other: &Self) -> Ordering {
        // Higher priority first; within one, the earlier push first.
        self.priority.cmp(&other.priority).then(other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Ready {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Delayed {
    ready_at: Instant,
    seq: u64,
    priority: i32,
    job_id: Uuid,
}

impl MemoryQueue {
    pub fn new(capacity: usize) -> MemoryQueue {
        MemoryQueue { state: Mutex::new(State::default()), wake: Notify::new(), capacity }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// Moves due delayed entries to the ready heap; returns the next deadline.
    fn promote_due(&mut self, now: Instant) -> Option<Instant> {
        while let Some(Reverse(next)) = self.delayed.peek() {
            if next.ready_at > now {
                return Some(next.ready_at);
            }
            let Reverse(due) = self.delayed.pop().expect("peeked");
            self.ready.push(Ready { priority: due.priority, seq: due.seq, job_id: due.job_id });
        }
        None
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn push(&self, item: QueueItem) -> Result<(), QueueError> {
        let delayed = {
            let mut state = self.state();
            let waiting = state.ready.len() + state.delayed.len();
            if waiting >= self.capacity {
                return Err(QueueError::Full(waiting));
            }
            let seq = state.next_seq;
            state.next_seq += 1;
            match item.ready_at {
                Some(ready_at) if ready_at > Instant::now() => {
                    state.delayed.push(Reverse(Delayed {
                        ready_at,
                        seq,
                        priority: item.priority,
                        job_id: item.job_id,
                    }));
                    true
                }
                _ => {
                    state.ready.push(Ready { priority: item.priority, seq, job_id: item.job_id });
                    false
                }
            }
        };
        if delayed {
            // Waiters sleeping until a later deadline must learn of this one.
            self.wake.notify_waiters();
        } else {
            // One job, one worker: a permit is kept if none is waiting yet.
            self.wake.notify_one();
        }
        Ok(())
    }

    async fn pop(&self) -> Uuid {
        loop {
            let notified = self.wake.notified();
            let deadline = {
                let mut state = self.state();
                let deadline = state.promote_due(Instant::now());
                if let Some(ready) = state.ready.pop() {
                    return ready.job_id;
                }
                deadline
            };
            match deadline {
                Some(deadline) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(deadline) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    async fn waiting(&self) -> Result<usize, QueueError> {
        let state = self.state();
        Ok(state.ready.len() + state.delayed.len())
    }

    async fn restore(&self, items: &[QueueItem]) -> Result<usize, QueueError> {
        let held: std::collections::HashSet<Uuid> = {
            let state = self.state();
            state.ready.iter().map(|r| r.job_id).chain(state.delayed.iter().map(|d| d.0.job_id)).collect()
        };
        let mut added = 0;
        for item in items.iter().filter(|item| !held.contains(&item.job_id)) {
            self.push(*item).await?;
            added += 1;
        }
        Ok(added)
    }
}
