//! The snapshot a [`StateCell`](crate::StateCell) swaps, and the lifecycle as one pure function.
//!
//! A [`ProcessState`] is small, `Copy` and holds no heap data, so a reader copies it out of the
//! cell with no allocation. Identity (name, command, environment) never changes and lives beside
//! the cell in [`Process`](crate::Process), not in the snapshot.
//!
//! Every change of a process's life goes through [`ProcessState::apply`]:
//!
//! ```text
//!             Started              StopRequested            Exited
//!  Pending ───────────► Running ─────────────────► Stopping ───────► Stopped (exit kept)
//!     │                    │
//!     │ SpawnFailed        │ Exited
//!     ▼                    ▼
//!   Failed         Success (code 0) / Failed (non-zero code or signal)
//! ```
//!
//! Terminal states (`Stopped`, `Failed`, `Success`) are absorbing: every event applied to them is
//! [`Rejected`]. A restart is a new process with `restarts + 1`, never a resurrected one, so a
//! reader that saw a process finish can rely on it staying finished.

mod time;

pub use time::Timestamp;

use std::fmt;
use std::time::{Duration, SystemTime};

/// Where a process is in its life.
///
/// Non-exhaustive: a later version may add states (say, a process waiting for its
/// dependencies); match with a wildcard arm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Reserved or about to be spawned; no pid yet.
    #[default]
    Pending,
    /// Spawned and not yet reaped.
    Running,
    /// A stop was requested (the group got SIGTERM); not yet reaped.
    Stopping,
    /// Reaped after a stop was requested. Terminal.
    Stopped,
    /// Exited with a non-zero code, died by a signal nobody asked for, or could not be spawned.
    /// Terminal.
    Failed,
    /// Exited with code 0 without being asked to stop. Terminal.
    Success,
}

impl Status {
    /// The wire string used by the MCP tools: `"pending"`, `"running"`, `"stopping"`,
    /// `"stopped"`, `"failed"` or `"success"`.
    ///
    /// ```
    /// assert_eq!(procsnap::Status::Stopping.as_str(), "stopping");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Running => "running",
            Status::Stopping => "stopping",
            Status::Stopped => "stopped",
            Status::Failed => "failed",
            Status::Success => "success",
        }
    }

    /// The status whose [`as_str`](Self::as_str) is `s` (for a client reading the wire
    /// strings back); `None` for any other text.
    ///
    /// ```
    /// use procsnap::Status;
    /// assert_eq!(Status::parse("stopping"), Some(Status::Stopping));
    /// assert_eq!(Status::parse("Stopping"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "pending" => Status::Pending,
            "running" => Status::Running,
            "stopping" => Status::Stopping,
            "stopped" => Status::Stopped,
            "failed" => Status::Failed,
            "success" => Status::Success,
            _ => return None,
        })
    }

    /// True for the terminal states `Stopped`, `Failed` and `Success`.
    ///
    /// ```
    /// use procsnap::Status;
    /// assert!(Status::Failed.is_finished());
    /// assert!(!Status::Stopping.is_finished());
    /// ```
    pub const fn is_finished(self) -> bool {
        matches!(self, Status::Stopped | Status::Failed | Status::Success)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a process ended: an exit code or a signal, never collapsed into one number; or, said
/// explicitly, that nobody knows.
///
/// 8 bytes, and `Option<Exit>` too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Exit {
    /// A normal exit with this code (the value passed to `exit`, 0 to 255).
    Code(i32),
    /// Death by this signal. For a process that was stopped, the signal that ended it: the
    /// leader's, or SIGKILL when members of its group outlived the leader and had to be killed.
    Signal(i32),
    /// The process ended, but its status could not be read: other code of the program reaped
    /// it first (a `waitpid(-1)` in the host), or it was given up on after its SIGKILL (stuck in
    /// uninterruptible sleep).
    Unknown,
}

impl Exit {
    /// The exit code, for a normal exit.
    ///
    /// ```
    /// use procsnap::Exit;
    /// assert_eq!(Exit::Code(3).code(), Some(3));
    /// assert_eq!(Exit::Signal(9).code(), None);
    /// ```
    pub const fn code(self) -> Option<i32> {
        match self {
            Exit::Code(c) => Some(c),
            _ => None,
        }
    }

    /// The signal, for a death by signal.
    ///
    /// ```
    /// use procsnap::Exit;
    /// assert_eq!(Exit::Signal(libc::SIGKILL).signal(), Some(9));
    /// assert_eq!(Exit::Unknown.signal(), None);
    /// ```
    pub const fn signal(self) -> Option<i32> {
        match self {
            Exit::Signal(s) => Some(s),
            _ => None,
        }
    }

    /// True only for exit code 0.
    ///
    /// ```
    /// use procsnap::Exit;
    /// assert!(Exit::Code(0).success());
    /// assert!(!Exit::Code(1).success() && !Exit::Signal(15).success() && !Exit::Unknown.success());
    /// ```
    pub const fn success(self) -> bool {
        matches!(self, Exit::Code(0))
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => write!(f, "signal {s}"),
            Exit::Unknown => f.write_str("unknown exit status"),
        }
    }
}

/// Something that happened to a process, fed to [`ProcessState::apply`].
///
/// Non-exhaustive: later versions may add events; match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The process was spawned with `pid` at `at`.
    Started {
        /// The child's pid (also its process-group id).
        pid: u32,
        /// When the spawn returned.
        at: SystemTime,
    },
    /// The process could not be spawned (missing binary, bad cwd, …).
    SpawnFailed {
        /// When the spawn failed.
        at: SystemTime,
    },
    /// Somebody asked the process to stop; the group is about to get SIGTERM.
    StopRequested,
    /// The process was reaped.
    Exited {
        /// Its exit code or signal.
        exit: Exit,
        /// When it was reaped.
        at: SystemTime,
    },
}

impl Event {
    /// The event's name, for messages.
    ///
    /// ```
    /// assert_eq!(procsnap::Event::StopRequested.name(), "StopRequested");
    /// ```
    pub const fn name(&self) -> &'static str {
        match self {
            Event::Started { .. } => "Started",
            Event::SpawnFailed { .. } => "SpawnFailed",
            Event::StopRequested => "StopRequested",
            Event::Exited { .. } => "Exited",
        }
    }
}

/// An [`Event`] that does not apply to the current state: the state is left as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The status the event was applied to.
    pub status: Status,
    /// The event that was refused.
    pub event: Event,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} does not apply to a {} process",
            self.event.name(),
            self.status
        )
    }
}

impl std::error::Error for Rejected {}

/// An immutable snapshot of one process's state: 48 bytes, `Copy`, no heap data.
///
/// `Default` is a fresh `Pending` state: no pid, no times, no exit, version 0.
///
/// Invariants kept by [`apply`](Self::apply) (and checked by the fuzz target `apply_invariants`):
/// `pid` and `started_at` are set together, once; `ended_at` is set once, when the state becomes
/// terminal, and is never before `started_at`; `exit` is set exactly when a started process is
/// reaped; a terminal state never changes again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ProcessState {
    /// Where the process is in its life.
    pub status: Status,
    /// The pid, once spawned. Also the id of the process group it leads.
    pub pid: Option<u32>,
    /// When it was spawned.
    pub started_at: Option<Timestamp>,
    /// When it became terminal.
    pub ended_at: Option<Timestamp>,
    /// How it ended, once reaped.
    pub exit: Option<Exit>,
    /// How many times this process's name was restarted before this process.
    pub restarts: u32,
    /// The number of successful [`StateCell::update`](crate::StateCell::update)s this state has
    /// been through. Set by the cell, never by the caller.
    pub version: u64,
}

impl ProcessState {
    /// True while the process is `Running` (a `Stopping` process is on its way out).
    ///
    /// ```
    /// use procsnap::{Event, ProcessState};
    /// let s = ProcessState::default().apply(Event::Started { pid: 1, at: std::time::SystemTime::now() }).unwrap();
    /// assert!(s.is_running());
    /// assert!(!s.apply(Event::StopRequested).unwrap().is_running()); // stopping
    /// ```
    pub const fn is_running(&self) -> bool {
        matches!(self.status, Status::Running)
    }

    /// True once the process is terminal.
    ///
    /// ```
    /// use procsnap::{Event, ProcessState};
    /// let failed = ProcessState::default().apply(Event::SpawnFailed { at: std::time::SystemTime::now() }).unwrap();
    /// assert!(failed.is_finished() && !ProcessState::default().is_finished());
    /// ```
    pub const fn is_finished(&self) -> bool {
        self.status.is_finished()
    }

    /// How long the process ran: until `ended_at`, or until now while it is not finished.
    /// `None` before it started.
    ///
    /// ```
    /// use procsnap::{Event, ProcessState};
    /// assert_eq!(ProcessState::default().duration(), None); // never started
    /// let s = ProcessState::default().apply(Event::Started { pid: 1, at: std::time::SystemTime::now() }).unwrap();
    /// assert!(s.duration().is_some());
    /// ```
    pub fn duration(&self) -> Option<Duration> {
        self.duration_at(SystemTime::now())
    }

    /// [`duration`](Self::duration) with an explicit "now", for callers that render many states
    /// at one instant. A clock that went backwards gives zero, never a panic.
    ///
    /// ```
    /// use procsnap::{Event, ProcessState};
    /// use std::time::{Duration, SystemTime};
    /// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
    /// let s = ProcessState::default().apply(Event::Started { pid: 1, at: start }).unwrap();
    /// assert_eq!(s.duration_at(start + Duration::from_secs(5)), Some(Duration::from_secs(5)));
    /// assert_eq!(s.duration_at(start - Duration::from_secs(5)), Some(Duration::ZERO)); // clock went back
    /// ```
    pub fn duration_at(&self, now: SystemTime) -> Option<Duration> {
        let start = self.started_at?;
        let end = self.ended_at.unwrap_or_else(|| Timestamp::from(now));
        Some(end.duration_since(start))
    }

    /// Applies `event` to this state: the whole lifecycle in one pure function.
    ///
    /// | from \ event | `Started` | `SpawnFailed` | `StopRequested` | `Exited` |
    /// |---|---|---|---|---|
    /// | `Pending` | `Running` | `Failed` | rejected | rejected |
    /// | `Running` | rejected | rejected | `Stopping` | `Success` / `Failed` |
    /// | `Stopping` | rejected | rejected | rejected | `Stopped`, exit kept |
    /// | terminal | rejected | rejected | rejected | rejected |
    ///
    /// The returned state keeps this state's `version`; the cell sets the next one.
    ///
    /// # Errors
    ///
    /// [`Rejected`] when `event` does not apply to this state (the table above).
    ///
    /// ```
    /// use procsnap::{Event, Exit, ProcessState, Status};
    /// use std::time::SystemTime;
    ///
    /// let at = SystemTime::now();
    /// let s = ProcessState::default().apply(Event::Started { pid: 42, at }).unwrap();
    /// let s = s.apply(Event::StopRequested).unwrap();
    /// let s = s.apply(Event::Exited { exit: Exit::Signal(15), at }).unwrap();
    /// assert_eq!(s.status, Status::Stopped);
    /// assert_eq!(s.exit, Some(Exit::Signal(15)));
    /// assert!(s.apply(Event::StopRequested).is_err());
    /// ```
    pub fn apply(&self, event: Event) -> Result<ProcessState, Rejected> {
        let mut next = *self;
        match (self.status, event) {
            (Status::Pending, Event::Started { pid, at }) => {
                next.status = Status::Running;
                next.pid = Some(pid);
                next.started_at = Some(at.into());
            }
            (Status::Pending, Event::SpawnFailed { at }) => {
                next.status = Status::Failed;
                next.ended_at = Some(at.into());
            }
            (Status::Running, Event::StopRequested) => next.status = Status::Stopping,
            (Status::Running, Event::Exited { exit, at }) => {
                next.status = if exit.success() {
                    Status::Success
                } else {
                    Status::Failed
                };
                next.exit = Some(exit);
                next.ended_at = Some(self.clamp_end(at));
            }
            (Status::Stopping, Event::Exited { exit, at }) => {
                next.status = Status::Stopped;
                next.exit = Some(exit);
                next.ended_at = Some(self.clamp_end(at));
            }
            (status, event) => return Err(Rejected { status, event }),
        }
        Ok(next)
    }

    /// An end time never earlier than the start (wall clocks can step backwards).
    fn clamp_end(&self, at: SystemTime) -> Timestamp {
        let at = Timestamp::from(at);
        match self.started_at {
            Some(start) if at < start => start,
            _ => at,
        }
    }
}

#[cfg(test)]
mod tests;
