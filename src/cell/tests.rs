use std::convert::Infallible;
use std::time::SystemTime;

use super::*;
use crate::state::{Event, Exit, Status};

fn start(s: &ProcessState) -> Result<ProcessState, crate::Rejected> {
    s.apply(Event::Started {
        pid: 1,
        at: SystemTime::now(),
    })
}

#[test]
fn update_bumps_version_by_one() {
    let cell = StateCell::default();
    for v in 1..=10u64 {
        let up = cell.update(|s| Ok::<_, Infallible>(*s)).unwrap();
        assert_eq!((up.old.version, up.new.version, up.retries), (v - 1, v, 0));
    }
    assert_eq!(cell.snapshot().version, 10);
}

#[test]
fn version_set_by_cell_not_caller() {
    let cell = StateCell::default();
    let up = cell
        .update(|s| Ok::<_, Infallible>(ProcessState { version: 999, ..*s }))
        .unwrap();
    assert_eq!(up.new.version, 1);
}

#[test]
fn rejected_update_changes_nothing() {
    let cell = StateCell::default();
    let err = cell.update(|s| s.apply(Event::StopRequested)).unwrap_err();
    assert_eq!(err.status, Status::Pending);
    assert_eq!(cell.snapshot(), ProcessState::default());
}

#[test]
fn load_is_zero_copy_and_outlives_replacement() {
    let cell = StateCell::default();
    let guard = pin();
    let before = cell.load(&guard);
    cell.update(start).unwrap();
    // The old snapshot is still readable under the guard, and unchanged.
    assert_eq!(before.status, Status::Pending);
    assert_eq!(cell.load(&guard).status, Status::Running);
    assert!(std::ptr::eq(cell.load(&guard), cell.load(&guard)));
}

#[test]
fn load_survives_dropping_the_cell() {
    let cell = StateCell::default();
    cell.update(start).unwrap();
    let guard = pin();
    let s = cell.load(&guard);
    drop(cell);
    assert_eq!(s.status, Status::Running);
}

#[test]
fn retries_are_counted_and_f_rerun() {
    let cell = StateCell::default();
    let mut calls = 0;
    let up = cell
        .update(|s| {
            calls += 1;
            if calls == 1 {
                // Another writer wins while we compute.
                cell.update(|s| Ok::<_, Infallible>(*s)).unwrap();
            }
            Ok::<_, Infallible>(*s)
        })
        .unwrap();
    assert_eq!(
        (calls, up.retries, up.old.version, up.new.version),
        (2, 1, 1, 2)
    );
}

#[test]
fn locked_cell_matches() {
    let a = StateCell::default();
    let b = LockedCell::default();
    let at = SystemTime::UNIX_EPOCH;
    let events = [
        Event::Started { pid: 3, at },
        Event::Started { pid: 4, at },
        Event::StopRequested,
        Event::Exited {
            exit: Exit::signal(15),
            at,
        },
        Event::StopRequested,
    ];
    for e in events {
        let ra = a.update(|s| s.apply(e));
        let rb = b.update(|s| s.apply(e));
        assert_eq!(ra.map(|u| (u.old, u.new)), rb.map(|u| (u.old, u.new)));
        assert_eq!(a.snapshot(), b.snapshot());
    }
    assert_eq!(a.snapshot().status, Status::Stopped);
}
