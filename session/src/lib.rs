//! A project's live processes, and every lifecycle rule over them, in one place.
//!
//! The `procsnap` core gives a [`Supervisor`](procsnap::Supervisor) (spawn, stop, restart a
//! process group) and a pure orchestration policy ([`procsnap::orchestrate`]). This crate is
//! the layer between them and the faces that show and drive processes (the `procsnap`
//! binary's `run`, `up`, terminal UI, MCP server and control socket): the
//! [`Conductor`] drives the policy over the supervisor.
#![forbid(unsafe_code)]

pub mod conductor;
pub mod def;
pub mod fmt;

pub use conductor::{
    Board, Conductor, Notice, Requested, Tone, UnitView, countdown, notice, short,
};
pub use def::{Check, Proc, ReadyLine, Shutdown, Stack};
