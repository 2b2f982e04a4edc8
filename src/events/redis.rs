//! The Redis transport: logged events and cancels cross Redis pub/sub, and
//! every node (the sender too) feeds what arrives into its own per-user hub
//! or cancel sink, so a watcher on node A sees a job running on node B, and
//! a cancel received by A stops B's program.
use std::sync::Arc;

use async_trait::async_trait;
use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::EventHub;
use super::transport::{CancelSink, EventTransport};
use crate::domain::{Batch, Job, JobEvent, JobEventKind, OutputChunk};

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

/// The Redis channels of a deployment.
#[derive(Clone)]
pub struct RedisChannels {
    pub client: Client,
    pub events: String,
    pub cancels: String,
    /// Programs' output, a stored chunk a message.
    pub output: String,
}

/// Events and cancels through Redis pub/sub: every node (the sender too)
/// feeds what arrives into its own hub, or stops the job if it runs it.
pub struct RedisTransport {
    hub: Arc<EventHub>,
    channels: RedisChannels,
    on_cancel: CancelSink,
}

impl RedisTransport {
    pub fn new(hub: Arc<EventHub>, channels: RedisChannels, on_cancel: CancelSink) -> RedisTransport {
        RedisTransport { hub, channels, on_cancel }
    }

    /// Subscribes to the channels and, on `tracker`, feeds this node's hub
    /// and cancel sink until `stop` fires. The subscriber reconnects and
    /// resubscribes by itself; after each reconnection the hub tells its
    /// watchers to catch up from the log, since what was published while
    /// the connection was down never arrives.
    pub async fn listen(
        &self,
        subscriber: SubscriberClient,
        tracker: &TaskTracker,
        stop: CancellationToken,
    ) -> Result<(), fred::error::Error> {
        let mut messages = subscriber.message_rx();
        let mut reconnects = subscriber.reconnect_rx();
        let channels = &self.channels;
        subscriber.subscribe(vec![channels.events.clone(), channels.cancels.clone(), channels.output.clone()]).await?;
        let resubscriber = subscriber.clone();
        let (hub, on_cancel, events) =
            (Arc::clone(&self.hub), Arc::clone(&self.on_cancel), self.channels.events.clone());
        let output = self.channels.output.clone();
        tracker.spawn(async move {
            loop {
                let message = tokio::select! {
                    _ = stop.cancelled() => return,
                    reconnected = reconnects.recv() => {
                        if let Err(RecvError::Closed) = reconnected {
                            return;
                        }
                        tracing::info!("reconnected to Redis pub/sub; resubscribing and catching watchers up from the log");
                        if let Err(error) = resubscriber.resubscribe_all().await {
                            tracing::warn!(%error, "could not resubscribe to Redis pub/sub");
                        }
                        hub.catch_up_all();
                        continue;
                    }
                    message = messages.recv() => match message {
                        Ok(message) => message,
                        Err(RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "this node fell behind Redis pub/sub; catching watchers up from the log");
                            hub.catch_up_all();
                            continue;
                        }
                        Err(RecvError::Closed) => return,
                    },
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
                } else if *message.channel == *output {
                    match serde_json::from_str::<OutputChunk>(&text) {
                        Ok(chunk) => hub.publish_output(Arc::new(chunk)),
                        Err(error) => tracing::warn!(%error, "ignoring a malformed output chunk from Redis"),
                    }
                } else if let Ok(job_id) = Uuid::parse_str(&text) {
                    on_cancel(job_id);
                }
            }
        });
        Ok(())
    }
}

#[async_trait]
impl EventTransport for RedisTransport {
    /// One Redis round trip, one message per chunk of events.
    async fn deliver(&self, events: Vec<JobEvent>) {
        if events.is_empty() {
            return;
        }
        let redis = &self.channels;
        let pipeline = redis.client.pipeline();
        for chunk in events.chunks(PUBLISH_CHUNK) {
            let _ = pipeline.publish::<(), _, _>(redis.events.as_str(), wire_payload(chunk)).await;
        }
        let published = tokio::time::timeout(SEND_WAIT, pipeline.all::<Vec<fred::types::Value>>()).await;
        if let Err(error) =
            published.map_err(|_| "no answer in time".to_string()).and_then(|r| r.map_err(|e| e.to_string()))
        {
            // Watchers on this node still hear of them; others catch up from
            // the log when the next event reaches them, or when this node's
            // subscriber is back (see `listen`).
            tracing::warn!(%error, "could not publish job events to Redis");
            events.into_iter().for_each(|event| self.hub.publish(event));
        }
    }

    /// One pipeline for all of them.
    async fn cancel(&self, job_ids: &[Uuid]) {
        if job_ids.is_empty() {
            return;
        }
        let redis = &self.channels;
        let pipeline = redis.client.pipeline();
        for job_id in job_ids {
            let _ = pipeline.publish::<(), _, _>(redis.cancels.as_str(), job_id.to_string()).await;
        }
        let published = tokio::time::timeout(SEND_WAIT, pipeline.all::<Vec<fred::types::Value>>()).await;
        if let Err(error) =
            published.map_err(|_| "no answer in time".to_string()).and_then(|r| r.map_err(|e| e.to_string()))
        {
            // A program elsewhere stops at its next lease renewal at the latest.
            tracing::warn!(%error, jobs = job_ids.len(), "could not publish cancels to Redis; stopping locally only");
            job_ids.iter().for_each(|&job_id| (self.on_cancel)(job_id));
        }
    }

    /// One message per chunk. A chunk that cannot be published still
    /// reaches this node's watchers; others catch up from storage when the
    /// next chunk or the attempt's end reaches them.
    async fn deliver_output(&self, chunk: OutputChunk) {
        let payload = serde_json::to_string(&chunk).expect("output serializes");
        let publish = self.channels.client.publish::<(), _, _>(self.channels.output.as_str(), payload);
        match tokio::time::timeout(SEND_WAIT, publish).await {
            Ok(Ok(())) => {}
            outcome => {
                let error = outcome.map_or_else(|_| "no answer in time".to_string(), |r| format!("{r:?}"));
                tracing::warn!(%error, job_id = %chunk.job_id, "could not publish output to Redis");
                self.hub.publish_output(Arc::new(chunk));
            }
        }
    }
}

/// How long a publish may wait for Redis (it waits for a reconnection)
/// before the transport falls back as if it had failed.
const SEND_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

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

/// Connects a subscriber client for [`RedisTransport::listen`]; it
/// reconnects forever, like the queue's clients.
pub async fn connect_subscriber(config: fred::types::config::Config) -> Result<SubscriberClient, fred::error::Error> {
    let subscriber = fred::types::Builder::from_config(config)
        .set_policy(fred::types::config::ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
        .with_performance_config(|perf| perf.broadcast_channel_capacity = 16 * 1024)
        .with_connection_config(|connection| connection.tcp.nodelay = Some(true))
        .build_subscriber_client()?;
    subscriber.init().await?;
    Ok(subscriber)
}
