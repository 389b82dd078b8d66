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
            exit: Exit::Signal(15),
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

#[test]
fn reader_repins_every_so_many_reads() {
    let cell = StateCell::default();
    let mut reader = Reader::new();
    for _ in 0..REPIN_EVERY - 1 {
        reader.read(&cell);
    }
    assert_eq!(reader.left, 1);
    reader.read(&cell);
    assert_eq!(
        reader.left, REPIN_EVERY,
        "repinned after {REPIN_EVERY} reads"
    );
    let _ = reader.load(&cell);
    let _ = reader.guard();
    assert_eq!(reader.left, REPIN_EVERY - 2);
    reader.repin();
    assert_eq!(reader.left, REPIN_EVERY);
}

/// A reader that repins lets what was replaced meanwhile be freed; one that never repins holds
/// it back (what `REPIN_EVERY` bounds).
#[test]
fn a_repinning_reader_lets_replaced_values_go() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::Relaxed);
        }
    }
    let cell = EpochCell::new(Counted);
    let mut reader = Reader::new();
    for _ in 0..100 {
        let guard = pin();
        cell.update(&guard, |_| Ok::<_, Infallible>(Counted))
            .unwrap();
        guard.flush();
    }
    assert_eq!(
        DROPS.load(Ordering::Relaxed),
        0,
        "a pinned reader holds them back"
    );
    // The epoch moves on one step per collection once every pinned thread has caught up
    // (other tests' threads pin too): a reader that keeps repinning lets it move.
    for _ in 0..10_000 {
        if DROPS.load(Ordering::Relaxed) > 0 {
            break;
        }
        reader.repin();
        pin().flush();
        std::thread::yield_now();
    }
    assert!(DROPS.load(Ordering::Relaxed) > 0, "repinning let them go");
    drop(reader);
}

/// Beside a writer at full speed, a reader's reads are never torn (version and restarts are
/// written together) and never go back in time.
#[test]
fn reader_beside_a_writer_never_sees_torn_or_older_states() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let cell = StateCell::default();
    let done = AtomicBool::new(false);
    let n = if cfg!(miri) { 200 } else { 200_000 };
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..n {
                cell.update(|s| {
                    Ok::<_, Infallible>(ProcessState {
                        restarts: s.restarts + 1,
                        ..*s
                    })
                })
                .unwrap();
            }
            done.store(true, Ordering::Release);
        });
        let mut reader = Reader::new();
        let mut last = 0;
        while !done.load(Ordering::Acquire) {
            let s = reader.read(&cell);
            assert_eq!(u64::from(s.restarts), s.version, "torn: {s:?}");
            assert!(s.version >= last, "went back from {last} to {}", s.version);
            last = s.version;
        }
        assert_eq!(reader.read(&cell).version, n);
    });
}

/// `Debug` shows what a cell holds, and a guard as what it is: printed states are how a failed
/// assertion about a cell explains itself.
#[test]
fn debug_shows_the_snapshot() {
    let cell = StateCell::default();
    cell.update(start).unwrap();
    let s = cell.snapshot();
    assert_eq!(format!("{cell:?}"), format!("StateCell({s:?})"));
    let view = StateView::new(s);
    assert_eq!(format!("{view:?}"), format!("StateView({s:?})"));
    assert_eq!(format!("{:?}", pin()), "Guard { .. }");
}

/// A dropped cell's value is destroyed once no guard that could read it is pinned (not leaked).
#[test]
fn a_dropped_cell_frees_its_value() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::Relaxed);
        }
    }
    let cell = EpochCell::new(Counted);
    let guard = pin();
    let _value: &Counted = cell.load(&guard);
    drop(cell);
    guard.flush();
    assert_eq!(DROPS.load(Ordering::Relaxed), 0, "freed under a guard");
    drop(guard);
    // Other tests' threads pin too, and the epoch moves on only once they have caught up:
    // flush until it does.
    let deadline = Instant::now() + Duration::from_secs(10);
    while DROPS.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
        pin().flush();
        std::thread::yield_now();
    }
    assert_eq!(DROPS.load(Ordering::Relaxed), 1, "the dropped cell's value");
}

/// A reader lists a registry, and the read-only view of one, with each process's current
/// state; a read in place is the current state too.
#[test]
fn reader_lists_registries_and_loads_in_place() {
    use crate::registry::{Processes, Registry};
    use crate::spec::CommandSpec;

    let registry = Registry::new();
    let web = registry.insert("web", CommandSpec::new("true"), 0);
    registry.insert("db", CommandSpec::new("true"), 0);
    registry
        .apply(
            web.id(),
            Event::Started {
                pid: 9,
                at: SystemTime::now(),
            },
        )
        .unwrap();
    let mut reader = Reader::new();
    let listed: Vec<_> = reader
        .list(&registry)
        .map(|(p, s)| (p.name().to_owned(), s.status))
        .collect();
    assert_eq!(
        listed,
        [
            ("web".into(), Status::Running),
            ("db".into(), Status::Pending)
        ]
    );
    let processes = Processes::from(registry);
    let listed: Vec<_> = reader
        .list(&processes)
        .map(|(p, s)| (p.id(), s.pid))
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], (web.id(), Some(9)));

    let cell = StateCell::default();
    cell.update(start).unwrap();
    assert_eq!(*reader.load(&cell), cell.snapshot());
    assert_eq!(reader.load(&cell).status, Status::Running);
}

/// `Debug` says how many reads are left before the reader repins.
#[test]
fn reader_debug_shows_reads_before_repin() {
    let cell = StateCell::default();
    let mut reader = Reader::new();
    reader.read(&cell);
    assert_eq!(
        format!("{reader:?}"),
        format!("Reader {{ reads_before_repin: {} }}", REPIN_EVERY - 1)
    );
}

/// The collector is one for every thread: a guard pinned on another thread holds back what this
/// thread replaced, until it unpins.
#[test]
fn a_guard_on_another_thread_holds_back_reclamation() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::Relaxed);
        }
    }
    let cell = EpochCell::new(Counted);
    let (pinned, is_pinned) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let dropped_while_pinned = std::thread::scope(|s| {
        s.spawn(move || {
            let _guard = pin();
            pinned.send(()).unwrap();
            let _ = released.recv();
        });
        is_pinned.recv().unwrap();
        for _ in 0..100 {
            let guard = pin();
            cell.update(&guard, |_| Ok::<_, Infallible>(Counted))
                .unwrap();
            guard.flush();
        }
        let dropped = DROPS.load(Ordering::Relaxed);
        release.send(()).unwrap();
        dropped
    });
    assert_eq!(
        dropped_while_pinned, 0,
        "freed under another thread's guard"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while DROPS.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
        pin().flush();
        std::thread::yield_now();
    }
    assert!(DROPS.load(Ordering::Relaxed) > 0, "freed once it unpinned");
}

/// A reader that keeps a state's address past its unpin (what `Reader`'s borrow rules refuse
/// to compile; written here with a raw pointer) reads freed memory once the state is replaced
/// and collected. Undefined behaviour on purpose: run only under Miri, which must report it
/// (`scripts/miri.sh` checks that it does).
#[test]
#[ignore = "undefined behaviour on purpose: scripts/miri.sh runs it and expects Miri to catch it"]
fn broken_reader_reads_after_unpin() {
    let cell = StateCell::default();
    let mut reader = Reader::new();
    let kept: *const ProcessState = reader.load(&cell);
    drop(reader);
    cell.update(|s| Ok::<_, Infallible>(*s)).unwrap();
    for _ in 0..64 {
        pin().flush();
    }
    // SAFETY: none: the snapshot `kept` points to was replaced and collected. This is the bug
    // the model exists to show.
    let stale = unsafe { std::ptr::read_volatile(kept) };
    assert_eq!(stale.version, 0);
}

/// A thread keeps at most `CAPACITY` spare snapshots: the rest are freed.
#[test]
fn a_thread_keeps_at_most_capacity_spares() {
    use super::spares::{CAPACITY, held};
    std::thread::spawn(|| {
        assert_eq!(held(), 0);
        for _ in 0..CAPACITY + 10 {
            Spares::recycle(Box::new(ProcessState::default()));
        }
        assert_eq!(held(), CAPACITY);
        assert!(Spares::take().is_some());
        assert_eq!(held(), CAPACITY - 1);
    })
    .join()
    .unwrap();
}

/// An update takes a spare box when the thread has one, instead of allocating: the new
/// snapshot lives in the very box that was recycled.
#[test]
fn an_update_reuses_a_spare_box() {
    std::thread::spawn(|| {
        let cell = StateCell::default();
        let spare = Box::new(ProcessState::default());
        let at: *const ProcessState = &*spare;
        while Spares::take().is_some() {}
        Spares::recycle(spare);
        cell.update(|s| Ok::<_, ()>(*s)).unwrap();
        let guard = pin();
        assert_eq!(cell.load(&guard) as *const ProcessState, at);
    })
    .join()
    .unwrap();
}
