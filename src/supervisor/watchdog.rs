//! The watchdog: a tiny `/bin/sh` process that SIGKILLs every group we started, and every
//! process carrying our environment tag, once we die.
//!
//! # Why
//!
//! When a supervisor is SIGKILLed (or calls `exit` without dropping its [`Supervisor`](crate::Supervisor)), no code
//! of ours runs: nothing stops the groups it started, and peers (process-compose, mprocs, honcho,
//! concurrently, pm2) leave them running. `PR_SET_PDEATHSIG` is no answer: it cannot be set
//! through `posix_spawn`, it fires when the creating *thread* exits (not the process), and it
//! only covers the direct child, never grandchildren.
//!
//! # How
//!
//! The live groups are recorded in a **slot table**: a close-on-exec `memfd` (an anonymous
//! shmem file) made of 16-byte slots. When a group is spawned, the supervisor takes a free slot
//! (a free list under the watchdog's mutex; freed slots are reused, so the table is as long as
//! the most groups ever live at once) and `pwrite`s `+PGID`, the id left-aligned and padded
//! with spaces, and `\n` into it. Once that group was seen empty it `pwrite`s the single byte
//! `-` over the slot's `+`. Nothing is sent to the watchdog process for either: a spawn or an
//! exit costs one small `pwrite` and wakes nobody.
//!
//! At start-up the supervisor spawns `/bin/sh -c SCRIPT` (its own process group, signal mask
//! and dispositions reset like every child) with one end of a close-on-exec `socketpair` as
//! stdin (the **lifeline**) and the table as descriptor 3. The script blocks in `read` on the
//! lifeline, on which we never write: it returns end of file only when the last copy of our
//! end is closed, i.e. when the supervisor process dies for any reason (or shuts the watchdog
//! down). Then the script reads the table through descriptor 3 (in `awk` when there is one,
//! else in `sh`) and SIGKILLs every group whose slot starts with `+`, all in one
//! `kill -KILL -A -B …` (`awk` splits a very long list into a few `kill`s, since its
//! `system()` runs them through `exec`). Then it sweeps: every process whose environment
//! carries the supervisor's tag (`grep -l` over `/proc/*/environ`; see the `tag` module) is
//! SIGKILLed, pass after pass until a pass finds none (at least three). That takes what no
//! group signal reaches: descendants that left their group (`setsid`, `setpgid`, a double
//! fork), and children we were in the middle of spawning when we died, which were not in the
//! table yet. The script ignores SIGHUP, SIGINT, SIGQUIT,
//! SIGTERM and SIGPIPE (ignored dispositions survive `exec`) so that a terminal hang-up or a
//! stray `kill` cannot disarm it early. If the watchdog dies anyway (someone SIGKILLs it), the
//! reaper notices through its pidfd and spawns a new one on the same table: nothing needs to
//! be replayed.
//!
//! **Why a slot is never torn by our death.** Slots are 16-byte aligned, so one never crosses a
//! page boundary, and each is written by one `pwrite` from a buffer on our stack (just written,
//! so resident: the kernel's copy from it does not fault). On shmem (tmpfs, memfd) such a write
//! copies into one page under the inode lock, and a fatal signal is only checked *before* a
//! page is copied, never in the middle of one: a write within one page lands entirely or not
//! at all. A SIGKILLed process finishes (or never starts) every
//! syscall its threads are in before it is gone, and our end of the lifeline is only released
//! when the last thread has exited; so when the watchdog sees end of file, every `pwrite` we
//! made is complete and visible to its `read`s (one page cache, no `msync` needed). A slot
//! whose `+` write failed (`ENOMEM`) is not handed out, so the table never has a hole.
//!
//! # Limits
//!
//! - **The spawn window is covered by the tag, not the table.** A group is recorded right after
//!   `posix_spawn` returns; a child whose spawn was under way when we died is not in the table,
//!   but it carries the tag from its `exec` on, and the watchdog only sees end of file once
//!   every such child has closed its copy of our lifeline (they hold one until their file
//!   actions run, just before `exec`). A pass that runs in the microseconds between a child's
//!   `exec` and its new environment becoming readable misses it; the next pass does not.
//! - **Pid reuse.** A recorded group id could in principle be reused by an unrelated new group
//!   (pid numbers wrap at `/proc/sys/kernel/pid_max`, 32768 on small systems) in two windows:
//!   between "the group was seen empty" and the `-` write (one `pwrite`, about a microsecond),
//!   and between our death and the `kill` (the watchdog is woken, `exec`s `awk`, reads the
//!   table: about a millisecond), for a group that emptied just before we died. Either way the
//!   new process would need to get exactly that number *and* make itself a group leader within
//!   that window. A group still recorded whose members are alive cannot be reused: its id
//!   stays reserved while any member lives, even after our death reparents them. The sweep
//!   kills by pid right after `grep` read the tag: the process would have to exit and its
//!   number be reused between the two.
//! - A process that cleared its environment (`env -i`) **and** left its group is out of reach
//!   of both mechanisms. So is everything, if the watchdog is killed at the same instant as we
//!   are (someone `kill -9`s both), or if `grep` is missing (the tag sweep needs it; the group
//!   kill does not).
//! - The watchdog is `sh` (then `awk`, or plain `sh` without one, and `grep`): it sleeps in
//!   `read` until we die and costs no CPU per spawned group. The table costs 16 bytes of shmem
//!   per slot.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::CommandSpec;
use crate::sys::fd::{memfd, socketpair};
use crate::sys::spawn::{Stdio, spawn_with_fds};
use crate::sys::{self, Pid};

/// Bytes per slot: `+` or `-`, the group id left-aligned and padded with spaces, `\n`.
const SLOT: usize = 16;

/// Signals that must not disarm the watchdog (a terminal hang-up, a Ctrl-C to the foreground
/// group, a stray `kill`). Ignored dispositions survive `exec`.
const TRAPS: &str = "trap '' HUP INT QUIT TERM PIPE\n";

/// Blocks until end of file on the lifeline (we never write to it; a `read` that did get a
/// line just reads again), then makes the table the standard input. Our side only uses
/// `pwrite`, so the shared file offset is still 0.
const WAIT: &str = "while read -r _; do :; done\nexec <&3 3<&-\n";

/// Reads the table in `awk` (POSIX, present nearly everywhere), and SIGKILLs every `+` group
/// with one `kill` (one per 4096 groups: `system()` `exec`s `sh -c`, whose argument is limited
/// to 128 KiB). `kill -KILL -A -B`: dash's `kill` takes no `--`.
const AWK: &str = r#"awk '
function k() { if (c != "") system("kill -KILL" c " 2>/dev/null"); c = ""; n = 0 }
/^[+][0-9]+ *$/ { c = c " -" (substr($1, 2) + 0); if (++n == 4096) k() }
END { k() }'
"#;

/// The same in plain `sh`, if there is no `awk` (`kill` is a builtin: no length limit).
const SH: &str = r#"c=
while read -r l; do
  case $l in
    +*[!0-9]*) ;;
    +[0-9]*) c="$c -${l#+}" ;;
  esac
done
[ -n "$c" ] && kill -KILL $c 2>/dev/null
"#;

/// Then every process that still carries the tag `$T` (`NAME=`, set by the caller) in its
/// environment: escapees that left their group, and children that were being spawned when we
/// died (not yet in the table). Repeated until a pass finds nothing (at least three passes, at
/// most twenty): a pass catches a child that had not finished its `exec` in the previous one,
/// or that an escapee forked meanwhile. Needs `grep` (`-l -F`: POSIX); zombies have an empty
/// environment and never match.
const SWEEP: &str = r#"r=0
while [ $r -lt 20 ]; do
  r=$((r + 1))
  p=
  for f in $(grep -l -F -e "$T" /proc/[0-9]*/environ 2>/dev/null); do
    f=${f#/proc/}
    p="$p ${f%/environ}"
  done
  if [ -n "$p" ]; then
    kill -KILL $p 2>/dev/null
  elif [ $r -ge 3 ]; then
    break
  fi
done
exit 0
"#;

/// The watchdog's program: wait for end of file on stdin, then SIGKILL every `+` group of the
/// table on descriptor 3, then every process tagged `tag` (see [`SWEEP`]).
fn script(awk: bool, tag: &str) -> String {
    let mut s = String::from(TRAPS);
    s.push_str(WAIT);
    if awk {
        s.push_str("if command -v awk >/dev/null 2>&1; then\n");
        s.push_str(AWK);
        s.push_str("else\n");
        s.push_str(SH);
        s.push_str("fi\n");
    } else {
        s.push_str(SH);
    }
    // The name is `PROCSNAP_` and hex digits: nothing to quote.
    s.push_str(&format!("T='{tag}='\n"));
    s.push_str(SWEEP);
    s
}

/// A slot: `+PGID`, padded with spaces, `\n`.
fn slot_bytes(pgid: Pid) -> [u8; SLOT] {
    let mut b = [b' '; SLOT];
    b[0] = b'+';
    let digits = pgid.as_raw().to_string();
    // A pid has at most 10 digits (`i32`), so it always fits between `+` and `\n`.
    b[1..1 + digits.len()].copy_from_slice(digits.as_bytes());
    b[SLOT - 1] = b'\n';
    b
}

/// Our side of the watchdog: its lifeline, its pid and the slot table it reads if we die.
#[derive(Debug)]
pub(crate) struct Watchdog {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Our end of the lifeline socketpair; `None` once shut down.
    sock: Option<OwnedFd>,
    pid: Pid,
    /// Whether the script may use `awk` (false only in tests of the `sh` variant).
    awk: bool,
    /// The supervisor's environment tag name, swept after the table.
    tag: String,
    /// The slot table (a memfd), shared with every watchdog we start.
    table: File,
    /// The slot of every group recorded with `+` and not yet retracted with `-`.
    slots: HashMap<Pid, u32>,
    /// Retracted slots, reused first.
    free: Vec<u32>,
    /// Slots handed out so far: the table's length in slots.
    len: u32,
}

impl Watchdog {
    /// Spawns the watchdog for a supervisor whose children carry the environment tag `tag`.
    pub(crate) fn start(tag: &str) -> io::Result<Watchdog> {
        Watchdog::start_with(true, tag)
    }

    /// Spawns the watchdog, in `awk` if `awk` is true and available, else in `sh`.
    fn start_with(awk: bool, tag: &str) -> io::Result<Watchdog> {
        let table = File::from(memfd(c"procsnap-watchdog")?);
        let (sock, pid) = spawn_watchdog(awk, tag, &table)?;
        Ok(Watchdog {
            inner: Mutex::new(Inner {
                sock: Some(sock),
                pid,
                awk,
                tag: tag.to_owned(),
                table,
                slots: HashMap::new(),
                free: Vec::new(),
                len: 0,
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
        let inner = &mut *inner;
        let (slot, fresh) = match inner.slots.get(&pgid) {
            Some(&s) => (s, None),
            None => match inner.free.pop() {
                Some(s) => (s, Some(false)),
                None => (inner.len, Some(true)),
            },
        };
        let written = inner
            .table
            .write_all_at(&slot_bytes(pgid), u64::from(slot) * SLOT as u64);
        match (written, fresh) {
            (Ok(()), Some(grew)) => {
                inner.len += u32::from(grew);
                inner.slots.insert(pgid, slot);
            }
            (Ok(()), None) => {}
            // Out of memory: not recorded. A reused slot still reads `-`: 16 bytes within one
            // page are written entirely or not at all.
            (Err(_), Some(false)) => inner.free.push(slot),
            (Err(_), _) => {}
        }
    }

    /// Forgets a group that was seen empty: one `-` over its slot's `+`.
    pub(crate) fn remove(&self, pgid: Pid) {
        let mut inner = self.lock();
        if let Some(slot) = inner.slots.remove(&pgid) {
            // If this fails (it cannot on a page that was already written), the worst case is
            // a SIGKILL at our death to a group that was empty.
            let _ = inner
                .table
                .write_all_at(b"-", u64::from(slot) * SLOT as u64);
            inner.free.push(slot);
        }
    }

    /// The watchdog `dead` exited (and was reaped by the caller): start a new one on the same
    /// table. Returns the new pid, or `None` if `dead` is not the current watchdog (already
    /// replaced, or shut down).
    pub(crate) fn respawn(&self, dead: Pid) -> io::Result<Option<Pid>> {
        let mut inner = self.lock();
        if inner.pid != dead || inner.sock.is_none() {
            return Ok(None);
        }
        let (sock, pid) = spawn_watchdog(inner.awk, &inner.tag, &inner.table)?;
        inner.sock = Some(sock);
        inner.pid = pid;
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

fn spawn_watchdog(awk: bool, tag: &str, table: &File) -> io::Result<(OwnedFd, Pid)> {
    let (ours, theirs) = socketpair()?;
    let spec = CommandSpec::shell(script(awk, tag)).display_as("procsnap watchdog");
    let child = spawn_with_fds(
        &spec,
        Stdio::Fd(theirs.as_fd()),
        Stdio::Null,
        Stdio::Null,
        &[table.as_fd()],
    )
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

    /// A tag name no process carries unless a test gives it.
    const TEST_TAG: &str = "PROCSNAP_WATCHDOGTEST";

    /// Nothing of the group alive (a killed grandchild may remain a zombie until init reaps it).
    fn wait_gone(pgid: Pid) -> bool {
        let end = Instant::now() + Duration::from_secs(5);
        let group = std::collections::HashSet::from([pgid.as_raw()]);
        while Instant::now() < end {
            if crate::supervisor::procfs::groups_with_live_members(&group).is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }

    /// The table as text, one string per slot.
    fn table(wd: &Watchdog) -> Vec<String> {
        let inner = wd.lock();
        let mut buf = vec![0u8; inner.len as usize * SLOT];
        inner.table.read_exact_at(&mut buf, 0).unwrap();
        buf.chunks(SLOT)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect()
    }

    fn pid(raw: i32) -> Pid {
        Pid::from_raw(raw).unwrap()
    }

    #[test]
    fn slot_format() {
        assert_eq!(&slot_bytes(pid(1)), b"+1             \n");
        assert_eq!(&slot_bytes(pid(i32::MAX)), b"+2147483647    \n");
    }

    #[test]
    fn slots_are_retracted_and_reused() {
        let wd = Watchdog::start(TEST_TAG).unwrap();
        // These group ids are made up: kill the watchdog first so that nothing can ever act on
        // them, not even if this test fails half-way.
        let w = wd.pid();
        sys::kill(w, libc::SIGKILL).unwrap();
        reap(w);
        wd.add(pid(100));
        wd.add(pid(200));
        wd.add(pid(300));
        wd.remove(pid(200));
        wd.remove(pid(999)); // never recorded: no effect
        assert_eq!(
            table(&wd),
            [
                "+100           \n",
                "-200           \n",
                "+300           \n"
            ]
        );
        wd.add(pid(4194304)); // reuses slot 1, the table does not grow
        wd.add(pid(100)); // already recorded: same slot
        assert_eq!(
            table(&wd),
            [
                "+100           \n",
                "+4194304       \n",
                "+300           \n"
            ]
        );
        wd.remove(pid(100));
        wd.remove(pid(300));
        wd.remove(pid(4194304));
        assert!(table(&wd).iter().all(|s| s.starts_with('-')));
        wd.add(pid(7));
        wd.add(pid(8));
        wd.add(pid(9));
        wd.add(pid(10));
        assert_eq!(table(&wd).len(), 4);
    }

    #[test]
    fn eof_kills_recorded_groups_only() {
        eof_kills_recorded_groups_only_with(true);
    }

    #[test]
    fn sh_fallback_kills_recorded_groups_only() {
        eof_kills_recorded_groups_only_with(false);
    }

    /// At end of file the table is read and exactly its `+` groups are killed: `a` in its own
    /// slot, `c` in the slot `b` was retracted from; `b` lives on.
    fn eof_kills_recorded_groups_only_with(awk: bool) {
        let wd = Watchdog::start_with(awk, TEST_TAG).unwrap();
        let a = sys::spawn(&CommandSpec::shell("sleep 300 & wait")).unwrap();
        let b = sys::spawn(&CommandSpec::shell("sleep 300 & wait")).unwrap();
        let c = sys::spawn(&CommandSpec::new("sleep").arg("300")).unwrap();
        // Never recorded (as if we died before recording it), but tagged: swept.
        let tag = format!("{TEST_TAG}=1");
        let d = sys::spawn_tagged(
            &CommandSpec::new("sleep").arg("300"),
            &std::ffi::CString::new(tag).unwrap(),
        )
        .unwrap();
        wd.add(a.pid);
        wd.add(b.pid);
        wd.remove(b.pid);
        wd.add(c.pid);
        assert_eq!(table(&wd).len(), 2, "c reused b's slot");
        reap(wd.shutdown());
        // a's leader is our child: it dies by SIGKILL; its grandchild goes with the group.
        for g in [a.pid, c.pid, d.pid] {
            assert_eq!(
                sys::wait_blocking(g).unwrap().exit(),
                Some(crate::Exit::Signal(libc::SIGKILL))
            );
            assert!(wait_gone(g));
        }
        assert_eq!(sys::waitpid_nohang(b.pid).unwrap(), None, "b was retracted");
        sys::killpg(b.pid, libc::SIGKILL).unwrap();
        sys::wait_blocking(b.pid).unwrap();
        assert!(wait_gone(b.pid));
    }

    #[test]
    fn respawn_uses_the_same_table() {
        respawn_uses_the_same_table_with(true);
    }

    #[test]
    fn sh_respawn_uses_the_same_table() {
        respawn_uses_the_same_table_with(false);
    }

    /// Changes made before, while and after the watchdog is dead all count.
    fn respawn_uses_the_same_table_with(awk: bool) {
        let wd = Watchdog::start_with(awk, TEST_TAG).unwrap();
        let a = sys::spawn(&CommandSpec::new("sleep").arg("300")).unwrap();
        let b = sys::spawn(&CommandSpec::new("sleep").arg("300")).unwrap();
        let c = sys::spawn(&CommandSpec::new("sleep").arg("300")).unwrap();
        wd.add(a.pid);
        wd.add(b.pid);
        let old = wd.pid();
        sys::kill(old, libc::SIGKILL).unwrap();
        reap(old);
        wd.remove(b.pid);
        let new = wd.respawn(old).unwrap().unwrap();
        assert_ne!(new, old);
        assert_eq!(wd.respawn(old).unwrap(), None);
        wd.add(c.pid);
        reap(wd.shutdown());
        for g in [a.pid, c.pid] {
            assert_eq!(
                sys::wait_blocking(g).unwrap().exit(),
                Some(crate::Exit::Signal(libc::SIGKILL))
            );
        }
        assert_eq!(sys::waitpid_nohang(b.pid).unwrap(), None, "b was retracted");
        sys::kill(b.pid, libc::SIGKILL).unwrap();
        sys::wait_blocking(b.pid).unwrap();
    }
}
