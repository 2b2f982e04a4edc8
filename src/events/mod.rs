//! Job events after they are logged: the per-user hub each node's watchers
//! read from, and the transport that carries events and cancels to every
//! node (in-process, or Redis pub/sub). Logging them is the core's job
//! ([`crate::jobs`]), in the transaction of the change they describe. The
//! hub also feeds the estimator (run times, lines that moved) and carries
//! its rounds of estimates to the watch streams.
mod estimates;
mod hub;
mod redis;
mod transport;

pub use estimates::{EstimateFeed, EstimateNews, EstimateRound, EstimateWatch};
pub use hub::EventHub;
pub use redis::{RedisChannels, RedisTransport, connect_subscriber};
pub use transport::{CancelSink, EventTransport, LocalTransport};
