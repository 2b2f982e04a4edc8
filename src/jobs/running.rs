//! The jobs this node is running, each with the token that stops it, so that
//! `CancelJob` can kill the program at once.
use std::collections::HashMap;
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Default)]
pub struct RunningJobs {
    /// A std mutex: insert, remove and lookup only, never across an await.
    tokens: Mutex<HashMap<Uuid, CancellationToken>>,
}

impl RunningJobs {
    pub fn insert(&self, job_id: Uuid, stop: CancellationToken) {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(job_id, stop);
    }

    pub fn remove(&self, job_id: Uuid) {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(&job_id);
    }

    /// Stops the job's program if it runs here; returns whether it did.
    pub fn stop(&self, job_id: Uuid) -> bool {
        let token = self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(&job_id).cloned();
        token.map(|t| t.cancel()).is_some()
    }

    pub fn len(&self) -> usize {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
