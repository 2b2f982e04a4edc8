//! videojobs: a gRPC job orchestration service that turns YouTube videos into
//! study notes by supervising a note-making program, and streams every step of
//! every job to the user who owns it.
//!
//! Layers, outside in: [`app`] builds the node and owns start and stop;
//! [`grpc`] (transport, with [`auth`]) and the [`worker`] pool are thin and
//! call [`jobs`], the application core, the only code that changes a job:
//! each transition writes through [`store`] (sea-orm, the source of truth)
//! and logs its event in the same transaction, then dispatches through
//! [`queue`] and sends live through [`events`]; it also keeps each
//! attempt's history (written with the attempt's end) and the program's
//! output (stored a group at a time, then sent live to log watchers on every
//! node). Workers run each attempt through the [`supervisor`], which returns
//! an outcome, hands its output lines to a bounded buffer the worker drains
//! into the core, and writes nothing;
//! [`maintenance`] runs the reaper, reconciler, retention and resumer. [`domain`]
//! holds the rules, with no I/O; [`config`] the settings, one module per
//! subsystem; [`cli`] the command line; [`client`] the terminal client and
//! `videojobs console`'s sign-in link. The browser console is a TypeScript
//! app in `web/console/` (built bundle committed in `web/console/dist/`);
//! [`app`] embeds it and serves it on the gRPC port (`app/console.rs`),
//! and it calls only the public API with gRPC-web.
// One audited exception: registering the keeper's socket with tokio
// (supervisor/keeper.rs), which takes no more than an owned descriptor.
#![deny(unsafe_code)]

pub mod app;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod jobs;
pub mod maintenance;
pub mod proto;
pub mod queue;
pub mod store;
pub mod supervisor;
pub mod telemetry;
pub mod worker;
