//! `procsnap`'s faces: run a project's package.json / Procfile scripts and configured
//! processes in the foreground or in an interactive terminal UI, serve them to AI agents over
//! MCP, and drive them from other terminals — all views of one live session per project.
//!
//! Built on the `procsnap-session` crate (the session and every lifecycle rule) over the
//! `procsnap` core. This crate holds no unsafe code and no atomics of its own; it never calls
//! the supervisor's lifecycle methods: every start, stop and restart is the session's.
//!
//! - [`project`]: script discovery (package.json with the package manager, Procfile).
//! - [`compose`]: `procsnap.yaml` / `process-compose.yaml`: dependencies, readiness, restarts.
//! - [`hosting`]: opens the project's session (owning it, with its control socket) or joins
//!   the live one.
//! - [`control`]: the control socket: where it lives, the owner's listener, the client.
//! - [`run`]: `procsnap run` and `up`, the foreground faces.
//! - [`remote`]: faces of a session another process owns: the control verbs, a joined
//!   `run`/`up`, the mirror an attached terminal UI shows.
//! - [`tui`]: `procsnap tui` and `attach`, the interactive terminal UI.
//! - [`mcp`]: `procsnap mcp`, the MCP server and its tools (on stdio, bridged to a live
//!   session, or on each control-socket connection).
//! - [`signals`]: signals through one crate, for every face.
//! - [`answers`]: the read-only MCP answers, from one pinned registry view.
//! - [`wire`]: the JSON shapes of the tools (brummer's names and fields).
//! - [`transport`]: MCP over any byte stream (stdio, a socket connection): the line codec,
//!   JSON-RPC errors for lines that are no message, bounded memory per connection.
//! - [`style`], [`timefmt`]: prefixes, colours, status lines; RFC 3339 and human durations.
//! - [`safe`]: untrusted text (names, commands, output) made safe for a terminal; one rule
//!   for every face.
#![forbid(unsafe_code)]

pub mod answers;
pub mod compose;
pub mod control;
pub mod hosting;
pub mod mcp;
pub mod project;
pub mod remote;
pub mod run;
pub mod safe;
pub mod signals;
pub mod style;
pub mod timefmt;
pub mod transport;
pub mod tty;
pub mod tui;
pub mod wire;
