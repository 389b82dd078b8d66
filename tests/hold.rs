//! `Supervisor::hold_output` with real children: a held process blocks in `write` while the
//! others are read as usual, nothing is lost when it is released, and nothing hangs on it.

mod common;

use common::{Fixture, eventually};
use procsnap::{CommandSpec, Process, Status, Supervisor, SupervisorConfig};
use std::sync::mpsc;
use std::time::Duration;

/// Lines in `p`'s log ring now.
fn lines(p: &Process) -> usize {
    p.logs().len()
}

/// Asserts that `p`'s ring holds exactly `1..=n`, in order.
fn assert_counts_to(p: &Process, n: usize) {
    let all = p.logs().tail(usize::MAX);
    assert_eq!(all.len(), n, "lines kept");
    for (i, line) in all.iter().enumerate() {
        assert_eq!(&*line.text, (i + 1).to_string(), "line {}", i + 1);
    }
}

/// Waits until `p` has stopped producing output that is read (the hold has taken effect and
/// the process is blocked on its full pipe): two successive looks 100 ms apart that agree (or
/// 30 s, after which the caller's assertions tell what went wrong).
fn settled(p: &Process) -> usize {
    let mut last = lines(p);
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(100));
        let now = lines(p);
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

/// A supervisor whose rings keep 64 MiB per process: `seq 1 200000` (1.3 MB of text, 200,000 lines) fits whole.
fn roomy() -> Fixture {
    let cfg = common::config()
        .grace(Duration::from_millis(500))
        .log_bytes(64 << 20);
    Fixture {
        sup: Supervisor::with_config(cfg).expect("supervisor"),
    }
}

#[test]
fn a_held_process_blocks_while_others_flow_and_finishes_in_order_once_released() {
    let sup = roomy();
    let held = sup
        .spawn("held", CommandSpec::new("seq").args(["1", "200000"]))
        .unwrap();
    let hold = sup.hold_output(held.id()).expect("a live process");
    // Another process's output keeps flowing to its end meanwhile.
    let other = sup
        .spawn("other", CommandSpec::new("seq").args(["1", "100000"]))
        .unwrap();
    assert_eq!(sup.wait(other.id()).unwrap().status, Status::Success);
    assert_counts_to(&other, 100_000);
    // The held one is blocked on its full pipe: nothing more is read, it cannot finish.
    let before = settled(&held);
    assert!(
        before < 200_000,
        "all {before} lines were read under the hold"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lines(&held), before, "lines were read under the hold");
    assert!(!held.state().snapshot().is_finished());
    drop(hold);
    assert_eq!(sup.wait(held.id()).unwrap().status, Status::Success);
    assert_counts_to(&held, 200_000);
}

#[test]
fn holds_are_counted() {
    let sup = roomy();
    let p = sup
        .spawn("held", CommandSpec::new("seq").args(["1", "200000"]))
        .unwrap();
    let first = sup.hold_output(p.id()).unwrap();
    let second = sup.hold_output(p.id()).unwrap();
    let before = settled(&p);
    drop(first);
    // The second hold still holds: a process that read on would finish within this time.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lines(&p), before, "read while a hold was left");
    assert!(!p.state().snapshot().is_finished());
    drop(second);
    assert_eq!(sup.wait(p.id()).unwrap().status, Status::Success);
    assert_counts_to(&p, 200_000);
}

#[test]
fn a_hold_taken_before_any_output_holds_from_the_first_line() {
    let sup = roomy();
    // The process waits for a file before it writes: the hold is in place by then.
    let dir = std::env::temp_dir().join(format!("procsnap-hold-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let go = dir.join("go");
    let script = format!(
        "while [ ! -e {go} ]; do sleep 0.01; done; seq 1 200000",
        go = go.display()
    );
    let p = sup.spawn("held", CommandSpec::shell(&script)).unwrap();
    let hold = sup.hold_output(p.id()).unwrap();
    std::fs::write(&go, b"").unwrap();
    let before = settled(&p);
    // At most what fits in the pipe was written; none of it was read.
    assert_eq!(before, 0, "lines read under a hold taken before the output");
    drop(hold);
    assert_eq!(sup.wait(p.id()).unwrap().status, Status::Success);
    assert_counts_to(&p, 200_000);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_hold_on_an_unknown_or_finished_process_is_none() {
    let sup = Fixture::new();
    let p = sup.spawn("quick", CommandSpec::new("true")).unwrap();
    sup.wait(p.id()).unwrap();
    assert!(sup.hold_output(p.id()).is_none());
    let unknown = procsnap::ProcId::from_label("nobody-999999").unwrap();
    assert!(sup.hold_output(unknown).is_none());
}

/// Runs `f` on its own thread; fails the test if it does not return within `limit`.
fn within<T: Send + 'static>(limit: Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    // Not a scoped thread: if `f` never returns, the test fails instead of hanging.
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    assert!(rx.recv_timeout(limit).is_ok(), "{what} did not return");
}

#[test]
fn stopping_a_held_process_does_not_hang() {
    let sup = std::sync::Arc::new(roomy());
    // One that dies of SIGTERM, and one that ignores it and keeps writing (SIGKILL after grace).
    let plain = sup
        .spawn("plain", CommandSpec::new("seq").args(["1", "10000000"]))
        .unwrap();
    let stubborn = sup
        .spawn(
            "stubborn",
            CommandSpec::shell("trap '' TERM; seq 1 10000000"),
        )
        .unwrap();
    let holds = [plain.id(), stubborn.id()].map(|id| sup.hold_output(id).unwrap());
    settled(&plain);
    settled(&stubborn);
    for p in [plain, stubborn] {
        let s = sup.clone();
        within(
            Duration::from_secs(30),
            "a stop of a held process",
            move || {
                let end = s.stop(p.id(), Duration::from_millis(500)).unwrap();
                assert_eq!(end.status, Status::Stopped);
            },
        );
    }
    drop(holds);
}

#[test]
fn dropping_a_supervisor_with_a_held_process_does_not_hang() {
    let cfg = SupervisorConfig::default().grace(Duration::from_millis(500));
    let sup = Supervisor::with_config(cfg).unwrap();
    let p = sup
        .spawn("held", CommandSpec::shell("trap '' TERM; seq 1 10000000"))
        .unwrap();
    let pid = p.state().snapshot().pid.unwrap();
    let hold = sup.hold_output(p.id()).unwrap();
    settled(&p);
    within(
        Duration::from_secs(30),
        "dropping the supervisor",
        move || drop(sup),
    );
    assert!(
        eventually(Duration::from_secs(10), || common::live_members(pid as i32)
            .is_empty()),
        "the held process outlived its supervisor"
    );
    drop(hold); // its supervisor is gone: nothing to do
}
