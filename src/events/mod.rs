//! Job events, fanned out per user.
mod hub;

pub use hub::EventHub;
