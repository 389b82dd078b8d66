//! `procsnap`'s front: run a project's package.json / Procfile scripts in the foreground or in
//! an interactive terminal UI, or serve them to AI agents over stdio MCP.
//!
//! Built on the `procsnap` core (lock-free process state, registry, process groups). This crate
//! holds no unsafe code and no atomics of its own; everything concurrent is the core's.
//!
//! - [`project`]: script discovery (package.json with the package manager, Procfile).
//! - [`run`]: `procsnap run`, the foreground runner.
//! - [`tui`]: `procsnap tui`, the interactive terminal UI.
//! - [`mcp`]: `procsnap mcp`, the stdio MCP server and its tools.
//! - [`answers`]: the read-only MCP answers, from one pinned registry view.
//! - [`wire`]: the JSON shapes of the tools (brummer's names and fields).
//! - [`framing`]: stdin filter that answers unparseable JSON-RPC lines with -32700.
//! - [`style`], [`timefmt`]: prefixes, colours, status lines; RFC 3339 and human durations.
#![forbid(unsafe_code)]

pub mod answers;
pub mod framing;
pub mod mcp;
pub mod project;
pub mod run;
pub mod style;
pub mod timefmt;
pub mod tui;
pub mod wire;

/// The [`procsnap::Supervisor`] both front ends run on: `grace` also applies to the leftovers of
/// a group whose leader exited and to the stop when it is dropped; `event_capacity` bounds each
/// subscription.
pub fn supervisor(
    grace: std::time::Duration,
    event_capacity: usize,
) -> std::io::Result<procsnap::Supervisor> {
    procsnap::Supervisor::with_config(procsnap::SupervisorConfig {
        grace,
        event_capacity,
        ..procsnap::SupervisorConfig::default()
    })
}
