//! 20 idle children cost the Supervisor nothing: its reaper thread sleeps in `epoll_wait` with
//! no timeout, so over a quiet window it is never woken. This file holds one test, so the
//! reaper found by name is the only one in the process.
//!
//! The assertion is on the reaper's context switches (`voluntary_ctxt_switches` +
//! `nonvoluntary_ctxt_switches` of its `/proc/self/task/TID/status`), which a busy machine does
//! not change for a thread that never runs; CPU time is printed, not asserted. Any periodic
//! timer of 1 Hz or faster would show at least 2 switches in the window.

use std::time::Duration;

mod common;

use procsnap::{CommandSpec, Status, Supervisor};

/// Tid of the one thread named `procsnap-reaper`.
fn reaper_tid() -> u32 {
    let tids: Vec<u32> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|tid| {
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .is_ok_and(|c| c.trim() == "procsnap-reaper")
        })
        .collect();
    assert_eq!(tids.len(), 1, "one reaper thread: {tids:?}");
    tids[0]
}

/// Voluntary + involuntary context switches of thread `tid`.
fn switches(tid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap();
    status
        .lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .map(|l| l.split(':').nth(1).unwrap().trim().parse::<u64>().unwrap())
        .sum()
}

/// utime + stime of thread `tid`, in clock ticks.
fn cpu_ticks(tid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // Fields 14 and 15 of stat; `rest` starts at field 3.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn twenty_idle_children_never_wake_the_reaper() {
    let sup = Supervisor::with_config(common::config()).unwrap();
    let procs: Vec<_> = (0..20)
        .map(|i| {
            sup.spawn(&format!("idle{i}"), CommandSpec::new("sleep").arg("300"))
                .unwrap()
        })
        .collect();
    let tid = reaper_tid();
    // Let start-up wake-ups (the first registrations, the children's exec) settle.
    std::thread::sleep(Duration::from_millis(300));
    let (s0, c0) = (switches(tid), cpu_ticks(tid));
    std::thread::sleep(Duration::from_secs(3));
    let (s1, c1) = (switches(tid), cpu_ticks(tid));
    eprintln!(
        "reaper over 3 s with 20 idle children: {} context switches, {} CPU ticks",
        s1 - s0,
        c1 - c0
    );
    assert!(
        procs
            .iter()
            .all(|p| p.state().snapshot().status == Status::Running)
    );
    assert!(s1 - s0 <= 1, "the reaper woke {} times", s1 - s0);
    drop(sup); // stops all 20
}
