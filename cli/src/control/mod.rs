//! The control socket: how every other face reaches a project's live session.
//!
//! The process that owns a session (the first `up`, terminal UI or hosting `mcp`) listens on
//! a Unix socket named for the canonical project directory ([`place`]); every other face —
//! an agent's `procsnap mcp`, `attach`, a second `up`, `run`, the control verbs — is a
//! client ([`client`]). The protocol is the MCP JSON-RPC the stdio server speaks,
//! newline-delimited, with the same tools plus the session tools (jobs and events), so there
//! is one protocol to test. Only the owning user gets in: the directory is 0700, the socket
//! 0600, and each connection's peer uid is checked ([`server`]).

pub mod client;
pub mod place;
pub mod server;
