//! Helpers shared by the integration tests: cleanup guards and /proc probes.
#![allow(dead_code)]

use procsnap::internals::sys::{self, Pid};
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

/// One `/proc/<pid>/stat` entry: the fields the tests look at.
pub struct ProcStat {
    pub pid: i32,
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
}

/// Every process visible in /proc (those that vanish while being read are skipped).
pub fn proc_stats() -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parse = |pid: i32, stat: &str| {
        // pid (comm) state ppid pgrp ...; comm may contain spaces and parens: split at the last ')'.
        let (open, close) = (stat.find('(')?, stat.rfind(')')?);
        let mut rest = stat.get(close + 2..)?.split(' ');
        let state = rest.next()?.chars().next()?;
        let ppid = rest.next()?.parse().ok()?;
        let pgrp = rest.next()?.parse().ok()?;
        Some(ProcStat {
            pid,
            comm: stat[open + 1..close].to_string(),
            state,
            ppid,
            pgrp,
        })
    };
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<i32>().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            parse(pid, &stat)
        })
        .collect()
}

/// (pid, state, comm) of each direct child of this process, from /proc.
pub fn children() -> Vec<(i32, char, String)> {
    let me = std::process::id() as i32;
    proc_stats()
        .into_iter()
        .filter(|p| p.ppid == me)
        .map(|p| (p.pid, p.state, p.comm))
        .collect()
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

/// The configuration the `procsnap` binary runs with: the watchdog on, the descriptor limit
/// raised.
pub fn config() -> procsnap::SupervisorConfig {
    procsnap::SupervisorConfig::default()
        .watchdog(true)
        .raise_nofile(true)
}

/// A supervisor for one test. On drop (also when the test panics) it SIGKILLs the group of
/// every process that is not finished, then shuts the supervisor down (which reaps them) and
/// waits for that, so that the next test starts with no reaper of this one left.
pub struct Fixture {
    pub sup: procsnap::Supervisor,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::with_grace(Duration::from_millis(500))
    }

    pub fn with_grace(grace: Duration) -> Fixture {
        let cfg = config().grace(grace);
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
        drop(guard);
        self.sup.shutdown();
    }
}

/// Processes of group `pgid` that are still alive (zombies do not count: they run nothing),
/// from /proc.
pub fn live_members(pgid: i32) -> Vec<i32> {
    proc_stats()
        .into_iter()
        .filter(|p| p.pgrp == pgid && p.state != 'Z' && p.state != 'X')
        .map(|p| p.pid)
        .collect()
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

/// Threads of this process named `name` (as /proc shows it: at most 15 bytes).
pub fn threads_named(name: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .count()
}

/// This test binary, to run one of its tests as a helper process. Under a user-mode emulator
/// (a cross-built binary run by qemu-user) the kernel cannot run it directly: it goes through
/// the runner cargo ran it with (`CARGO_TARGET_<TRIPLE>_RUNNER`).
pub fn this_test_binary() -> std::process::Command {
    let exe = std::env::current_exe().expect("path of this test binary");
    if sys::emulated().is_some() {
        let prefix = format!("CARGO_TARGET_{}_", std::env::consts::ARCH.to_uppercase());
        let runner = std::env::vars()
            .find(|(k, _)| k.starts_with(&prefix) && k.ends_with("_RUNNER"))
            .map(|(_, v)| v);
        if let Some(runner) = runner {
            let mut parts = runner.split_whitespace();
            let mut cmd = std::process::Command::new(parts.next().expect("a runner"));
            cmd.args(parts).arg(exe);
            return cmd;
        }
    }
    std::process::Command::new(exe)
}

/// Why an emulator's artefact, not a defect, would fail this (part of a) test: `true`, after
/// printing `IGNORED (emulated on HOST): reason` (the architectures script lists it), when the
/// test runs under a user-mode emulator; `false` on a real machine.
pub fn ignored_when_emulated(reason: &str) -> bool {
    match sys::emulated() {
        Some(host) => {
            eprintln!("IGNORED (emulated on {host}): {reason}");
            true
        }
        None => false,
    }
}

/// What qemu-user changes for a spawn: it runs `vfork` (and so `posix_spawn`'s `CLONE_VFORK`)
/// as a plain `fork`, so a failed `exec` or `chdir` in the child is not reported to the caller.
pub const QEMU_VFORK: &str = "qemu-user runs vfork as fork, so posix_spawn cannot report a failed exec or chdir in the child";
