//! The lifecycle, transition by transition.

use super::*;

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// `t(secs)` as stored in a state.
fn ts(secs: u64) -> Option<Timestamp> {
    Some(t(secs).into())
}

fn running() -> ProcessState {
    ProcessState::default()
        .apply(Event::Started { pid: 7, at: t(10) })
        .unwrap()
}

fn stopping() -> ProcessState {
    running().apply(Event::StopRequested).unwrap()
}

fn all_events() -> [Event; 5] {
    [
        Event::Started { pid: 9, at: t(20) },
        Event::SpawnFailed { at: t(20) },
        Event::StopRequested,
        Event::Exited {
            exit: Exit::Code(0),
            at: t(20),
        },
        Event::Exited {
            exit: Exit::Signal(9),
            at: t(20),
        },
    ]
}

#[test]
fn default_is_fresh_pending() {
    let s = ProcessState::default();
    assert_eq!(s.status, Status::Pending);
    assert_eq!(
        (s.pid, s.started_at, s.ended_at, s.exit),
        (None, None, None, None)
    );
    assert_eq!((s.restarts, s.version), (0, 0));
    assert_eq!(s.duration(), None);
}

#[test]
fn wire_strings() {
    let all = [
        Status::Pending,
        Status::Running,
        Status::Stopping,
        Status::Stopped,
        Status::Failed,
        Status::Success,
    ];
    let names: Vec<_> = all.iter().map(|s| s.as_str()).collect();
    for s in all {
        assert_eq!(Status::parse(s.as_str()), Some(s), "{s:?} reads back");
    }
    assert_eq!(Status::parse(""), None);
    assert_eq!(
        names,
        [
            "pending", "running", "stopping", "stopped", "failed", "success"
        ]
    );
    let finished: Vec<_> = all.iter().map(|s| s.is_finished()).collect();
    assert_eq!(finished, [false, false, false, true, true, true]);
}

#[test]
fn pending_started_is_running() {
    let s = running();
    assert_eq!(s.status, Status::Running);
    assert_eq!(s.pid, Some(7));
    assert_eq!(s.started_at, ts(10));
    assert!(s.is_running() && !s.is_finished());
}

#[test]
fn pending_spawn_failed_is_failed_without_exit() {
    let s = ProcessState::default()
        .apply(Event::SpawnFailed { at: t(3) })
        .unwrap();
    assert_eq!(s.status, Status::Failed);
    assert_eq!((s.exit, s.pid, s.ended_at), (None, None, ts(3)));
}

#[test]
fn pending_rejects_stop_and_exit() {
    let p = ProcessState::default();
    for e in [
        Event::StopRequested,
        Event::Exited {
            exit: Exit::Code(0),
            at: t(1),
        },
    ] {
        assert_eq!(
            p.apply(e),
            Err(Rejected {
                status: Status::Pending,
                event: e
            })
        );
    }
}

#[test]
fn running_exit_zero_is_success() {
    let s = running()
        .apply(Event::Exited {
            exit: Exit::Code(0),
            at: t(15),
        })
        .unwrap();
    assert_eq!(s.status, Status::Success);
    assert_eq!(s.exit, Some(Exit::Code(0)));
    assert_eq!(s.duration(), Some(Duration::from_secs(5)));
}

#[test]
fn running_nonzero_or_signal_is_failed_and_kept_apart() {
    let s = running()
        .apply(Event::Exited {
            exit: Exit::Code(2),
            at: t(15),
        })
        .unwrap();
    assert_eq!((s.status, s.exit), (Status::Failed, Some(Exit::Code(2))));
    let s = running()
        .apply(Event::Exited {
            exit: Exit::Signal(9),
            at: t(15),
        })
        .unwrap();
    assert_eq!(s.status, Status::Failed);
    assert_eq!(s.exit, Some(Exit::Signal(9)));
    assert_eq!(s.exit.and_then(Exit::code), None, "a signal is not a code");
}

#[test]
fn running_rejects_start_and_spawn_failed() {
    for e in [
        Event::Started { pid: 1, at: t(1) },
        Event::SpawnFailed { at: t(1) },
    ] {
        assert!(running().apply(e).is_err());
    }
}

#[test]
fn running_stop_requested_is_stopping() {
    let s = stopping();
    assert_eq!(s.status, Status::Stopping);
    assert!(!s.is_running() && !s.is_finished());
    assert_eq!(s.ended_at, None);
}

/// brummer's e2: a requested stop must not be overwritten by "failed" at reap.
#[test]
fn stopping_exit_is_stopped_with_real_exit() {
    let s = stopping()
        .apply(Event::Exited {
            exit: Exit::Signal(15),
            at: t(12),
        })
        .unwrap();
    assert_eq!(s.status, Status::Stopped);
    assert_eq!(s.exit, Some(Exit::Signal(15)));
    let s = stopping()
        .apply(Event::Exited {
            exit: Exit::Code(1),
            at: t(12),
        })
        .unwrap();
    assert_eq!((s.status, s.exit), (Status::Stopped, Some(Exit::Code(1))));
}

#[test]
fn stopping_rejects_everything_but_exit() {
    for e in &all_events()[..3] {
        assert!(stopping().apply(*e).is_err(), "{e:?}");
    }
}

#[test]
fn terminal_states_are_absorbing() {
    let terminals = [
        running()
            .apply(Event::Exited {
                exit: Exit::Code(0),
                at: t(11),
            })
            .unwrap(),
        running()
            .apply(Event::Exited {
                exit: Exit::Code(1),
                at: t(11),
            })
            .unwrap(),
        stopping()
            .apply(Event::Exited {
                exit: Exit::Signal(15),
                at: t(11),
            })
            .unwrap(),
        ProcessState::default()
            .apply(Event::SpawnFailed { at: t(11) })
            .unwrap(),
    ];
    for s in terminals {
        for e in all_events() {
            let r = s.apply(e).unwrap_err();
            assert_eq!(r.status, s.status);
            assert!(r.to_string().contains("does not apply"));
        }
    }
}

#[test]
fn end_never_before_start() {
    let s = running()
        .apply(Event::Exited {
            exit: Exit::Code(0),
            at: t(2),
        })
        .unwrap();
    assert_eq!(s.ended_at, ts(10));
    assert_eq!(s.duration(), Some(Duration::ZERO));
}

#[test]
fn apply_keeps_version_and_restarts() {
    let s = ProcessState {
        restarts: 3,
        version: 8,
        ..ProcessState::default()
    };
    let n = s.apply(Event::Started { pid: 1, at: t(1) }).unwrap();
    assert_eq!((n.restarts, n.version), (3, 8));
}

/// A snapshot is 48 bytes (a copy is most of every read), and its optional fields cost nothing
/// over the values.
#[test]
fn compact_layout() {
    assert_eq!(std::mem::size_of::<ProcessState>(), 48);
    assert_eq!(std::mem::size_of::<Option<Exit>>(), 8);
    assert_eq!(std::mem::size_of::<Option<Timestamp>>(), 8);
}

#[test]
fn exit_display() {
    assert_eq!(Exit::Code(3).to_string(), "exit code 3");
    assert_eq!(Exit::Signal(9).to_string(), "signal 9");
    assert_eq!(Exit::Unknown.to_string(), "unknown exit status");
}

/// `Display` for a status is its wire string (what messages and the MCP tools print).
#[test]
fn status_displays_as_its_wire_string() {
    for s in [
        Status::Pending,
        Status::Running,
        Status::Stopping,
        Status::Stopped,
        Status::Failed,
        Status::Success,
    ] {
        assert_eq!(s.to_string(), s.as_str());
        assert!(!s.to_string().is_empty());
    }
}

/// A rejection names the event and the state it was refused in.
#[test]
fn rejected_names_the_event_and_the_status() {
    let names: Vec<_> = all_events().iter().map(Event::name).collect();
    assert_eq!(
        names,
        [
            "Started",
            "SpawnFailed",
            "StopRequested",
            "Exited",
            "Exited"
        ]
    );
    let r = ProcessState::default()
        .apply(Event::StopRequested)
        .unwrap_err();
    assert_eq!(
        r.to_string(),
        "StopRequested does not apply to a pending process"
    );
    let r = stopping()
        .apply(Event::Started { pid: 1, at: t(1) })
        .unwrap_err();
    assert_eq!(
        r.to_string(),
        "Started does not apply to a stopping process"
    );
}

/// An exit code and a signal are never read as one another.
#[test]
fn exit_code_and_signal_are_read_apart() {
    for n in [0, 1, 2, 9, 15, 255] {
        assert_eq!(
            (Exit::Code(n).code(), Exit::Code(n).signal()),
            (Some(n), None)
        );
        assert_eq!(
            (Exit::Signal(n).code(), Exit::Signal(n).signal()),
            (None, Some(n))
        );
    }
    assert_eq!((Exit::Unknown.code(), Exit::Unknown.signal()), (None, None));
}
