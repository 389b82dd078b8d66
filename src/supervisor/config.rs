//! [`SupervisorConfig`]: how a supervisor is tuned, and what it may change process-wide.

use std::time::Duration;

#[cfg(doc)]
use super::Supervisor;

/// How a [`Supervisor`] is tuned.
///
/// The default changes nothing process-wide: no resource limit is raised and no watchdog
/// process is started. A program whose job is supervising (the `procsnap` binary) turns both on:
///
/// ```
/// use procsnap::{Supervisor, SupervisorConfig};
///
/// let cfg = SupervisorConfig::default()
///     .watchdog(true) // nothing left running even if this process is SIGKILLed
///     .raise_nofile(true); // thousands of children: three descriptors each
/// let sup = Supervisor::with_config(cfg).unwrap();
/// assert!(sup.watchdog_pid().is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SupervisorConfig {
    /// Output kept per process, in bytes (default 1 MiB).
    pub log_bytes: usize,
    /// Undelivered events kept per subscriber (default 65536); older ones are dropped. At least
    /// 1: [`Supervisor::with_config`] refuses 0.
    pub event_capacity: usize,
    /// How long the leftovers of a group whose leader exited get between SIGTERM and SIGKILL,
    /// and the grace of [`Supervisor::stop_all`] on drop (default 5 s). Every grace is capped
    /// at one year.
    pub grace: Duration,
    /// Start a watchdog process that SIGKILLs every group and tagged process this supervisor
    /// started if the host process dies without dropping the supervisor, even by SIGKILL: a
    /// `/bin/sh` (then `awk` and `grep`) that sleeps in `read` on a socket only we hold, and
    /// acts when it reads end of file. Default: off (it is one more child of the host).
    pub watchdog: bool,
    /// Raise this process's soft `RLIMIT_NOFILE` to its hard limit, once (each live child costs
    /// three descriptors). Default: off (the limit belongs to the host).
    pub raise_nofile: bool,
    /// Watch and signal the children through pidfds where the kernel has them (default: on).
    /// Off, or on a kernel (or seccomp profile) without them, the supervisor falls back to
    /// SIGCHLD and a `waitpid` per child of its own; see "Without pidfds" in the
    /// [`Supervisor`] docs for what differs.
    pub pidfds: bool,
}

impl Default for SupervisorConfig {
    fn default() -> SupervisorConfig {
        SupervisorConfig {
            log_bytes: crate::registry::DEFAULT_LOG_BYTES,
            event_capacity: 65536,
            grace: Duration::from_secs(5),
            watchdog: false,
            raise_nofile: false,
            pidfds: true,
        }
    }
}

impl SupervisorConfig {
    /// `InvalidInput`, naming the setting, for a configuration a supervisor cannot work with
    /// (checked by [`Supervisor::with_config`], before anything starts).
    pub(super) fn check(&self) -> std::io::Result<()> {
        if self.event_capacity == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "SupervisorConfig::event_capacity must be at least 1 (each subscriber keeps \
                 that many undelivered events)",
            ));
        }
        Ok(())
    }

    /// With [`log_bytes`](Self::log_bytes) set.
    ///
    /// ```
    /// let cfg = procsnap::SupervisorConfig::default().log_bytes(64 * 1024);
    /// assert_eq!(cfg.log_bytes, 64 * 1024);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn log_bytes(mut self, bytes: usize) -> SupervisorConfig {
        self.log_bytes = bytes;
        self
    }

    /// With [`event_capacity`](Self::event_capacity) set.
    ///
    /// ```
    /// let cfg = procsnap::SupervisorConfig::default().event_capacity(16);
    /// assert_eq!(cfg.event_capacity, 16);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn event_capacity(mut self, events: usize) -> SupervisorConfig {
        self.event_capacity = events;
        self
    }

    /// With [`grace`](Self::grace) set.
    ///
    /// ```
    /// let cfg = procsnap::SupervisorConfig::default().grace(std::time::Duration::from_secs(2));
    /// assert_eq!(cfg.grace.as_secs(), 2);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn grace(mut self, grace: Duration) -> SupervisorConfig {
        self.grace = grace;
        self
    }

    /// With [`watchdog`](Self::watchdog) set.
    ///
    /// ```
    /// assert!(procsnap::SupervisorConfig::default().watchdog(true).watchdog);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn watchdog(mut self, on: bool) -> SupervisorConfig {
        self.watchdog = on;
        self
    }

    /// With [`raise_nofile`](Self::raise_nofile) set.
    ///
    /// ```
    /// assert!(!procsnap::SupervisorConfig::default().raise_nofile);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn raise_nofile(mut self, on: bool) -> SupervisorConfig {
        self.raise_nofile = on;
        self
    }

    /// With [`pidfds`](Self::pidfds) set: `false` forces the SIGCHLD fallback.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Supervisor, SupervisorConfig};
    /// let sup = Supervisor::with_config(SupervisorConfig::default().pidfds(false)).unwrap();
    /// assert!(!sup.uses_pidfds());
    /// let p = sup.spawn("quick", CommandSpec::shell("exit 4")).unwrap();
    /// assert_eq!(sup.wait(p.id()).unwrap().exit, Some(procsnap::Exit::Code(4)));
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn pidfds(mut self, on: bool) -> SupervisorConfig {
        self.pidfds = on;
        self
    }
}
