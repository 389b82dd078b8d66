//! Stopping and signalling: [`Supervisor::stop`] and its kin, the non-blocking
//! [`Supervisor::begin_stop`] with its [`Stopping`] handle, and [`Supervisor::signal`].

use std::collections::HashMap;
use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::reaper::Command;
use super::{Shared, Supervisor, lock};
use crate::error::{SignalError, StopError};
use crate::registry::{ProcId, Process};
use crate::signal::Signal;
use crate::state::{ProcessState, Status};
use crate::sys;

/// The leaders by `ProcId::get()`: what [`Supervisor::signal`] signals.
pub(super) type Leaders = HashMap<u64, Leader>;

/// How a leader is signalled.
pub(super) enum Leader {
    /// Through its pidfd, from launch to finalisation: a pidfd names one process for good, so
    /// a signal sent through it can never reach a process that got the same number later.
    Pidfd(Arc<OwnedFd>),
    /// Without pidfds: by its pid, under the table's lock, which the reaper holds while it
    /// reaps the pid and removes the entry: a pid signalled here is still unreaped, so still
    /// ours.
    Pid(sys::Pid),
}

/// A stop under way, from [`Supervisor::begin_stop`]: wait for its end here, or be told of it
/// by a subscription (the process's final [`SupervisorEvent::State`](super::SupervisorEvent)).
/// Dropping it changes nothing: the stop goes on.
pub struct Stopping {
    shared: Arc<Shared>,
    process: Arc<Process>,
}

impl Stopping {
    /// The process being stopped.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Signal, Supervisor};
    /// use std::time::Duration;
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("server", CommandSpec::new("sleep").arg("60")).unwrap();
    /// let stopping = sup.begin_stop(p.id(), Signal::TERM, Duration::from_secs(1)).unwrap();
    /// assert_eq!(stopping.id(), p.id());
    /// # stopping.wait().unwrap();
    /// ```
    pub fn id(&self) -> ProcId {
        self.process.id()
    }

    /// The final state if the process has finished, without waiting.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Signal, Supervisor};
    /// use std::time::Duration;
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("server", CommandSpec::new("sleep").arg("60")).unwrap();
    /// let stopping = sup.begin_stop(p.id(), Signal::TERM, Duration::from_secs(1)).unwrap();
    /// let end = stopping.wait().unwrap();
    /// assert_eq!(stopping.finished(), Some(end));
    /// ```
    pub fn finished(&self) -> Option<ProcessState> {
        Some(self.process.state().snapshot()).filter(ProcessState::is_finished)
    }

    /// Blocks (on a condvar, no polling) until the process has finished and returns its final
    /// state.
    ///
    /// # Errors
    ///
    /// [`StopError::SupervisorGone`] if the supervisor's reaper thread died before the end.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Signal, Status, Supervisor};
    /// use std::time::Duration;
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("server", CommandSpec::new("sleep").arg("60")).unwrap();
    /// let stopping = sup.begin_stop(p.id(), Signal::INT, Duration::from_secs(1)).unwrap();
    /// assert_eq!(stopping.wait().unwrap().status, Status::Stopped);
    /// ```
    pub fn wait(&self) -> Result<ProcessState, StopError> {
        self.shared
            .wait_finished(&self.process)
            .map_err(|_| StopError::SupervisorGone)
    }

    /// [`wait`](Self::wait), for at most `limit`: `Ok(None)` if the process is still being
    /// stopped then.
    ///
    /// # Errors
    ///
    /// [`StopError::SupervisorGone`] if the supervisor's reaper thread died before the end.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Signal, Supervisor};
    /// use std::time::Duration;
    /// let sup = Supervisor::new().unwrap();
    /// let script = "trap '' TERM; sleep 60 & wait; wait";
    /// let p = sup.spawn("stubborn", CommandSpec::shell(script)).unwrap();
    /// std::thread::sleep(Duration::from_millis(200)); // let the shell set its trap
    /// let stopping = sup.begin_stop(p.id(), Signal::TERM, Duration::from_secs(60)).unwrap();
    /// assert_eq!(stopping.wait_timeout(Duration::from_millis(100)).unwrap(), None);
    /// sup.stop(p.id(), Duration::ZERO).unwrap(); // a kill ends it at once
    /// assert!(stopping.wait_timeout(Duration::ZERO).unwrap().is_some());
    /// ```
    pub fn wait_timeout(&self, limit: Duration) -> Result<Option<ProcessState>, StopError> {
        let deadline = Instant::now().checked_add(limit);
        match self
            .shared
            .wait_until_or(&self.process, ProcessState::is_finished, deadline)
        {
            Ok(state) => Ok(Some(state).filter(ProcessState::is_finished)),
            Err(_) => Err(StopError::SupervisorGone),
        }
    }
}

impl fmt::Debug for Stopping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stopping")
            .field("id", &self.process.id())
            .field("finished", &self.finished().is_some())
            .finish()
    }
}

impl Supervisor {
    /// Stops process `id`: the reaper moves it `Running → Stopping` (one CAS), sends SIGTERM
    /// to its whole group, and SIGKILL after `grace`; a zero `grace` is a kill: SIGKILL at once,
    /// no SIGTERM first. Returns the final state once the leader is reaped **and** the group is
    /// empty (and the descendants that left it are gone), within `grace` + 2 s whatever the
    /// processes do. Stopping a finished process returns its final state and signals nothing; a
    /// concurrent second stop waits for the same end. `grace` is capped at one year (so
    /// `Duration::MAX` means "never SIGKILL", in practice). [`begin_stop`](Self::begin_stop)
    /// does the same without waiting.
    ///
    /// # Errors
    ///
    /// [`StopError::UnknownProcess`] for an id this supervisor never gave out;
    /// [`StopError::SupervisorGone`] if its reaper thread died (a bug) or it was shut down
    /// before the process finished.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Exit, Supervisor};
    /// use std::time::Duration;
    ///
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("polite", CommandSpec::shell("trap 'exit 0' TERM; sleep 60 & wait")).unwrap();
    /// let end = sup.stop(p.id(), Duration::ZERO).unwrap(); // a kill: its TERM handler never runs
    /// assert_eq!(end.exit, Some(Exit::Signal(libc::SIGKILL)));
    /// ```
    pub fn stop(&self, id: ProcId, grace: Duration) -> Result<ProcessState, StopError> {
        self.begin_stop(id, Signal::TERM, grace)?.wait()
    }

    /// [`stop`](Self::stop) with `signal` in place of SIGTERM: for a program that shuts down
    /// cleanly on another signal (SIGINT for many dev servers, SIGQUIT for some). SIGCONT
    /// follows it, and SIGKILL after `grace`, as with `stop`. A zero `grace` is a kill, as with
    /// `stop`: `signal` is not sent.
    ///
    /// # Errors
    ///
    /// As [`stop`](Self::stop).
    ///
    /// ```
    /// use procsnap::{CommandSpec, Exit, Signal, Supervisor};
    /// use std::time::Duration;
    ///
    /// let sup = Supervisor::new().unwrap();
    /// let script = "trap 'exit 7' INT; while :; do sleep 0.05; done";
    /// let p = sup.spawn("polite", CommandSpec::shell(script)).unwrap();
    /// std::thread::sleep(Duration::from_millis(200)); // let the shell set its trap
    /// let end = sup.stop_with(p.id(), Signal::INT, Duration::from_secs(5)).unwrap();
    /// assert_eq!(end.exit, Some(Exit::Code(7)));
    /// ```
    pub fn stop_with(
        &self,
        id: ProcId,
        signal: Signal,
        grace: Duration,
    ) -> Result<ProcessState, StopError> {
        self.begin_stop(id, signal, grace)?.wait()
    }

    /// Starts the stop of process `id` (`signal`, SIGCONT, SIGKILL after `grace`, as
    /// [`stop_with`](Self::stop_with)) and returns without waiting for its end: a [`Stopping`]
    /// to wait on, or a subscription tells when the process's final state is published. Never
    /// waits on the process; if another thread is spawning it right now, waits for that spawn
    /// to finish (well under a millisecond). Starting the stop of a finished process returns a
    /// handle that is already done, and signals nothing.
    ///
    /// # Errors
    ///
    /// [`StopError::UnknownProcess`] for an id this supervisor never gave out;
    /// [`StopError::SupervisorGone`] if its reaper thread is gone (it died of a bug, or the
    /// supervisor was shut down) and the process is not finished.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Signal, Status, Supervisor};
    /// use std::time::Duration;
    ///
    /// let sup = Supervisor::new().unwrap();
    /// let a = sup.spawn("a", CommandSpec::new("sleep").arg("60")).unwrap();
    /// let b = sup.spawn("b", CommandSpec::new("sleep").arg("60")).unwrap();
    /// // Both stops under way at once; then wait for each.
    /// let stops = [a.id(), b.id()].map(|id| sup.begin_stop(id, Signal::TERM, Duration::from_secs(5)).unwrap());
    /// for s in &stops {
    ///     assert_eq!(s.wait().unwrap().status, Status::Stopped);
    /// }
    /// ```
    pub fn begin_stop(
        &self,
        id: ProcId,
        signal: Signal,
        grace: Duration,
    ) -> Result<Stopping, StopError> {
        let process = self
            .shared
            .processes
            .get(id)
            .ok_or(StopError::UnknownProcess(id))?;
        self.request_stop(&process, grace, signal)?;
        Ok(Stopping {
            shared: self.shared.clone(),
            process,
        })
    }

    /// Queues the stop of `process` (`signal` first) without waiting for it to end.
    fn request_stop(
        &self,
        process: &Process,
        grace: Duration,
        signal: Signal,
    ) -> Result<(), StopError> {
        // A `Pending` process is being spawned by another thread right now: wait for it.
        let state = self
            .shared
            .wait_until(process, |s| s.status != Status::Pending)
            .map_err(|_| StopError::SupervisorGone)?;
        if state.is_finished() {
            return Ok(());
        }
        let (id, signal) = (process.id(), signal.as_raw());
        if self.shared.send(Command::Stop { id, grace, signal }) {
            Ok(())
        } else {
            Err(StopError::SupervisorGone)
        }
    }

    /// Stops every unfinished process (all at once, each with `grace`) and returns when all are
    /// finished.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Supervisor};
    /// use std::time::Duration;
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("a", CommandSpec::shell("sleep 60")).unwrap();
    /// sup.stop_all(Duration::from_secs(1));
    /// assert!(p.state().snapshot().is_finished());
    /// ```
    pub fn stop_all(&self, grace: Duration) {
        let all: Vec<Arc<Process>> = self.shared.processes.list(&crate::pin()).to_vec();
        let live: Vec<_> = all
            .into_iter()
            .filter(|p| !p.state().snapshot().is_finished())
            .collect();
        for p in &live {
            let _ = self.request_stop(p, grace, Signal::TERM);
        }
        for p in &live {
            let _ = self.shared.wait_finished(p);
        }
    }

    /// Sends `signal` to the process group of every unfinished process and returns once it was
    /// sent (nothing is sent to a group known to be empty: its number may be someone else's).
    /// For job control: [`Signal::TSTP`] to suspend every group as a shell suspends a job,
    /// [`Signal::CONT`] to resume them. Waits for the reaper thread to send it: do not call it
    /// from a subscription's waker or room function, which run on that thread.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Signal, Status, Supervisor};
    ///
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("sleeper", CommandSpec::shell("sleep 60")).unwrap();
    /// sup.signal_all(Signal::TERM);
    /// assert_eq!(sup.wait(p.id()).unwrap().status, Status::Failed); // killed by SIGTERM
    /// ```
    pub fn signal_all(&self, signal: Signal) {
        let (done, sent) = std::sync::mpsc::sync_channel(0);
        let signal = signal.as_raw();
        if self.shared.send(Command::SignalAll { signal, done }) {
            // Disconnected once the reaper has sent it (or is gone).
            let _ = sent.recv();
        }
    }

    /// Sends `signal` to the leader of process `id` (the program it started; its group is
    /// [`signal_all`](Self::signal_all)'s business) through the leader's pidfd, which names that
    /// one process for good: never a process that got its number after it was reaped. Without
    /// pidfds, by its pid, and only while the reaper has not reaped it (so the number is still
    /// its). Does not wait for the reaper.
    ///
    /// # Errors
    ///
    /// [`SignalError::UnknownProcess`] for an id this supervisor never gave out;
    /// [`SignalError::NotRunning`] once the leader has exited (or if it never started);
    /// [`SignalError::Os`] if the system refused (`EPERM`: the program changed its
    /// credentials).
    ///
    /// ```
    /// use procsnap::{CommandSpec, Exit, Signal, SignalError, Supervisor};
    ///
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("worker", CommandSpec::new("sleep").arg("60")).unwrap();
    /// sup.signal(p.id(), Signal::USR1).unwrap(); // sleep dies of it
    /// assert_eq!(sup.wait(p.id()).unwrap().exit, Some(Exit::Signal(libc::SIGUSR1)));
    /// assert!(matches!(sup.signal(p.id(), Signal::TERM), Err(SignalError::NotRunning(_))));
    /// ```
    pub fn signal(&self, id: ProcId, signal: Signal) -> Result<(), SignalError> {
        let process = self
            .shared
            .processes
            .get(id)
            .ok_or(SignalError::UnknownProcess(id))?;
        // A `Pending` process is being spawned by another thread right now: wait for it.
        let _ = self
            .shared
            .wait_until(&process, |s| s.status != Status::Pending);
        let leaders = lock(&self.shared.leaders);
        let sent = match leaders.get(&id.get()) {
            None => return Err(SignalError::NotRunning(id)),
            Some(Leader::Pid(pid)) => sys::kill(*pid, signal.as_raw()),
            Some(Leader::Pidfd(pidfd)) => {
                let pidfd = pidfd.clone();
                drop(leaders);
                sys::pidfd_send_signal(pidfd.as_fd(), signal.as_raw())
            }
        };
        match sent {
            Ok(()) => Ok(()),
            // Exited, not finalised yet.
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Err(SignalError::NotRunning(id)),
            Err(source) => Err(SignalError::Os { id, source }),
        }
    }
}
