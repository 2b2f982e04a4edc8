//! Batches: many videos submitted at once, one parent with counts of its
//! children by state. The counts are read from the children themselves, so
//! they are exact however many workers on however many nodes change them.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::UserId;

/// At most this many URLs in one batch.
pub const MAX_BATCH_URLS: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchState {
    Running,
    Completed,
    CompletedWithErrors,
    Failed,
    Cancelled,
}

impl BatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Running => "running",
            BatchState::Completed => "completed",
            BatchState::CompletedWithErrors => "completed_with_errors",
            BatchState::Failed => "failed",
            BatchState::Cancelled => "cancelled",
        }
    }

    pub fn parse(name: &str) -> Option<BatchState> {
        [Self::Running, Self::Completed, Self::CompletedWithErrors, Self::Failed, Self::Cancelled]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

/// Children by state; `queued` counts QUEUED and RETRYING.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCounts {
    pub queued: u32,
    pub processing: u32,
    pub completed: u32,
    pub failed: u32,
    pub cancelled: u32,
}

impl BatchCounts {
    pub fn unfinished(&self) -> u32 {
        self.queued + self.processing
    }

    /// How a batch whose children have all finished ends.
    pub fn final_state(&self) -> Option<BatchState> {
        if self.unfinished() > 0 {
            return None;
        }
        Some(match (self.completed, self.failed + self.cancelled) {
            (0, _) => BatchState::Failed,
            (_, 0) => BatchState::Completed,
            _ => BatchState::CompletedWithErrors,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub id: Uuid,
    pub user_id: UserId,
    pub subject: String,
    pub total: u32,
    pub counts: BatchCounts,
    pub state: BatchState,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_ends_completed_with_errors_failed_or_completed_by_its_children() {
        let counts = |completed, failed, cancelled| BatchCounts { completed, failed, cancelled, ..Default::default() };
        assert_eq!(counts(40, 10, 0).final_state(), Some(BatchState::CompletedWithErrors));
        assert_eq!(counts(50, 0, 0).final_state(), Some(BatchState::Completed));
        assert_eq!(counts(0, 3, 2).final_state(), Some(BatchState::Failed));
        assert_eq!(BatchCounts { queued: 1, completed: 3, ..Default::default() }.final_state(), None);
        for state in [BatchState::Running, BatchState::CompletedWithErrors, BatchState::Cancelled] {
            assert_eq!(BatchState::parse(state.as_str()), Some(state));
        }
    }
}
