//! A project's live processes, and every lifecycle rule over them, in one place.
//!
//! The `procsnap` core gives a [`Supervisor`](procsnap::Supervisor) (spawn, stop, restart a
//! process group) and a pure orchestration policy ([`procsnap::orchestrate`]). This crate is
//! the layer between them and the faces that show and drive processes — the `procsnap`
//! binary's `run`, `up`, terminal UI, MCP server and control socket:
//!
//! - [`Session`]: one project's live processes; the only API that starts, stops and restarts
//!   them. Its thread, the [`conductor`], holds every rule (duplicates, a start during a stop,
//!   restarts, retention, probes, jobs).
//! - [`observer`]: any number of faces following its events, each at its own pace; lossless
//!   ones push back on their own job's processes only.
//! - [`job`]: who a process belongs to, and so what stops when a client goes.
//! - [`def`]: what a session runs (commands, readiness checks, shutdown, the plan).
//!
//! # Why a crate of its own
//!
//! The core is a library with three dependencies (crossbeam-epoch, crossbeam-queue, libc)
//! that other programs link for its state cells and supervisor; a session adds threads per
//! stop and probe, regular expressions for ready lines, and policy that a program embedding
//! only the supervisor does not want. Here it depends on the core, `regex` and `libc`, and
//! on nothing async: the faces (tokio, rmcp, ratatui) sit above it, so the arrows point one
//! way — faces → session → supervisor → registry, cell, sys.
#![forbid(unsafe_code)]

pub mod conductor;
pub mod def;
pub mod fmt;
pub mod job;
pub mod observer;
mod session;

pub use conductor::{
    Board, Notice, Started, Stopping, Tone, UnitView, countdown, http_get, notice, short,
};
pub use def::{Check, Origin, Proc, ReadyLine, Shutdown, Stack};
pub use job::{JobId, Owner};
pub use observer::{Closer, Filter, Observer, Pace, SessionEvent};
pub use session::{OBSERVER_CAPACITY, Session, SessionConfig};
