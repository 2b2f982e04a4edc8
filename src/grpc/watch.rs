//! `WatchJobs`: the caller's events in sequence order with no gap and no
//! duplicate. It subscribes to the live hub first, then replays the durable
//! log after the requested sequence, then goes on live. Whenever a live event
//! skips ahead (another node's event arrived first, or this watcher lagged
//! behind the hub's buffer) the missing ones are read from the log, so a
//! watcher never silently misses one. Named jobs, when not resuming, start
//! with a snapshot each; a heartbeat keeps idle streams open through proxies.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::StreamExt;
use tokio_stream::adapters::Map;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use uuid::Uuid;

use super::convert::{estimate_event, event_to_proto};
use crate::auth::Caller;
use crate::domain::{JobEvent, JobEventKind, UserId};
use crate::error::{Error, Result};
use crate::events::{EstimateFeed, EstimateRound, EstimateWatch};
use crate::jobs::EventLog;
use crate::proto::v1 as pb;

/// What a stream's task sends to the network. Boxed: a channel allocates
/// its slots in blocks of 32, and an unboxed event with its job is large, so
/// every idle stream would hold tens of KiB for nothing.
type Outgoing = Box<Result<pb::JobEvent, Status>>;

pub type EventStream = Map<ReceiverStream<Outgoing>, fn(Outgoing) -> Result<pb::JobEvent, Status>>;

/// Events buffered per stream between the hub and the network.
const STREAM_BUFFER: usize = 64;
/// Events read from the log per query when replaying or filling a gap.
const REPLAY_PAGE: u64 = 500;

/// What one watch asked for.
pub struct WatchRequest {
    pub caller: Caller,
    pub job_ids: Vec<Uuid>,
    /// Only the children of this batch.
    pub batch_id: Option<Uuid>,
    pub after_sequence: Option<u64>,
    /// Also send ESTIMATE events (not on an admin's watch of every user).
    pub estimates: bool,
    pub keepalive: Duration,
}

pub async fn watch(log: &EventLog, request: WatchRequest, shutdown: CancellationToken) -> Result<EventStream> {
    let caller = request.caller;
    let scope = caller.scope();
    if caller.admin && request.after_sequence.is_some() {
        return Err(Error::invalid(
            "after_sequence",
            "resumes one user's log; an admin's watch of every user is live only",
        ));
    }
    let user = caller.user_id;
    // Subscribe before reading the log, so nothing falls in between.
    let live = if caller.admin { log.hub().subscribe_everyone() } else { log.hub().subscribe(&user) };
    let catch_ups = log.hub().catch_ups();
    let bounds = log.bounds(&user).await?;
    let start = match request.after_sequence {
        Some(after) if after > bounds.last => {
            return Err(Error::invalid(
                "after_sequence",
                format!("{after} is ahead of the log, which ends at {}", bounds.last),
            ));
        }
        Some(after) => {
            let oldest = bounds.oldest.unwrap_or(bounds.last + 1);
            if after + 1 < oldest {
                return Err(Error::OutOfRange(format!(
                    "after_sequence {after} is older than the log; the oldest available event is {oldest}"
                )));
            }
            after
        }
        None => bounds.last,
    };
    let mut snapshots = Vec::new();
    for id in &request.job_ids {
        let job = log.job(&scope, *id).await?;
        if request.after_sequence.is_none() {
            snapshots.push(JobEvent { sequence: 0, kind: JobEventKind::Snapshot, job: job.into(), batch: None });
        }
    }
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let estimates = (request.estimates && !caller.admin).then(|| EstimateFeed::watch(log.hub(), &user));
    let stream = Stream {
        estimates,
        log: log.clone(),
        user,
        everyone: caller.admin,
        only: request.job_ids.into_iter().collect(),
        batch_id: request.batch_id,
        delivered: start,
        tx,
        shutdown,
    };
    log.tracker().spawn(stream.run(snapshots, live, catch_ups, request.keepalive));
    Ok(ReceiverStream::new(rx).map(unbox as fn(Outgoing) -> Result<pb::JobEvent, Status>))
}

/// The estimator's next round, for a watch that asked for estimates (never,
/// for one that did not). A watcher that fell behind skips the rounds it
/// missed: estimates are advisory, and the next round brings what moved.
async fn next_round(rounds: &mut Option<broadcast::Receiver<Arc<EstimateRound>>>) -> Option<Arc<EstimateRound>> {
    let Some(rounds) = rounds else { return std::future::pending().await };
    loop {
        match rounds.recv().await {
            Ok(round) => return Some(round),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
        }
    }
}

fn unbox(item: Outgoing) -> Result<pb::JobEvent, Status> {
    *item
}

struct Stream {
    log: EventLog,
    user: UserId,
    /// An admin's watch of every user: live only, since sequences are per user.
    everyone: bool,
    only: HashSet<Uuid>,
    batch_id: Option<Uuid>,
    /// The last sequence sent (or skipped by the filter).
    delivered: u64,
    tx: mpsc::Sender<Outgoing>,
    shutdown: CancellationToken,
    /// Held while this watch wants ESTIMATE events.
    estimates: Option<EstimateWatch>,
}

impl Stream {
    async fn run(
        mut self,
        snapshots: Vec<JobEvent>,
        mut live: broadcast::Receiver<JobEvent>,
        mut catch_ups: watch::Receiver<u64>,
        keepalive: Duration,
    ) {
        let streams = metrics::gauge!(crate::telemetry::WATCH_STREAMS);
        streams.increment(1.0);
        let estimates = self.estimates.as_ref().map(|_| self.log.hub().estimates().rounds());
        let _ = self.serve(snapshots, &mut live, &mut catch_ups, estimates, keepalive).await;
        streams.decrement(1.0);
    }

    /// Returns when the client leaves, the node stops or the log fails.
    async fn serve(
        &mut self,
        snapshots: Vec<JobEvent>,
        live: &mut broadcast::Receiver<JobEvent>,
        catch_ups: &mut watch::Receiver<u64>,
        mut estimates: Option<broadcast::Receiver<Arc<EstimateRound>>>,
        keepalive: Duration,
    ) -> Option<()> {
        for event in &snapshots {
            self.send(Ok(event_to_proto(event))).await?;
        }
        if !self.everyone {
            self.catch_up(None).await?;
        }
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
        loop {
            // In this order: a logged event that moved a line is delivered
            // before the estimates of that move (the hub queues the event
            // before it wakes the estimator), so a client never gets an
            // estimate for a job it has not heard of yet.
            let received = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return None,
                _ = self.tx.closed() => return None,
                _ = catch_ups.changed() => {
                    if !self.everyone {
                        self.catch_up(None).await?;
                    }
                    continue;
                }
                received = live.recv() => received,
                Some(round) = next_round(&mut estimates) => {
                    self.deliver_estimates(&round).await?;
                    continue;
                }
                _ = heartbeat.tick() => {
                    let beat = pb::JobEvent { sequence: self.delivered, r#type: pb::JobEventType::Heartbeat as i32, ..Default::default() };
                    self.send(Ok(beat)).await?;
                    continue;
                }
            };
            match received {
                Ok(event) if event.sequence == 0 || self.everyone => self.deliver(&event).await?,
                Err(broadcast::error::RecvError::Lagged(missed)) if self.everyone => {
                    let status = Status::resource_exhausted(format!(
                        "this watch of every user fell {missed} events behind; watch again"
                    ));
                    let _ = self.send(Err(status)).await;
                    return None;
                }
                Ok(event) if event.sequence <= self.delivered => {} // already replayed
                Ok(event) => {
                    self.catch_up(Some(event.sequence)).await?;
                    self.deliver(&event).await?;
                    self.delivered = event.sequence;
                }
                // Fell behind the hub's buffer: the log has everything.
                Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up(None).await?,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Sends every logged event after `delivered` (and before `before`).
    async fn catch_up(&mut self, before: Option<u64>) -> Option<()> {
        if before.is_some_and(|before| before <= self.delivered + 1) {
            return Some(());
        }
        loop {
            let page = match self.log.events_after(&self.user, self.delivered, before, REPLAY_PAGE).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(%error, user = %self.user, "cannot read the event log for a watcher");
                    let _ = self
                        .tx
                        .send(Box::new(Err(Status::unavailable(
                            "the event log cannot be read; watch again with after_sequence",
                        ))))
                        .await;
                    return None;
                }
            };
            let Some(last) = page.last().map(|e| e.sequence) else { return Some(()) };
            for event in &page {
                self.deliver(event).await?;
            }
            self.delivered = last;
            if (page.len() as u64) < REPLAY_PAGE {
                return Some(());
            }
        }
    }

    async fn deliver(&self, event: &JobEvent) -> Option<()> {
        let wanted_job = self.only.is_empty() || self.only.contains(&event.job.id);
        let wanted_batch = self.batch_id.is_none() || self.batch_id == event.job.batch_id;
        if wanted_job && wanted_batch {
            self.send(Ok(event_to_proto(event))).await?;
        }
        Some(())
    }

    /// Sends this watch's part of an estimator round, as ESTIMATE events.
    async fn deliver_estimates(&self, round: &EstimateRound) -> Option<()> {
        for news in round.by_user.get(&self.user).into_iter().flatten() {
            let wanted_job = self.only.is_empty() || self.only.contains(&news.job_id);
            let wanted_batch = self.batch_id.is_none() || self.batch_id == news.batch_id;
            if wanted_job && wanted_batch {
                self.send(Ok(estimate_event(news.job_id, &news.estimate))).await?;
            }
        }
        Some(())
    }

    /// Sends one item unless the client left or the node is stopping.
    async fn send(&self, item: Result<pb::JobEvent, Status>) -> Option<()> {
        tokio::select! {
            sent = self.tx.send(Box::new(item)) => sent.ok(),
            _ = self.shutdown.cancelled() => None,
        }
    }
}
