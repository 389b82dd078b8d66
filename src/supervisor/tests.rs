//! What a caller sees when the supervisor's own machinery fails: nothing waits forever.

use super::*;
use std::time::{Duration, Instant};

use crate::Status;

/// Alive and not a zombie.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| !r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// A reaper that died of a bug is reported, not swallowed: spawns fail naming the panic, stops
/// and waits return at once, and dropping the supervisor still leaves nothing running (without
/// a watchdog, too).
#[test]
fn a_reaper_panic_is_reported_and_nothing_hangs() {
    let sup = Supervisor::new().unwrap();
    let p = sup
        .spawn("sleeper", CommandSpec::new("sleep").arg("300"))
        .unwrap();
    let pid = p.state().snapshot().pid.unwrap();
    assert!(sup.shared.send(Command::Panic));
    let start = Instant::now();
    while !sup.shared.reaper_gone() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the reaper never died"
        );
        std::thread::yield_now();
    }
    assert_eq!(sup.reaper_panic().as_deref(), Some("planted reaper bug"));
    let e = sup.spawn("late", CommandSpec::new("true")).unwrap_err();
    assert!(
        e.to_string().contains("panicked: planted reaper bug"),
        "{e}"
    );
    assert!(matches!(
        sup.stop(p.id(), Duration::from_secs(1)),
        Err(StopError::SupervisorGone)
    ));
    assert_eq!(sup.wait(p.id()), None);
    drop(sup); // takes down what the dead reaper cannot stop (no watchdog here)
    let start = Instant::now();
    while running(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the child outlived the supervisor"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A subscriber whose waker panics while a process is being spawned cannot leave that child
/// unknown to the reaper (a `stop` of it would wait forever): the waker runs only once the
/// child is registered, and the spawn's caller sees the panic.
#[test]
fn a_panicking_waker_cannot_orphan_a_child() {
    let sup = Arc::new(Supervisor::new().unwrap());
    let events = sup.subscribe();
    events.set_waker(|| panic!("broken consumer"));
    assert!(events.park());
    let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sup.spawn("sleeper", CommandSpec::new("sleep").arg("300"))
    }));
    // The waker's panic does not reach the spawning thread either: it is caught where the
    // waker runs. The child is supervised either way.
    let p = spawned.expect("no panic in spawn").unwrap();
    let (done_tx, done) = std::sync::mpsc::channel();
    let (stopper, id) = (sup.clone(), p.id());
    // Not a scoped thread: if the stop never returns, the test fails instead of hanging.
    std::thread::spawn(move || {
        let _ = done_tx.send(stopper.stop(id, Duration::from_secs(1)));
    });
    let stopped = done
        .recv_timeout(Duration::from_secs(10))
        .expect("stop waited forever");
    assert_eq!(stopped.unwrap().status, Status::Stopped);
}

/// Once a stopped process's group is known to be empty, `signal_all` leaves it alone even
/// though the process is not finished (an adopted stray that ignores SIGTERM keeps it
/// `Stopping`): the group's number may belong to an unrelated group by then.
#[test]
fn signal_all_spares_a_group_known_to_be_empty() {
    let sup = Arc::new(Supervisor::new().unwrap());
    // The leader is `sleep` itself: once it is reaped, nothing of its group is left.
    let script = "setsid sh -c 'trap \"\" TERM; exec sleep 300' & exec sleep 300";
    let p = sup.spawn("escaper", CommandSpec::shell(script)).unwrap();
    let pgid = p.state().snapshot().pid.unwrap() as i32;
    // The stray is in place (its own session, SIGTERM ignored: it runs `sleep` now) before the
    // stop looks for it.
    let sleeping = |pid: &i32| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == "sleep")
    };
    let start = Instant::now();
    while crate::supervisor::procfs::scan_tagged(sup.shared.tag.name().as_bytes())
        .tagged
        .iter()
        .filter(|(pid, _)| sleeping(pid))
        .count()
        < 2
    {
        assert!(start.elapsed() < Duration::from_secs(10), "no stray");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (stopper, id) = (sup.clone(), p.id());
    let stopping = std::thread::spawn(move || stopper.stop(id, Duration::from_secs(3600)));
    // The leader is reaped (gone from /proc) and its group is empty; the stray lives on.
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{pgid}")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "leader never reaped"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(p.state().snapshot().status, Status::Stopping);
    sup.signal_all(crate::Signal::WINCH);
    let sent = reaper::tests::GROUPS_SIGNALLED
        .lock()
        .unwrap()
        .contains(&(pgid, libc::SIGWINCH));
    sup.stop(id, Duration::ZERO).unwrap(); // SIGKILL for the stray
    let end = stopping.join().unwrap().unwrap();
    assert_eq!(end.status, Status::Stopped);
    assert!(!sent, "signal_all signalled a group known to be empty");
}

/// A configuration that cannot work is refused when the supervisor is built, naming the
/// setting, instead of panicking later (an `event_capacity` of 0 made `subscribe` panic).
#[test]
fn a_config_that_cannot_work_is_refused_up_front() {
    let cfg = SupervisorConfig::default().event_capacity(0);
    let e = Supervisor::with_config(cfg).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("event_capacity"), "{e}");
    let sup = Supervisor::with_config(SupervisorConfig::default().event_capacity(1)).unwrap();
    let _events = sup.subscribe();
}
