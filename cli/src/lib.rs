//! `procsnap`'s front: run a project's package.json / Procfile scripts in the foreground or in
//! an interactive terminal UI, or serve them to AI agents over stdio MCP.
//!
//! Built on the `procsnap` core (lock-free process state, registry, process groups). This crate
//! holds no unsafe code and no atomics of its own; everything concurrent is the core's.
//!
//! - [`project`]: script discovery (package.json with the package manager, Procfile).
//! - [`compose`]: `procsnap.yaml` / `process-compose.yaml`: dependencies, readiness, restarts.
//! - [`run`]: `procsnap run`, the foreground runner.
//! - [`tui`]: `procsnap tui`, the interactive terminal UI.
//! - [`mcp`]: `procsnap mcp`, the stdio MCP server and its tools.
//! - [`answers`]: the read-only MCP answers, from one pinned registry view.
//! - [`wire`]: the JSON shapes of the tools (brummer's names and fields).
//! - [`transport`]: MCP over any byte stream (stdio, a socket connection): the line codec,
//!   JSON-RPC errors for lines that are no message, bounded memory per connection.
//! - [`style`], [`timefmt`]: prefixes, colours, status lines; RFC 3339 and human durations.
#![forbid(unsafe_code)]

pub mod answers;
pub mod compose;
pub mod control;
pub mod hosting;
pub mod mcp;
pub mod project;
pub mod remote;
pub mod run;
pub mod style;
pub mod timefmt;
pub mod transport;
pub mod tui;
pub mod wire;

/// The [`procsnap::Supervisor`] every front end runs on: `grace` also applies to the leftovers of
/// a group whose leader exited and to the stop when it is dropped; `event_capacity` bounds each
/// drop-oldest subscription. Supervising is this program's job, so it asks for what the
/// library leaves off by default: the watchdog (nothing left running even if procsnap is
/// SIGKILLed) and the raised descriptor limit (three descriptors per live child).
pub fn supervisor(
    grace: std::time::Duration,
    event_capacity: usize,
) -> std::io::Result<procsnap::Supervisor> {
    let cfg = procsnap::SupervisorConfig::default()
        .grace(grace)
        .event_capacity(event_capacity)
        .watchdog(true)
        .raise_nofile(true);
    procsnap::Supervisor::with_config(cfg)
}
