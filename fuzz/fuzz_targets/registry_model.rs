//! Registry operation sequences against a plain `Vec` model: the same processes in the same
//! order, the same `Started`/`AlreadyRunning` decisions, the same lookups and removals.
#![no_main]

use std::time::SystemTime;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use procsnap::{CommandSpec, Event, Exit, ProcId, Process, Registry, Reserve};

const NAMES: [&str; 3] = ["dev", "test", "build"];

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    Insert {
        name: u8,
        restarts: u8,
    },
    Reserve {
        name: u8,
    },
    /// Pending → Running for the `i`-th listed process (if it is pending).
    Start {
        i: u8,
    },
    /// Running → Stopping.
    Stop {
        i: u8,
    },
    /// Drives the `i`-th listed process to a terminal state through `apply`.
    Finish {
        i: u8,
        code: i8,
    },
    RemoveFinished,
    /// Looks up the `i`-th listed process by id, or an id that was never handed out.
    Get {
        i: u8,
    },
    FindRunning {
        name: u8,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    Pending,
    Running,
    Stopping,
    Finished,
}

#[derive(Clone, Debug)]
struct Entry {
    id: ProcId,
    name: &'static str,
    restarts: u32,
    life: Life,
}

fn life(p: &Process) -> Life {
    use procsnap::Status::*;
    match p.state().snapshot().status {
        Pending => Life::Pending,
        Running => Life::Running,
        Stopping => Life::Stopping,
        Stopped | Failed | Success => Life::Finished,
        other => panic!("a status this model does not know: {other:?}"),
    }
}

fn name(n: u8) -> &'static str {
    NAMES[usize::from(n) % NAMES.len()]
}

fn spec() -> CommandSpec {
    CommandSpec::new("true")
}

fuzz_target!(|ops: Vec<Op>| {
    let registry = Registry::new();
    let mut model: Vec<Entry> = Vec::new();
    let mut last_id: Option<ProcId> = None;
    let now = SystemTime::UNIX_EPOCH;

    // A new process must get an id above every earlier one (ids are never reused).
    let mut fresh = |id: ProcId| {
        assert!(
            last_id.is_none_or(|l| id > l),
            "id {id} not above {last_id:?}"
        );
        last_id = Some(id);
    };

    for op in ops {
        match op {
            Op::Insert { name: n, restarts } => {
                let p = registry.insert(name(n), spec(), u32::from(restarts));
                fresh(p.id());
                assert_eq!(
                    (p.name(), p.state().snapshot().restarts),
                    (name(n), u32::from(restarts))
                );
                model.push(Entry {
                    id: p.id(),
                    name: name(n),
                    restarts: u32::from(restarts),
                    life: Life::Pending,
                });
            }
            Op::Reserve { name: n } => {
                let live = model
                    .iter()
                    .find(|e| e.name == name(n) && e.life != Life::Finished);
                match (registry.reserve(name(n), spec()), live) {
                    (Reserve::AlreadyRunning(p), Some(e)) => assert_eq!(p.id(), e.id),
                    (Reserve::Started(p), None) => {
                        fresh(p.id());
                        assert_eq!(life(&p), Life::Pending);
                        model.push(Entry {
                            id: p.id(),
                            name: name(n),
                            restarts: 0,
                            life: Life::Pending,
                        });
                    }
                    (got, want) => panic!("reserve {}: got {got:?}, model has {want:?}", name(n)),
                }
            }
            Op::Start { i } | Op::Stop { i } | Op::Finish { i, .. } => {
                if model.is_empty() {
                    continue;
                }
                let k = usize::from(i) % model.len();
                let e = &mut model[k];
                let apply = |event| registry.apply(e.id, event);
                let started = Event::Started { pid: 100, at: now };
                match (op, e.life) {
                    (Op::Start { .. }, Life::Pending) => {
                        apply(started).unwrap();
                        e.life = Life::Running;
                    }
                    (Op::Stop { .. }, Life::Running) => {
                        apply(Event::StopRequested).unwrap();
                        e.life = Life::Stopping;
                    }
                    (Op::Finish { code, .. }, Life::Pending | Life::Running | Life::Stopping) => {
                        if e.life == Life::Pending {
                            apply(started).unwrap();
                        }
                        let exit = Exit::Code(i32::from(code));
                        apply(Event::Exited { exit, at: now }).unwrap();
                        e.life = Life::Finished;
                    }
                    // Anything else is refused, and changes nothing.
                    (_, Life::Finished) => {
                        assert!(apply(Event::StopRequested).is_err());
                    }
                    _ => {}
                }
            }
            Op::RemoveFinished => {
                let removed: Vec<ProcId> =
                    registry.remove_finished().iter().map(|p| p.id()).collect();
                let want: Vec<ProcId> = model
                    .iter()
                    .filter(|e| e.life == Life::Finished)
                    .map(|e| e.id)
                    .collect();
                assert_eq!(removed, want, "remove_finished");
                model.retain(|e| e.life != Life::Finished);
            }
            Op::Get { i } => {
                if model.is_empty() || i == u8::MAX {
                    let never = ProcId::from_label("x-18446744073709551615").unwrap();
                    assert!(registry.get(never).is_none());
                    continue;
                }
                let e = &model[usize::from(i) % model.len()];
                let p = registry.get(e.id).expect("get of a registered id");
                assert_eq!((p.id(), p.name()), (e.id, e.name));
            }
            Op::FindRunning { name: n } => {
                let want = model
                    .iter()
                    .find(|e| e.name == name(n) && e.life != Life::Finished)
                    .map(|e| e.id);
                assert_eq!(registry.find_running(name(n)).map(|p| p.id()), want);
            }
        }

        // After every operation: the same processes, in the same order, in the same states.
        let guard = procsnap::pin();
        let listed = registry.list(&guard);
        assert_eq!(listed.len(), model.len());
        assert_eq!(registry.len(), model.len());
        for (p, e) in listed.iter().zip(&model) {
            assert_eq!((p.id(), p.name(), life(p)), (e.id, e.name, e.life));
            assert_eq!(p.state().load(&guard).restarts, e.restarts);
        }
    }
});
