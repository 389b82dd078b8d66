//! [`Out`]: `run`'s stdout, written by a thread of its own so that a slow stdout holds the
//! scripts back instead of losing their lines.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Output formatted before it is handed to the writer thread.
pub(super) const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks the writer thread may hold before the loop stops taking events.
const WRITER_CHUNKS: usize = 2;

/// Stdout, written by a thread of its own.
///
/// The event loop formats output into `buf` and hands it over a chunk at a time through a
/// bounded channel. When stdout is slower than the scripts (a file on a slow disk, a pipe into
/// a slow reader, a paused pager), the channel fills, the loop stops taking events, our
/// lossless subscription reaches its mark and the supervisor stops reading the scripts' pipes:
/// the scripts block in `write`, as in a shell pipeline. Nothing is dropped, memory stays
/// bounded, and the loop still handles signals, since only the writer thread is blocked.
pub(super) struct Out {
    pub(super) buf: Vec<u8>,
    /// A chunk handed to the writer as soon as the channel has room.
    pub(super) pending: Option<Vec<u8>>,
    tx: Option<tokio::sync::mpsc::Sender<Vec<u8>>>,
    broken: Arc<AtomicBool>,
    /// Resolves (with an error) when the writer thread ends.
    done: tokio::sync::oneshot::Receiver<()>,
    /// Since when the writer has had no room for the waiting chunk.
    full_since: Option<Instant>,
}

impl Out {
    pub(super) fn new() -> Out {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(WRITER_CHUNKS);
        let (done_tx, done) = tokio::sync::oneshot::channel::<()>();
        let broken = Arc::new(AtomicBool::new(false));
        let flag = broken.clone();
        let spawned = std::thread::Builder::new()
            .name("procsnap-stdout".into())
            .spawn(move || {
                let _done = done_tx; // dropped when this thread ends
                let mut stdout = std::io::stdout().lock();
                while let Some(chunk) = rx.blocking_recv() {
                    // Relaxed: a flag read by the loop; it orders no other data. After a
                    // failure, chunks are still taken (and discarded) so the loop never waits.
                    if !flag.load(Ordering::Relaxed)
                        && stdout
                            .write_all(&chunk)
                            .and_then(|()| stdout.flush())
                            .is_err()
                    {
                        flag.store(true, Ordering::Relaxed);
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("procsnap: cannot start the output thread: {e}");
            broken.store(true, Ordering::Relaxed);
        }
        Out {
            buf: Vec::with_capacity(CHUNK_BYTES),
            pending: None,
            tx: Some(tx),
            broken,
            done,
            full_since: None,
        }
    }

    pub(super) fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = self.buf.write_fmt(args); // writing into a Vec cannot fail
    }

    /// True while more output may be formatted before the writer takes some.
    pub(super) fn has_room(&self) -> bool {
        self.buf.len() < CHUNK_BYTES
    }

    /// True once stdout failed (EPIPE: `procsnap run … | head`).
    pub(super) fn broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// How long stdout has taken nothing: the writer holds its chunks and has no room for the
    /// waiting one (zero while output flows, however slowly).
    pub(super) fn stalled_for(&mut self, now: Instant) -> Duration {
        let full = self.pending.is_some() && self.tx.as_ref().is_some_and(|tx| tx.capacity() == 0);
        if !full {
            self.full_since = None;
            return Duration::ZERO;
        }
        now.saturating_duration_since(*self.full_since.get_or_insert(now))
    }

    /// Makes the formatted output the next chunk for the writer, unless one is waiting already.
    pub(super) fn stage(&mut self) {
        if self.pending.is_none() && !self.buf.is_empty() {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
            self.pending = Some(chunk);
        }
    }

    /// Hands the waiting chunk to the writer once the channel has room.
    pub(super) async fn send_pending(&mut self) {
        let (Some(tx), Some(_)) = (&self.tx, &self.pending) else {
            return std::future::pending().await;
        };
        match tx.reserve().await {
            Ok(permit) => {
                permit.send(self.pending.take().expect("checked above"));
                self.full_since = None; // stdout took something
            }
            Err(_) => {
                // The writer thread is gone: nothing can be written any more.
                self.broken.store(true, Ordering::Relaxed);
                self.pending = None;
            }
        }
    }

    /// Hands over what is left and waits for the writer to write it: as long as it takes when
    /// `limit` is `None`, else at most `limit` (after an interrupt a blocked stdout must not
    /// keep us alive).
    pub(super) async fn finish(mut self, limit: Option<Duration>) {
        let work = async move {
            loop {
                self.stage();
                if self.pending.is_none() || self.tx.is_none() {
                    break;
                }
                self.send_pending().await;
            }
            drop(self.tx.take()); // the writer ends after the last chunk
            let _ = self.done.await;
        };
        match limit {
            None => work.await,
            Some(limit) => {
                let _ = tokio::time::timeout(limit, work).await;
            }
        }
    }
}

/// `writeln!` into an [`Out`].
macro_rules! out_writeln {
    ($out:expr, $($arg:tt)*) => {{
        $out.write_fmt(format_args!($($arg)*));
        $out.buf.push(b'\n');
    }};
}
