//! MCP over any byte stream: newline-delimited JSON-RPC on an [`AsyncRead`] and an
//! [`AsyncWrite`] (stdin/stdout, a Unix socket connection), served by rmcp through its public
//! [`Transport`](rmcp::transport::Transport) trait.
//!
//! What a client gets that rmcp's own stream transport does not give:
//! - an answer to every line that is no message: `-32700` for what is not JSON (with what is
//!   wrong and where: a lone surrogate, invalid UTF-8, a line over [`Limits::max_line`]),
//!   `-32600` for JSON that is no request, `-32602` naming the tool for a `tools/call` whose
//!   `params` do not fit (see [`decode`]); the connection goes on serving;
//! - bounded memory per connection, whatever the client does:
//!   - an incoming line is never held beyond [`Limits::max_line`] bytes;
//!   - at most [`Limits::max_in_flight`] requests are in progress: with that many, nothing
//!     more is read until one is answered, so a client that floods requests is held back by
//!     its own socket or pipe;
//!   - replies wait in a queue of at most [`Limits::outbox_bytes`] (a reply longer than that
//!     waits until the queue is empty); a handler whose reply finds the queue full waits for
//!     room, keeping its request slot;
//!   - a client that reads nothing for [`Limits::stall`] while a reply waits to be written is
//!     dropped: its connection ends ([`Ended::Dropped`]) and every reply waiting for room
//!     fails at once. It is never waited for forever.
//!
//!   So one connection holds at most one incoming line, [`Limits::outbox_bytes`] of queued
//!   replies and [`Limits::max_in_flight`] replies waiting for room (the largest reply, a log
//!   query's, is bounded at 4 MiB as sent).
//!
//! [`serve`] serves one connection to its end; [`Connection`] does the same in steps, for a
//! caller that stops reading and finishes writing on its own schedule (a signal).

mod conn;
pub mod decode;
mod lines;
mod link;
mod outbox;
mod slots;

use std::time::Duration;

use rmcp::service::ServerInitializeError;
use rmcp::{RoleServer, Service, ServiceExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

pub use link::Fault;

use conn::{LineTransport, handover, read_in};
use link::Link;
use outbox::{Outbox, write_out};
use slots::{Slots, Slotted};

/// The bounds of one connection (see the [module docs](self)).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest incoming line (one message), `\n` not counted.
    pub max_line: usize,
    /// Requests in progress at once.
    pub max_in_flight: usize,
    /// Bytes of replies queued for writing, each reply counting 128 bytes more for its
    /// bookkeeping (so many small replies are bounded like a few big ones).
    pub outbox_bytes: usize,
    /// How long a reply may wait with no byte written before the client is dropped.
    pub stall: Duration,
}

impl Default for Limits {
    /// 1 MiB lines (a request is a tool name and a few arguments), 16 requests in progress,
    /// 8 MiB of queued replies (two of the largest), 30 s without reading.
    fn default() -> Limits {
        Limits {
            max_line: 1 << 20,
            max_in_flight: 16,
            outbox_bytes: 8 << 20,
            stall: Duration::from_secs(30),
        }
    }
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The client closed its side (or went away) after the session started.
    Closed,
    /// The client closed its side before any session started: a client that connects and
    /// leaves, not an error.
    LeftBeforeInitialize,
    /// This side dropped the connection.
    Dropped(Fault),
    /// The session could not start (the first message was no initialize, say).
    Failed(String),
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Closed => f.write_str("the client closed the connection"),
            Ended::LeftBeforeInitialize => {
                f.write_str("the client closed the connection before initializing")
            }
            Ended::Dropped(fault) => fault.fmt(f),
            Ended::Failed(e) => write!(f, "the MCP session failed: {e}"),
        }
    }
}

/// Serves MCP on `input`/`output` until the client closes, or is dropped; then lets the last
/// replies out (bounded by [`Limits::stall`]) and returns how it ended.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use procsnap_cli::transport::{Ended, Limits, serve};
/// use tokio::io::AsyncWriteExt;
///
/// struct Hello;
/// impl rmcp::ServerHandler for Hello {}
///
/// let (mut client, server) = tokio::io::duplex(4096);
/// let (input, output) = tokio::io::split(server);
/// let serving = tokio::spawn(serve(Hello, input, output, Limits::default()));
/// client.write_all(b"not json\n").await.unwrap(); // answered -32700
/// drop(client); // and gone before initializing: not an error
/// assert_eq!(serving.await.unwrap(), Ended::LeftBeforeInitialize);
/// # }
/// ```
pub async fn serve<S, R, W>(service: S, input: R, output: W, limits: Limits) -> Ended
where
    S: Service<RoleServer>,
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut connection = Connection::start(service, input, output, limits);
    let ended = connection.finished().await;
    connection.close(limits.stall).await;
    ended
}

/// One connection being served: three tasks (reader, rmcp's service, writer) on the current
/// runtime.
pub struct Connection {
    service: Option<JoinHandle<Result<bool, String>>>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
    link: Link,
    ended: Option<Ended>,
}

impl Connection {
    /// Starts serving `service` on `input`/`output`.
    pub fn start<S, R, W>(service: S, input: R, output: W, limits: Limits) -> Connection
    where
        S: Service<RoleServer>,
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let link = Link::new();
        let (outbox, queue) = Outbox::new(limits.outbox_bytes, link.clone());
        let slots = Slots::new(limits.max_in_flight);
        let (to_rmcp, incoming) = handover();
        let reader = tokio::spawn(read_in(
            input,
            to_rmcp,
            outbox.clone(),
            slots.clone(),
            limits.max_line,
            link.clone(),
        ));
        let writer = tokio::spawn(write_out(output, queue, limits.stall, link.clone()));
        let transport = LineTransport {
            incoming,
            outbox,
            slots,
            link: link.clone(),
        };
        let service = tokio::spawn(async move {
            match Slotted(service).serve(transport).await {
                Ok(running) => {
                    let _ = running.waiting().await;
                    Ok(true)
                }
                Err(ServerInitializeError::ConnectionClosed(_)) => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        });
        Connection {
            service: Some(service),
            reader,
            writer,
            link,
            ended: None,
        }
    }

    /// Completes when the session is over: the client closed its side (and rmcp answered the
    /// requests in progress) or was dropped. Cancel-safe, for `select!`.
    pub async fn finished(&mut self) -> Ended {
        if let Some(service) = &mut self.service {
            let served = service.await;
            self.service = None;
            self.ended = Some(match (self.link.fault(), served) {
                (Some(fault), _) => Ended::Dropped(fault),
                (None, Ok(Ok(true))) => Ended::Closed,
                (None, Ok(Ok(false))) => Ended::LeftBeforeInitialize,
                (None, Ok(Err(e))) => Ended::Failed(e),
                (None, Err(e)) => Ended::Failed(format!("the session task ended: {e}")),
            });
        }
        self.ended.clone().unwrap_or(Ended::Closed)
    }

    /// Reads no more requests: rmcp sees the end of input and answers those in progress.
    pub fn stop_reading(&self) {
        self.reader.abort();
    }

    /// Stops reading, waits at most `limit` for the replies in progress to be written, then
    /// drops the connection.
    pub async fn close(mut self, limit: Duration) {
        self.stop_reading();
        let _ = tokio::time::timeout(limit, async {
            if let Some(service) = &mut self.service {
                let _ = service.await;
                self.service = None;
            }
            let _ = (&mut self.writer).await;
        })
        .await;
    }
}

impl Drop for Connection {
    /// Drops the connection at once: nothing more is read or written.
    fn drop(&mut self) {
        self.link.drop_now();
        self.reader.abort();
        self.writer.abort();
        if let Some(service) = &self.service {
            service.abort();
        }
    }
}

#[cfg(test)]
mod tests;
