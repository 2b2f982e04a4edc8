//! Group commit for submissions. SubmitVideo calls that arrive while earlier
//! ones are being stored wait in a bounded channel and are taken together:
//! one INSERT with the QUEUED events in one transaction, and one queue call,
//! for the whole group. A lone submission is stored at once; nothing waits
//! for a timer.
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::commit::{Committer, next_group};
use crate::domain::Job;
use crate::domain::job::NewJob;
use crate::error::{Error, Result};
use crate::queue::JobQueue;

/// Submissions stored by one statement at most.
const GROUP_MAX: usize = 256;
/// Groups being stored at once.
const GROUPS_IN_FLIGHT: usize = 4;
/// Submissions waiting to be taken at most; callers wait beyond that.
const WAITING_MAX: usize = 4096;

struct Pending {
    new: NewJob,
    stored: oneshot::Sender<Result<(Job, bool)>>,
}

#[derive(Clone)]
pub struct Intake {
    pending: mpsc::Sender<Pending>,
}

impl Intake {
    /// Starts taking submissions on `tracker`; once `stop` fires it stores
    /// what was already handed over and ends (later calls are UNAVAILABLE).
    pub fn start(
        committer: Committer,
        queue: Arc<dyn JobQueue>,
        tracker: &TaskTracker,
        stop: CancellationToken,
    ) -> Intake {
        let (pending, waiting) = mpsc::channel(WAITING_MAX);
        tracker.spawn(take_groups(waiting, committer, queue, tracker.clone(), stop));
        Intake { pending }
    }

    /// Stores, logs and queues the job; returns it and whether it is new
    /// (false: it duplicates a waiting one, which is returned instead).
    pub async fn submit(&self, new: NewJob) -> Result<(Job, bool)> {
        let (stored, done) = oneshot::channel();
        let stopped = || Error::Unavailable("the server is shutting down".into());
        self.pending.send(Pending { new, stored }).await.map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
    }
}

async fn take_groups(
    mut waiting: mpsc::Receiver<Pending>,
    committer: Committer,
    queue: Arc<dyn JobQueue>,
    tracker: TaskTracker,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(GROUPS_IN_FLIGHT));
    let mut stopping = false;
    loop {
        // Take a slot first, so submissions gather while every slot is busy.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
        let Some(group) = next_group(&mut waiting, GROUP_MAX, &stop, &mut stopping).await else { return };
        let (committer, queue) = (committer.clone(), Arc::clone(&queue));
        tracker.spawn(async move {
            let (news, callers): (Vec<NewJob>, Vec<_>) = group.into_iter().map(|p| (p.new, p.stored)).unzip();
            match super::manage::submit_group(&committer, queue.as_ref(), news).await {
                Ok(results) => {
                    for (caller, result) in callers.into_iter().zip(results) {
                        let _ = caller.send(result);
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error.detail(), submissions = callers.len(), "could not store submissions");
                    for caller in callers {
                        let _ = caller.send(Err(for_each_caller(&error)));
                    }
                }
            }
            drop(slot);
        });
    }
}

/// The group's error, as each of its callers gets it.
fn for_each_caller(error: &Error) -> Error {
    match error {
        Error::ResourceExhausted(message) => Error::ResourceExhausted(message.clone()),
        Error::Unavailable(message) => Error::Unavailable(message.clone()),
        Error::InvalidArgument { field, message } => Error::invalid(field, message.clone()),
        Error::FailedPrecondition(message) => Error::FailedPrecondition(message.clone()),
        other => Error::Internal(anyhow::anyhow!("storing the submission failed: {}", other.detail())),
    }
}
