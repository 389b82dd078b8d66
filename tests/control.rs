//! `Supervisor::signal` (the leader, through its pidfd) and `Supervisor::begin_stop` (a stop
//! that does not wait), with real processes.

mod common;

use common::{Fixture, eventually, live_members, pgid_of, wait_children};
use procsnap::{CommandSpec, ProcId, Signal, SignalError, Status, StopError, SupervisorEvent};
use std::time::{Duration, Instant};

/// A shell that reports SIGUSR1 and waits on a `sleep` child (which SIGUSR1 would kill).
const REPORTS_USR1: &str = "trap 'echo got USR1' USR1; sleep 300 & while :; do wait; done";

#[test]
fn signal_reaches_the_leader_and_not_its_group() {
    let sup = Fixture::new();
    let p = sup
        .spawn("leader", CommandSpec::shell(REPORTS_USR1))
        .unwrap();
    let pg = pgid_of(&p);
    assert!(wait_children(pg, 1));
    sup.signal(p.id(), Signal::USR1).unwrap();
    assert!(
        eventually(Duration::from_secs(10), || {
            p.logs()
                .tail(1)
                .first()
                .is_some_and(|l| &*l.text == "got USR1")
        }),
        "the leader never got the signal"
    );
    // The group's other member (the `sleep`, which SIGUSR1 would kill) was not signalled.
    assert_eq!(live_members(pg.as_raw()).len(), 2);
    assert_eq!(p.state().snapshot().status, Status::Running);
}

#[test]
fn signal_sends_nothing_once_the_leader_is_gone() {
    let sup = Fixture::new();
    let p = sup.spawn("quick", CommandSpec::new("true")).unwrap();
    sup.wait(p.id()).unwrap();
    assert!(matches!(
        sup.signal(p.id(), Signal::KILL),
        Err(SignalError::NotRunning(id)) if id == p.id()
    ));
    let unknown = ProcId::from_label("nobody-424242").unwrap();
    assert!(matches!(
        sup.signal(unknown, Signal::TERM),
        Err(SignalError::UnknownProcess(_))
    ));
    // A process that never started: its working directory is missing.
    let failed = sup.spawn("missing", CommandSpec::new("true").cwd("/no/such/dir"));
    if common::ignored_when_emulated(common::QEMU_VFORK) {
        return;
    }
    assert!(failed.is_err());
    let never = sup.registry().list(&procsnap::pin())[1].id();
    assert!(matches!(
        sup.signal(never, Signal::TERM),
        Err(SignalError::NotRunning(_))
    ));
}

/// `begin_stop` returns while the process is still stopping (it ignores SIGTERM); the stop
/// then ends on its own, and a subscription is told.
#[test]
fn begin_stop_returns_before_the_end_and_the_end_is_told() {
    let sup = Fixture::new();
    let events = sup.subscribe();
    let p = sup
        .spawn(
            "stubborn",
            CommandSpec::shell("trap '' TERM; sleep 300 & wait; wait"),
        )
        .unwrap();
    assert!(wait_children(pgid_of(&p), 1));
    let start = Instant::now();
    let stopping = sup
        .begin_stop(p.id(), Signal::TERM, Duration::from_millis(500))
        .unwrap();
    let returned = start.elapsed();
    assert_eq!(stopping.finished(), None, "returned after the end");
    let end = stopping.wait().unwrap();
    eprintln!(
        "begin_stop returned after {returned:?}; the stop took {:?}",
        start.elapsed()
    );
    assert_eq!(end.status, Status::Stopped);
    assert_eq!(stopping.finished(), Some(end));
    let told = events
        .drain(usize::MAX)
        .into_iter()
        .any(|e| matches!(e, SupervisorEvent::State { id, state } if id == p.id() && state == end));
    assert!(told, "no subscriber was told of the end");
    let unknown = ProcId::from_label("nobody-424242").unwrap();
    assert!(matches!(
        sup.begin_stop(unknown, Signal::TERM, Duration::ZERO),
        Err(StopError::UnknownProcess(_))
    ));
}
