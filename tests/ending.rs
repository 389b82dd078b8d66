//! How a supervisor ends: dropping it returns at once and still leaves nothing running;
//! `shutdown` waits for all of it.

mod common;

use common::{eventually, live_members};
use procsnap::{CommandSpec, Status, Supervisor, SupervisorConfig};
use std::time::{Duration, Instant};

/// Whether `pid` is still a process (a zombie included).
fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Spawns `n` processes that ignore SIGTERM and waits until each runs its `sleep` (the trap is
/// set); returns their pids.
fn stubborn(sup: &Supervisor, n: usize) -> Vec<u32> {
    let pids: Vec<u32> = (0..n)
        .map(|i| {
            let p = sup
                .spawn(
                    &format!("stubborn{i}"),
                    CommandSpec::shell("trap '' TERM; sleep 300 & wait"),
                )
                .unwrap();
            p.state().snapshot().pid.unwrap()
        })
        .collect();
    for &pid in &pids {
        assert!(common::wait_children(
            procsnap::internals::sys::Pid::from_raw(pid as i32).unwrap(),
            1
        ));
    }
    pids
}

/// Dropping a supervisor whose processes ignore SIGTERM returns at once (it used to wait for
/// the grace and the SIGKILL); the reaper goes on alone and leaves nothing running, the
/// watchdog included.
#[test]
fn dropping_returns_at_once_and_leaves_nothing_running() {
    let grace = Duration::from_secs(5);
    let cfg = SupervisorConfig::default().grace(grace).watchdog(true);
    let sup = Supervisor::with_config(cfg).unwrap();
    let watchdog = sup.watchdog_pid().unwrap();
    let pids = stubborn(&sup, 3);
    let started = Instant::now();
    drop(sup);
    let took = started.elapsed();
    eprintln!("drop returned after {took:?} (grace {grace:?})");
    assert!(took < grace / 2, "drop waited {took:?}");
    let gone = || {
        pids.iter()
            .all(|&pid| live_members(pid as i32).is_empty() && !exists(pid))
            && !exists(watchdog)
    };
    assert!(
        eventually(grace + Duration::from_secs(20), gone),
        "left running after the drop"
    );
}

/// `shutdown` waits until everything is stopped and the reaper is gone; afterwards the
/// supervisor serves reads only, and a second call returns at once.
#[test]
fn shutdown_waits_for_everything_and_then_serves_reads_only() {
    let cfg = SupervisorConfig::default().grace(Duration::from_millis(200));
    let sup = Supervisor::with_config(cfg).unwrap();
    let pids = stubborn(&sup, 2);
    let polite = sup
        .spawn("polite", CommandSpec::new("sleep").arg("300"))
        .unwrap();
    sup.shutdown();
    for &pid in &pids {
        assert!(live_members(pid as i32).is_empty() && !exists(pid));
    }
    assert_eq!(polite.state().snapshot().status, Status::Stopped);
    let e = sup.spawn("late", CommandSpec::new("true")).unwrap_err();
    assert!(e.to_string().contains("shut down"), "{e}");
    assert_eq!(sup.wait(polite.id()).unwrap().status, Status::Stopped);
    sup.shutdown();
}
