//! A leader that SIGKILL cannot take away: a stop still returns, within grace + 2 s.
//!
//! A real uninterruptible sleep (D state) cannot be set up from a test without a misbehaving
//! device or file system, so the test simulates its effect on the supervisor: the leader is
//! traced by `strace`, which is then stopped (SIGSTOP). The SIGKILL of the stop kills the
//! leader, but a traced process that dies is released to its parent only once its tracer has
//! seen its death: until then the parent cannot reap it, exactly as with a leader stuck in D
//! state, whose SIGKILL takes effect only when the sleep ends.

mod common;

use common::eventually;
use procsnap::{CommandSpec, Exit, Status, Supervisor, SupervisorConfig};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// `strace` attached to `pid`, or `None` (with the reason printed) where it cannot be.
fn trace(pid: u32) -> Option<Child> {
    let tracer = Command::new("strace")
        .args(["-o", "/dev/null", "-p", &pid.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut tracer) = tracer else {
        eprintln!("skipped: strace is not installed");
        return None;
    };
    let traced = || {
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            s.lines()
                .any(|l| l.starts_with("TracerPid:") && l.split_whitespace().nth(1) != Some("0"))
        })
    };
    if !eventually(Duration::from_secs(10), traced) {
        let _ = tracer.kill();
        let _ = tracer.wait();
        eprintln!("skipped: strace could not attach (ptrace not permitted here)");
        return None;
    }
    Some(tracer)
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} {pid}");
}

/// Whether `pid` is still a process (a zombie included) or gone.
fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn a_stop_returns_even_when_the_leader_cannot_be_reaped() {
    let grace = Duration::from_millis(300);
    let sup = Arc::new(Supervisor::with_config(SupervisorConfig::default().grace(grace)).unwrap());
    let p = sup
        .spawn("stuck", CommandSpec::new("sleep").arg("300"))
        .unwrap();
    let pid = p.state().snapshot().pid.unwrap();
    let Some(mut tracer) = trace(pid) else {
        sup.stop(p.id(), Duration::ZERO).unwrap();
        return;
    };
    signal(tracer.id(), "-STOP");
    let (tx, rx) = mpsc::channel();
    let (stopper, id) = (sup.clone(), p.id());
    let started = Instant::now();
    // Not a scoped thread: if the stop never returns, the test fails instead of hanging.
    std::thread::spawn(move || {
        let _ = tx.send(stopper.stop(id, grace));
    });
    let end = rx.recv_timeout(Duration::from_secs(30));
    let took = started.elapsed();
    // Let the tracer go whatever happened, so that nothing is left behind.
    signal(tracer.id(), "-CONT");
    let _ = tracer.kill();
    let _ = tracer.wait();
    let end = end.expect("the stop never returned").unwrap();
    eprintln!("stop returned after {took:?} (grace {grace:?})");
    assert_eq!(end.status, Status::Stopped);
    // Its exit status was never seen: unknown, not made up.
    assert_eq!(end.exit, Some(Exit::Unknown));
    // Once its tracer is gone, the supervisor still reaps it: no zombie is left.
    assert!(
        eventually(Duration::from_secs(10), || !exists(pid)),
        "the leader was never reaped"
    );
    drop(sup);
}
