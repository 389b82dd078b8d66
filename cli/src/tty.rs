//! A script that wants the terminal. `run`, `up` and the terminal UI keep the terminal for
//! themselves (Ctrl-C, Ctrl-Z and SIGHUP are theirs to handle, the UI draws on it) and each
//! script runs in a process group of its own with stdin from `/dev/null`, so a script that
//! opens `/dev/tty` to read (a prompt, a password) or to change its modes is stopped by the
//! kernel (SIGTTIN / SIGTTOU: it is not in the terminal's foreground) and would wait in
//! silence. The terminal is not handed over (with several scripts there is no right one to
//! give it to, and Ctrl-C would then go to the script instead of stopping everything); the
//! faces say that the script waits for terminal input, so the user knows to run it in a
//! shell.
//!
//! Seen from `/proc`: the group's leader is stopped (`T`) and a member of the group has a
//! terminal open. Looked at at most once per [`EVERY`], and only for unfinished processes; a
//! process is said to wait when seen so at two looks in a row, so a group that procsnap
//! itself suspended (Ctrl-Z) and is about to resume is not.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often stopped groups are looked for.
pub const EVERY: Duration = Duration::from_secs(1);

/// What `run` and `up` say.
pub const WAITING: &str = "is stopped: it waits for terminal input (it reads /dev/tty), \
     which procsnap keeps for itself; run it in a shell instead (Ctrl-C stops everything)";

/// What the terminal UI says, in the waiting process's log pane title (its start shows in a
/// narrow pane).
pub const WAITING_UI: &str = "run it in a shell: it waits for terminal input (it reads \
     /dev/tty), which the UI keeps for itself";

/// Which processes wait for the terminal (see the [module docs](self)).
#[derive(Debug, Default)]
pub struct Watch {
    looked: Option<Instant>,
    /// Looks in a row that found each process (by pid) waiting.
    looks: HashMap<u32, u8>,
}

impl Watch {
    /// True when a look is due at `now` (one per [`EVERY`]).
    pub fn due(&self, now: Instant) -> bool {
        self.looked.is_none_or(|t| now >= t + EVERY)
    }

    /// Looks at the unfinished processes `pids` if a look is due at `now` (else `None`): the
    /// pids that wait for the terminal, each with `true` the first time it is said.
    pub fn look(
        &mut self,
        pids: impl IntoIterator<Item = u32>,
        now: Instant,
    ) -> Option<Vec<(u32, bool)>> {
        if !self.due(now) {
            return None;
        }
        self.looked = Some(now);
        let mut looks = HashMap::new();
        let mut waiting = Vec::new();
        for pid in pids {
            if !waits_for_terminal(pid) {
                continue;
            }
            let n = self.looks.get(&pid).copied().unwrap_or(0).saturating_add(1);
            looks.insert(pid, n);
            if n >= 2 {
                waiting.push((pid, n == 2));
            }
        }
        // Only the processes looked at now are remembered: a run of crashes keeps nothing.
        self.looks = looks;
        Some(waiting)
    }
}

/// True when process `pid` (a group leader) is stopped and a member of its group has a
/// terminal open.
pub fn waits_for_terminal(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| state == 'T') && group_holds_terminal(pid)
}

/// The state letter and process group of `pid`.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses.
    let mut f = text.rsplit_once(')')?.1.split_whitespace();
    let state = f.next()?.chars().next()?;
    let pgrp = f.nth(1)?.parse().ok()?;
    Some((state, pgrp))
}

/// True when a process of group `pgid` has a terminal open on some descriptor.
fn group_holds_terminal(pgid: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|(_, g)| g == pgid))
        .any(holds_terminal)
}

fn holds_terminal(pid: u32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            let t = target.to_string_lossy();
            t == "/dev/tty" || t.starts_with("/dev/pts/") || t.starts_with("/dev/tty")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_process_does_not_wait() {
        assert!(!waits_for_terminal(std::process::id()));
        assert!(stat(std::process::id()).is_some());
        assert!(stat(u32::MAX).is_none());
    }
}
