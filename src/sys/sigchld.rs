//! SIGCHLD as an eventfd: how a supervisor without pidfds learns that a child may have exited.
//!
//! A handler is installed once per process (the first time a supervisor asks), and chained: the
//! handler that was there before runs after ours, as it would have without us. Each listener is
//! an eventfd registered in a fixed table of [`SLOTS`]; the handler writes to every registered
//! one (an eventfd write is async-signal-safe) and does nothing else. The reaper then calls
//! `waitpid(pid, WNOHANG)` for each of its own children, never `waitpid(-1)`.
//!
//! Where the host ignores SIGCHLD (`SIG_IGN`, or `SA_NOCLDWAIT`) the kernel reaps every child by
//! itself, the host's included: installing a handler would leave the host's children as
//! zombies, so nothing is installed and [`listen`] says so (the caller then polls).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

use super::cvt;

/// How many listeners the handler can wake at once; a supervisor that finds the table full
/// polls instead.
pub const SLOTS: usize = 64;

/// The listeners' eventfds, `-1` for a free slot.
static FDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];

/// Whether our handler is installed (`None` until the first [`listen`]).
static INSTALL: Mutex<Option<Installed>> = Mutex::new(None);

#[derive(Clone, Copy)]
enum Installed {
    /// Our handler runs, then the previous one.
    Ours,
    /// The host ignores SIGCHLD: nothing installed.
    Ignored,
}

/// The disposition before ours (`sa_sigaction` as the kernel had it: `SIG_DFL`, a plain
/// handler or an `SA_SIGINFO` one), written once before our handler is installed and only
/// read by it: a signal handler cannot take a lock.
static PREVIOUS_ACTION: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);
static PREVIOUS_SIGINFO: AtomicBool = AtomicBool::new(false);

/// A registered listener: its slot is freed on drop.
#[derive(Debug)]
pub struct Listener {
    slot: usize,
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Release: pairs with nothing in particular; the handler only ever writes to a valid
        // or a stale-but-open fd, see `listen`.
        FDS[self.slot].store(-1, Ordering::Release);
    }
}

/// Makes SIGCHLD wake `fd` (an eventfd the caller keeps open for as long as the returned
/// [`Listener`] lives, and drops after it). `Ok(None)` when there is no way: the host ignores
/// SIGCHLD, or every slot is taken; the caller must poll then.
///
/// # Errors
///
/// The OS error of `sigaction`.
pub fn listen(fd: BorrowedFd<'_>) -> io::Result<Option<Listener>> {
    if matches!(install()?, Installed::Ignored) {
        return Ok(None);
    }
    let raw: RawFd = fd.as_raw_fd();
    for (slot, cell) in FDS.iter().enumerate() {
        // AcqRel: the slot is taken by exactly one listener; the handler's Acquire load sees
        // the fd.
        if cell
            .compare_exchange(-1, raw, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return Ok(Some(Listener { slot }));
        }
    }
    Ok(None)
}

/// Installs our handler once (or finds that SIGCHLD is ignored).
fn install() -> io::Result<Installed> {
    let mut installed = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = *installed {
        return Ok(i);
    }
    // SAFETY: an all-zero `sigaction` is a valid value (no handler, empty mask, no flags).
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: reading the current disposition; `old` is valid for writes.
    cvt(unsafe { libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old) })?;
    if old.sa_sigaction == libc::SIG_IGN || old.sa_flags & libc::SA_NOCLDWAIT != 0 {
        *installed = Some(Installed::Ignored);
        return Ok(Installed::Ignored);
    }
    // Relaxed: the `sigaction` call below is a syscall, after which the handler can run; the
    // kernel's signal delivery orders these stores before any run of it on any thread.
    PREVIOUS_ACTION.store(old.sa_sigaction, Ordering::Relaxed);
    PREVIOUS_SIGINFO.store(old.sa_flags & libc::SA_SIGINFO != 0, Ordering::Relaxed);
    // SAFETY: an all-zero `sigaction` is a valid value; the fields are set below.
    let mut ours: libc::sigaction = unsafe { std::mem::zeroed() };
    ours.sa_sigaction = on_sigchld as *const () as libc::sighandler_t;
    // SA_RESTART: interrupted syscalls of the host restart, as with no handler at all. The
    // previous handler's mask is kept, so it runs with the signals blocked it expects.
    ours.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | (old.sa_flags & libc::SA_ONSTACK);
    ours.sa_mask = old.sa_mask;
    // SAFETY: `ours` is a valid disposition whose handler is an `extern "C"` function of the
    // SA_SIGINFO signature that lives for the whole program.
    cvt(unsafe { libc::sigaction(libc::SIGCHLD, &ours, std::ptr::null_mut()) })?;
    *installed = Some(Installed::Ours);
    Ok(Installed::Ours)
}

/// The handler: a write to each listener's eventfd, then the previous handler. Only
/// async-signal-safe calls (`write`), and `errno` is left as it was found.
extern "C" fn on_sigchld(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: `__errno_location` returns this thread's errno, valid for the thread's life.
    let errno = unsafe { *libc::__errno_location() };
    let one = 1u64.to_ne_bytes();
    for cell in &FDS {
        // Acquire: pairs with the AcqRel CAS in `listen`.
        let fd = cell.load(Ordering::Acquire);
        if fd >= 0 {
            // A slot freed concurrently may hold an fd closed and reused by then; the
            // listener's owner drops the `Listener` (freeing the slot) before closing the
            // eventfd, so a write to a reused number needs a signal delivered in that instant,
            // and writes 8 bytes to whatever it is.
            // SAFETY: `one` is valid for reads of 8 bytes; `fd` is a listener's eventfd (a
            // write to it cannot block: it is non-blocking, and a saturated counter is
            // readable anyway), or the reused number described above.
            let _ = unsafe { libc::write(fd, one.as_ptr().cast(), 8) };
        }
    }
    // Relaxed: see `install`.
    let action = PREVIOUS_ACTION.load(Ordering::Relaxed);
    if action != libc::SIG_DFL && action != libc::SIG_IGN {
        if PREVIOUS_SIGINFO.load(Ordering::Relaxed) {
            // SAFETY: the previous disposition had SA_SIGINFO, so `action` is a handler of this
            // signature, installed by the host for the program's life.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(action) };
            f(sig, info, ctx);
        } else {
            // SAFETY: without SA_SIGINFO, `action` is a plain `void (*)(int)` handler.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(action) };
            f(sig);
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CommandSpec;
    use crate::sys::{EventFd, spawn, wait_blocking};
    use std::os::fd::AsFd;

    /// A child's exit makes a listener's eventfd readable; a dropped listener's slot is free.
    #[test]
    fn a_child_exit_wakes_a_listener() {
        let efd = EventFd::new().unwrap();
        let listener = listen(efd.as_fd())
            .unwrap()
            .expect("SIGCHLD is not ignored here");
        let child = spawn(&CommandSpec::new("true")).unwrap();
        let start = std::time::Instant::now();
        while efd.drain().unwrap() == 0 {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "never woken"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        wait_blocking(child.pid).unwrap();
        let slot = listener.slot;
        drop(listener);
        assert_eq!(FDS[slot].load(Ordering::Acquire), -1);
    }
}
