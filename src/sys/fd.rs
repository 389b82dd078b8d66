//! Descriptor plumbing: close-on-exec pipes, socket pairs and memfds, non-blocking mode, `send`
//! without `SIGPIPE`, `epoll` and `eventfd`.
//!
//! Every descriptor made here is close-on-exec from birth (`O_CLOEXEC`/`SOCK_CLOEXEC`/
//! `EPOLL_CLOEXEC`/`EFD_CLOEXEC`/`MFD_CLOEXEC`), so a child spawned concurrently by any thread never
//! inherits one: a leaked pipe write end would hide EOF, a leaked watchdog socket would keep
//! the watchdog from noticing our death.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{cvt, cvt_r};

/// `pipe2(O_CLOEXEC)`: `(read end, write end)`, both blocking.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a writable array of two c_ints, as pipe2 requires.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both fds are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`.
pub fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a writable array of two c_ints, as socketpair requires.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: socketpair succeeded, so both fds are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `memfd_create(name, MFD_CLOEXEC)`: an anonymous, growable file in memory (shmem), gone
/// when the last descriptor of it is closed.
pub fn memfd(name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call; the call
    // returns a new fd or -1.
    let fd = cvt(unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) })?;
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets or clears `O_NONBLOCK` on `fd` (one open file description: the other end of a pipe
/// is not affected).
pub fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    // SAFETY: F_GETFL on a borrowed, open fd takes no pointer.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let new = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new != flags {
        // SAFETY: F_SETFL on a borrowed, open fd takes an int, no pointer.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, new) })?;
    }
    Ok(())
}

/// Writes all of `buf` to the socket `fd` with `MSG_NOSIGNAL`: a closed peer gives `EPIPE`,
/// never a `SIGPIPE` that would kill a host process that left the default disposition.
pub fn send_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the duration of the call.
        let n = cvt_r(|| unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        })?;
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// `read(2)` into `buf`, retrying `EINTR`. `Ok(0)` is end of file; a non-blocking descriptor
/// with nothing to read gives `ErrorKind::WouldBlock`.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the duration of the call.
    let n = cvt_r(|| unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })?;
    Ok(n as usize)
}

/// One readiness report from [`Epoll::wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpollEvent {
    /// The `EPOLL*` bits that are ready.
    pub events: u32,
    /// The token given to [`Epoll::add`].
    pub token: u64,
}

/// Readable (`EPOLLIN`).
pub const READABLE: u32 = libc::EPOLLIN as u32;
/// The peer hung up (`EPOLLHUP`); always reported.
pub const HANGUP: u32 = libc::EPOLLHUP as u32;
/// An error condition (`EPOLLERR`); always reported.
pub const ERROR: u32 = libc::EPOLLERR as u32;

/// An `epoll` instance, level-triggered. `add` and `delete` take `&self`, so any thread may
/// register descriptors while another waits.
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

/// Room for the events one [`Epoll::wait`] reports.
#[derive(Debug)]
pub struct EpollBuffer(Vec<libc::epoll_event>);

impl EpollBuffer {
    /// Room for `batch` events (at least one).
    pub fn new(batch: usize) -> EpollBuffer {
        let empty = libc::epoll_event { events: 0, u64: 0 };
        EpollBuffer(vec![empty; batch.max(1)])
    }
}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`.
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes a flag and returns a new fd or -1.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: the kernel just returned this fd; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll { fd })
    }

    /// Watches `fd` for `events` (`READABLE`; hang-ups and errors are always reported),
    /// reporting `token` with each readiness.
    pub fn add(&self, fd: BorrowedFd<'_>, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: both fds are open; `ev` is a valid epoll_event the kernel only reads.
        cvt(unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut ev,
            )
        })
        .map(drop)
    }

    /// Stops watching `fd` (closing it does the same, once no duplicate is left).
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        // SAFETY: both fds are open; EPOLL_CTL_DEL ignores the event pointer (null allowed
        // since Linux 2.6.9).
        cvt(unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd.as_raw_fd(),
                std::ptr::null_mut(),
            )
        })
        .map(drop)
    }

    /// Waits up to `timeout_ms` (`-1`: forever) and returns the ready events, at most as many
    /// as `buf` has room for. `EINTR` gives an empty batch.
    pub fn wait<'b>(
        &self,
        buf: &'b mut EpollBuffer,
        timeout_ms: i32,
    ) -> io::Result<impl Iterator<Item = EpollEvent> + 'b> {
        let cap = buf.0.len() as libc::c_int;
        // SAFETY: `buf` is valid for writes of `cap` epoll_events for the duration of the call.
        let n = match cvt(unsafe {
            libc::epoll_wait(self.fd.as_raw_fd(), buf.0.as_mut_ptr(), cap, timeout_ms)
        }) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        Ok(buf.0[..n].iter().map(|e| EpollEvent {
            // Copies out of the (packed on x86-64) struct; no reference is taken.
            events: e.events,
            token: e.u64,
        }))
    }
}

/// A non-blocking, close-on-exec `eventfd`: a counter used to wake an epoll thread.
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    /// `eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)`.
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes an initial value and flags, returns a new fd or -1.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: the kernel just returned this fd; nothing else owns it.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Adds one to the counter, making the fd readable.
    pub fn notify(&self) -> io::Result<()> {
        let one = 1u64.to_ne_bytes();
        // SAFETY: `one` is valid for reads of 8 bytes, the size an eventfd write needs.
        match cvt_r(|| unsafe { libc::write(self.0.as_raw_fd(), one.as_ptr().cast(), 8) }) {
            // The counter is saturated: it is readable anyway.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            r => r.map(drop),
        }
    }

    /// Resets the counter to zero; returns how many notifications it held.
    pub fn drain(&self) -> io::Result<u64> {
        let mut buf = [0u8; 8];
        match read(self.0.as_fd(), &mut buf) {
            Ok(_) => Ok(u64::from_ne_bytes(buf)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e),
        }
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoll_reports_eventfd_and_pipe_eof() {
        let ep = Epoll::new().unwrap();
        let mut evs = EpollBuffer::new(8);
        let ev = EventFd::new().unwrap();
        let (r, w) = pipe().unwrap();
        set_nonblocking(r.as_fd(), true).unwrap();
        ep.add(ev.as_fd(), READABLE, 1).unwrap();
        ep.add(r.as_fd(), READABLE, 2).unwrap();
        assert_eq!(ep.wait(&mut evs, 0).unwrap().count(), 0);
        ev.notify().unwrap();
        ev.notify().unwrap();
        let got: Vec<_> = ep.wait(&mut evs, 100).unwrap().collect();
        assert_eq!(
            got,
            [EpollEvent {
                events: READABLE,
                token: 1
            }]
        );
        assert_eq!(ev.drain().unwrap(), 2);
        let mut buf = [0u8; 4];
        assert_eq!(
            read(r.as_fd(), &mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        drop(w);
        let got: Vec<_> = ep.wait(&mut evs, 100).unwrap().collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].token, 2);
        assert_ne!(got[0].events & HANGUP, 0);
        assert_eq!(read(r.as_fd(), &mut buf).unwrap(), 0);
        ep.delete(r.as_fd()).unwrap();
    }

    #[test]
    fn send_to_closed_peer_is_epipe_not_sigpipe() {
        let (a, b) = socketpair().unwrap();
        send_all(a.as_fd(), b"+1\n").unwrap();
        drop(b);
        let e = send_all(a.as_fd(), b"+2\n").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
    }
}
