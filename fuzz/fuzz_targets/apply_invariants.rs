//! Random event sequences through `ProcessState::apply`, from a fresh state, checking the
//! lifecycle against an independent copy of its transition table and the state invariants.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use procsnap::{Event, Exit, ProcessState, Rejected, Status, Timestamp};
use procsnap_fuzz::EventIn;

#[derive(Arbitrary, Debug)]
struct Input {
    restarts: u32,
    version: u64,
    events: Vec<EventIn>,
}

/// The lifecycle drawn in the `state` module's docs, written out again: the status `event`
/// leads to from `status`, or `None` when it is rejected.
fn expected(status: Status, event: Event) -> Option<Status> {
    use Status::*;
    match (status, event) {
        (Pending, Event::Started { .. }) => Some(Running),
        (Pending, Event::SpawnFailed { .. }) => Some(Failed),
        (Running, Event::StopRequested) => Some(Stopping),
        (Running, Event::Exited { exit, .. }) if exit == Exit::Code(0) => Some(Success),
        (Running, Event::Exited { .. }) => Some(Failed),
        (Stopping, Event::Exited { .. }) => Some(Stopped),
        _ => None,
    }
}

fn check_invariants(s: &ProcessState) {
    if let (Some(start), Some(end)) = (s.started_at, s.ended_at) {
        assert!(end >= start, "ended before it started: {s:?}");
    }
    assert_eq!(
        s.pid.is_some(),
        s.started_at.is_some(),
        "pid without start: {s:?}"
    );
    assert_eq!(
        s.ended_at.is_some(),
        s.is_finished(),
        "ended_at vs terminal: {s:?}"
    );
    assert_eq!(
        s.exit.is_some(),
        s.is_finished() && s.started_at.is_some(),
        "exit present iff a started process finished: {s:?}"
    );
    assert_eq!(s.is_running(), s.status == Status::Running);
    // A process that never started (SpawnFailed) has no duration, even once terminal.
    assert_eq!(
        s.duration().is_some(),
        s.started_at.is_some(),
        "duration: {s:?}"
    );
    if let (Some(d), Some(start), Some(end)) = (s.duration(), s.started_at, s.ended_at) {
        assert_eq!(d, end.duration_since(start));
    }
}

fuzz_target!(|input: Input| {
    let mut s = {
        let mut next = ProcessState::default();
        next.restarts = input.restarts;
        next.version = input.version;
        next
    };
    check_invariants(&s);
    for e in input.events {
        let event = Event::from(e);
        let result = s.apply(event);
        match (expected(s.status, event), result) {
            (None, Err(r)) => assert_eq!(
                r,
                Rejected {
                    status: s.status,
                    event
                }
            ),
            (Some(status), Ok(next)) => {
                assert!(
                    !s.is_finished(),
                    "a terminal state changed: {s:?} -> {next:?}"
                );
                assert_eq!(next.status, status, "{s:?} + {event:?}");
                assert_eq!(next.version, s.version, "apply changed the version");
                assert_eq!(next.restarts, s.restarts, "apply changed restarts");
                if next.status == Status::Stopped {
                    assert_eq!(s.status, Status::Stopping, "Stopped not via Stopping");
                }
                if let Event::Exited { exit, at } = event {
                    assert_eq!(next.exit, Some(exit), "exit not kept as given");
                    // The end is the reap time, unless the clock stepped back before the start.
                    let start = s.started_at.expect("exited without a start");
                    assert_eq!(next.ended_at, Some(Timestamp::from(at).max(start)));
                }
                if let Event::Started { pid, at } = event {
                    assert_eq!((next.pid, next.started_at), (Some(pid), Some(at.into())));
                }
                if s.started_at.is_some() {
                    // Set once, never changed.
                    assert_eq!((next.pid, next.started_at), (s.pid, s.started_at));
                }
                check_invariants(&next);
                s = next;
            }
            (want, got) => panic!("{s:?} + {event:?}: expected {want:?}, got {got:?}"),
        }
    }
});
