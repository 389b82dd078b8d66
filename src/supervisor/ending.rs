//! How a supervisor ends: [`Supervisor::shutdown`] (waits) and `Drop` (does not).
//!
//! Both hand the work to the reaper thread: one `StopAll` command (TERM, the grace, KILL for
//! every live child), then `Shutdown` (once no child is left, the final sweep of escapees, then
//! the watchdog is told to go and is reaped). `Drop` returns at once and the reaper finishes on
//! its own, as tokio's reaper hands an unfinished child to its orphan queue: a host that goes
//! on running sees everything stopped within the grace (+ 2 s for what SIGKILL cannot take at
//! once); a host that exits sooner leaves the rest to the watchdog, which SIGKILLs every group
//! and tagged process when we are gone. A reaper that died of a bug waits for the end to take
//! down what it can no longer stop (see [`Shared::take_down_orphans`]).

use std::sync::{Condvar, Mutex};

use super::reaper::Command;
use super::{Shared, Supervisor, lock, procfs, watchdog};
use crate::sys;

/// Where the end of a supervisor stands.
#[derive(Default)]
pub(super) struct Ending {
    state: Mutex<EndingState>,
    changed: Condvar,
}

#[derive(Default)]
struct EndingState {
    /// `shutdown` or `Drop` began the end: no new spawn.
    closing: bool,
    /// The reaper thread has done everything it does (its last act).
    done: bool,
}

impl Ending {
    fn set(&self, f: impl FnOnce(&mut EndingState)) {
        f(&mut lock(&self.state));
        self.changed.notify_all();
    }

    fn wait(&self, until: impl Fn(&EndingState) -> bool) {
        let mut state = lock(&self.state);
        while !until(&state) {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    pub(super) fn closing(&self) -> bool {
        lock(&self.state).closing
    }
}

impl Shared {
    /// Queues the stop of every live child and the reaper's shutdown; returns at once.
    fn begin_ending(&self) {
        self.ending.set(|s| s.closing = true);
        self.send(Command::StopAll {
            grace: self.cfg.grace,
        });
        self.send(Command::Shutdown);
    }

    /// The reaper thread's last acts, after its loop ended (`panicked`: by a bug): once the end
    /// has begun, takes down what a dead reaper left, lets the watchdog go, and says it is done.
    pub(super) fn finish_ending(&self, panicked: bool) {
        if panicked {
            // Nobody reaps the live children any more: wait for the end, then take them down.
            self.ending.wait(|s| s.closing);
            self.take_down_orphans();
        }
        if let Some(w) = &self.watchdog {
            watchdog::reap(w.shutdown());
        }
        self.ending.set(|s| s.done = true);
    }

    /// After the reaper died (a bug, see [`Supervisor::reaper_panic`]), nobody reaps the
    /// unfinished processes: SIGKILL each one's group and reap its leader. Only a leader whose
    /// environment still carries our tag with its id is touched: the dead reaper may have
    /// reaped it already, and its number may belong to someone else by now.
    fn take_down_orphans(&self) {
        let name = self.tag.name().as_bytes();
        let guard = crate::pin();
        let mut buf = Vec::new();
        for p in self.processes.list(&guard) {
            let state = p.state().load(&guard);
            let Some(pid) = state
                .pid
                .and_then(|pid| sys::Pid::from_raw(pid as libc::pid_t))
            else {
                continue;
            };
            if !state.is_finished()
                && procfs::tag_of(pid.as_raw(), name, &mut buf) == Some(p.id().get())
            {
                let _ = sys::killpg(pid, libc::SIGKILL);
                let _ = sys::wait_blocking(pid);
            }
        }
    }
}

impl Supervisor {
    /// Stops every process (with [`SupervisorConfig::grace`](super::SupervisorConfig::grace)),
    /// takes down the escapees of those that ended on their own, ends the reaper thread and the
    /// watchdog, and returns once all of that is done: what dropping the supervisor starts
    /// without waiting. Returns within the grace + 2 s, plus the final sweep's grace when
    /// escapees ignore SIGTERM. Afterwards the supervisor serves reads only: spawns fail,
    /// stops and waits return at once. Calling it again returns at once.
    ///
    /// Call it before the host exits when the processes deserve their grace: after a plain
    /// drop, an exit leaves what is still running to the watchdog's SIGKILL (or, without a
    /// watchdog, running).
    ///
    /// ```
    /// use procsnap::{CommandSpec, Supervisor};
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("server", CommandSpec::shell("sleep 60")).unwrap();
    /// sup.shutdown();
    /// assert!(p.state().snapshot().is_finished());
    /// assert!(sup.spawn("late", CommandSpec::new("true")).is_err());
    /// ```
    pub fn shutdown(&self) {
        self.shared.begin_ending();
        self.shared.ending.wait(|s| s.done);
    }
}

/// Returns at once (within microseconds: two commands queued), whatever the children do. The
/// reaper thread goes on without us: it stops every process (SIGTERM, the grace, SIGKILL),
/// takes down the escapees, lets the watchdog go, and ends; see [`Supervisor::shutdown`] to
/// wait for that.
impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shared.begin_ending();
        // Detached: the reaper thread owns its share of `Shared` and ends on its own.
        drop(self.reaper.take());
    }
}
