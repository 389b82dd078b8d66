//! What the tasks of one connection share: whether it was dropped, and why.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Why a connection was dropped from this side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A reply waited and nothing could be written for this long: the client reads nothing.
    Stalled(Duration),
    /// Reading from the client failed.
    Read(String),
    /// Writing to the client failed.
    Write(String),
}

impl Fault {
    pub fn read(e: &io::Error) -> Fault {
        Fault::Read(e.to_string())
    }

    pub fn write(e: &io::Error) -> Fault {
        Fault::Write(e.to_string())
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Stalled(d) => write!(
                f,
                "the client read nothing for {d:?} while a reply waited; connection dropped"
            ),
            Fault::Read(e) => write!(f, "reading from the client: {e}"),
            Fault::Write(e) => write!(f, "writing to the client: {e}"),
        }
    }
}

/// A peer that went away is no fault: its connection simply ends.
pub fn peer_left(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

/// Shared by the reader, the writer and the transport of one connection.
#[derive(Clone, Default)]
pub struct Link {
    dropped: CancellationToken,
    fault: Arc<Mutex<Option<Fault>>>,
}

impl Link {
    pub fn new() -> Link {
        Link::default()
    }

    /// Ends the connection: every task of it stops at its next step.
    pub fn drop_now(&self) {
        self.dropped.cancel();
    }

    /// Ends the connection for `fault` (the first fault is the one kept).
    pub fn drop_with(&self, fault: Fault) {
        self.fault
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(fault);
        self.dropped.cancel();
    }

    /// Completes once the connection is dropped.
    pub async fn dropped(&self) {
        self.dropped.cancelled().await;
    }

    pub fn fault(&self) -> Option<Fault> {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
