//! loom models of procsnap's real [`StateCell`] and the [`EpochCell`] under it.
//!
//! Run with `scripts/loom.sh` (`--cfg crossbeam_loom`: crossbeam-epoch then uses loom's atomics
//! and its default collector is a loom lazy static, so the cell's own `pin()` works in a model).
#![cfg(crossbeam_loom)]

mod common;

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use crossbeam_epoch::{self as epoch, Atomic, Owned};
use loom::alloc::Track;
use loom::sync::Arc;
use loom::thread;
use procsnap::internals::EpochCell;
use procsnap::{Event, Exit, ProcessState, Reader, StateCell, Status};

use common::{assert_child_fails, model};

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// A commutative update: whatever order two of them run in, each adds one restart.
fn bump(s: &ProcessState) -> Result<ProcessState, Infallible> {
    Ok({
        let mut next = *s;
        next.restarts = s.restarts + 1;
        next
    })
}

/// Two concurrent updaters (a spawned thread and the model's main thread) lose no update: both
/// increments land and the cell counts exactly two versions. The CAS must be against the pointer
/// that was loaded (brummer's e14 compared against a local copy).
#[test]
fn two_updaters_lose_no_update() {
    model(4, || {
        let cell = Arc::new(StateCell::default());
        let other = {
            let cell = cell.clone();
            thread::spawn(move || cell.update(bump).unwrap())
        };
        let mine = cell.update(bump).unwrap();
        let theirs = other.join().unwrap();

        let last = cell.snapshot();
        assert_eq!(
            (last.version, last.restarts),
            (2, 2),
            "lost update: {last:?}"
        );
        // The two updates were ordered: one replaced the other's result.
        let mut versions = [mine.new.version, theirs.new.version];
        versions.sort_unstable();
        assert_eq!(versions, [1, 2]);
        assert_eq!(mine.old.version + 1, mine.new.version);
        assert_eq!(theirs.old.version + 1, theirs.new.version);
        // Only the later updater can have lost a CAS, and only once.
        assert!(mine.retries + theirs.retries <= 1);
    });
}

/// Each of two updaters updates twice, so a CAS can fail more than once and the spare allocation
/// is reused across attempts: still every update lands, once.
#[test]
fn two_updaters_twice_each() {
    model(3, || {
        let cell = Arc::new(StateCell::default());
        let other = {
            let cell = cell.clone();
            thread::spawn(move || [cell.update(bump).unwrap(), cell.update(bump).unwrap()])
        };
        let mine = [cell.update(bump).unwrap(), cell.update(bump).unwrap()];
        let theirs = other.join().unwrap();

        let last = cell.snapshot();
        assert_eq!(
            (last.version, last.restarts),
            (4, 4),
            "lost update: {last:?}"
        );
        let mut versions: Vec<u64> = mine.iter().chain(&theirs).map(|u| u.new.version).collect();
        versions.sort_unstable();
        assert_eq!(
            versions,
            [1, 2, 3, 4],
            "two updates installed the same version"
        );
        for u in mine.iter().chain(&theirs) {
            assert_eq!(u.new.restarts, u.old.restarts + 1);
        }
        // A thread's own updates are ordered.
        assert!(mine[0].new.version < mine[1].new.version);
        assert!(theirs[0].new.version < theirs[1].new.version);
    });
}

/// The three states an updater publishes in [`updater_and_reader`], indexed by version.
fn published() -> [ProcessState; 3] {
    let s0 = ProcessState::default();
    let mut s1 = s0
        .apply(Event::Started {
            pid: 42,
            at: at(10),
        })
        .unwrap();
    s1.version = 1;
    let mut s2 = s1
        .apply(Event::Exited {
            exit: Exit::Code(0),
            at: at(20),
        })
        .unwrap();
    s2.version = 2;
    [s0, s1, s2]
}

/// An updater publishes two states while a reader reads twice (once with `snapshot`, once with
/// `load` under a fresh guard): every read is exactly one published state, whole, and the second
/// read is never older than the first.
#[test]
fn updater_and_reader() {
    model(4, || {
        let cell = Arc::new(StateCell::default());
        let updater = {
            let cell = cell.clone();
            thread::spawn(move || {
                cell.update(|s| {
                    s.apply(Event::Started {
                        pid: 42,
                        at: at(10),
                    })
                })
                .unwrap();
                cell.update(|s| {
                    s.apply(Event::Exited {
                        exit: Exit::Code(0),
                        at: at(20),
                    })
                })
                .unwrap();
            })
        };

        let states = published();
        let first = cell.snapshot();
        let second = {
            let guard = procsnap::pin();
            *cell.load(&guard)
        };
        for read in [first, second] {
            let v = usize::try_from(read.version).unwrap();
            assert!(v < states.len(), "unpublished version: {read:?}");
            assert_eq!(read, states[v], "torn or unpublished state");
        }
        assert!(second.version >= first.version, "version went backwards");

        updater.join().unwrap();
        let last = cell.snapshot();
        assert_eq!((last.version, last.status), (2, Status::Success));
    });
}

/// A value whose contents loom watches. `ProcessState` lives in a plain `Box` loom cannot see, so
/// a missing Release/Acquire pair around the pointer would go unnoticed by the models above;
/// reading a `loom::cell::UnsafeCell` without a happens-before edge from the write that filled it
/// is a "Causality violation".
struct Watched(loom::cell::UnsafeCell<ProcessState>);

// SAFETY: the contents are written once, in `new`, before the value is published, and only read
// afterwards; loom checks exactly that the publication orders the two.
unsafe impl Sync for Watched {}

impl Watched {
    fn new(state: ProcessState) -> Watched {
        Watched(loom::cell::UnsafeCell::new(state))
    }

    fn get(&self) -> ProcessState {
        // SAFETY: no `&mut` access exists after `new` (see the `Sync` impl).
        self.0.with(|p| unsafe { *p })
    }
}

/// The contents of a published value are visible to a reader on another thread: the cell's
/// Release CAS and Acquire load order the writer's initialisation before the reader's read.
#[test]
fn reader_sees_published_contents() {
    model(4, || {
        let cell = Arc::new(EpochCell::new(Watched::new(ProcessState::default())));
        let writer = {
            let cell = cell.clone();
            thread::spawn(move || {
                for _ in 0..2 {
                    let guard = procsnap::pin();
                    cell.update(&guard, |old| {
                        let s = old.get();
                        Ok::<_, Infallible>(Watched::new({
                            let mut next = s;
                            next.restarts = s.restarts + 1;
                            next.version = s.version + 1;
                            next
                        }))
                    })
                    .unwrap();
                }
            })
        };
        let guard = procsnap::pin();
        let seen = cell.load(&guard).get();
        assert_eq!(
            u64::from(seen.restarts),
            seen.version,
            "torn contents: {seen:?}"
        );
        drop(guard);
        writer.join().unwrap();
        assert_eq!(cell.load(&procsnap::pin()).get().version, 2);
    });
}

/// A value loom tracks: if it is never dropped, loom fails the model with "Allocation leaked".
/// `ProcessState` itself is plain `Copy` data in a `Box` loom cannot see, so this model drives
/// the generic [`EpochCell`] — the whole of `StateCell`'s storage, `Drop` included — with a
/// tracked payload.
type Tracked = Track<ProcessState>;

fn tracked_cell() -> Arc<EpochCell<Tracked>> {
    Arc::new(EpochCell::new(Track::new(ProcessState::default())))
}

/// The leak-check scenario: a reader pins and reads while the main thread replaces the value and
/// both let go of the cell, in either order (so the cell may be dropped while the reader is still
/// pinned). `forget_cell` leaks the last handle instead of dropping it — what a missing `Drop`
/// would do — and must be reported.
fn drop_after_reader(forget_cell: bool) {
    let cell = tracked_cell();
    let reader = {
        let cell = cell.clone();
        thread::spawn(move || {
            let guard = procsnap::pin();
            let seen = *cell.load(&guard).get_ref();
            assert!(seen.version <= 1);
            // Let go of the cell while still pinned: if this is the last handle, the cell is
            // dropped here and its value must stay readable until the guard goes.
            drop(cell);
            assert_eq!(seen.restarts, seen.version as u32);
            drop(guard);
        })
    };
    {
        let guard = procsnap::pin();
        let swap = cell
            .update(&guard, |old| {
                let s = old.get_ref();
                Ok::<_, Infallible>(Track::new({
                    let mut next = *s;
                    next.restarts = s.restarts + 1;
                    next.version = s.version + 1;
                    next
                }))
            })
            .unwrap();
        assert_eq!(swap.new.get_ref().version, 1);
    }
    if forget_cell {
        reader.join().unwrap();
        // The reader let go, so this is the last handle: take the cell out of the `Arc` and
        // forget it, which skips `EpochCell::drop` and nothing else.
        let cell = Arc::try_unwrap(cell)
            .ok()
            .expect("the reader let go of the cell");
        std::mem::forget(cell);
    } else {
        // Drop before joining: whichever thread lets go last drops the cell, possibly while the
        // reader is still pinned.
        drop(cell);
        reader.join().unwrap();
    }
}

/// A cell dropped after its reader unpinned frees the current and every replaced value: loom's
/// leak check (after the collector, a loom lazy static, is dropped and runs its deferred
/// destructors) finds no tracked value alive.
#[test]
fn dropped_cell_frees_everything() {
    model(4, || drop_after_reader(false));
}

/// The same model with the cell leaked instead of dropped. Run in a child process by
/// [`leak_check_catches_a_missing_drop`].
#[test]
#[ignore = "must fail: run by leak_check_catches_a_missing_drop"]
fn forgotten_cell_model() {
    model(1, || drop_after_reader(true));
}

/// Shows the leak check can fail: without the cell's `Drop`, loom reports the leaked value.
#[test]
fn leak_check_catches_a_missing_drop() {
    assert_child_fails("forgotten_cell_model", "Allocation leaked");
}

/// A deliberately broken cell: it loads, builds the next state, then writes it back without
/// checking that the state it read is still current. The write is a `swap` rather than a plain
/// `store` so each snapshot is still freed exactly once; a `store` would also double-free the
/// loaded snapshot, and the crash would hide the lost update this model is about.
struct BrokenCell {
    current: Atomic<ProcessState>,
}

impl BrokenCell {
    fn new() -> BrokenCell {
        BrokenCell {
            current: Atomic::new(ProcessState::default()),
        }
    }

    fn update(&self, f: impl Fn(&ProcessState) -> ProcessState) {
        let guard = &epoch::pin();
        // Acquire: pairs with the Release swap that published the value.
        let loaded = self.current.load(Ordering::Acquire, guard);
        // SAFETY: never null (set in `new`, swaps install non-null values); pinned by `guard`.
        let mut next = f(unsafe { loaded.deref() });
        next.version += 1;
        // AcqRel: publishes `next` (Release) and reads the value it replaces (Acquire).
        let replaced = self.current.swap(Owned::new(next), Ordering::AcqRel, guard);
        // SAFETY: our swap unlinked `replaced` and no other swap can return it; pinned readers
        // are protected by the deferral.
        unsafe { guard.defer_destroy(replaced) };
    }

    fn snapshot(&self) -> ProcessState {
        let guard = &epoch::pin();
        // SAFETY: never null; pinned by `guard`.
        unsafe { *self.current.load(Ordering::Acquire, guard).deref() }
    }
}

impl Drop for BrokenCell {
    fn drop(&mut self) {
        drop_current(&mut self.current);
    }
}

/// Frees the value a broken cell holds when it is dropped.
fn drop_current<T>(current: &mut Atomic<T>) {
    // SAFETY: `&mut`: no reader is left, and the current value was never deferred.
    unsafe {
        drop(
            current
                .load(Ordering::Relaxed, epoch::unprotected())
                .into_owned(),
        )
    }
}

/// [`two_updaters_lose_no_update`] on the broken cell. Run in a child process by
/// [`loom_catches_load_then_store`].
#[test]
#[ignore = "must fail: run by loom_catches_load_then_store"]
fn broken_cell_model() {
    model(1, || {
        let cell = Arc::new(BrokenCell::new());
        let other = {
            let cell = cell.clone();
            thread::spawn(move || cell.update(|s| bump(s).unwrap()))
        };
        cell.update(|s| bump(s).unwrap());
        other.join().unwrap();
        let last = cell.snapshot();
        assert_eq!(
            (last.version, last.restarts),
            (2, 2),
            "lost update: {last:?}"
        );
    });
}

/// Shows the lost-update model can fail: loom finds the interleaving where both updaters read
/// version 0 and one write overwrites the other.
#[test]
fn loom_catches_load_then_store() {
    assert_child_fails("broken_cell_model", "lost update");
}

/// A [`Reader`] reads, repins, and reads again while an updater publishes two states (and
/// defers the replaced ones to the collector): every read is exactly one published state,
/// whole, and a read after the repin is never older than one before it.
#[test]
fn reader_repins_beside_an_updater() {
    model(4, || {
        let cell = Arc::new(StateCell::default());
        let updater = {
            let cell = cell.clone();
            thread::spawn(move || {
                let started = Event::Started {
                    pid: 42,
                    at: at(10),
                };
                cell.update(|s| s.apply(started)).unwrap();
                let exited = Event::Exited {
                    exit: Exit::Code(0),
                    at: at(20),
                };
                cell.update(|s| s.apply(exited)).unwrap();
            })
        };
        let states = published();
        let mut reader = Reader::new();
        let first = reader.read(&cell);
        reader.repin();
        let second = *reader.load(&cell);
        for read in [first, second] {
            let v = usize::try_from(read.version).unwrap();
            assert!(v < states.len(), "unpublished version: {read:?}");
            assert_eq!(read, states[v], "torn or unpublished state");
        }
        assert!(second.version >= first.version, "version went backwards");
        drop(reader);
        updater.join().unwrap();
        assert_eq!(cell.snapshot().version, 2);
    });
}

/// A cell that publishes with `Relaxed` instead of `Release` (and loads with `Relaxed`): a
/// reader on another thread may then see the pointer before the contents it points to.
struct RelaxedCell {
    current: Atomic<Watched>,
}

impl RelaxedCell {
    fn replace(&self, state: ProcessState) {
        let guard = &epoch::pin();
        // Relaxed: the deliberate bug — nothing orders the `Watched` write before this.
        let old = self
            .current
            .swap(Owned::new(Watched::new(state)), Ordering::Relaxed, guard);
        // SAFETY: our swap unlinked `old`; deferred once; pinned readers are protected.
        unsafe { guard.defer_destroy(old) };
    }

    fn read(&self) -> ProcessState {
        let guard = &epoch::pin();
        // SAFETY: never null (set in the model, swaps install non-null values); pinned.
        unsafe { self.current.load(Ordering::Relaxed, guard).deref() }.get()
    }
}

impl Drop for RelaxedCell {
    fn drop(&mut self) {
        drop_current(&mut self.current);
    }
}

/// [`reader_sees_published_contents`] on the `Relaxed` cell. Run in a child process by
/// [`loom_catches_relaxed_publication`].
#[test]
#[ignore = "must fail: run by loom_catches_relaxed_publication"]
fn relaxed_publication_model() {
    model(2, || {
        let cell = Arc::new(RelaxedCell {
            current: Atomic::new(Watched::new(ProcessState::default())),
        });
        let writer = {
            let cell = cell.clone();
            thread::spawn(move || {
                cell.replace({
                    let mut next = ProcessState::default();
                    next.restarts = 1;
                    next.version = 1;
                    next
                })
            })
        };
        let seen = cell.read();
        assert_eq!(u64::from(seen.restarts), seen.version, "torn: {seen:?}");
        writer.join().unwrap();
    });
}

/// Shows what the cell's Release/Acquire pair is for: with `Relaxed` publication, loom finds a
/// reader that reads the contents without a happens-before edge from their write.
#[test]
fn loom_catches_relaxed_publication() {
    assert_child_fails("relaxed_publication_model", "Causality violation");
}
