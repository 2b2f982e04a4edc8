//! The ids the in-process queue's pops took lately, each with when (a take
//! forgets those older than [`TAKEN_KEPT`]): so a reconciler's restore can
//! leave out a job whose worker is still claiming it (see
//! [`super::JobQueue::restore_untaken`]).
use std::collections::{HashMap, VecDeque};

use tokio::time::Instant;
use uuid::Uuid;

use super::TAKEN_KEPT;

#[derive(Default)]
pub(super) struct Taken {
    /// Each id's latest take.
    at: HashMap<Uuid, Instant>,
    /// Every take in the order they happened, for forgetting the old ones.
    order: VecDeque<(Instant, Uuid)>,
}

impl Taken {
    /// Remembers that a pop took `id` at `now`, and forgets the takes older
    /// than [`TAKEN_KEPT`].
    pub fn record(&mut self, id: Uuid, now: Instant) {
        while let Some(&(when, old)) = self.order.front() {
            if now.saturating_duration_since(when) < TAKEN_KEPT {
                break;
            }
            self.order.pop_front();
            if self.at.get(&old) == Some(&when) {
                self.at.remove(&old);
            }
        }
        self.at.insert(id, now);
        self.order.push_back((now, id));
    }

    /// Whether a pop took `id` less than `grace` before `now`.
    pub fn within(&self, id: &Uuid, grace: std::time::Duration, now: Instant) -> bool {
        self.at.get(id).is_some_and(|when| now.saturating_duration_since(*when) < grace.min(TAKEN_KEPT))
    }
}
