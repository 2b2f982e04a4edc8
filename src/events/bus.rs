//! The event bus: every job event is first appended to the owner's durable
//! log (which numbers it), then delivered live. Embedded, live delivery stays
//! in the process. Scaled out, events and cancels go through Redis pub/sub
//! and every node (the sender too) feeds what arrives into its own per-user
//! hub or running-job registry, so a watcher on node A sees a job running on
//! node B, and a cancel received by A stops B's program.
use std::sync::Arc;

use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::EventHub;
use super::appender::Appender;
use crate::domain::{Batch, Job, JobEvent, JobEventKind};
use crate::store::Store;
use crate::worker::RunningJobs;

/// An event as it crosses Redis; a message carries an array of them.
#[derive(Deserialize)]
struct WireEvent {
    sequence: u64,
    kind: JobEventKind,
    job: Job,
    batch: Option<Batch>,
}

/// The same, borrowed, for sending without copying the job.
#[derive(Serialize)]
struct WireEventRef<'a> {
    sequence: u64,
    kind: JobEventKind,
    job: &'a Job,
    batch: Option<&'a Batch>,
}

/// The Redis side of the bus.
#[derive(Clone)]
pub struct RedisChannels {
    pub client: Client,
    pub events: String,
    pub cancels: String,
}

#[derive(Clone)]
pub struct EventBus {
    pub hub: Arc<EventHub>,
    pub running: Arc<RunningJobs>,
    pub store: Store,
    pub redis: Option<RedisChannels>,
    delivery: Delivery,
    appender: Appender,
}

/// Sends logged events live: through Redis to every node, or straight to
/// this node's hub.
#[derive(Clone)]
pub struct Delivery {
    hub: Arc<EventHub>,
    redis: Option<RedisChannels>,
}

impl Delivery {
    /// One Redis round trip, one message per chunk of events.
    pub async fn deliver_all(&self, events: Vec<JobEvent>) {
        let Some(redis) = &self.redis else {
            events.into_iter().for_each(|event| self.hub.publish(event));
            return;
        };
        let pipeline = redis.client.pipeline();
        for chunk in events.chunks(PUBLISH_CHUNK) {
            let _ = pipeline.publish::<(), _, _>(redis.events.as_str(), wire_payload(chunk)).await;
        }
        if let Err(error) = pipeline.all::<Vec<fred::types::Value>>().await {
            // Watchers on this node still hear of them; others catch up from the log.
            tracing::warn!(%error, "could not publish job events to Redis");
            events.into_iter().for_each(|event| self.hub.publish(event));
        }
    }
}

impl EventBus {
    /// The bus, with its event writer running.
    pub fn new(hub: Arc<EventHub>, running: Arc<RunningJobs>, store: Store, redis: Option<RedisChannels>) -> EventBus {
        let delivery = Delivery { hub: Arc::clone(&hub), redis: redis.clone() };
        let appender = Appender::start(store.clone(), delivery.clone());
        EventBus { hub, running, store, redis, delivery, appender }
    }

    /// Has the event logged durably, then sent to its owner's watchers on
    /// every node, after every event published before it; returns without
    /// waiting for either (see [`EventBus::flush`]). A child of a batch
    /// carries the batch as it is then (and settles the batch when this was
    /// its last unfinished child). If the log cannot be written the event
    /// still goes out live, with sequence 0 (watchers cannot resume across
    /// it).
    pub async fn publish(&self, kind: JobEventKind, job: Job) {
        // Counts change with states only, so progress skips the count.
        let count_batch = job.batch_id.filter(|_| kind != JobEventKind::Progress);
        self.appender.append(kind, job, count_batch).await;
    }

    /// Publishes one event per job, in order, like [`EventBus::publish`],
    /// without counting batches: for jobs outside batches, and for progress,
    /// which leaves a batch's counts as they are.
    pub async fn publish_all(&self, kind: JobEventKind, jobs: Vec<Job>) {
        debug_assert!(kind == JobEventKind::Progress || jobs.iter().all(|job| job.batch_id.is_none()));
        for job in jobs {
            self.appender.append(kind, job, None).await;
        }
    }

    /// Returns once every event published before has been logged and sent.
    pub async fn flush(&self) {
        self.appender.flush().await;
    }

    /// Logs one event per job (all of one user) in one transaction, as a
    /// bulk submission needs, and returns them numbered for
    /// [`EventBus::deliver_all`].
    pub async fn log_many(&self, kind: JobEventKind, jobs: Vec<Job>, batch: Option<Batch>) -> Vec<JobEvent> {
        let first = match self.store.append_events(kind, &jobs, batch.as_ref()).await {
            Ok(first) => Some(first),
            Err(error) => {
                tracing::error!(%error, "could not log job events; sending them live only");
                None
            }
        };
        let batch = batch.map(Arc::new);
        let events = jobs.into_iter().enumerate().map(|(offset, job)| {
            let sequence = first.map_or(0, |first| first + offset as u64);
            JobEvent { sequence, kind, job: Arc::new(job), batch: batch.clone() }
        });
        events.collect()
    }

    /// Sends logged events live, in pipelines.
    pub async fn deliver_all(&self, events: Vec<JobEvent>) {
        self.delivery.deliver_all(events).await;
    }

    /// Stops the job's program on whichever node runs it.
    pub async fn cancel(&self, job_id: Uuid) {
        let Some(redis) = &self.redis else {
            self.running.stop(job_id);
            return;
        };
        if let Err(error) = redis.client.publish::<(), _, _>(redis.cancels.as_str(), job_id.to_string()).await {
            tracing::warn!(%error, %job_id, "could not publish a cancel to Redis; stopping locally only");
            self.running.stop(job_id);
        }
    }

    /// Subscribes to the Redis channels and feeds this node's hub and
    /// registry until the subscriber is closed. No-op when local.
    pub async fn listen(&self, subscriber: SubscriberClient) -> Result<(), fred::error::Error> {
        let Some(redis) = &self.redis else { return Ok(()) };
        let mut messages = subscriber.message_rx();
        subscriber.subscribe(vec![redis.events.clone(), redis.cancels.clone()]).await?;
        let _resubscribe = subscriber.manage_subscriptions();
        let (hub, running, events) = (Arc::clone(&self.hub), Arc::clone(&self.running), redis.events.clone());
        tokio::spawn(async move {
            loop {
                let message = match messages.recv().await {
                    Ok(message) => message,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        // Watchers notice the gap in sequences and read it from the log.
                        tracing::warn!(missed, "this node fell behind Redis pub/sub");
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                let Some(text) = message.value.as_str() else { continue };
                if *message.channel == *events {
                    match parse_wire(&text) {
                        Ok(wires) => wires.into_iter().for_each(|wire| {
                            hub.publish(JobEvent {
                                sequence: wire.sequence,
                                kind: wire.kind,
                                job: Arc::new(wire.job),
                                batch: wire.batch.map(Arc::new),
                            })
                        }),
                        Err(error) => tracing::warn!(%error, "ignoring a malformed job event from Redis"),
                    }
                } else if let Ok(job_id) = Uuid::parse_str(&text) {
                    running.stop(job_id);
                }
            }
        });
        Ok(())
    }
}

/// Events sent to Redis per message.
const PUBLISH_CHUNK: usize = 500;

fn wire_payload(events: &[JobEvent]) -> String {
    let wire: Vec<WireEventRef> = events
        .iter()
        .map(|event| WireEventRef {
            sequence: event.sequence,
            kind: event.kind,
            job: &event.job,
            batch: event.batch.as_deref(),
        })
        .collect();
    serde_json::to_string(&wire).expect("events serialize")
}

/// A message's events: an array, or one event alone as nodes of the previous
/// version send them (so a rolling upgrade loses nothing live).
fn parse_wire(text: &str) -> serde_json::Result<Vec<WireEvent>> {
    if text.trim_start().starts_with('[') { serde_json::from_str(text) } else { Ok(vec![serde_json::from_str(text)?]) }
}

/// Connects a subscriber client for [`EventBus::listen`].
pub async fn connect_subscriber(config: fred::types::config::Config) -> Result<SubscriberClient, fred::error::Error> {
    // Reconnect forever (fred's default is never), like the queue's clients:
    // `manage_subscriptions` then subscribes again after Redis comes back.
    let subscriber = fred::types::Builder::from_config(config)
        .set_policy(fred::types::config::ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
        .with_performance_config(|perf| perf.broadcast_channel_capacity = 16 * 1024)
        .with_connection_config(|connection| connection.tcp.nodelay = Some(true))
        .build_subscriber_client()?;
    subscriber.init().await?;
    Ok(subscriber)
}
