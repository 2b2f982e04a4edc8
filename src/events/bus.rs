//! The event bus: how a job event and a cancel request reach every node.
//! Embedded, both stay in the process. Scaled out, both go through Redis
//! pub/sub and every node (the sender too) feeds what arrives into its own
//! per-user hub or running-job registry, so a watcher on node A sees a job
//! running on node B, and a cancel received by A stops B's program.
use std::sync::Arc;

use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::EventHub;
use crate::domain::{Job, JobEventKind};
use crate::worker::RunningJobs;

#[derive(Serialize, Deserialize)]
struct WireEvent {
    kind: JobEventKind,
    job: Job,
}

/// Where events and cancels go.
#[derive(Clone)]
pub enum EventBus {
    Local { hub: Arc<EventHub>, running: Arc<RunningJobs> },
    Redis { hub: Arc<EventHub>, running: Arc<RunningJobs>, client: Client, events: String, cancels: String },
}

impl EventBus {
    pub fn hub(&self) -> &Arc<EventHub> {
        match self {
            EventBus::Local { hub, .. } | EventBus::Redis { hub, .. } => hub,
        }
    }

    pub fn running(&self) -> &Arc<RunningJobs> {
        match self {
            EventBus::Local { running, .. } | EventBus::Redis { running, .. } => running,
        }
    }

    /// Sends a job event to its owner's watchers on every node.
    pub async fn publish(&self, kind: JobEventKind, job: Job) {
        match self {
            EventBus::Local { hub, .. } => {
                hub.publish(kind, job);
            }
            EventBus::Redis { hub, client, events, .. } => {
                let payload = serde_json::to_string(&WireEvent { kind, job: job.clone() }).expect("events serialize");
                if let Err(error) = client.publish::<(), _, _>(events.as_str(), payload).await {
                    // Watchers on this node still hear of it.
                    tracing::warn!(%error, "could not publish a job event to Redis");
                    hub.publish(kind, job);
                }
            }
        }
    }

    /// Stops the job's program on whichever node runs it.
    pub async fn cancel(&self, job_id: Uuid) {
        match self {
            EventBus::Local { running, .. } => {
                running.stop(job_id);
            }
            EventBus::Redis { running, client, cancels, .. } => {
                if let Err(error) = client.publish::<(), _, _>(cancels.as_str(), job_id.to_string()).await {
                    tracing::warn!(%error, %job_id, "could not publish a cancel to Redis; stopping locally only");
                    running.stop(job_id);
                }
            }
        }
    }

    /// Subscribes to the Redis channels and feeds this node's hub and
    /// registry until the subscriber is closed. No-op when local.
    pub async fn listen(&self, subscriber: SubscriberClient) -> Result<(), fred::error::Error> {
        let EventBus::Redis { hub, running, events, cancels, .. } = self else {
            return Ok(());
        };
        let mut messages = subscriber.message_rx();
        subscriber.subscribe(vec![events.clone(), cancels.clone()]).await?;
        let _resubscribe = subscriber.manage_subscriptions();
        let (hub, running, events) = (Arc::clone(hub), Arc::clone(running), events.clone());
        tokio::spawn(async move {
            loop {
                let message = match messages.recv().await {
                    Ok(message) => message,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::error!(missed, "this node fell behind Redis pub/sub; some watchers missed events");
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                let Some(text) = message.value.as_str() else { continue };
                if *message.channel == *events {
                    match serde_json::from_str::<WireEvent>(&text) {
                        Ok(wire) => {
                            hub.publish(wire.kind, wire.job);
                        }
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

/// Connects a subscriber client for [`EventBus::listen`].
pub async fn connect_subscriber(config: fred::types::config::Config) -> Result<SubscriberClient, fred::error::Error> {
    let subscriber = fred::types::Builder::from_config(config)
        .with_performance_config(|perf| perf.broadcast_channel_capacity = 16 * 1024)
        .build_subscriber_client()?;
    subscriber.init().await?;
    Ok(subscriber)
}
