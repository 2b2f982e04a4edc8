//! Job events: what changed, and the job as it is after the change.
use std::sync::Arc;

use super::Job;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum JobEventKind {
    Queued,
    Processing,
    Progress,
    Retrying,
    Completed,
    Failed,
    Cancelled,
    Deleted,
    /// Not a change: the job's current state, sent when a watch starts.
    Snapshot,
}

/// One event on a user's stream. `sequence` is per user and increases by one
/// with each event; snapshots carry 0.
#[derive(Clone, Debug)]
pub struct JobEvent {
    pub sequence: u64,
    pub kind: JobEventKind,
    pub job: Arc<Job>,
}
