//! The watchdog: a tiny `/bin/sh` process that SIGKILLs every group we started once we die.
//!
//! # Why
//!
//! When a supervisor is SIGKILLed (or calls `exit` without dropping its [`Supervisor`]), no code
//! of ours runs: nothing stops the groups it started, and peers (process-compose, mprocs, honcho,
//! concurrently, pm2) leave them running. `PR_SET_PDEATHSIG` is no answer: it cannot be set
//! through `posix_spawn`, it fires when the creating *thread* exits (not the process), and it
//! only covers the direct child, never grandchildren.
//!
//! # How
//!
//! At start-up the supervisor spawns `/bin/sh -c SCRIPT` (its own process group, signal mask
//! and dispositions reset like every child) whose stdin is one end of a close-on-exec
//! `socketpair`. The supervisor keeps the other end and writes `+PGID\n` as soon as a group is
//! spawned and `-PGID\n` once that group was seen empty. The script remembers the live groups in
//! shell variables. When its stdin reaches end of file — which the kernel guarantees when the
//! last copy of our end is closed, i.e. when the supervisor process dies for any reason — it
//! sends SIGKILL to every group still recorded and exits. The script ignores SIGHUP, SIGINT,
//! SIGQUIT and SIGTERM so that a terminal hang-up or a stray `kill` cannot disarm it early.
//! The socket (not a pipe) lets us write with `MSG_NOSIGNAL`: if the watchdog is gone, we get
//! `EPIPE` instead of a `SIGPIPE` that would kill a host that left the default disposition.
//! If the watchdog dies anyway (someone SIGKILLs it), the reaper notices through its pidfd,
//! spawns a new one and replays the live groups.
//!
//! # Limits
//!
//! - A group is recorded right after `posix_spawn` returns: a supervisor killed in the few
//!   microseconds in between leaks that one group.
//! - Between "the group was seen empty" and the `-PGID` line, and while the watchdog is reading
//!   its backlog at our death, a recorded group id could in principle be reused by an unrelated
//!   new group (pid numbers wrap at `/proc/sys/kernel/pid_max`, 32768 on small systems): the
//!   window is the time to write one line, and the new process would need to get exactly that
//!   number *and* make itself a group leader.
//! - A process that moved itself to another group or session (`setsid`, a daemonising tool)
//!   escapes the group and therefore this mechanism, as it escapes every group-based stop.
//! - The watchdog is a shell: each line costs it a few `read(2)` calls of one byte. That is
//!   microseconds per spawned group.

use std::collections::HashSet;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::CommandSpec;
use crate::sys::fd::{send_all, socketpair};
use crate::sys::spawn::{Stdio, spawn_with};
use crate::sys::{self, Pid};

/// The watchdog's program: remember `+N`/`-N`, SIGKILL every remembered group at end of input.
const SCRIPT: &str = r#"trap '' HUP INT QUIT TERM PIPE
while read -r l; do
  case $l in
    +*) eval "procsnap_g${l#+}=1" ;;
    -*) unset "procsnap_g${l#-}" ;;
  esac
done
set | while IFS='=' read -r k v; do
  case $k in
    procsnap_g*[!0-9]*) ;;
    procsnap_g[0-9]*) kill -KILL "-${k#procsnap_g}" 2>/dev/null ;;
  esac
done
"#;

/// Our side of the watchdog: its socket, its pid and the groups it must kill if we die.
#[derive(Debug)]
pub(crate) struct Watchdog {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Our end of the socketpair; `None` once shut down.
    sock: Option<OwnedFd>,
    pid: Pid,
    /// Every group announced with `+` and not yet retracted with `-`.
    groups: HashSet<Pid>,
}

impl Watchdog {
    /// Spawns the watchdog.
    pub(crate) fn start() -> io::Result<Watchdog> {
        let (sock, pid) = spawn_watchdog()?;
        Ok(Watchdog {
            inner: Mutex::new(Inner {
                sock: Some(sock),
                pid,
                groups: HashSet::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The watchdog's current pid (it changes when it is respawned).
    pub(crate) fn pid(&self) -> Pid {
        self.lock().pid
    }

    /// Records a new group: the watchdog kills it if we die before [`remove`](Self::remove).
    pub(crate) fn add(&self, pgid: Pid) {
        let mut inner = self.lock();
        inner.groups.insert(pgid);
        inner.send(&format!("+{pgid}\n"));
    }

    /// Forgets a group that was seen empty.
    pub(crate) fn remove(&self, pgid: Pid) {
        let mut inner = self.lock();
        if inner.groups.remove(&pgid) {
            inner.send(&format!("-{pgid}\n"));
        }
    }

    /// The watchdog `dead` exited (and was reaped by the caller): start a new one and tell it
    /// every live group. Returns the new pid, or `None` if `dead` is not the current watchdog
    /// (already replaced, or shut down).
    pub(crate) fn respawn(&self, dead: Pid) -> io::Result<Option<Pid>> {
        let mut inner = self.lock();
        if inner.pid != dead || inner.sock.is_none() {
            return Ok(None);
        }
        let (sock, pid) = spawn_watchdog()?;
        inner.sock = Some(sock);
        inner.pid = pid;
        let lines: String = inner.groups.iter().map(|g| format!("+{g}\n")).collect();
        inner.send(&lines);
        Ok(Some(pid))
    }

    /// Closes our end (the watchdog kills what is still recorded, normally nothing, and exits)
    /// and returns its pid for the caller to reap.
    pub(crate) fn shutdown(&self) -> Pid {
        let mut inner = self.lock();
        inner.sock = None;
        inner.pid
    }
}

impl Inner {
    fn send(&mut self, text: &str) {
        if let Some(sock) = &self.sock {
            // EPIPE means the watchdog died: the reaper sees its pidfd, respawns it and replays
            // `groups`, which already holds this change.
            let _ = send_all(sock.as_fd(), text.as_bytes());
        }
    }
}

fn spawn_watchdog() -> io::Result<(OwnedFd, Pid)> {
    let (ours, theirs) = socketpair()?;
    let spec = CommandSpec::shell(SCRIPT).display_as("procsnap watchdog");
    let child = spawn_with(&spec, Stdio::Fd(theirs.as_fd()), Stdio::Null, Stdio::Null)
        .map_err(|e| io::Error::new(e.source.kind(), e))?;
    drop(theirs);
    Ok((ours, child.pid))
}

/// Reaps a watchdog after [`Watchdog::shutdown`].
pub(crate) fn reap(pid: Pid) {
    let _ = sys::wait_blocking(pid);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_gone(pgid: Pid) -> bool {
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if !sys::group_alive(pgid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }

    #[test]
    fn eof_kills_recorded_groups_only() {
        let wd = Watchdog::start().unwrap();
        let a = sys::spawn(&CommandSpec::shell("sleep 300 & wait")).unwrap();
        let b = sys::spawn(&CommandSpec::shell("sleep 300 & wait")).unwrap();
        wd.add(a.pid);
        wd.add(b.pid);
        wd.remove(b.pid);
        reap(wd.shutdown());
        // a's leader is our child: it dies by SIGKILL; its grandchild goes with the group.
        assert_eq!(
            sys::wait_blocking(a.pid).unwrap().exit(),
            Some(crate::Exit::signal(libc::SIGKILL))
        );
        assert!(wait_gone(a.pid));
        assert_eq!(sys::waitpid_nohang(b.pid).unwrap(), None, "b was retracted");
        sys::killpg(b.pid, libc::SIGKILL).unwrap();
        sys::wait_blocking(b.pid).unwrap();
        assert!(wait_gone(b.pid));
    }

    #[test]
    fn respawn_replays_live_groups() {
        let wd = Watchdog::start().unwrap();
        let a = sys::spawn(&CommandSpec::new("sleep").arg("300")).unwrap();
        wd.add(a.pid);
        let old = wd.pid();
        sys::kill(old, libc::SIGKILL).unwrap();
        reap(old);
        let new = wd.respawn(old).unwrap().unwrap();
        assert_ne!(new, old);
        assert_eq!(wd.respawn(old).unwrap(), None);
        reap(wd.shutdown());
        assert_eq!(
            sys::wait_blocking(a.pid).unwrap().exit(),
            Some(crate::Exit::signal(libc::SIGKILL))
        );
    }
}
