//! Waiting for one child at a time: a pure wait-status decoder, `waitpid(pid, WNOHANG)` for a
//! given pid (never `-1`), and `pidfd_open`.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{Pid, cvt, cvt_r};
use crate::Exit;

/// A decoded wait status, as `waitpid` reports it.
///
/// ```
/// use procsnap::sys::WaitStatus;
/// use procsnap::Exit;
/// assert_eq!(WaitStatus::from_raw(3 << 8), WaitStatus::Exited(3));
/// assert_eq!(WaitStatus::from_raw(9).exit(), Some(Exit::Signal(9)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitStatus {
    /// Exited normally with this code (0–255).
    Exited(i32),
    /// Killed by `signal`; `core_dumped` when it left a core file.
    Signaled {
        /// The signal number (1–127).
        signal: i32,
        /// True when the kernel wrote a core dump.
        core_dumped: bool,
    },
    /// Stopped by this signal (only reported with `WUNTRACED`).
    Stopped(i32),
    /// Resumed by `SIGCONT` (only reported with `WCONTINUED`).
    Continued,
}

impl WaitStatus {
    /// Decodes a raw status. Pure and total: every `i32` maps to exactly one variant, with
    /// the same answer as glibc's `WIFEXITED`/`WIFSIGNALED`/`WIFSTOPPED`/`WIFCONTINUED`
    /// (where both `WIFSTOPPED` and `WIFCONTINUED` hold, for `0xffff`, this says `Continued`).
    pub const fn from_raw(status: i32) -> WaitStatus {
        let low7 = status & 0x7f;
        if status == 0xffff {
            WaitStatus::Continued
        } else if low7 == 0 {
            WaitStatus::Exited((status >> 8) & 0xff)
        } else if low7 == 0x7f {
            // Only the low byte decides "stopped"; glibc's WIFSTOPPED looks at 0xff.
            if status & 0xff == 0x7f {
                WaitStatus::Stopped((status >> 8) & 0xff)
            } else {
                // 0xff low byte: low7 is 0x7f with the core bit set. glibc's WIFSIGNALED is
                // false and WIFSTOPPED is false; no kernel produces it. Call it a signal 127
                // with a core dump rather than inventing a fifth variant.
                WaitStatus::Signaled {
                    signal: 0x7f,
                    core_dumped: true,
                }
            }
        } else {
            WaitStatus::Signaled {
                signal: low7,
                core_dumped: status & 0x80 != 0,
            }
        }
    }

    /// How the process ended: `Some` for `Exited` and `Signaled`, `None` for a stop or
    /// continue (the process is still alive).
    pub const fn exit(self) -> Option<Exit> {
        match self {
            WaitStatus::Exited(code) => Some(Exit::Code(code)),
            WaitStatus::Signaled { signal, .. } => Some(Exit::Signal(signal)),
            WaitStatus::Stopped(_) | WaitStatus::Continued => None,
        }
    }
}

impl From<WaitStatus> for Option<Exit> {
    fn from(status: WaitStatus) -> Option<Exit> {
        status.exit()
    }
}

/// `waitpid(pid, WNOHANG)`: reaps `pid` if it has exited, `Ok(None)` if it is still running.
/// Only this pid: never `-1`, so other code's children are never stolen.
pub fn waitpid_nohang(pid: Pid) -> io::Result<Option<WaitStatus>> {
    let mut status = 0;
    // SAFETY: `status` is a valid, writable c_int for the duration of the call.
    let got = cvt_r(|| unsafe { libc::waitpid(pid.as_raw(), &mut status, libc::WNOHANG) })?;
    Ok((got != 0).then(|| WaitStatus::from_raw(status)))
}

/// `waitpid(pid, 0)`: blocks until `pid` exits and reaps it.
pub fn wait_blocking(pid: Pid) -> io::Result<WaitStatus> {
    let mut status = 0;
    // SAFETY: `status` is a valid, writable c_int for the duration of the call.
    cvt_r(|| unsafe { libc::waitpid(pid.as_raw(), &mut status, 0) })?;
    Ok(WaitStatus::from_raw(status))
}

/// `waitid(P_PIDFD, pidfd, WEXITED | WNOHANG)`: reaps exactly the process `pidfd` refers to if
/// it has exited and is our child. `Ok(true)` once reaped, `Ok(false)` while it runs; `ECHILD`
/// when it is not our child (its parent reaps it).
pub fn reap_pidfd(pidfd: BorrowedFd<'_>) -> io::Result<bool> {
    const P_PIDFD: libc::idtype_t = 3;
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: `info` is valid for writes of one siginfo_t; `pidfd` is open; no rusage.
    cvt_r(|| unsafe {
        libc::waitid(
            P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            info.as_mut_ptr(),
            libc::WEXITED | libc::WNOHANG,
        )
    })?;
    // SAFETY: zeroed above and written by a successful waitid; with WNOHANG, si_pid stays 0
    // when nothing was reaped.
    Ok(unsafe { info.assume_init().si_pid() } != 0)
}

/// Checks once that this kernel lets us use pidfds: `pidfd_open` (Linux 5.3) on our own pid and
/// `pidfd_send_signal` (5.1) of signal 0 through it. An error says what is missing: a kernel
/// too old, or a seccomp profile (some container runtimes) that refuses them.
pub fn check_pidfds() -> io::Result<()> {
    static CHECKED: std::sync::OnceLock<Result<(), (io::ErrorKind, String)>> =
        std::sync::OnceLock::new();
    let result = CHECKED.get_or_init(|| {
        let explain = |call: &str, e: io::Error| {
            (
                e.kind(),
                format!(
                    "{call} is not available ({e}): procsnap needs pidfds (Linux 5.4 or later, \
                     and a seccomp profile that allows pidfd_open and pidfd_send_signal)"
                ),
            )
        };
        let me = Pid::this_process();
        let fd = pidfd_open(me).map_err(|e| explain("pidfd_open", e))?;
        super::signal::pidfd_send_signal(fd.as_fd(), 0).map_err(|e| explain("pidfd_send_signal", e))
    });
    result
        .clone()
        .map_err(|(kind, msg)| io::Error::new(kind, msg))
}

/// `pidfd_open(pid, 0)`: a close-on-exec descriptor that becomes readable once `pid` exits
/// (and stays readable until it is reaped). Call it before reaping `pid`, or the pid may
/// already name another process.
pub fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
    // SAFETY: SYS_pidfd_open takes (pid_t, unsigned int flags) and returns a new fd or -1.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0u32) })?;
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_against_libc(status: i32) {
        let ws = WaitStatus::from_raw(status);
        match ws {
            WaitStatus::Exited(code) => {
                assert!(libc::WIFEXITED(status), "{status:#x}");
                assert_eq!(code, libc::WEXITSTATUS(status));
            }
            WaitStatus::Signaled {
                signal,
                core_dumped,
            } if status & 0xff != 0xff => {
                assert!(libc::WIFSIGNALED(status), "{status:#x}");
                assert_eq!(signal, libc::WTERMSIG(status));
                assert_eq!(core_dumped, libc::WCOREDUMP(status));
            }
            WaitStatus::Signaled { .. } => {
                assert!(!libc::WIFEXITED(status) && !libc::WIFSTOPPED(status));
            }
            WaitStatus::Stopped(sig) => {
                assert!(libc::WIFSTOPPED(status), "{status:#x}");
                assert_eq!(sig, libc::WSTOPSIG(status));
            }
            WaitStatus::Continued => assert!(libc::WIFCONTINUED(status)),
        }
    }

    #[test]
    fn decoder_agrees_with_libc_macros_on_every_16_bit_status() {
        for status in 0..=0xffff {
            check_against_libc(status);
        }
        for status in [i32::MIN, -1, 0x1_0000, 0x7fff_ff7f, 0x0001_0009] {
            let _ = WaitStatus::from_raw(status); // total: no panic
        }
    }

    #[test]
    fn exit_keeps_code_and_signal_apart() {
        assert_eq!(WaitStatus::from_raw(0).exit(), Some(Exit::Code(0)));
        assert_eq!(WaitStatus::from_raw(255 << 8).exit(), Some(Exit::Code(255)));
        let killed = WaitStatus::from_raw(libc::SIGKILL);
        assert_eq!(
            killed,
            WaitStatus::Signaled {
                signal: libc::SIGKILL,
                core_dumped: false
            }
        );
        assert_eq!(killed.exit(), Some(Exit::Signal(libc::SIGKILL)));
        let core = WaitStatus::from_raw(libc::SIGSEGV | 0x80);
        assert_eq!(
            core,
            WaitStatus::Signaled {
                signal: libc::SIGSEGV,
                core_dumped: true
            }
        );
        assert_eq!(
            WaitStatus::from_raw((libc::SIGSTOP << 8) | 0x7f).exit(),
            None
        );
        assert_eq!(Option::<Exit>::from(WaitStatus::Continued), None);
    }
}
