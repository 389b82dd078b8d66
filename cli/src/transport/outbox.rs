//! The outgoing side of a connection: a queue bounded in bytes, and the one task that writes
//! it out, whole lines in order, so replies never interleave inside a line.
//!
//! A line waits for room in the queue; the writer frees room as it writes. A writer that makes
//! no progress for the stall limit (the client reads nothing while a reply waits) drops the
//! connection, and every line waiting for room then fails at once: a client that does not read
//! is never waited for forever, and never grows the server beyond the queue.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::link::{Fault, Link, peer_left};

/// Bytes written per step of the stall check.
const STEP: usize = 64 * 1024;
/// What a queued line costs beyond its bytes (its allocation, the queue's node, its share of
/// the room): counted, so that many small replies are bounded in memory like a few big ones.
const PER_LINE: usize = 128;

/// A line in the queue, holding its share of the room until written.
pub struct Queued {
    line: Vec<u8>,
    _room: OwnedSemaphorePermit,
}

/// Puts lines in the queue.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Queued>,
    room: Arc<Semaphore>,
    cap: usize,
    link: Link,
}

impl Outbox {
    /// A queue of at most `cap` bytes, each line counting [`PER_LINE`] more than its length
    /// (a longer line waits until the queue is empty), and the receiving end for [`write_out`].
    pub fn new(cap: usize, link: Link) -> (Outbox, mpsc::UnboundedReceiver<Queued>) {
        let cap = cap.clamp(1, u32::MAX as usize);
        let (tx, rx) = mpsc::unbounded_channel();
        let outbox = Outbox {
            tx,
            room: Arc::new(Semaphore::new(cap)),
            cap,
            link,
        };
        (outbox, rx)
    }

    /// Queues `line` (with its `\n`) once there is room. Fails once the connection is dropped.
    pub async fn push(&self, line: Vec<u8>) -> io::Result<()> {
        let closed = || io::Error::new(io::ErrorKind::BrokenPipe, "the connection is closed");
        // Fits in u32: `cap` does.
        let share = line.len().saturating_add(PER_LINE).min(self.cap) as u32;
        let room = tokio::select! {
            biased;
            _ = self.link.dropped() => return Err(closed()),
            room = self.room.clone().acquire_many_owned(share) => room.map_err(|_| closed())?,
        };
        self.tx
            .send(Queued { line, _room: room })
            .map_err(|_| closed())
    }
}

/// Writes queued lines to `out` until every [`Outbox`] is gone and the queue is empty, or the
/// connection is dropped. A write step that makes no progress for `stall` drops it.
pub async fn write_out<W: AsyncWrite + Unpin>(
    mut out: W,
    mut queue: mpsc::UnboundedReceiver<Queued>,
    stall: Duration,
    link: Link,
) {
    let result = async {
        loop {
            let next = tokio::select! {
                biased;
                _ = link.dropped() => return Ok(()),
                next = queue.recv() => next,
            };
            let Some(queued) = next else { break };
            for step in queued.line.chunks(STEP) {
                bounded(stall, out.write_all(step)).await?;
            }
            drop(queued);
            if queue.is_empty() {
                bounded(stall, out.flush()).await?;
            }
        }
        bounded(stall, out.flush()).await
    }
    .await;
    match result {
        Ok(()) => {}
        Err(Some(fault)) => link.drop_with(fault),
        Err(None) => link.drop_now(),
    }
}

/// `io` within `stall`; else the fault that drops the connection, or `None` when the client
/// went away (no fault: the connection just ends).
async fn bounded(
    stall: Duration,
    io: impl Future<Output = io::Result<()>>,
) -> Result<(), Option<Fault>> {
    match tokio::time::timeout(stall, io).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) if peer_left(&e) => Err(None),
        Ok(Err(e)) => Err(Some(Fault::write(&e))),
        Err(_) => Err(Some(Fault::Stalled(stall))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test(flavor = "current_thread")]
    async fn lines_go_out_in_order_and_the_writer_ends_with_the_last_outbox() {
        let link = Link::new();
        let (outbox, queue) = Outbox::new(16, link.clone());
        let (client, server) = tokio::io::duplex(4);
        let writer = tokio::spawn(write_out(server, queue, Duration::from_secs(60), link));
        let reader = tokio::spawn(async move {
            let mut all = String::new();
            let mut client = client;
            client.read_to_string(&mut all).await.unwrap();
            all
        });
        for line in ["one\n", "a line longer than the whole queue\n", "three\n"] {
            outbox.push(line.as_bytes().to_vec()).await.unwrap();
        }
        drop(outbox);
        writer.await.unwrap();
        assert_eq!(
            reader.await.unwrap(),
            "one\na line longer than the whole queue\nthree\n"
        );
    }

    /// The client reads nothing: the queue fills, the writer stalls, the connection is dropped
    /// and the line waiting for room fails instead of waiting forever.
    #[tokio::test(flavor = "current_thread")]
    async fn a_client_that_reads_nothing_is_dropped_and_waiting_lines_fail() {
        let link = Link::new();
        let (outbox, queue) = Outbox::new(1000, link.clone());
        let (_client, server) = tokio::io::duplex(100);
        let stall = Duration::from_millis(50);
        let writer = tokio::spawn(write_out(server, queue, stall, link.clone()));
        let mut pushed = 0;
        let failed = loop {
            if let Err(e) = outbox.push(vec![b'x'; 99]).await {
                break e;
            }
            pushed += 1;
            assert!(pushed < 1000, "never dropped");
        };
        assert_eq!(failed.kind(), io::ErrorKind::BrokenPipe);
        // What was accepted: the pipe's 100 bytes, the line being written and the queue's
        // 1000 bytes, at most.
        assert!(pushed * 99 <= 100 + 99 + 1000, "{pushed} lines accepted");
        writer.await.unwrap();
        assert!(
            matches!(link.fault(), Some(Fault::Stalled(d)) if d == stall),
            "{:?}",
            link.fault()
        );
    }
}
