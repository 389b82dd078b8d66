//! The conductor: one thread that drives the orchestration policy
//! ([`procsnap::orchestrate::Orchestrator`]) over the [`Supervisor`].
//!
//! It takes every state change and line from a lossless subscription (an exit or a ready line
//! is never missed), feeds them to the policy, and carries out what the policy decides:
//! starts through [`Supervisor::run_unique`] (so a policy restart racing a manual run or
//! restart of the same name never makes a second process: the loser adopts the winner), stops
//! with each process's own `shutdown` signal and timeout on a helper thread (a stop blocks for
//! its grace), probes on helper threads within their timeouts. Processes of a configured name
//! started by somebody else (the terminal UI, a manual restart) are adopted.
//!
//! Front ends read the published [`Board`] and take the [`Notice`]s; they ask for processes,
//! cancel them and shut everything down with messages, never by touching the policy.

mod board;
mod driver;
pub mod probe;

pub use board::{Board, Notice, Tone, UnitView, countdown, notice, short};

use std::collections::HashMap;
use std::io;
use std::sync::mpsc::{Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use procsnap::orchestrate::{Orchestrator, UnitId};
use procsnap::{ProcId, Supervisor};

use crate::compose::Stack;
use driver::Driver;

/// Undelivered events the conductor's subscription holds before the supervisor stops reading
/// output (the conductor only scans lines for ready lines: it keeps up).
const HIGH_WATER: usize = 4096;
/// Events taken at once.
const BATCH: usize = 512;
/// Notices kept for a front end that does not take them.
const MAX_NOTICES: usize = 1024;

enum Msg {
    /// The subscription has events.
    Wake,
    ProbeDone {
        unit: UnitId,
        process: ProcId,
        result: Result<(), String>,
    },
    Request {
        unit: UnitId,
        reply: Option<SyncSender<Requested>>,
    },
    /// One request for all of them; `taken` is answered once it was acted on.
    RequestMany {
        units: Vec<UnitId>,
        taken: SyncSender<()>,
    },
    RequestAll,
    Cancel(UnitId),
    Shutdown,
    Quit,
}

/// What a request found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requested {
    /// The process was already waiting, starting, running or backing off.
    pub was_live: bool,
    /// Its newest process before the request.
    pub previous: Option<ProcId>,
    /// Its process running once the request was acted on (a new one, or the one that was
    /// running); `None` while it waits for dependencies or a backoff.
    pub running: Option<ProcId>,
}

struct Shared {
    board: Mutex<Board>,
    changed: Condvar,
    notices: Mutex<Vec<Notice>>,
    notify: Box<dyn Fn() + Send + Sync>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running conductor; dropping it ends its thread (the processes stay with the supervisor).
pub struct Conductor {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    stack: Arc<Stack>,
    thread: Option<JoinHandle<()>>,
}

impl Conductor {
    /// Starts the conductor for `stack` on `sup`. `grace` is the stop timeout of a process
    /// whose `shutdown.timeout_seconds` is not set; `notify` is called (on the conductor's
    /// thread: it must be quick) whenever the board changes or a notice is queued.
    pub fn start(
        sup: Arc<Supervisor>,
        stack: Arc<Stack>,
        grace: Duration,
        notify: impl Fn() + Send + Sync + 'static,
    ) -> io::Result<Conductor> {
        let (tx, rx) = channel();
        let shared = Arc::new(Shared {
            board: Mutex::new(Board::default()),
            changed: Condvar::new(),
            notices: Mutex::new(Vec::new()),
            notify: Box::new(notify),
        });
        let events = sup.subscribe_lossless(HIGH_WATER);
        let waker = tx.clone();
        events.set_waker(move || {
            let _ = waker.send(Msg::Wake);
        });
        let mut driver = Driver {
            orch: Orchestrator::new(stack.plan.clone()),
            current: vec![None; stack.plan.len()],
            owners: HashMap::new(),
            sup,
            stack: stack.clone(),
            grace,
            tx: tx.clone(),
            shared: shared.clone(),
            version: 0,
        };
        driver.publish();
        let thread = std::thread::Builder::new()
            .name("procsnap-conductor".into())
            .spawn(move || driver.run(&events, &rx))?;
        Ok(Conductor {
            tx,
            shared,
            stack,
            thread: Some(thread),
        })
    }

    /// The configuration it runs.
    pub fn stack(&self) -> &Arc<Stack> {
        &self.stack
    }

    /// Asks for every process that is not `disabled` (and their dependencies).
    pub fn request_all(&self) {
        let _ = self.tx.send(Msg::RequestAll);
    }

    /// Asks for the process called `name` and its dependencies, without waiting; `false` if
    /// no such process is configured.
    pub fn request(&self, name: &str) -> bool {
        let Some(unit) = self.stack.plan.find(name) else {
            return false;
        };
        self.tx.send(Msg::Request { unit, reply: None }).is_ok()
    }

    /// [`request`](Self::request), waiting for the conductor to have taken it (blocking: call
    /// it off an async runtime's thread). `None` if `name` is not configured or the conductor
    /// is gone.
    pub fn request_now(&self, name: &str) -> Option<Requested> {
        let unit = self.stack.plan.find(name)?;
        let (reply, answer) = sync_channel(1);
        self.tx
            .send(Msg::Request {
                unit,
                reply: Some(reply),
            })
            .ok()?;
        answer.recv().ok()
    }

    /// Asks for the processes called `names` and their dependencies in one request (a
    /// dependency that already ran is not run again for a dependent), waiting for the
    /// conductor to have taken it (blocking: call it off an async runtime's thread). Names
    /// that are not configured are left out; `false` if the conductor is gone.
    pub fn request_many(&self, names: &[String]) -> bool {
        let units = names
            .iter()
            .filter_map(|n| self.stack.plan.find(n))
            .collect();
        let (taken, answer) = sync_channel(1);
        self.tx.send(Msg::RequestMany { units, taken }).is_ok() && answer.recv().is_ok()
    }

    /// Cancels a wait or a backoff of `name` (a stop asked for by a person: final). A running
    /// process is stopped through the supervisor; its exit ends it the same way.
    pub fn cancel(&self, name: &str) {
        if let Some(unit) = self.stack.plan.find(name) {
            let _ = self.tx.send(Msg::Cancel(unit));
        }
    }

    /// Stops everything in reverse dependency order, each process with its own `shutdown`.
    pub fn shutdown(&self) {
        let _ = self.tx.send(Msg::Shutdown);
    }

    /// The board as of the last change.
    pub fn board(&self) -> Board {
        lock(&self.shared.board).clone()
    }

    /// The notices queued since the last call, oldest first.
    pub fn take_notices(&self) -> Vec<Notice> {
        std::mem::take(&mut *lock(&self.shared.notices))
    }

    /// Blocks until `check` returns something for the board, or `timeout` passes (then the
    /// last board is the error).
    pub fn wait_for<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Board) -> Option<T>,
    ) -> Result<T, Board> {
        let end = Instant::now() + timeout;
        let mut board = lock(&self.shared.board);
        loop {
            if let Some(t) = check(&board) {
                return Ok(t);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(board.clone());
            }
            board = self
                .shared
                .changed
                .wait_timeout(board, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for Conductor {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Quit);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests;
