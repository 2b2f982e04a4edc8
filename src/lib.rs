//! videojobs: a gRPC job orchestration service that turns YouTube videos into
//! study notes by supervising a note-making program, and streams every step of
//! every job to the user who owns it.
//!
//! Layers, outside in: [`grpc`] (transport, auth) → [`domain`] (rules, no
//! transport or storage types) → [`store`] (sea-orm) and [`queue`]; the
//! [`worker`] pool runs jobs through the [`supervisor`] and publishes on the
//! [`events`] hub. [`app`] wires them and owns the shutdown order.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod client;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod proto;
pub mod queue;
pub mod store;
pub mod supervisor;
pub mod telemetry;
pub mod worker;
