//! [`Supervisor`]: spawn, stop and restart process groups; see every state change and every
//! line of output; leave nothing behind, even when killed.
//!
//! # Architecture
//!
//! - **Spawning** runs on the caller's thread: [`sys::spawn()`] (`posix_spawn`, no fork, no Rust
//!   code in the child) makes the child the leader of a new process group with a clean signal
//!   state and two output pipes. The group is recorded in the watchdog's table at once, a pidfd is
//!   opened, the cell goes `Pending → Running` and the child is queued for the reaper.
//! - **One reaper thread** owns every live child. It runs one level-triggered `epoll` over
//!   - each child's **pidfd** (readable when the leader exits; an exit that happens before
//!     anyone looks is not lost, the pidfd stays readable): `waitpid(pid, WNOHANG)` for that
//!     pid only — never `waitpid(-1)`, so a host's own `std::process::Command` keeps its
//!     children;
//!   - each child's **stdout and stderr pipes**, read non-blocking as soon as data arrives into
//!     a per-stream [`LineSplitter`](crate::LineSplitter) and the process's byte-bounded [`LogRing`](crate::LogRing): a flood never
//!     stalls the child (the pipe is drained unless a lossless subscriber is full or the process
//!     is held, see below) and never grows memory past the ring;
//!   - an **eventfd** that wakes it for commands (a new child, a stop, shutdown);
//!   - the **watchdog's pidfd**, to respawn it if someone kills it.
//!
//!   One thread whatever the number of children (three descriptors each, hence the raised
//!   `RLIMIT_NOFILE`; thousands of concurrent children are fine).
//! - **Finished means gone.** When the leader is reaped and its group still has members (a
//!   background job of a shell script), the reaper TERMs the group (plus CONT, so stopped
//!   members can act), waits up to [`SupervisorConfig::grace`], then KILLs it, probing the
//!   group with `kill(-pgid, 0)` every 2 ms (and, for a group that lingers, with one pass over
//!   `/proc` every 50 ms for all such groups: killed grandchildren are reparented to init and
//!   stay zombies until init reaps them, which some container inits do only every second or
//!   so; a zombie runs nothing). Only when the leader is reaped *and* nothing of
//!   its group is alive does the reaper drain the pipes (keeping a last line without `\n`),
//!   apply [`Event::Exited`](crate::Event::Exited) and publish the final state. So a finished process has nothing left
//!   running, and [`Supervisor::restart`] never races leftovers of the old process (a port
//!   still held, say).
//! - **Stop** (`stop(id, grace)`) queues a command; the reaper does the CAS `Running →
//!   Stopping`, publishes it, TERMs the group and sets a KILL deadline; the caller blocks on a
//!   condvar (no polling) until the state is final. Readers never wait for any of it: a state
//!   read is one epoch-pinned load ([`StateCell::snapshot`](crate::StateCell::snapshot)).
//! - **Events** ([`SupervisorEvent`]): every state change after `Started` and every line is
//!   published by the reaper thread, so for each process they come out in order, each once,
//!   and a `Stopping` can never follow the final state. `Started`/`SpawnFailed` are published
//!   by the spawning thread, `Started` under the command-queue lock together with the child's
//!   `Register` (so the reaper cannot publish a later event first), its subscribers' wakers only
//!   after that lock is released. Each `State` event carries the state's `version`. A slow
//!   drop-oldest subscriber loses its oldest events (counted) and never blocks us; a full
//!   lossless subscriber pauses the reading of every output pipe (backpressure on the
//!   processes, as in a shell pipeline) until it has room again; an [`OutputHold`] pauses the
//!   pipes of one process only ([`Supervisor::hold_output`]), for a consumer that pushes back
//!   per process.
//! - **Orphan-proof**: see [`watchdog`]: the live groups are recorded in a memfd slot table
//!   (one `pwrite` per spawn and per exit, no message); a `/bin/sh` watchdog holding a socket
//!   from us reads it when that socket reaches end of file — when we die, however we die — and
//!   SIGKILLs every recorded group, then every process that carries our environment tag.
//! - **Escapees**: every child gets `PROCSNAP_<random>=<id>` in its environment at spawn (see
//!   [`tag`]). A stop finds the processes of its tree that left the group through `/proc`,
//!   signals them through pidfds (never a reused number) and counts the process as running
//!   until they are gone too; see the reaper's `strays` module.
//!
//! # Signals go only to our own processes
//!
//! A pid is signalled only while unreaped (so it cannot have been reused); a group only while
//! its leader is unreaped (the group id is then still reserved) or while the last probe saw it
//! non-empty. The remaining window — a group that empties between a probe and the next signal,
//! and whose number is immediately reused by an unrelated new group leader — needs the pid
//! counter to wrap around between two syscalls of ours. Nothing is ever signalled by name or
//! port (brummer's e12).
//!
//! # Without pidfds
//!
//! On a kernel without pidfds (Linux before 5.4), under a seccomp profile that refuses them, or
//! with [`SupervisorConfig::pidfds`] off, the supervisor chooses at start (see
//! [`Supervisor::uses_pidfds`]) to work without them, as tokio's reaper does:
//!
//! - A SIGCHLD handler (installed once per process, chained to the one before it) writes to an
//!   eventfd in the reaper's epoll; the reaper then calls `waitpid(pid, WNOHANG)` for each of
//!   its own unreaped children — still never `waitpid(-1)`, so a host's own children stay the
//!   host's. As a safety net it looks every second anyway. A host that ignores SIGCHLD
//!   (`SIG_IGN`) has the kernel reap every child by itself: nothing is installed, the reaper
//!   polls every 20 ms, and exit statuses are lost (`Exit::Unknown`).
//! - [`Supervisor::signal`] signals the leader by pid, only while the reaper has not reaped it:
//!   the reaper reaps under the same lock, so the number is still the leader's.
//! - Strays (descendants that left the group) are signalled by pid after their tag is read
//!   again, and are not watched: a stop does not wait for them, they get SIGKILL when their
//!   owner does, and the final sweep of a shutdown sends SIGTERM only (the watchdog, if on,
//!   SIGKILLs what carries the tag when the host dies). A pid reused between the tag read and
//!   the signal could be hit: the watchdog's window.
//! - A dead watchdog is noticed through SIGCHLD as well, and replaced.
//!
//! # Limits
//!
//! - A process that leaves its group (`setsid`, `setpgid`, a daemon's double fork) is found by
//!   the environment tag every child carries (see [`tag`] and the reaper's strays): by a stop
//!   (so by `stop_all` and `Drop`), by the final sweep when the supervisor shuts down, and by
//!   the watchdog. When a process ends on its own, its escapees are left running until then
//!   (finding them would cost a pass over `/proc` on every exit). One that also cleared its
//!   environment is out of reach.
//! - A leader or member that cannot die (uninterruptible sleep), a leader that cannot be reaped
//!   (a tracer holds it) or a zombie nobody reaps is given up on 2 s after the SIGKILL, so a
//!   stop always returns within its grace + 2 s. A leader given up on ends with
//!   [`Exit::Unknown`](crate::Exit::Unknown); its pid stays reserved and the reaper reaps it
//!   once it can (while the supervisor runs).
//! - If the host reaps our child itself (`waitpid(-1)`), the exit status is lost
//!   (`Exit::Unknown`); the process still ends.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::error::{RestartError, SpawnError, StopError};
use crate::events::{Broadcast, Subscription};
use crate::logs::{LogLine, Stream};
use crate::registry::{ProcId, Process, Processes, Registry, Reserve};
use crate::spec::CommandSpec;
use crate::state::ProcessState;
use crate::sys;

mod config;
mod control;
mod ending;
mod hold;
mod launch;
pub(crate) mod procfs;
mod reaper;
pub mod tag;
pub mod watchdog;

pub use config::SupervisorConfig;
pub use control::Stopping;
pub use hold::OutputHold;
use reaper::Command;
use tag::Tag;
use watchdog::Watchdog;

/// Something that happened to a supervised process.
///
/// Non-exhaustive: later versions may report more (readiness, say); match with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SupervisorEvent {
    /// The process's state changed to `state` (its `version` orders the changes).
    State {
        /// Which process.
        id: ProcId,
        /// The new state.
        state: ProcessState,
    },
    /// The process wrote a line (already stored in its [`LogRing`](crate::LogRing)).
    Line {
        /// Which process.
        id: ProcId,
        /// The line.
        line: LogLine,
    },
}

/// What the supervisor's threads share.
pub(crate) struct Shared {
    /// Read-only outside: only `launch` registers processes (see [`Processes`]).
    processes: Processes,
    events: Broadcast<SupervisorEvent>,
    cfg: SupervisorConfig,
    commands: Mutex<VecDeque<Command>>,
    /// The reaper's epoll; spawning threads add their child's descriptors to it.
    epoll: sys::Epoll,
    wake: sys::EventFd,
    /// `None` unless [`SupervisorConfig::watchdog`].
    watchdog: Option<Watchdog>,
    watchdog_pidfd: Mutex<Option<OwnedFd>>,
    /// The environment tag every child gets (see [`tag`]).
    tag: Tag,
    /// How many threads wait on `finished_cv`; notified when a process finishes or leaves
    /// `Pending`, but only when someone waits (a `notify_all` is a futex syscall even with no
    /// waiter: one per spawn and one per exit saved in the common case).
    finished: Mutex<usize>,
    finished_cv: Condvar,
    reaper_gone: AtomicBool,
    /// The message of the panic that ended the reaper thread, if one did.
    reaper_panic: Mutex<Option<String>>,
    /// How many [`OutputHold`]s each held process has.
    holds: Mutex<hold::Holds>,
    /// Where the end (`shutdown`, `Drop`) stands.
    ending: ending::Ending,
    /// The live leaders, for `Supervisor::signal`.
    leaders: Mutex<control::Leaders>,
    /// Children are watched through pidfds (else: SIGCHLD and a `waitpid` per child).
    pidfds: bool,
    /// Without pidfds: the eventfd SIGCHLD wakes the reaper through.
    child_signal: Option<ChildSignal>,
}

/// SIGCHLD as an eventfd in the reaper's epoll (without pidfds).
struct ChildSignal {
    /// Declared first, so dropped before the eventfd it writes to. `None`: no handler could be
    /// installed (the host ignores SIGCHLD, or the handler's table is full): the reaper polls.
    listener: Option<sys::sigchld::Listener>,
    fd: sys::EventFd,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn lock_commands(&self) -> MutexGuard<'_, VecDeque<Command>> {
        lock(&self.commands)
    }

    /// Queues `cmd` for the reaper; `false` if the reaper is gone.
    fn send(&self, cmd: Command) -> bool {
        if self.reaper_gone() {
            return false;
        }
        self.lock_commands().push_back(cmd);
        let _ = self.wake.notify();
        true
    }

    fn take_commands(&self) -> VecDeque<Command> {
        std::mem::take(&mut *self.lock_commands())
    }

    fn reaper_gone(&self) -> bool {
        // Acquire: pairs with the Release store in `mark_reaper_gone`.
        self.reaper_gone.load(Ordering::Acquire)
    }

    fn mark_reaper_gone(&self) {
        // Release: pairs with the Acquire load in `reaper_gone`.
        self.reaper_gone.store(true, Ordering::Release);
        self.notify_finished();
    }

    fn record_reaper_panic(&self, msg: String) {
        *lock(&self.reaper_panic) = Some(msg);
    }

    /// Why the reaper is gone, for error messages.
    fn reaper_gone_reason(&self) -> String {
        match &*lock(&self.reaper_panic) {
            Some(msg) => format!("the supervisor's reaper thread panicked: {msg}"),
            None => "the supervisor is shut down".to_owned(),
        }
    }

    fn notify_finished(&self) {
        // Checked under the mutex a waiter holds from its state check until it sleeps (and
        // while it counts itself in or out): no lost wake-up.
        if *lock(&self.finished) > 0 {
            self.finished_cv.notify_all();
        }
    }

    fn publish_state(&self, process: &Process, state: ProcessState) {
        self.events.publish(SupervisorEvent::State {
            id: process.id(),
            state,
        });
    }

    /// Stores lines of `process`'s output that arrived together (made by `LogRing::fit`) in
    /// its ring, with one timestamp, and publishes them; leaves `stored` empty.
    fn emit_lines(
        &self,
        process: &Process,
        stream: Stream,
        lines: impl ExactSizeIterator<Item = (Arc<str>, bool)>,
        stored: &mut Vec<LogLine>,
    ) {
        if lines.len() == 0 {
            return;
        }
        let at = SystemTime::now();
        process.logs().push_fitted(stream, at, lines, stored);
        let id = process.id();
        self.events.publish_all(
            stored
                .drain(..)
                .map(|line| SupervisorEvent::Line { id, line }),
        );
    }

    fn set_watchdog_pidfd(&self, fd: OwnedFd) {
        *lock(&self.watchdog_pidfd) = Some(fd);
    }

    fn take_watchdog_pidfd(&self) -> Option<OwnedFd> {
        lock(&self.watchdog_pidfd).take()
    }

    /// Blocks until `process` is finished (`Ok`) or the reaper is gone (`Err`, with the last
    /// state seen).
    fn wait_finished(&self, process: &Process) -> Result<ProcessState, ProcessState> {
        self.wait_until(process, ProcessState::is_finished)
    }

    fn wait_until(
        &self,
        process: &Process,
        done: impl Fn(&ProcessState) -> bool,
    ) -> Result<ProcessState, ProcessState> {
        self.wait_until_or(process, done, None)
    }

    /// [`wait_until`](Self::wait_until), giving up at `deadline` (`Ok` with the state then).
    fn wait_until_or(
        &self,
        process: &Process,
        done: impl Fn(&ProcessState) -> bool,
        deadline: Option<std::time::Instant>,
    ) -> Result<ProcessState, ProcessState> {
        let mut waiters = lock(&self.finished);
        loop {
            // Checked under the mutex the notifier takes after its update: no lost wake-up.
            let state = process.state().snapshot();
            if done(&state) {
                return Ok(state);
            }
            if self.reaper_gone() {
                return Err(state);
            }
            let left = match deadline {
                Some(at) => match at.checked_duration_since(std::time::Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Ok(state),
                },
                None => None,
            };
            *waiters += 1;
            waiters = match left {
                Some(left) => {
                    self.finished_cv
                        .wait_timeout(waiters, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .finished_cv
                    .wait(waiters)
                    .unwrap_or_else(PoisonError::into_inner),
            };
            *waiters -= 1;
        }
    }
}

/// Starts, watches and stops process groups.
///
/// ```
/// use procsnap::{CommandSpec, Status, Supervisor};
/// use std::time::Duration;
///
/// let sup = Supervisor::new().unwrap();
/// let done = sup.spawn("hello", CommandSpec::shell("echo hi; exit 3")).unwrap();
/// let state = sup.wait(done.id()).unwrap();
/// assert_eq!((state.status, state.exit), (Status::Failed, Some(procsnap::Exit::Code(3))));
/// assert_eq!(&*done.logs().tail(1)[0].text, "hi");
///
/// let server = sup.spawn("server", CommandSpec::shell("sleep 300")).unwrap();
/// let stopped = sup.stop(server.id(), Duration::from_secs(1)).unwrap();
/// assert_eq!(stopped.status, Status::Stopped);
/// ```
pub struct Supervisor {
    shared: Arc<Shared>,
    reaper: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("config", &self.shared.cfg)
            .field("processes", &self.shared.processes.len())
            .finish()
    }
}

impl Supervisor {
    /// A supervisor with [`SupervisorConfig::default`].
    ///
    /// # Errors
    ///
    /// As [`with_config`](Self::with_config).
    ///
    /// ```
    /// let sup = procsnap::Supervisor::new().unwrap();
    /// assert!(sup.registry().is_empty());
    /// ```
    pub fn new() -> io::Result<Supervisor> {
        Supervisor::with_config(SupervisorConfig::default())
    }

    /// A supervisor with `cfg`: starts the reaper thread (and, if asked, raises
    /// `RLIMIT_NOFILE` and starts the watchdog process).
    ///
    /// On a kernel without pidfds (Linux before 5.4), or one whose seccomp profile refuses them
    /// (`pidfd_open`, `pidfd_send_signal`), or with [`SupervisorConfig::pidfds`] off, it falls
    /// back to SIGCHLD and a `waitpid` per child (see "Without pidfds" above);
    /// [`uses_pidfds`](Self::uses_pidfds) tells which.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a configuration that cannot work (an `event_capacity` of 0), naming
    /// the setting; otherwise the OS error of the step that failed: the `epoll` or `eventfd`,
    /// the watchdog's spawn, or the reaper thread's.
    ///
    /// ```
    /// use procsnap::{Supervisor, SupervisorConfig};
    /// let sup = Supervisor::with_config(SupervisorConfig::default().log_bytes(4096)).unwrap();
    /// assert_eq!(sup.config().log_bytes, 4096);
    /// ```
    pub fn with_config(cfg: SupervisorConfig) -> io::Result<Supervisor> {
        cfg.check()?;
        let pidfds = cfg.pidfds && sys::check_pidfds().is_ok();
        sys::check_pidfds()?;
        if cfg.raise_nofile {
            static RAISE: std::sync::Once = std::sync::Once::new();
            RAISE.call_once(|| {
                let _ = sys::raise_nofile_limit();
            });
        }
        let epoll = sys::Epoll::new()?;
        let wake = sys::EventFd::new()?;
        epoll.add(wake.as_fd(), sys::fd::READABLE, reaper::WAKE)?;
        let child_signal = match pidfds {
            true => None,
            false => {
                let fd = sys::EventFd::new()?;
                epoll.add(fd.as_fd(), sys::fd::READABLE, reaper::CHILDREN)?;
                let listener = sys::sigchld::listen(fd.as_fd())?;
                Some(ChildSignal { listener, fd })
            }
        };
        let tag = Tag::new();
        let watchdog = match cfg.watchdog {
            true => Some(Watchdog::start(tag.name())?),
            false => None,
        };
        let shared = Arc::new(Shared {
            processes: Processes::from(Registry::with_log_bytes(cfg.log_bytes)),
            events: Broadcast::new(),
            cfg,
            commands: Mutex::new(VecDeque::new()),
            epoll,
            wake,
            watchdog,
            watchdog_pidfd: Mutex::new(None),
            tag,
            finished: Mutex::new(0),
            finished_cv: Condvar::new(),
            reaper_gone: AtomicBool::new(false),
            reaper_panic: Mutex::new(None),
            holds: Mutex::new(hold::Holds::new()),
            ending: ending::Ending::default(),
            leaders: Mutex::new(control::Leaders::new()),
            pidfds,
            child_signal,
        });
        let for_thread = shared.clone();
        let reaper = std::thread::Builder::new()
            .name("procsnap-reaper".into())
            .spawn(move || reaper::run(for_thread));
        let reaper = match reaper {
            Ok(h) => h,
            Err(e) => {
                if let Some(w) = &shared.watchdog {
                    watchdog::reap(w.shutdown());
                }
                return Err(e);
            }
        };
        Ok(Supervisor {
            shared,
            reaper: Some(reaper),
        })
    }

    /// Every process this supervisor started, finished ones included until
    /// [`Processes::remove_finished`]: read-only, since only the supervisor may register a
    /// process (it also launches it). A process registered behind its back would stay
    /// `Pending` forever, and so would everything that waits for it:
    ///
    /// ```compile_fail
    /// let sup = procsnap::Supervisor::new().unwrap();
    /// sup.registry().insert("x", procsnap::CommandSpec::new("true"), 0);
    /// ```
    pub fn registry(&self) -> &Processes {
        &self.shared.processes
    }

    /// The configuration.
    ///
    /// ```
    /// let sup = procsnap::Supervisor::new().unwrap();
    /// assert!(!sup.config().watchdog);
    /// ```
    pub fn config(&self) -> &SupervisorConfig {
        &self.shared.cfg
    }

    /// Registers and spawns a new process named `name`. If the spawn fails, the process stays
    /// registered as `Failed` and the error is returned.
    ///
    /// # Errors
    ///
    /// A [`SpawnError`] naming the step that failed (`exec` for a missing program, `chdir` for a
    /// missing directory, `supervisor` once it is shut down, ...) and the program. The process
    /// stays registered, `Failed`.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Status, Supervisor};
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("hello", CommandSpec::shell("echo hi")).unwrap();
    /// assert_eq!(sup.wait(p.id()).unwrap().status, Status::Success);
    /// let e = sup.spawn("missing", CommandSpec::new("/no/such/program")).unwrap_err();
    /// assert_eq!(e.op, "exec");
    /// ```
    pub fn spawn(&self, name: &str, spec: CommandSpec) -> Result<Arc<Process>, SpawnError> {
        let process = self.shared.processes.registry().insert(name, spec, 0);
        self.launch(&process)?;
        Ok(process)
    }

    /// Spawns `spec` under `name` unless an unfinished process already has that name: of any
    /// number of concurrent calls for one name, exactly one starts a process
    /// ([`Registry::reserve`]).
    ///
    /// An [`AlreadyRunning`](Reserve::AlreadyRunning) process has left `Pending`: if the call
    /// that won is still spawning it on another thread, this waits for that spawn (on the
    /// condvar; it takes well under a millisecond), so the state it carries has its pid and
    /// start time, or says that the spawn failed.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn), when this call was the one to start the process.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Reserve, Supervisor};
    /// use std::time::Duration;
    /// let sup = Supervisor::new().unwrap();
    /// let first = sup.run_unique("dev", CommandSpec::shell("sleep 60")).unwrap();
    /// let again = sup.run_unique("dev", CommandSpec::shell("sleep 60")).unwrap();
    /// assert!(matches!(first, Reserve::Started(_)) && matches!(again, Reserve::AlreadyRunning(_)));
    /// sup.stop(first.process().id(), Duration::ZERO).unwrap();
    /// ```
    pub fn run_unique(&self, name: &str, spec: CommandSpec) -> Result<Reserve, SpawnError> {
        self.run_unique_with(name, spec, 0)
    }

    /// [`run_unique`](Self::run_unique) for the `restarts`-th restart of `name`: a process
    /// it starts carries that count in its state (one that already runs keeps its own).
    ///
    /// ```
    /// use procsnap::{CommandSpec, Supervisor};
    /// use std::time::Duration;
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.run_unique_with("dev", CommandSpec::shell("sleep 60"), 3).unwrap();
    /// assert_eq!(p.process().state().snapshot().restarts, 3);
    /// sup.stop(p.process().id(), Duration::ZERO).unwrap();
    /// ```
    pub fn run_unique_with(
        &self,
        name: &str,
        spec: CommandSpec,
        restarts: u32,
    ) -> Result<Reserve, SpawnError> {
        match self
            .shared
            .processes
            .registry()
            .reserve_with(name, spec, restarts)
        {
            Reserve::Started(p) => self.launch(&p).map(|()| Reserve::Started(p)),
            Reserve::AlreadyRunning(p) => Ok(Reserve::AlreadyRunning(self.launched(p))),
        }
    }

    /// `process` once it has left `Pending`: every process of our registry is launched by the
    /// thread that registered it, and every way out of [`launch`](Self::launch) notifies.
    fn launched(&self, process: Arc<Process>) -> Arc<Process> {
        let _ = self
            .shared
            .wait_until(&process, |s| s.status != crate::Status::Pending);
        process
    }

    /// Spawns the registered, `Pending` `process` and hands it to the reaper.
    fn launch(&self, process: &Arc<Process>) -> Result<(), SpawnError> {
        self.shared.launch(process)
    }

    /// Stops `id` if it is not finished, then spawns a **new** process with the same name and
    /// command (any command, not only package scripts) and `restarts + 1`. A process started by
    /// [`run_unique`](Self::run_unique) is restarted the same way: if a concurrent restart or run of
    /// its name got there first, that process is returned and nothing new is started.
    ///
    /// # Errors
    ///
    /// [`RestartError::Stop`] if `id` is unknown or the supervisor's reaper is gone (nothing is
    /// started); [`RestartError::Spawn`] if the new process could not be spawned (it stays
    /// registered, `Failed`).
    ///
    /// ```
    /// use procsnap::{CommandSpec, Supervisor};
    /// use std::time::Duration;
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("dev", CommandSpec::shell("sleep 60")).unwrap();
    /// let again = sup.restart(p.id(), Duration::from_secs(1)).unwrap();
    /// assert_ne!(again.id(), p.id()); // a new process
    /// assert_eq!(again.state().snapshot().restarts, 1);
    /// sup.stop(again.id(), Duration::ZERO).unwrap();
    /// ```
    pub fn restart(&self, id: ProcId, grace: Duration) -> Result<Arc<Process>, RestartError> {
        let old = self
            .shared
            .processes
            .get(id)
            .ok_or(StopError::UnknownProcess(id))?;
        let last = self.stop(id, grace)?;
        let (name, spec, restarts) = (
            old.name(),
            old.spec().clone(),
            last.restarts.saturating_add(1),
        );
        let new = if old.is_unique() {
            // Through the same one-CAS decision as `run_unique`: of concurrent restarts (or a
            // restart racing a run of the same name) exactly one starts a process.
            match self
                .shared
                .processes
                .registry()
                .reserve_with(name, spec, restarts)
            {
                Reserve::Started(p) => p,
                Reserve::AlreadyRunning(p) => return Ok(self.launched(p)),
            }
        } else {
            self.shared
                .processes
                .registry()
                .insert(name, spec, restarts)
        };
        self.launch(&new)?;
        Ok(new)
    }

    /// A new subscriber to every state change and output line from now on, holding up to
    /// [`SupervisorConfig::event_capacity`] undelivered events.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Supervisor, SupervisorEvent};
    /// let sup = Supervisor::new().unwrap();
    /// let events = sup.subscribe();
    /// let p = sup.spawn("hi", CommandSpec::shell("echo hi")).unwrap();
    /// sup.wait(p.id()).unwrap();
    /// let lines = events
    ///     .drain(usize::MAX)
    ///     .into_iter()
    ///     .filter(|e| matches!(e, SupervisorEvent::Line { .. }))
    ///     .count();
    /// assert_eq!(lines, 1); // the final state is published after the last line
    /// ```
    #[must_use = "dropping the subscription unsubscribes at once"]
    pub fn subscribe(&self) -> Subscription<SupervisorEvent> {
        self.shared.events.subscribe(self.shared.cfg.event_capacity)
    }

    /// A new subscriber that never loses an event, for a consumer that must see every line
    /// (`procsnap run` writing to a file or a pipe). When it holds `high_water` undelivered
    /// events, the supervisor stops reading every process's output until the subscriber has
    /// taken it down to half: the processes then block in `write` once their pipes are full,
    /// exactly as in a shell pipeline, and their log rings get nothing new meanwhile. Stops,
    /// exits, state events and state reads go on as usual. Lines are published only as far as
    /// the mark allows, however many one read of a pipe brings (the rest waits, in order); the
    /// exceptions are state events, a process's last partial line, and the last output of a
    /// process that ends, which is read in full (at most what its pipes hold), so the
    /// subscription may exceed its mark by that much.
    ///
    /// Drain it promptly, or drop it (dropping it resumes the reading at once): while it is
    /// full, no process's output is read.
    ///
    /// # Panics
    ///
    /// If `high_water` is 0.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Supervisor, SupervisorEvent};
    ///
    /// let sup = Supervisor::new().unwrap();
    /// let events = sup.subscribe_lossless(64);
    /// let p = sup.spawn("count", CommandSpec::shell("seq 1 1000")).unwrap();
    /// let mut lines = 0;
    /// while !sup.registry().get(p.id()).unwrap().state().snapshot().is_finished() || !events.is_empty() {
    ///     match events.pop() {
    ///         Some(SupervisorEvent::Line { line, .. }) => {
    ///             lines += 1;
    ///             assert_eq!(&*line.text, lines.to_string());
    ///         }
    ///         Some(_) => {}
    ///         None => std::thread::yield_now(),
    ///     }
    /// }
    /// assert_eq!(lines, 1000);
    /// ```
    #[must_use = "dropping the subscription unsubscribes at once"]
    pub fn subscribe_lossless(&self, high_water: usize) -> Subscription<SupervisorEvent> {
        let sub = self.shared.events.subscribe_lossless(high_water);
        // Weak: the subscription lives inside `Shared` (its bus), which must not own itself.
        let shared = Arc::downgrade(&self.shared);
        sub.set_on_room(move || {
            if let Some(shared) = shared.upgrade() {
                let _ = shared.wake.notify();
            }
        });
        sub
    }

    /// Blocks (on a condvar, no polling) until process `id` is finished and returns its final
    /// state; `None` for an unknown id, or if the reaper thread is gone before it finished.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Exit, Supervisor};
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("quick", CommandSpec::shell("exit 3")).unwrap();
    /// assert_eq!(sup.wait(p.id()).unwrap().exit, Some(Exit::Code(3)));
    /// ```
    pub fn wait(&self, id: ProcId) -> Option<ProcessState> {
        let process = self.shared.processes.get(id)?;
        self.shared.wait_finished(&process).ok()
    }

    /// The message of the panic that ended the supervisor's reaper thread, if one did (a bug
    /// in procsnap). The supervisor is then out of service: spawns fail with that message, stops
    /// and waits return [`StopError::SupervisorGone`] at once, and dropping it leaves the
    /// watchdog to SIGKILL every group and tagged process.
    ///
    /// ```
    /// let sup = procsnap::Supervisor::new().unwrap();
    /// assert_eq!(sup.reaper_panic(), None);
    /// ```
    pub fn reaper_panic(&self) -> Option<String> {
        lock(&self.shared.reaper_panic).clone()
    }

    /// Whether the children are watched and signalled through pidfds (see
    /// [`SupervisorConfig::pidfds`]); `false` on a kernel without them, or when turned off.
    ///
    /// ```
    /// let sup = procsnap::Supervisor::new().unwrap();
    /// assert!(sup.uses_pidfds()); // Linux 5.4 or later, as here
    /// ```
    pub fn uses_pidfds(&self) -> bool {
        self.shared.pidfds
    }

    /// The pid of the watchdog process, if [`SupervisorConfig::watchdog`] is on.
    ///
    /// ```
    /// let sup = procsnap::Supervisor::new().unwrap();
    /// assert_eq!(sup.watchdog_pid(), None); // off unless asked for
    /// ```
    pub fn watchdog_pid(&self) -> Option<u32> {
        self.shared.watchdog.as_ref().map(|w| w.pid().as_u32())
    }
}

#[cfg(test)]
mod tests;
