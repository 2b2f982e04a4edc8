//! The read side of the event log for watchers: the durable log a watcher
//! replays and fills gaps from, and the live hub it follows.
use std::sync::Arc;

use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::domain::{Job, JobEvent, Scope, UserId};
use crate::error::Result;
use crate::events::EventHub;
use crate::store::{EventBounds, Store};

#[derive(Clone)]
pub struct EventLog {
    store: Store,
    hub: Arc<EventHub>,
    /// Where watch streams run, so shutdown waits for them.
    streams: TaskTracker,
}

impl EventLog {
    pub fn new(store: Store, hub: Arc<EventHub>, streams: TaskTracker) -> EventLog {
        EventLog { store, hub, streams }
    }

    pub fn hub(&self) -> &Arc<EventHub> {
        &self.hub
    }

    pub fn tracker(&self) -> &TaskTracker {
        &self.streams
    }

    pub async fn bounds(&self, user: &UserId) -> Result<EventBounds> {
        self.store.event_bounds(user).await
    }

    /// The job as it is now, with the pause that holds it if any.
    pub async fn job(&self, scope: &Scope, id: Uuid) -> Result<Job> {
        let job = self.store.job_for_user(scope, id).await?;
        Ok(crate::domain::pause::shown(job, &self.store.pauses().await?, chrono::Utc::now()))
    }

    /// Up to `limit` of the user's events after `after` (and before
    /// `before`), oldest first.
    pub async fn events_after(
        &self,
        user: &UserId,
        after: u64,
        before: Option<u64>,
        limit: u64,
    ) -> Result<Vec<JobEvent>> {
        self.store.events_after(user, after, before, limit).await
    }
}
