//! The supervisor's events, off the UI thread: a wake-up source, not a data source.
//!
//! A thread drains the subscription (state changes and lines) and tells the UI once that
//! something changed; the UI then reads states and lines from the registry and the rings. It
//! sends the next notice only after the UI has drawn (its acknowledgement), so during a flood
//! it wakes the UI at most once per frame, and events pile up meanwhile in the bounded
//! subscription, which drops the oldest: a dropped event loses nothing on screen. Idle, it
//! sleeps (`park`) until the subscription's waker unparks it: no timer.

use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use procsnap::{Subscription, SupervisorEvent};

use super::Msg;

/// The UI's side: acknowledge each [`Msg::Changed`] once it has been drawn.
pub struct Ingest {
    ack: SyncSender<()>,
    thread: JoinHandle<()>,
    waiting: bool,
}

impl Ingest {
    /// Starts the thread on `events`, notifying `tx`.
    pub fn spawn(
        events: Subscription<SupervisorEvent>,
        tx: Sender<Msg>,
    ) -> std::io::Result<Ingest> {
        let (ack, acks) = sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("procsnap-ingest".into())
            .spawn(move || run(&events, &tx, &acks))?;
        Ok(Ingest {
            ack,
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
        self.thread.thread().unpark();
        let _ = self.thread.join();
    }
}

fn run(events: &Subscription<SupervisorEvent>, tx: &Sender<Msg>, acks: &Receiver<()>) {
    let me = std::thread::current();
    events.set_waker(move || me.unpark());
    loop {
        // Sleep until something is published.
        loop {
            // Bounded, so that a flood cannot keep the thread here.
            if !events.drain(events.capacity()).is_empty() {
                break;
            }
            if events.park() {
                std::thread::park();
            }
            if matches!(acks.try_recv(), Err(TryRecvError::Disconnected)) {
                return;
            }
        }
        if tx.send(Msg::Changed).is_err() || acks.recv().is_err() {
            return;
        }
    }
}
