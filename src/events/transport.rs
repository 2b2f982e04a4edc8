//! The event transport: how logged events reach watchers and how a cancel
//! reaches the node that runs the job. One node keeps both in the process;
//! several go through Redis ([`super::RedisTransport`]).
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::EventHub;
use crate::domain::{JobEvent, OutputChunk};

/// Called with a job id when a cancel for it arrives, on every node: the
/// node running the job stops its program.
pub type CancelSink = Arc<dyn Fn(Uuid) + Send + Sync>;

#[async_trait]
pub trait EventTransport: Send + Sync + 'static {
    /// Sends logged events to their owners' watchers on every node.
    async fn deliver(&self, events: Vec<JobEvent>);
    /// Has whichever nodes run the jobs stop their programs.
    async fn cancel(&self, job_ids: &[Uuid]);
    /// Sends a stored chunk of a program's output to its watchers on every node.
    async fn deliver_output(&self, chunk: OutputChunk);
}

/// Everything within this process.
pub struct LocalTransport {
    hub: Arc<EventHub>,
    on_cancel: CancelSink,
}

impl LocalTransport {
    pub fn new(hub: Arc<EventHub>, on_cancel: CancelSink) -> LocalTransport {
        LocalTransport { hub, on_cancel }
    }
}

#[async_trait]
impl EventTransport for LocalTransport {
    async fn deliver(&self, events: Vec<JobEvent>) {
        events.into_iter().for_each(|event| self.hub.publish(event));
    }

    async fn cancel(&self, job_ids: &[Uuid]) {
        job_ids.iter().for_each(|&job_id| (self.on_cancel)(job_id));
    }

    async fn deliver_output(&self, chunk: OutputChunk) {
        self.hub.publish_output(Arc::new(chunk));
    }
}
