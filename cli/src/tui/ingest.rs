//! The session's events, off the UI thread: a wake-up source, not a data source.
//!
//! A thread drains a bounded observer (state changes, lines, board changes) and tells the UI
//! once that something changed; the UI then reads states and lines from the registry and the
//! rings, and phases from the board. It sends the next notice only after the UI has drawn (its
//! acknowledgement), so during a flood it wakes the UI at most once per frame, and events
//! pile up meanwhile in the bounded observer, which drops the oldest: a dropped event loses
//! nothing on screen. Idle, it waits on the observer: no timer.

use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use std::time::Duration;

use procsnap_session::{Closer, Observer};

use super::Msg;

/// The UI's side: acknowledge each [`Msg::Changed`] once it has been drawn.
pub struct Ingest {
    ack: SyncSender<()>,
    closer: Closer,
    thread: JoinHandle<()>,
    waiting: bool,
}

impl Ingest {
    /// Starts the thread on `events`, notifying `tx`.
    pub fn spawn(events: Observer, tx: Sender<Msg>) -> std::io::Result<Ingest> {
        let (ack, acks) = sync_channel::<()>(1);
        let closer = events.closer();
        let thread = std::thread::Builder::new()
            .name("procsnap-ingest".into())
            .spawn(move || run(&events, &tx, &acks))?;
        Ok(Ingest {
            ack,
            closer,
            thread,
            waiting: false,
        })
    }

    /// A [`Msg::Changed`] was received: the thread waits for [`drawn`](Self::drawn).
    pub fn changed(&mut self) {
        self.waiting = true;
    }

    /// A frame was drawn: let the thread send the next notice.
    pub fn drawn(&mut self) {
        if std::mem::take(&mut self.waiting) {
            let _ = self.ack.try_send(());
        }
    }

    /// Ends the thread.
    pub fn stop(self) {
        drop(self.ack);
        self.closer.close();
        let _ = self.thread.join();
    }
}

fn run(events: &Observer, tx: &Sender<Msg>, acks: &Receiver<()>) {
    loop {
        // Sleep until something happens; `stop` closes the observer, which wakes us.
        loop {
            if !events.wait(usize::MAX, Duration::MAX).is_empty() {
                break;
            }
            if events.is_closed() || matches!(acks.try_recv(), Err(TryRecvError::Disconnected)) {
                return;
            }
        }
        if tx.send(Msg::Changed).is_err() || acks.recv().is_err() {
            return;
        }
    }
}
