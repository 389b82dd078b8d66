//! Observers: any number of faces following a session's events, each at its own pace.
//!
//! The session's driver takes every supervisor event from one lossless subscription and hands
//! each to every observer whose filter takes it, in order. An observer never slows the driver
//! down:
//!
//! - a **bounded** observer (the terminal UI, a remote follower that only shows) keeps at most
//!   its capacity and drops its oldest events, counting them;
//! - a **lossless** observer (the output of `run` and `up`, for the job it follows) keeps every
//!   event; past its high-water mark it holds the output of the processes whose lines it is
//!   given ([`procsnap::OutputHold`]): their writers block once their pipes are full, as in a
//!   shell pipeline, while every other process — other jobs, other clients — is read as usual.
//!   The holds go once the observer has taken its queue down to half the mark.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use procsnap::{LogLine, OutputHold, ProcId, ProcessState, Supervisor};

use crate::conductor::Notice;
use crate::job::Owner;

/// What an observer is told, in the order it happened.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// Process `id` wrote `line`.
    Line { id: ProcId, line: LogLine },
    /// Process `id` changed state; its final state comes after its last line.
    State { id: ProcId, state: ProcessState },
    /// Something worth a line about a name: ready, restarting, waiting, who asked for a stop.
    Notice(Notice),
    /// The board (every name's phase, readiness, backoff) changed: read it again.
    Board,
    /// The session is shutting down: everything in it stops.
    Closing,
}

/// Which events an observer takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Every process's.
    All,
    /// Those of the processes (and names) of one owner.
    Owner(Owner),
}

/// How an observer keeps up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Keeps at most this many events, dropping the oldest.
    Bounded(usize),
    /// Keeps every event; past this many, holds the output of the processes it is given.
    Lossless(usize),
}

pub(crate) struct Queue {
    events: VecDeque<SessionEvent>,
    dropped: u64,
    holds: HashMap<ProcId, OutputHold>,
    closed: bool,
}

pub(crate) struct ObsShared {
    pub(crate) filter: Filter,
    pace: Pace,
    queue: Mutex<Queue>,
    ready: Condvar,
    waker: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ObsShared {
    pub(crate) fn new(filter: Filter, pace: Pace) -> Arc<ObsShared> {
        Arc::new(ObsShared {
            filter,
            pace,
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                dropped: 0,
                holds: HashMap::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            waker: Mutex::new(None),
        })
    }

    /// Queues `ev` (of process `about`, if any), holding that process's output if a lossless
    /// queue is past its mark. Called by the driver only.
    pub(crate) fn push(&self, ev: SessionEvent, about: Option<ProcId>, sup: &Supervisor) {
        let mut q = lock(&self.queue);
        if q.closed {
            return;
        }
        let was_empty = q.events.is_empty();
        match self.pace {
            Pace::Bounded(cap) => {
                // Consecutive board changes say the same thing: keep one.
                if matches!(ev, SessionEvent::Board)
                    && matches!(q.events.back(), Some(SessionEvent::Board))
                {
                    return;
                }
                if q.events.len() >= cap.max(1) {
                    q.events.pop_front();
                    q.dropped += 1;
                }
                q.events.push_back(ev);
            }
            Pace::Lossless(mark) => {
                if matches!(ev, SessionEvent::Board)
                    && matches!(q.events.back(), Some(SessionEvent::Board))
                {
                    return;
                }
                q.events.push_back(ev);
                if q.events.len() >= mark.max(1)
                    && let Some(id) = about
                    && !q.holds.contains_key(&id)
                    && let Some(hold) = sup.hold_output(id)
                {
                    q.holds.insert(id, hold);
                }
            }
        }
        drop(q);
        if was_empty {
            self.ready.notify_all();
            if let Some(w) = &*lock(&self.waker) {
                w();
            }
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.queue).closed
    }

    pub(crate) fn close(&self) {
        lock(&self.queue).closed = true;
        self.ready.notify_all();
        if let Some(w) = &*lock(&self.waker) {
            w();
        }
    }
}

/// A face's view of a session's events (see the [module docs](self)). Dropping it stops the
/// delivery and lets go of any output it held.
pub struct Observer {
    pub(crate) shared: Arc<ObsShared>,
}

impl Observer {
    /// Calls `wake` (on the session's thread: it must be quick) whenever events arrive in an
    /// empty queue, and once at once if events are waiting.
    pub fn set_waker(&self, wake: impl Fn() + Send + Sync + 'static) {
        *lock(&self.shared.waker) = Some(Box::new(wake));
        if !lock(&self.shared.queue).events.is_empty() {
            if let Some(w) = &*lock(&self.shared.waker) {
                w();
            }
        }
    }

    /// Takes up to `max` queued events, oldest first, without waiting.
    #[must_use]
    pub fn drain(&self, max: usize) -> Vec<SessionEvent> {
        let mut q = lock(&self.shared.queue);
        let n = max.min(q.events.len());
        let out: Vec<SessionEvent> = q.events.drain(..n).collect();
        if let Pace::Lossless(mark) = self.shared.pace
            && q.events.len() <= mark / 2
            && !q.holds.is_empty()
        {
            // Dropping a hold wakes the supervisor to read that process again.
            let holds = std::mem::take(&mut q.holds);
            drop(q);
            drop(holds);
        }
        out
    }

    /// [`drain`](Self::drain), waiting up to `timeout` for the first event.
    #[must_use]
    pub fn wait(&self, max: usize, timeout: Duration) -> Vec<SessionEvent> {
        let end = Instant::now().checked_add(timeout);
        let mut q = lock(&self.shared.queue);
        while q.events.is_empty() && !q.closed {
            let Some(end) = end else {
                q = self
                    .shared
                    .ready
                    .wait(q)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Vec::new();
            }
            q = self
                .shared
                .ready
                .wait_timeout(q, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(q);
        self.drain(max)
    }

    /// A handle that closes this observer from another thread (waking a [`wait`](Self::wait)).
    pub fn closer(&self) -> Closer {
        Closer(self.shared.clone())
    }

    /// Events dropped so far (bounded observers only).
    pub fn dropped(&self) -> u64 {
        lock(&self.shared.queue).dropped
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        lock(&self.shared.queue).events.len()
    }

    /// True when no event waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once the session has closed: no event comes after those queued.
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.queue).closed
    }
}

/// Closes an [`Observer`] from elsewhere: its waits return, and no event is queued any more.
pub struct Closer(Arc<ObsShared>);

impl Closer {
    /// Closes the observer.
    pub fn close(&self) {
        self.0.close();
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.shared.close();
        lock(&self.shared.queue).holds.clear();
    }
}
