//! Signals to one process or one whole process group.
//!
//! The [`Pid`] argument is always positive, so these can never mean "every process" (`-1`) or
//! "the caller's own group" (`0`). Whether the pid or group is still *ours* is the caller's
//! business: the supervisor signals a pid only before it reaps it, and a group only while its
//! leader is unreaped or the group was last seen non-empty (see the supervisor's docs for the
//! remaining pid-reuse window).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::{Pid, cvt};

/// `kill(pid, signal)`.
pub fn kill(pid: Pid, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill takes plain integers; `pid` is positive, so it names one process.
    cvt(unsafe { libc::kill(pid.as_raw(), signal) }).map(drop)
}

/// `killpg(pgid, signal)`: `signal` to every process of the group `pgid`.
pub fn killpg(pgid: Pid, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: killpg takes plain integers; `pgid` is positive, so it names one group (never
    // the caller's own group, which killpg(0) would mean).
    cvt(unsafe { libc::killpg(pgid.as_raw(), signal) }).map(drop)
}

/// True while the group `pgid` has at least one process (a zombie counts until it is reaped).
///
/// `kill(-pgid, 0)` fails with `ESRCH` exactly when no process is left in the group; any other
/// answer (success, or `EPERM` for a member we may not signal) means someone is still there.
pub fn group_alive(pgid: Pid) -> bool {
    match killpg(pgid, 0) {
        Ok(()) => true,
        Err(e) => e.raw_os_error() != Some(libc::ESRCH),
    }
}

/// `pidfd_send_signal(pidfd, signal)`: `signal` to exactly the process `pidfd` was opened on.
/// Unlike `kill(pid)`, it can never reach another process that got the same number after the
/// first one was reaped: it then fails with `ESRCH`.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: SYS_pidfd_send_signal takes (int pidfd, int sig, siginfo_t *info, unsigned int
    // flags); a null `info` means "as kill(2) would send it"; `pidfd` is open.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    })
    .map(drop)
}
