//! Group commit for submissions. SubmitVideo calls that arrive while earlier
//! ones are being stored wait in a bounded channel and are taken together:
//! one capacity check, one INSERT and one queue call for the whole group,
//! whose QUEUED events go to the event writer together (which logs them in
//! one transaction, behind the reply). A lone submission is stored at once;
//! nothing waits for a timer.
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use super::JobRunner;
use crate::domain::job::NewJob;
use crate::domain::{Job, JobEventKind};
use crate::error::{Error, Result};
use crate::queue::QueueItem;

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
    /// Starts taking submissions; stops when the last `Intake` is dropped.
    pub fn start(runner: Arc<JobRunner>) -> Intake {
        let (pending, waiting) = mpsc::channel(WAITING_MAX);
        tokio::spawn(take_groups(waiting, runner));
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

async fn take_groups(mut waiting: mpsc::Receiver<Pending>, runner: Arc<JobRunner>) {
    let slots = Arc::new(Semaphore::new(GROUPS_IN_FLIGHT));
    loop {
        // Take a slot first, so submissions gather while every slot is busy.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let mut group = Vec::with_capacity(GROUP_MAX);
        if waiting.recv_many(&mut group, GROUP_MAX).await == 0 {
            return;
        }
        let runner = Arc::clone(&runner);
        tokio::spawn(async move {
            store_group(&runner, group).await;
            drop(slot);
        });
    }
}

async fn store_group(runner: &JobRunner, group: Vec<Pending>) {
    let (news, callers): (Vec<NewJob>, Vec<_>) = group.into_iter().map(|pending| (pending.new, pending.stored)).unzip();
    let stored = match runner.ensure_room(news.len()).await {
        Ok(()) => runner.store.insert_jobs(news).await,
        Err(error) => Err(error),
    };
    let results = match stored {
        Ok(results) => results,
        Err(error) => {
            tracing::warn!(%error, submissions = callers.len(), "could not store submissions");
            for caller in callers {
                let _ = caller.send(Err(for_each_caller(&error)));
            }
            return;
        }
    };
    let created: Vec<Job> = results.iter().filter(|(_, created)| *created).map(|(job, _)| job.clone()).collect();
    let items: Vec<QueueItem> = created.iter().map(QueueItem::now).collect();
    runner.events.publish_all(JobEventKind::Queued, created).await;
    // The jobs are stored; if the queue refuses them now, the reconciler
    // queues them later, so the callers still get their jobs.
    if let Err(error) = runner.queue.restore(&items).await {
        tracing::warn!(%error, jobs = items.len(), "jobs stored but not queued yet");
    }
    for (caller, result) in callers.into_iter().zip(results) {
        let _ = caller.send(Ok(result));
    }
}

/// The group's error, as each of its callers gets it.
fn for_each_caller(error: &Error) -> Error {
    match error {
        Error::ResourceExhausted(message) => Error::ResourceExhausted(message.clone()),
        Error::Unavailable(message) => Error::Unavailable(message.clone()),
        Error::InvalidArgument { field, message } => Error::invalid(field, message.clone()),
        other => Error::Internal(anyhow::anyhow!("storing the submission failed: {other}")),
    }
}
