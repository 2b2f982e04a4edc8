//! The in-process queue of the embedded default, fair across groups (users):
//! one heap of ready jobs per group, a ring of the groups that have ready
//! jobs, a heap of delayed jobs, all under a mutex, and a `Notify` to wake a
//! waiting worker.
//!
//! A pop takes the best job (highest priority, then earliest push) of the
//! group at the front of the ring and moves that group to the back if it
//! still has ready jobs. A group joins the back of the ring when it gets a
//! ready job while it has none (a push, or a delayed job of it coming due).
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;
use uuid::Uuid;

use super::taken::Taken;
use super::{JobQueue, Place, QueueError, QueueItem, jobs_ahead};

pub struct MemoryQueue {
    /// A std mutex: it is never held across an await, and every critical
    /// section is a few heap and map operations.
    state: Mutex<State>,
    wake: Notify,
    capacity: usize,
}

#[derive(Default)]
struct State {
    /// Ready jobs per group; a group is here only while it has some.
    groups: HashMap<String, BinaryHeap<Ready>>,
    /// Each group of `groups` exactly once, the next to take from first.
    ring: VecDeque<String>,
    /// How many jobs `groups` holds in all.
    ready: usize,
    delayed: BinaryHeap<Reverse<Delayed>>,
    next_seq: u64,
    taken: Taken,
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
    group: String,
}

impl MemoryQueue {
    pub fn new(capacity: usize) -> MemoryQueue {
        MemoryQueue { state: Mutex::new(State::default()), wake: Notify::new(), capacity }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds the items the queue does not hold and no pop took less than
    /// `grace` ago. Both are read under one lock: an id not held then can
    /// be taken by no pop before it is added.
    async fn restore_except_taken(&self, items: &[QueueItem], grace: Duration) -> Result<usize, QueueError> {
        let now = Instant::now();
        let left_out: HashSet<Uuid> = {
            let state = self.state();
            let ready = state.groups.values().flat_map(|heap| heap.iter().map(|r| r.job_id));
            let held = ready.chain(state.delayed.iter().map(|d| d.0.job_id));
            let taken = items.iter().map(|item| item.job_id).filter(|id| state.taken.within(id, grace, now));
            held.chain(taken).collect()
        };
        let mut added = 0;
        for item in items.iter().filter(|item| !left_out.contains(&item.job_id)) {
            self.push(item.clone()).await?;
            added += 1;
        }
        Ok(added)
    }
}

impl State {
    fn waiting(&self) -> usize {
        self.ready + self.delayed.len()
    }

    /// Adds a ready job to its group, which joins the back of the ring if it
    /// had no ready job.
    fn make_ready(&mut self, group: String, ready: Ready) {
        match self.groups.get_mut(&group) {
            Some(heap) => heap.push(ready),
            None => {
                self.groups.insert(group.clone(), BinaryHeap::from([ready]));
                self.ring.push_back(group);
            }
        }
        self.ready += 1;
    }

    /// Takes the best job of the group whose turn it is; that group goes to
    /// the back of the ring if it has more.
    fn take(&mut self) -> Option<Uuid> {
        let group = self.ring.pop_front()?;
        let heap = self.groups.get_mut(&group).expect("every group in the ring has ready jobs");
        let taken = heap.pop().expect("a group in the ring has a ready job");
        if heap.is_empty() {
            self.groups.remove(&group);
        } else {
            self.ring.push_back(group);
        }
        self.ready -= 1;
        self.taken.record(taken.job_id, Instant::now());
        Some(taken.job_id)
    }

    /// Takes the ids out wherever they wait; returns how many it held.
    fn withdraw(&mut self, ids: &HashSet<Uuid>) -> usize {
        let before = self.waiting();
        for heap in self.groups.values_mut() {
            heap.retain(|ready| !ids.contains(&ready.job_id));
        }
        self.groups.retain(|_, heap| !heap.is_empty());
        let groups = &self.groups;
        self.ring.retain(|group| groups.contains_key(group));
        self.ready = self.groups.values().map(BinaryHeap::len).sum();
        self.delayed.retain(|delayed| !ids.contains(&delayed.0.job_id));
        before - self.waiting()
    }

    /// Each ring group's ready count, in turn order.
    fn ring_sizes(&self) -> Vec<usize> {
        self.ring.iter().map(|group| self.groups.get(group).map_or(0, BinaryHeap::len)).collect()
    }

    /// The group's ready jobs, best (first to leave) first.
    fn line_of(&self, group: &str) -> Vec<Uuid> {
        let Some(heap) = self.groups.get(group) else { return Vec::new() };
        let mut line: Vec<&Ready> = heap.iter().collect();
        line.sort_by(|a, b| b.cmp(a));
        line.into_iter().map(|ready| ready.job_id).collect()
    }

    /// Where each job waits: each group asked about is ranked once (a sort
    /// of its ready jobs), the delayed jobs are looked through once.
    fn places(&self, jobs: &[(Uuid, String)]) -> Vec<Place> {
        let sizes = self.ring_sizes();
        let mut ranks: HashMap<&str, (usize, HashMap<Uuid, usize>)> = HashMap::new();
        for (_, group) in jobs {
            if ranks.contains_key(group.as_str()) {
                continue;
            }
            let Some(at) = self.ring.iter().position(|g| g == group) else { continue };
            let line = self.line_of(group).into_iter().enumerate().map(|(rank, id)| (id, rank)).collect();
            ranks.insert(group.as_str(), (at, line));
        }
        let mut delayed: Option<HashMap<Uuid, Instant>> = None;
        jobs.iter()
            .map(|(id, group)| {
                if let Some((at, line)) = ranks.get(group.as_str())
                    && let Some(&rank) = line.get(id)
                {
                    return Place::Ready { ahead: jobs_ahead(&sizes, *at, rank) };
                }
                let delayed =
                    delayed.get_or_insert_with(|| self.delayed.iter().map(|d| (d.0.job_id, d.0.ready_at)).collect());
                match delayed.get(id) {
                    Some(ready_at) => {
                        let wait = ready_at.saturating_duration_since(Instant::now());
                        Place::Delayed { until: chrono::Utc::now() + wait }
                    }
                    None => Place::Absent,
                }
            })
            .collect()
    }

    /// Moves due delayed entries to their groups; returns the next deadline.
    fn promote_due(&mut self, now: Instant) -> Option<Instant> {
        while let Some(Reverse(next)) = self.delayed.peek() {
            if next.ready_at > now {
                return Some(next.ready_at);
            }
            let Reverse(due) = self.delayed.pop().expect("peeked");
            self.make_ready(due.group, Ready { priority: due.priority, seq: due.seq, job_id: due.job_id });
        }
        None
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn push(&self, item: QueueItem) -> Result<(), QueueError> {
        let delayed = {
            let mut state = self.state();
            let waiting = state.waiting();
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
                        group: item.group,
                    }));
                    true
                }
                _ => {
                    state.make_ready(item.group, Ready { priority: item.priority, seq, job_id: item.job_id });
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
                if let Some(job_id) = state.take() {
                    return job_id;
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
        Ok(self.state().waiting())
    }

    async fn restore(&self, items: &[QueueItem]) -> Result<usize, QueueError> {
        self.restore_except_taken(items, Duration::ZERO).await
    }

    async fn restore_untaken(&self, items: &[QueueItem], grace: Duration) -> Result<usize, QueueError> {
        self.restore_except_taken(items, grace).await
    }

    async fn withdraw(&self, ids: &[Uuid]) -> Result<usize, QueueError> {
        Ok(self.state().withdraw(&ids.iter().copied().collect()))
    }

    async fn replace(&self, items: &[QueueItem]) -> Result<(), QueueError> {
        self.state().withdraw(&items.iter().map(|item| item.job_id).collect());
        for item in items {
            self.push(item.clone()).await?;
        }
        Ok(())
    }

    async fn places(&self, jobs: &[(Uuid, String)]) -> Result<Vec<Place>, QueueError> {
        let mut state = self.state();
        state.promote_due(Instant::now());
        Ok(state.places(jobs))
    }

    async fn lines(&self, groups: &[String], limit: usize) -> Result<Vec<(String, Uuid, u64)>, QueueError> {
        let mut state = self.state();
        state.promote_due(Instant::now());
        let sizes = state.ring_sizes();
        let mut lines = Vec::new();
        for group in groups {
            let Some(at) = state.ring.iter().position(|g| g == group) else { continue };
            for (rank, id) in state.line_of(group).into_iter().take(limit).enumerate() {
                lines.push((group.clone(), id, jobs_ahead(&sizes, at, rank)));
            }
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(group: &str, priority: i32) -> QueueItem {
        QueueItem { job_id: Uuid::now_v7(), group: group.into(), priority, ready_at: None }
    }

    #[tokio::test]
    async fn takes_from_the_groups_in_turn_and_forgets_empty_ones() {
        let queue = MemoryQueue::new(100);
        let a: Vec<QueueItem> = (0..3).map(|_| item("a", 0)).collect();
        let b = item("b", 0);
        for pushed in a.iter().chain([&b]) {
            queue.push(pushed.clone()).await.unwrap();
        }
        assert_eq!(queue.pop().await, a[0].job_id);
        assert_eq!(queue.pop().await, b.job_id);
        assert_eq!(queue.pop().await, a[1].job_id);
        assert_eq!(queue.pop().await, a[2].job_id);
        let state = queue.state();
        assert!(state.groups.is_empty() && state.ring.is_empty() && state.ready == 0);
    }

    #[tokio::test]
    async fn withdrawn_ids_leave_their_group_and_replaced_ones_go_to_the_back() {
        let queue = MemoryQueue::new(100);
        let (a1, a2, b) = (item("a", 0), item("a", 0), item("b", 0));
        let later = QueueItem { ready_at: Some(Instant::now() + std::time::Duration::from_secs(60)), ..item("c", 0) };
        for pushed in [&a1, &a2, &b, &later] {
            queue.push(pushed.clone()).await.unwrap();
        }
        assert_eq!(queue.withdraw(&[a1.job_id, a2.job_id, later.job_id]).await.unwrap(), 3);
        assert_eq!(queue.waiting().await.unwrap(), 1);
        assert!(!queue.state().ring.contains(&"a".to_string()));
        queue.replace(&[a2.clone(), a1.clone()]).await.unwrap();
        assert_eq!(queue.pop().await, b.job_id);
        assert_eq!(queue.pop().await, a2.job_id);
        assert_eq!(queue.pop().await, a1.job_id);
    }
}
