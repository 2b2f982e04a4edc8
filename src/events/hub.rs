//! The per-user event hub: one tokio broadcast channel per user, so a
//! publisher never waits for a watcher and a slow watcher never holds up
//! another (it lags and is told so).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::domain::{Job, JobEvent, JobEventKind, UserId};

pub struct EventHub {
    /// A std mutex: held only to number an event and hand it to the channel,
    /// which never blocks. Numbering under the lock keeps sequences in order.
    users: Mutex<HashMap<UserId, UserChannel>>,
    capacity: usize,
}

struct UserChannel {
    sender: broadcast::Sender<JobEvent>,
    last_sequence: u64,
}

impl EventHub {
    /// `capacity` is how many events a watcher may fall behind before it lags.
    pub fn new(capacity: usize) -> EventHub {
        EventHub { users: Mutex::new(HashMap::new()), capacity }
    }

    /// Numbers the event and sends it to the owner's watchers, if any.
    pub fn publish(&self, kind: JobEventKind, job: Job) -> u64 {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let channel = users.entry(job.user_id.clone()).or_insert_with(|| self.new_channel());
        channel.last_sequence += 1;
        let event = JobEvent { sequence: channel.last_sequence, kind, job: Arc::new(job) };
        // An error only means nobody is watching right now.
        let _ = channel.sender.send(event);
        channel.last_sequence
    }

    pub fn subscribe(&self, user: &UserId) -> broadcast::Receiver<JobEvent> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        users.entry(user.clone()).or_insert_with(|| self.new_channel()).sender.subscribe()
    }

    /// Open watch streams across all users.
    pub fn watchers(&self) -> usize {
        let users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        users.values().map(|c| c.sender.receiver_count()).sum()
    }

    fn new_channel(&self) -> UserChannel {
        UserChannel { sender: broadcast::channel(self.capacity).0, last_sequence: 0 }
    }
}
