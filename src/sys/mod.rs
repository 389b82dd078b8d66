//! The spawning layer's only `unsafe`: thin, safe wrappers over the Linux calls the
//! [`Supervisor`](crate::Supervisor) needs, on `libc` alone.
//!
//! # What is here and why
//!
//! - [`spawn()`] starts a child with `posix_spawn`/`posix_spawnp`. glibc implements
//!   it with `clone(CLONE_VM | CLONE_VFORK)`, so its cost does not grow with the parent's memory
//!   (a `fork` costs ~11 µs per MiB of touched parent memory on this kind of machine), and it runs
//!   no Rust code in the child: there is no `fork` and no `pre_exec` closure anywhere in this
//!   crate. The child leads its own process group (`POSIX_SPAWN_SETPGROUP`, pgroup 0), gets an
//!   empty signal mask and default dispositions for every catchable signal
//!   (`POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF`: a mask inherited from a supervisor that
//!   blocks SIGTERM would make the child deaf to our stop), stdin from `/dev/null`, stdout and
//!   stderr to fresh close-on-exec pipes. glibc reports a failed `exec` or `chdir` as the return
//!   value of `posix_spawn` and reaps the failed child itself, so no zombie is left.
//! - [`WaitStatus`] decodes a raw wait status with a pure, total function
//!   (a fuzz target), and [`waitpid_nohang`] waits for **one given pid**
//!   only. Nothing here calls `waitpid(-1)`: that steals the children of other code in the same
//!   process (a host's own `std::process::Command::status()` then fails with `ECHILD`).
//! - [`pidfd_open`] gives a file descriptor that becomes readable when the
//!   child exits, so one `epoll` thread can watch thousands of children; an exit that happens
//!   before anyone looks is not lost (the pidfd stays readable until the child is reaped).
//! - [`killpg`] and [`group_alive`] signal and probe a
//!   whole process group; they take a [`Pid`], which is never `0`, `-1` or negative, so a typo
//!   cannot turn into "signal every process I may signal".
//! - [`fd`] has the descriptor plumbing: close-on-exec pipes, socket pairs and memfds, non-blocking
//!   mode, `send` without `SIGPIPE`, `epoll` and `eventfd`.
//! - [`raise_nofile_limit`] raises the soft `RLIMIT_NOFILE` to the
//!   hard limit (three descriptors per live child: a pidfd and two pipes).
//!
//! # Conventions
//!
//! Every syscall result is converted at once (as std's unix code does) by [`cvt`] (`-1` and
//! `errno`), [`cvt_r`] (the same, retrying `EINTR`) or [`cvt_nz`] (functions such as
//! `posix_spawn*` that *return* an error number and leave `errno` alone). Every `unsafe` block
//! has a `// SAFETY:` comment naming the invariant it relies on. Functions here return
//! `io::Result`; only [`spawn()`] returns a [`SpawnError`](crate::SpawnError),
//! which names the failed operation and the program.

use std::io;

pub mod fd;
pub mod rlimit;
pub mod sigchld;
pub mod signal;
pub mod spawn;
pub mod wait;

pub use fd::{Epoll, EpollBuffer, EpollEvent, EventFd};
pub use rlimit::raise_nofile_limit;
pub use signal::{group_alive, kill, killpg, pidfd_send_signal};
pub use spawn::{Child, spawn, spawn_tagged};
pub use wait::{WaitStatus, check_pidfds, pidfd_open, reap_pidfd, wait_blocking, waitpid_nohang};

/// The kernel's architecture when this program runs under a user-mode emulator (qemu-user
/// runs an aarch64 test binary on an x86_64 kernel), or `None` on a machine of its own
/// architecture (a 32-bit x86 program on an x86_64 kernel included). Read from
/// `/proc/sys/kernel/arch`, which the emulator passes through unchanged; `None` where that
/// file is missing (before Linux 6.1). For tests that must tell an emulator's artefacts from
/// defects (qemu-user runs `vfork` as `fork`, for one).
///
/// ```
/// // On a machine of its own architecture, as here:
/// assert_eq!(procsnap::sys::emulated(), None);
/// ```
pub fn emulated() -> Option<String> {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/arch").ok()?;
    let kernel = kernel.trim();
    let ours = std::env::consts::ARCH;
    let native = ours == kernel
        || matches!(
            (ours, kernel),
            ("x86", "x86_64" | "i386" | "i686") | ("arm", "aarch64" | "armv7l" | "armv8l")
        );
    (!native).then(|| kernel.to_owned())
}

/// A process id that is known to be positive: it names exactly one process (or, as a group id,
/// exactly one process group), never "all processes" (`-1`) or "my own group" (`0`).
///
/// ```
/// use procsnap::sys::Pid;
/// assert!(Pid::from_raw(0).is_none() && Pid::from_raw(-1).is_none());
/// assert_eq!(Pid::from_raw(42).unwrap().as_raw(), 42);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(libc::pid_t);

impl Pid {
    /// `Some` for a positive pid, `None` for `0` and negative values.
    pub const fn from_raw(pid: libc::pid_t) -> Option<Pid> {
        if pid > 0 { Some(Pid(pid)) } else { None }
    }

    /// The raw, positive pid.
    pub const fn as_raw(self) -> libc::pid_t {
        self.0
    }

    /// The pid as the `u32` stored in [`ProcessState::pid`](crate::ProcessState::pid).
    pub const fn as_u32(self) -> u32 {
        self.0 as u32
    }

    /// The calling process's pid.
    pub fn this_process() -> Pid {
        Pid(std::process::id() as libc::pid_t)
    }
}

impl std::fmt::Display for Pid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Return values of syscalls that signal failure with `-1`.
pub trait IsMinusOne: Copy {
    /// True for the failure value `-1`.
    fn is_minus_one(self) -> bool;
}

macro_rules! impl_is_minus_one {
    ($($t:ty)*) => ($(impl IsMinusOne for $t {
        fn is_minus_one(self) -> bool {
            self == -1
        }
    })*)
}

impl_is_minus_one! { i32 i64 isize }

/// Converts a `-1`-and-`errno` result into an `io::Result`.
///
/// ```
/// use procsnap::sys::cvt;
/// assert_eq!(cvt(3i32).unwrap(), 3);
/// assert!(cvt(-1i32).is_err());
/// ```
pub fn cvt<T: IsMinusOne>(t: T) -> io::Result<T> {
    if t.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(t)
    }
}

/// Like [`cvt`], calling `f` again while it fails with `EINTR`.
pub fn cvt_r<T: IsMinusOne>(mut f: impl FnMut() -> T) -> io::Result<T> {
    loop {
        match cvt(f()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Converts the error number returned by functions such as `posix_spawn` (which do not set
/// `errno`) into an `io::Result`.
///
/// ```
/// use procsnap::sys::cvt_nz;
/// assert!(cvt_nz(0).is_ok());
/// assert_eq!(cvt_nz(libc::ENOENT).unwrap_err().raw_os_error(), Some(libc::ENOENT));
/// ```
pub fn cvt_nz(error: libc::c_int) -> io::Result<()> {
    if error == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvt_r_retries_eintr_only() {
        let mut calls = 0;
        let r = cvt_r(|| {
            calls += 1;
            if calls < 3 {
                // SAFETY: writing the thread-local errno is always allowed.
                unsafe { *libc::__errno_location() = libc::EINTR };
                -1i32
            } else {
                7
            }
        });
        assert_eq!((r.unwrap(), calls), (7, 3));
        // SAFETY: writing the thread-local errno is always allowed.
        let r = cvt_r(|| unsafe {
            *libc::__errno_location() = libc::EBADF;
            -1i64
        });
        assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn pid_rejects_non_positive() {
        assert_eq!(Pid::from_raw(i32::MIN), None);
        assert!(Pid::this_process().as_raw() > 0);
    }
}
