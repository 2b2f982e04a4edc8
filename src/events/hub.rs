//! The per-user event hub: one tokio broadcast channel per user, so a
//! publisher never waits for a watcher and a slow watcher never holds up
//! another (it lags, and catches up from the durable log). Programs' output
//! goes the same way, one channel per watched job.
use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::{broadcast, watch};

use std::sync::Arc;

use uuid::Uuid;

use super::EstimateFeed;
use crate::domain::{JobEvent, OutputChunk, UserId};

/// Events one user's channel keeps for its slowest watcher. A watcher that
/// falls further behind reads what it missed from the durable log, so this
/// bounds memory, not what is delivered: a channel's slots are allocated up
/// front, and a node may hold a channel for each of thousands of users.
const USER_CHANNEL_CAPACITY: usize = 128;

/// Chunks of output one job's channel keeps for its slowest log watcher,
/// which catches up from storage when it falls further behind.
const OUTPUT_CHANNEL_CAPACITY: usize = 16;

pub struct EventHub {
    /// The output of jobs somebody on this node watches.
    outputs: Mutex<HashMap<Uuid, broadcast::Sender<Arc<OutputChunk>>>>,
    /// A std mutex: held only to find a channel and hand it the event,
    /// which never blocks.
    users: Mutex<HashMap<UserId, broadcast::Sender<JobEvent>>>,
    /// Every user's events, for admins' watches.
    everyone: broadcast::Sender<JobEvent>,
    /// Bumped when live delivery may have missed events (the node was cut
    /// off from the other nodes for a while): every watcher reads the log.
    catch_ups: watch::Sender<u64>,
    capacity: usize,
    estimates: EstimateFeed,
}

impl EventHub {
    /// `capacity` is how many events a watcher may fall behind before it lags.
    pub fn new(capacity: usize) -> EventHub {
        EventHub {
            outputs: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
            everyone: broadcast::channel(capacity).0,
            catch_ups: watch::channel(0).0,
            capacity,
            estimates: EstimateFeed::default(),
        }
    }

    /// Tells every watcher on this node to catch up from the durable log.
    pub fn catch_up_all(&self) {
        self.catch_ups.send_modify(|generation| *generation += 1);
    }

    /// Changes whenever watchers should catch up from the log.
    pub fn catch_ups(&self) -> watch::Receiver<u64> {
        self.catch_ups.subscribe()
    }

    /// Sends the event to its owner's watchers on this node, if any.
    pub fn publish(&self, event: JobEvent) {
        // Learned before, told after: by the time the estimator's round
        // reaches a watcher, the event that moved the line is in its channel.
        let moved = self.estimates.observe(&event);
        self.deliver(event);
        if moved {
            self.estimates.lines_moved();
        }
    }

    fn deliver(&self, event: JobEvent) {
        if self.everyone.receiver_count() > 0 {
            let _ = self.everyone.send(event.clone());
        }
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let user = event.job.user_id.clone();
        let Some(sender) = users.get(&user) else { return };
        if sender.send(event).is_err() {
            // Nobody watches this user any more: forget the channel, so the
            // map holds only users with open streams.
            users.remove(&user);
        }
    }

    pub fn subscribe(&self, user: &UserId) -> broadcast::Receiver<JobEvent> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let capacity = self.capacity.min(USER_CHANNEL_CAPACITY);
        users.entry(user.clone()).or_insert_with(|| broadcast::channel(capacity).0).subscribe()
    }

    /// The estimator's side of the hub.
    pub fn estimates(&self) -> &EstimateFeed {
        &self.estimates
    }

    /// Every user's events (an admin's watch).
    pub fn subscribe_everyone(&self) -> broadcast::Receiver<JobEvent> {
        self.everyone.subscribe()
    }

    /// Sends a chunk of a job's output to its watchers on this node, if any.
    pub fn publish_output(&self, chunk: Arc<OutputChunk>) {
        let mut outputs = self.outputs.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sender) = outputs.get(&chunk.job_id) else { return };
        if sender.send(Arc::clone(&chunk)).is_err() {
            outputs.remove(&chunk.job_id);
        }
    }

    /// The job's output as it is stored, from now on.
    pub fn subscribe_output(&self, job_id: Uuid) -> broadcast::Receiver<Arc<OutputChunk>> {
        let mut outputs = self.outputs.lock().unwrap_or_else(|p| p.into_inner());
        outputs.entry(job_id).or_insert_with(|| broadcast::channel(OUTPUT_CHANNEL_CAPACITY).0).subscribe()
    }
}
