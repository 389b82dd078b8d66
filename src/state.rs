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

use std::fmt;
use std::time::{Duration, SystemTime};

/// Where a process is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
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

/// How a process ended: an exit code or a signal, never both collapsed into one number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Exit {
    /// The code passed to `exit`, for a normal exit.
    pub code: Option<i32>,
    /// The signal that killed the process, for a death by signal.
    pub signal: Option<i32>,
}

impl Exit {
    /// A normal exit with `code`.
    ///
    /// ```
    /// assert!(procsnap::Exit::code(0).success());
    /// ```
    pub const fn code(code: i32) -> Exit {
        Exit {
            code: Some(code),
            signal: None,
        }
    }

    /// A death by `signal`.
    ///
    /// ```
    /// assert!(!procsnap::Exit::signal(libc::SIGKILL).success());
    /// ```
    pub const fn signal(signal: i32) -> Exit {
        Exit {
            code: None,
            signal: Some(signal),
        }
    }

    /// True only for exit code 0.
    pub const fn success(self) -> bool {
        matches!(self.code, Some(0))
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(c), _) => write!(f, "exit code {c}"),
            (None, Some(s)) => write!(f, "signal {s}"),
            (None, None) => f.write_str("unknown exit"),
        }
    }
}

/// Something that happened to a process, fed to [`ProcessState::apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// An immutable snapshot of one process's state.
///
/// `Default` is a fresh `Pending` state: no pid, no times, no exit, version 0.
///
/// Invariants kept by [`apply`](Self::apply) (and checked by the fuzz target `apply_invariants`):
/// `pid` and `started_at` are set together, once; `ended_at` is set once, when the state becomes
/// terminal, and is never before `started_at`; `exit` is set exactly when a started process is
/// reaped; a terminal state never changes again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProcessState {
    /// Where the process is in its life.
    pub status: Status,
    /// The pid, once spawned. Also the id of the process group it leads.
    pub pid: Option<u32>,
    /// When it was spawned.
    pub started_at: Option<SystemTime>,
    /// When it became terminal.
    pub ended_at: Option<SystemTime>,
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
    pub const fn is_running(&self) -> bool {
        matches!(self.status, Status::Running)
    }

    /// True once the process is terminal.
    pub const fn is_finished(&self) -> bool {
        self.status.is_finished()
    }

    /// How long the process ran: until `ended_at`, or until now while it is not finished.
    /// `None` before it started.
    pub fn duration(&self) -> Option<Duration> {
        self.duration_at(SystemTime::now())
    }

    /// [`duration`](Self::duration) with an explicit "now", for callers that render many states
    /// at one instant. A clock that went backwards gives zero, never a panic.
    pub fn duration_at(&self, now: SystemTime) -> Option<Duration> {
        let start = self.started_at?;
        let end = self.ended_at.unwrap_or(now);
        Some(end.duration_since(start).unwrap_or(Duration::ZERO))
    }

    /// The seed's copy constructor: a copy with `status`, setting `ended_at` (once) when `status`
    /// is terminal. Unlike [`apply`](Self::apply) it does not check the transition.
    ///
    /// ```
    /// use procsnap::{ProcessState, Status};
    /// let s = ProcessState::default().with_status(Status::Stopped);
    /// assert!(s.is_finished() && s.ended_at.is_some());
    /// ```
    pub fn with_status(&self, status: Status) -> ProcessState {
        let mut next = *self;
        next.status = status;
        if status.is_finished() && next.ended_at.is_none() {
            next.ended_at = Some(self.clamp_end(SystemTime::now()));
        }
        next
    }

    /// The seed's copy constructor: a copy with `exit`, `Success` for code 0 and `Failed`
    /// otherwise, setting `ended_at` once.
    ///
    /// ```
    /// use procsnap::{Exit, ProcessState, Status};
    /// let s = ProcessState::default().with_exit(Exit::code(3));
    /// assert_eq!(s.status, Status::Failed);
    /// assert_eq!(s.exit, Some(Exit::code(3)));
    /// ```
    pub fn with_exit(&self, exit: Exit) -> ProcessState {
        let status = if exit.success() {
            Status::Success
        } else {
            Status::Failed
        };
        let mut next = self.with_status(status);
        next.exit = Some(exit);
        next
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
    /// ```
    /// use procsnap::{Event, Exit, ProcessState, Status};
    /// use std::time::SystemTime;
    ///
    /// let at = SystemTime::now();
    /// let s = ProcessState::default().apply(Event::Started { pid: 42, at }).unwrap();
    /// let s = s.apply(Event::StopRequested).unwrap();
    /// let s = s.apply(Event::Exited { exit: Exit::signal(15), at }).unwrap();
    /// assert_eq!(s.status, Status::Stopped);
    /// assert_eq!(s.exit, Some(Exit::signal(15)));
    /// assert!(s.apply(Event::StopRequested).is_err());
    /// ```
    pub fn apply(&self, event: Event) -> Result<ProcessState, Rejected> {
        let mut next = *self;
        match (self.status, event) {
            (Status::Pending, Event::Started { pid, at }) => {
                next.status = Status::Running;
                next.pid = Some(pid);
                next.started_at = Some(at);
            }
            (Status::Pending, Event::SpawnFailed { at }) => {
                next.status = Status::Failed;
                next.ended_at = Some(at);
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
    fn clamp_end(&self, at: SystemTime) -> SystemTime {
        match self.started_at {
            Some(start) if at < start => start,
            _ => at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn running() -> ProcessState {
        ProcessState::default()
            .apply(Event::Started { pid: 7, at: t(10) })
            .unwrap()
    }

    fn stopping() -> ProcessState {
        running().apply(Event::StopRequested).unwrap()
    }

    fn all_events() -> [Event; 5] {
        [
            Event::Started { pid: 9, at: t(20) },
            Event::SpawnFailed { at: t(20) },
            Event::StopRequested,
            Event::Exited {
                exit: Exit::code(0),
                at: t(20),
            },
            Event::Exited {
                exit: Exit::signal(9),
                at: t(20),
            },
        ]
    }

    #[test]
    fn default_is_fresh_pending() {
        let s = ProcessState::default();
        assert_eq!(s.status, Status::Pending);
        assert_eq!(
            (s.pid, s.started_at, s.ended_at, s.exit),
            (None, None, None, None)
        );
        assert_eq!((s.restarts, s.version), (0, 0));
        assert_eq!(s.duration(), None);
    }

    #[test]
    fn wire_strings() {
        let all = [
            Status::Pending,
            Status::Running,
            Status::Stopping,
            Status::Stopped,
            Status::Failed,
            Status::Success,
        ];
        let names: Vec<_> = all.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "pending", "running", "stopping", "stopped", "failed", "success"
            ]
        );
        let finished: Vec<_> = all.iter().map(|s| s.is_finished()).collect();
        assert_eq!(finished, [false, false, false, true, true, true]);
    }

    #[test]
    fn pending_started_is_running() {
        let s = running();
        assert_eq!(s.status, Status::Running);
        assert_eq!(s.pid, Some(7));
        assert_eq!(s.started_at, Some(t(10)));
        assert!(s.is_running() && !s.is_finished());
    }

    #[test]
    fn pending_spawn_failed_is_failed_without_exit() {
        let s = ProcessState::default()
            .apply(Event::SpawnFailed { at: t(3) })
            .unwrap();
        assert_eq!(s.status, Status::Failed);
        assert_eq!((s.exit, s.pid, s.ended_at), (None, None, Some(t(3))));
    }

    #[test]
    fn pending_rejects_stop_and_exit() {
        let p = ProcessState::default();
        for e in [
            Event::StopRequested,
            Event::Exited {
                exit: Exit::code(0),
                at: t(1),
            },
        ] {
            assert_eq!(
                p.apply(e),
                Err(Rejected {
                    status: Status::Pending,
                    event: e
                })
            );
        }
    }

    #[test]
    fn running_exit_zero_is_success() {
        let s = running()
            .apply(Event::Exited {
                exit: Exit::code(0),
                at: t(15),
            })
            .unwrap();
        assert_eq!(s.status, Status::Success);
        assert_eq!(s.exit, Some(Exit::code(0)));
        assert_eq!(s.duration(), Some(Duration::from_secs(5)));
    }

    #[test]
    fn running_nonzero_or_signal_is_failed_and_kept_apart() {
        let s = running()
            .apply(Event::Exited {
                exit: Exit::code(2),
                at: t(15),
            })
            .unwrap();
        assert_eq!((s.status, s.exit), (Status::Failed, Some(Exit::code(2))));
        let s = running()
            .apply(Event::Exited {
                exit: Exit::signal(9),
                at: t(15),
            })
            .unwrap();
        assert_eq!(s.status, Status::Failed);
        assert_eq!(
            s.exit,
            Some(Exit {
                code: None,
                signal: Some(9)
            })
        );
    }

    #[test]
    fn running_rejects_start_and_spawn_failed() {
        for e in [
            Event::Started { pid: 1, at: t(1) },
            Event::SpawnFailed { at: t(1) },
        ] {
            assert!(running().apply(e).is_err());
        }
    }

    #[test]
    fn running_stop_requested_is_stopping() {
        let s = stopping();
        assert_eq!(s.status, Status::Stopping);
        assert!(!s.is_running() && !s.is_finished());
        assert_eq!(s.ended_at, None);
    }

    /// brummer's e2: a requested stop must not be overwritten by "failed" at reap.
    #[test]
    fn stopping_exit_is_stopped_with_real_exit() {
        let s = stopping()
            .apply(Event::Exited {
                exit: Exit::signal(15),
                at: t(12),
            })
            .unwrap();
        assert_eq!(s.status, Status::Stopped);
        assert_eq!(s.exit, Some(Exit::signal(15)));
        let s = stopping()
            .apply(Event::Exited {
                exit: Exit::code(1),
                at: t(12),
            })
            .unwrap();
        assert_eq!((s.status, s.exit), (Status::Stopped, Some(Exit::code(1))));
    }

    #[test]
    fn stopping_rejects_everything_but_exit() {
        for e in &all_events()[..3] {
            assert!(stopping().apply(*e).is_err(), "{e:?}");
        }
    }

    #[test]
    fn terminal_states_are_absorbing() {
        let terminals = [
            running()
                .apply(Event::Exited {
                    exit: Exit::code(0),
                    at: t(11),
                })
                .unwrap(),
            running()
                .apply(Event::Exited {
                    exit: Exit::code(1),
                    at: t(11),
                })
                .unwrap(),
            stopping()
                .apply(Event::Exited {
                    exit: Exit::signal(15),
                    at: t(11),
                })
                .unwrap(),
            ProcessState::default()
                .apply(Event::SpawnFailed { at: t(11) })
                .unwrap(),
        ];
        for s in terminals {
            for e in all_events() {
                let r = s.apply(e).unwrap_err();
                assert_eq!(r.status, s.status);
                assert!(r.to_string().contains("does not apply"));
            }
        }
    }

    #[test]
    fn end_never_before_start() {
        let s = running()
            .apply(Event::Exited {
                exit: Exit::code(0),
                at: t(2),
            })
            .unwrap();
        assert_eq!(s.ended_at, Some(t(10)));
        assert_eq!(s.duration(), Some(Duration::ZERO));
    }

    #[test]
    fn apply_keeps_version_and_restarts() {
        let s = ProcessState {
            restarts: 3,
            version: 8,
            ..ProcessState::default()
        };
        let n = s.apply(Event::Started { pid: 1, at: t(1) }).unwrap();
        assert_eq!((n.restarts, n.version), (3, 8));
    }

    #[test]
    fn seed_copy_constructors() {
        let s = running().with_status(Status::Stopped);
        assert_eq!(s.status, Status::Stopped);
        let first_end = s.ended_at.unwrap();
        assert!(first_end >= t(10));
        let s = s.with_exit(Exit::code(0));
        assert_eq!((s.status, s.ended_at), (Status::Success, Some(first_end)));
        assert_eq!(running().with_status(Status::Stopping).ended_at, None);
    }

    #[test]
    fn exit_display() {
        assert_eq!(Exit::code(3).to_string(), "exit code 3");
        assert_eq!(Exit::signal(9).to_string(), "signal 9");
    }
}
