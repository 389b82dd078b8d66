//! Helpers shared by the integration tests: cleanup guards and /proc probes.
#![allow(dead_code)]

use procsnap::sys::{self, Pid};
use std::time::{Duration, Instant};

/// SIGKILLs the recorded process groups when dropped, so a failing test leaves nothing behind.
#[derive(Default)]
pub struct Groups(pub Vec<Pid>);

impl Groups {
    pub fn add(&mut self, pgid: impl Into<i64>) -> Pid {
        let pid = Pid::from_raw(pgid.into() as i32).expect("positive pgid");
        self.0.push(pid);
        pid
    }
}

impl Drop for Groups {
    fn drop(&mut self) {
        for &g in &self.0 {
            let _ = sys::killpg(g, libc::SIGKILL);
        }
    }
}

/// Polls `f` every millisecond until it is true or `limit` passes; returns whether it became true.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// (pid, state, comm) of each direct child of this process, from /proc.
pub fn children() -> Vec<(i32, char, String)> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...; comm may contain spaces and parens: split at the last ')'.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let comm = stat[stat.find('(').unwrap() + 1..close].to_string();
        let mut rest = stat[close + 2..].split(' ');
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: i32 = rest.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if ppid == me {
            out.push((pid, state, comm));
        }
    }
    out
}

/// This process's own `comm` (a failed-exec child of glibc's posix_spawn would carry it).
pub fn own_comm() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .unwrap()
        .trim_end()
        .to_string()
}

pub fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

/// Open descriptors of this process.
pub fn fd_count() -> usize {
    count_dir("/proc/self/fd")
}

/// Threads of this process.
pub fn thread_count() -> usize {
    count_dir("/proc/self/task")
}

/// A supervisor for one test. On drop (also when the test panics) it SIGKILLs the group of
/// every process that is not finished, then drops the supervisor (which reaps them).
pub struct Fixture {
    pub sup: procsnap::Supervisor,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::with_grace(Duration::from_millis(500))
    }

    pub fn with_grace(grace: Duration) -> Fixture {
        let cfg = procsnap::SupervisorConfig {
            grace,
            ..Default::default()
        };
        Fixture {
            sup: procsnap::Supervisor::with_config(cfg).expect("supervisor"),
        }
    }
}

impl std::ops::Deref for Fixture {
    type Target = procsnap::Supervisor;
    fn deref(&self) -> &procsnap::Supervisor {
        &self.sup
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let guard = procsnap::pin();
        for p in self.sup.registry().list(&guard) {
            let s = p.state().load(&guard);
            if let (false, Some(pid)) = (s.is_finished(), s.pid) {
                if let Some(pg) = Pid::from_raw(pid as i32) {
                    let _ = sys::killpg(pg, libc::SIGKILL);
                }
            }
        }
    }
}

/// Processes of group `pgid` that are still alive (zombies do not count: they run nothing),
/// from /proc.
pub fn live_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let f: Vec<&str> = stat[close + 2..].split(' ').collect();
        // f[0] state, f[1] ppid, f[2] pgrp
        if f.len() > 2 && f[2].parse::<i32>().ok() == Some(pgid) && f[0] != "Z" && f[0] != "X" {
            out.push(pid);
        }
    }
    out
}

/// The group id (= leader pid) of a started process.
pub fn pgid_of(p: &procsnap::Process) -> Pid {
    Pid::from_raw(p.state().snapshot().pid.expect("started") as i32).unwrap()
}

/// Waits until `/proc/<pid>/task/<pid>/children` lists `n` children (a shell's background jobs
/// have started).
pub fn wait_children(pid: Pid, n: usize) -> bool {
    eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .map(|s| s.split_whitespace().count() >= n)
            .unwrap_or(false)
    })
}
