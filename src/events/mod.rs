//! Job events: the per-user hub each node's watchers read from, and the bus
//! that carries events and cancels between nodes.
mod appender;
mod bus;
mod hub;

pub use bus::{EventBus, RedisChannels, connect_subscriber};
pub use hub::EventHub;
