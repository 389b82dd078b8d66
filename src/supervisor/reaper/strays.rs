//! Strays: processes of a child's tree that left its process group (`setsid`, `setpgid(0, 0)`,
//! a daemon's double fork), so that no group signal reaches them.
//!
//! Every child carries the supervisor's environment tag (see the `tag` module), and so do its
//! descendants. When a process is stopped, one pass over `/proc` finds the processes tagged
//! with its id that are outside its group; each is **adopted**: a pidfd is opened on it, its tag
//! is read again through `/proc` (the pidfd now pins the process, so if the number was reused
//! between the pass and `pidfd_open`, the check sees the newcomer's environment and it is left
//! alone), it gets SIGTERM and SIGCONT through the pidfd (`pidfd_send_signal` can never reach
//! another process), and its pidfd joins the epoll. The process counts as running until its
//! group is empty **and** every stray is gone; at the KILL deadline its strays get SIGKILL too.
//! While it is being stopped, the pass is repeated every [`PROC_SCAN_EVERY`](super) (strays of
//! strays, processes that escaped after the first pass), and once more when its group has
//! emptied, before it is finalised. A process that a pass meets in the middle of an `exec`
//! cannot tell its tag yet (see `procfs::read_tag`): it is read again every
//! [`EXEC_RECHECK`], and the stops being confirmed wait for it (a stray that was starting its
//! next program). A stray that exits is reaped through its pidfd if it is our own child
//! (`waitid(P_PIDFD)`), else by its parent.
//!
//! When the supervisor shuts down (every process finished), a last pass takes every process
//! still carrying our tag, whatever its process: the escapees of scripts that ended on their
//! own. They get SIGTERM, the grace period, then SIGKILL.
//!
//! One pass costs one read of `/proc/PID/environ` per process on the system (~5 µs each); it
//! is made once per batch of stop commands, not once per stop.

use std::collections::HashSet;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use super::{KILL_PATIENCE, READABLE, Reaper, SPECIAL, deadline};
use crate::supervisor::procfs;
use crate::sys;

/// How long a process may stay in the middle of one `exec` before it is no longer waited for.
const EXEC_PATIENCE: Duration = Duration::from_secs(1);
/// How often a process in the middle of an `exec` is looked at again.
pub(super) const EXEC_RECHECK: Duration = Duration::from_millis(1);

/// A process found in the middle of an `exec` by a pass, whose tag is not known yet.
pub(super) struct InExec {
    since: Instant,
    /// The owners it was looked for on behalf of (`None`: every id, the final sweep).
    owners: Option<HashSet<u64>>,
}

/// A process of ours outside its owner's group.
pub(super) struct Stray {
    pid: i32,
    pidfd: OwnedFd,
    /// The child (by `ProcId::get()`) whose tag it carries; `None` in the final sweep.
    owner: Option<u64>,
}

/// The final sweep's deadlines.
pub(super) struct Sweep {
    kill_at: Instant,
    killed_at: Option<Instant>,
}

/// The first stray key: 0 and 1 are the eventfd's and the watchdog's.
pub(super) const FIRST_STRAY: u64 = 2;

impl Reaper {
    /// One pass over `/proc`: adopts each process tagged with one of `owners` that is outside
    /// that owner's group, or, with `None`, every process tagged with any id (the final sweep).
    /// A process caught in the middle of an `exec` is looked at again shortly (see
    /// [`recheck_in_exec`](Reaper::recheck_in_exec)).
    pub(super) fn find_strays(&mut self, owners: Option<&HashSet<u64>>) {
        let name = self.shared.tag.name().as_bytes().to_vec();
        let scan = procfs::scan_tagged(&name);
        for (pid, id) in scan.tagged {
            self.consider(pid, id, owners, &name);
        }
        let now = Instant::now();
        for pid in scan.in_exec {
            if self.stray_pids.contains(&pid) {
                continue;
            }
            let entry = self.in_exec.entry(pid).or_insert_with(|| InExec {
                since: now,
                owners: Some(HashSet::new()),
            });
            // Looked for on behalf of every owner of every pass that found it so.
            match (&mut entry.owners, owners) {
                (Some(set), Some(more)) => set.extend(more),
                (all, _) => *all = None,
            }
        }
    }

    /// Adopts `pid`, tagged with `id`, if it is looked for (`owners`; `None`: every id) and is
    /// not in its owner's group.
    fn consider(&mut self, pid: i32, id: u64, owners: Option<&HashSet<u64>>, name: &[u8]) {
        if self.stray_pids.contains(&pid) {
            return;
        }
        let owner = match owners {
            None => None,
            Some(set) if set.contains(&id) => Some(id),
            Some(_) => return,
        };
        if let Some(c) = owner.and_then(|o| self.children.get(&o)) {
            let in_group = pid == c.pid.as_raw()
                || procfs::state_and_group(pid).is_some_and(|(_, g)| g == c.pid.as_raw());
            if in_group {
                return; // the group's own signals reach it
            }
        }
        self.adopt(pid, id, owner, name);
    }

    /// Reads again the tags of the processes that were in the middle of an `exec` during a
    /// pass, adopting those looked for; one still in it after [`EXEC_PATIENCE`] (stuck in the
    /// kernel) is given up on.
    pub(super) fn recheck_in_exec(&mut self, now: Instant) {
        if self.in_exec.is_empty() {
            return;
        }
        let name = self.shared.tag.name().as_bytes().to_vec();
        let mut buf = Vec::new();
        let pids: Vec<i32> = self.in_exec.keys().copied().collect();
        for pid in pids {
            match procfs::read_tag(pid, &name, &mut buf) {
                procfs::Tag::InExec => {
                    if now >= self.in_exec[&pid].since + EXEC_PATIENCE {
                        self.in_exec.remove(&pid);
                    }
                }
                procfs::Tag::Absent => {
                    self.in_exec.remove(&pid);
                }
                procfs::Tag::Carries(id) => {
                    let owners = self.in_exec.remove(&pid).and_then(|e| e.owners);
                    self.consider(pid, id, owners.as_ref(), &name);
                }
            }
        }
    }

    /// Opens, checks, signals and watches one tagged process.
    fn adopt(&mut self, pid: i32, id: u64, owner: Option<u64>, name: &[u8]) {
        let Some(raw) = sys::Pid::from_raw(pid) else {
            return;
        };
        if !self.shared.pidfds {
            self.signal_unwatched(raw, id, owner, name);
            return;
        }
        let Ok(pidfd) = sys::pidfd_open(raw) else {
            return; // gone meanwhile
        };
        // Pinned by the pidfd now: if this number was reused since the pass, this reads the
        // newcomer's environment, which does not carry our tag.
        if procfs::tag_of(pid, name, &mut Vec::new()) != Some(id) {
            return;
        }
        let killed = owner
            .and_then(|o| self.children.get(&o))
            .is_some_and(|c| c.killed_at.is_some());
        if killed {
            let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
        } else {
            let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGTERM);
            let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGCONT);
        }
        let key = self.next_stray;
        self.next_stray += 1;
        let token = (key << 2) | SPECIAL;
        if self
            .shared
            .epoll
            .add(pidfd.as_fd(), READABLE, token)
            .is_err()
        {
            // Cannot be watched (out of memory): it must not outlive its owner unseen.
            let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
            return;
        }
        if let Some(c) = owner.and_then(|o| self.children.get_mut(&o)) {
            c.strays += 1;
        }
        self.stray_pids.insert(pid);
        self.strays.insert(key, Stray { pid, pidfd, owner });
    }

    /// The stray `key` exited: reap it if it is our child, forget it, and see whether its owner
    /// is now finished.
    pub(super) fn on_stray_exit(&mut self, key: u64) {
        let Some(stray) = self.strays.remove(&key) else {
            return;
        };
        // ECHILD when its parent is not us: the parent reaps it.
        let _ = sys::reap_pidfd(stray.pidfd.as_fd());
        let _ = self.shared.epoll.delete(stray.pidfd.as_fd());
        self.stray_pids.remove(&stray.pid);
        let Some(owner) = stray.owner else {
            return;
        };
        let Some(c) = self.children.get_mut(&owner) else {
            return; // finalised without it (given up after the SIGKILL)
        };
        c.strays -= 1;
        if c.strays == 0 && c.exit.is_some() {
            self.check_group(owner, Instant::now());
        }
    }

    /// Without pidfds: a stray found tagged with `id` gets its signal by pid (SIGKILL once its
    /// owner was killed, else SIGTERM and SIGCONT), after its tag is read once more, and is not
    /// watched: nothing waits for it. The pid could be reused between that read and the signal
    /// (the same window as the watchdog's sweep).
    fn signal_unwatched(&self, pid: sys::Pid, id: u64, owner: Option<u64>, name: &[u8]) {
        if procfs::tag_of(pid.as_raw(), name, &mut Vec::new()) != Some(id) {
            return;
        }
        let killed = owner
            .and_then(|o| self.children.get(&o))
            .is_some_and(|c| c.killed_at.is_some());
        if killed {
            let _ = sys::kill(pid, libc::SIGKILL);
        } else {
            let _ = sys::kill(pid, libc::SIGTERM);
            let _ = sys::kill(pid, libc::SIGCONT);
        }
    }

    /// SIGKILL to every stray of `owner` (`None`: of the final sweep). Without pidfds, the
    /// strays are not watched: `owner`'s are looked for again, and get it by pid.
    pub(super) fn kill_strays(&mut self, owner: Option<u64>) {
        if !self.shared.pidfds {
            if let Some(o) = owner {
                self.find_strays(Some(&HashSet::from([o])));
            }
            return;
        }
        for stray in self.strays.values().filter(|s| s.owner == owner) {
            let _ = sys::pidfd_send_signal(stray.pidfd.as_fd(), libc::SIGKILL);
        }
    }

    /// The final sweep, once every child is finished: true when nothing tagged is left (or
    /// what is left did not die within `KILL_PATIENCE` of its SIGKILL).
    pub(super) fn sweep_done(&mut self, now: Instant) -> bool {
        let Some(sweep) = self.sweep.as_ref().map(|s| (s.kill_at, s.killed_at)) else {
            self.find_strays(None);
            let kill_at = deadline(now, self.shared.cfg.grace);
            self.sweep = Some(Sweep {
                kill_at,
                killed_at: None,
            });
            return self.strays.is_empty() && self.in_exec.is_empty();
        };
        if self.strays.is_empty() && self.in_exec.is_empty() {
            return true;
        }
        let (kill_at, killed_at) = sweep;
        match killed_at {
            Some(at) => now >= at + KILL_PATIENCE,
            None if now >= kill_at => {
                self.kill_strays(None);
                self.sweep = Some(Sweep {
                    kill_at,
                    killed_at: Some(now),
                });
                false
            }
            None => false,
        }
    }

    /// When the final sweep next needs a look, if it is under way.
    pub(super) fn sweep_deadline(&self) -> Option<Instant> {
        let sweep = self.sweep.as_ref().filter(|_| !self.strays.is_empty())?;
        Some(match sweep.killed_at {
            Some(at) => at + KILL_PATIENCE,
            None => sweep.kill_at,
        })
    }
}
