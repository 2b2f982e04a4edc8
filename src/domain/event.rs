//! Job events: what changed, and the job as it is after the change.
use std::sync::Arc;

use super::{Batch, Job};

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
    /// A pause now holds the waiting job back (the job carries the pause).
    Paused,
    /// No pause holds the waiting job back any more: it takes its turn.
    Resumed,
    /// Not a change: the job's current state, sent when a watch starts.
    Snapshot,
}

impl JobEventKind {
    const STORED: [JobEventKind; 10] = [
        JobEventKind::Queued,
        JobEventKind::Processing,
        JobEventKind::Progress,
        JobEventKind::Retrying,
        JobEventKind::Completed,
        JobEventKind::Failed,
        JobEventKind::Cancelled,
        JobEventKind::Deleted,
        JobEventKind::Paused,
        JobEventKind::Resumed,
    ];

    /// The name stored in the event log.
    pub fn as_str(self) -> &'static str {
        match self {
            JobEventKind::Queued => "queued",
            JobEventKind::Processing => "processing",
            JobEventKind::Progress => "progress",
            JobEventKind::Retrying => "retrying",
            JobEventKind::Completed => "completed",
            JobEventKind::Failed => "failed",
            JobEventKind::Cancelled => "cancelled",
            JobEventKind::Deleted => "deleted",
            JobEventKind::Paused => "paused",
            JobEventKind::Resumed => "resumed",
            JobEventKind::Snapshot => "snapshot",
        }
    }

    pub fn parse(name: &str) -> Option<JobEventKind> {
        JobEventKind::STORED.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One event on a user's stream. `sequence` is the event's place in the
/// user's durable log (increasing by one per event); snapshots carry 0.
#[derive(Clone, Debug)]
pub struct JobEvent {
    pub sequence: u64,
    pub kind: JobEventKind,
    pub job: Arc<Job>,
    /// For a child of a batch: the batch as it is after this change.
    pub batch: Option<Arc<Batch>>,
}
