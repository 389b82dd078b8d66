//! The library's error types: what failed, for which program or process, and the OS error.
//!
//! Each error prints its whole story once: `Display` includes the underlying OS error, and
//! `Error::source` is therefore `None` (a chain printer such as anyhow's would otherwise print
//! it twice). The OS error itself stays reachable ([`SpawnError::source`],
//! [`SpawnError::kind`]). [`RestartError`] is transparent: it displays as the error inside.

use std::error::Error;
use std::fmt;
use std::io;

use crate::ProcId;
use crate::state::Rejected;

/// A process could not be spawned. Names the failed operation and the program.
///
/// `op` is one of `"argv"`, `"env"`, `"cwd"` (a NUL byte in the spec), `"pipe"`,
/// `"posix_spawn_file_actions"`, `"posix_spawnattr"`, `"chdir"` (the working directory is
/// missing or not a directory), `"exec"` (missing or non-executable program), `"posix_spawn"`
/// (anything else, such as `EAGAIN`), `"pidfd_open"` or `"epoll_ctl"` (the child could not be
/// watched; it was killed and reaped again) or `"supervisor"` (its reaper thread is gone).
///
/// ```
/// use procsnap::SpawnError;
/// let e = SpawnError::new("exec", "no-such-tool", std::io::ErrorKind::NotFound.into());
/// assert_eq!(e.to_string(), "cannot spawn `no-such-tool`: exec: entity not found");
/// assert!(std::error::Error::source(&e).is_none()); // already in the message
/// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct SpawnError {
    /// The operation that failed.
    pub op: &'static str,
    /// The program that was to run, as text.
    pub program: String,
    /// The OS error.
    pub source: io::Error,
}

impl SpawnError {
    /// A spawn error for `program`.
    ///
    /// ```
    /// let e = procsnap::SpawnError::new("exec", "tool", std::io::ErrorKind::NotFound.into());
    /// assert_eq!((e.op, e.program.as_str()), ("exec", "tool"));
    /// ```
    pub fn new(op: &'static str, program: impl Into<String>, source: io::Error) -> SpawnError {
        SpawnError {
            op,
            program: program.into(),
            source,
        }
    }

    /// The OS error's kind (`NotFound` for a missing program or directory).
    ///
    /// ```
    /// let e = procsnap::SpawnError::new("chdir", "make", std::io::ErrorKind::NotFound.into());
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// The raw OS error number, if there is one.
    ///
    /// ```
    /// let os = std::io::Error::from_raw_os_error(libc::EACCES);
    /// let e = procsnap::SpawnError::new("exec", "/etc/passwd", os);
    /// assert_eq!(e.raw_os_error(), Some(libc::EACCES));
    /// ```
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot spawn `{}`: {}: {}",
            self.program, self.op, self.source
        )
    }
}

impl Error for SpawnError {}

/// [`Supervisor::stop`](crate::Supervisor::stop) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StopError {
    /// No process has this id.
    UnknownProcess(ProcId),
    /// The supervisor's reaper thread is gone (it panicked); the process's fate is unknown.
    SupervisorGone,
}

impl fmt::Display for StopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopError::UnknownProcess(id) => write!(f, "unknown process {id}"),
            StopError::SupervisorGone => f.write_str("the supervisor's reaper thread is gone"),
        }
    }
}

impl Error for StopError {}

/// [`Supervisor::signal`](crate::Supervisor::signal) sent nothing.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignalError {
    /// No process has this id.
    UnknownProcess(ProcId),
    /// The process's leader has exited (or never started): there is nobody to signal.
    NotRunning(ProcId),
    /// The system refused the signal.
    Os {
        /// Which process.
        id: ProcId,
        /// The OS error (`EPERM`: the program changed its credentials).
        source: io::Error,
    },
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalError::UnknownProcess(id) => write!(f, "unknown process {id}"),
            SignalError::NotRunning(id) => write!(f, "process {id} is not running"),
            SignalError::Os { id, source } => write!(f, "cannot signal process {id}: {source}"),
        }
    }
}

impl Error for SignalError {}

/// [`Registry::apply`](crate::Registry::apply) changed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApplyError {
    /// No process of this registry has this id.
    UnknownProcess(ProcId),
    /// The event does not apply to the process's current state.
    Rejected(Rejected),
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::UnknownProcess(id) => write!(f, "unknown process {id}"),
            ApplyError::Rejected(r) => r.fmt(f),
        }
    }
}

impl Error for ApplyError {}

/// [`Supervisor::restart`](crate::Supervisor::restart) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum RestartError {
    /// The old process could not be stopped (or the id is unknown).
    Stop(StopError),
    /// The new process could not be spawned (it is registered, `Failed`).
    Spawn(SpawnError),
}

/// Transparent: the error inside, as it is.
impl fmt::Display for RestartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartError::Stop(e) => e.fmt(f),
            RestartError::Spawn(e) => e.fmt(f),
        }
    }
}

impl Error for RestartError {}

impl From<StopError> for RestartError {
    fn from(e: StopError) -> RestartError {
        RestartError::Stop(e)
    }
}

impl From<SpawnError> for RestartError {
    fn from(e: SpawnError) -> RestartError {
        RestartError::Spawn(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a chain printer (anyhow's `{:#}`, say) shows: the message, then every source.
    fn chain(e: &dyn Error) -> String {
        let mut out = e.to_string();
        let mut next = e.source();
        while let Some(s) = next {
            out.push_str(": ");
            out.push_str(&s.to_string());
            next = s.source();
        }
        out
    }

    #[test]
    fn each_error_says_its_cause_once() {
        let spawn = || SpawnError::new("exec", "tool", io::ErrorKind::NotFound.into());
        let restart = RestartError::from(spawn());
        for (e, text) in [
            (
                &spawn() as &dyn Error,
                "cannot spawn `tool`: exec: entity not found",
            ),
            (&restart, "cannot spawn `tool`: exec: entity not found"),
            (
                &RestartError::from(StopError::SupervisorGone),
                "the supervisor's reaper thread is gone",
            ),
        ] {
            assert_eq!(chain(e), text);
        }
    }
}
