//! Bench-only helpers shared by `benches/cell.rs`, `benches/iai.rs` and `examples/scaling.rs`.
//!
//! Nothing here is part of the library. [`tl_snapshot`] is a prototype of a faster per-call read
//! path, kept in the benches so its numbers can be compared with `StateCell::snapshot` before
//! anyone decides whether it belongs in `src/`.

#![allow(dead_code)] // each bench uses a different subset

use std::cell::RefCell;
use std::convert::Infallible;
use std::hint::black_box;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

pub mod seqlock;
use procsnap::internals::LockedCell;
use procsnap::{Event, ProcessState, StateCell, pin};
use seqlock::SeqCell;

/// A realistic state to read: a started, running process (every optional field but the exit
/// filled in), so a copy moves the whole struct.
pub fn running() -> ProcessState {
    ProcessState::default()
        .apply(started())
        .expect("a pending process can start")
}

/// The event that makes [`running`] of a pending state.
pub fn started() -> Event {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    Event::Started { pid: 4242, at }
}

/// On-CPU time of the calling thread so far, in nanoseconds (`/proc/thread-self/schedstat`), or
/// `None` where that file does not exist. Compared with wall time it shows whether "parallel"
/// threads really ran in parallel: on a shared 2-core machine they often take turns.
pub fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Reads between two repins on the batch path (the guard is held across them).
pub const REPIN_EVERY: u64 = 256;

/// Every contender: one way to hold a `ProcessState` shared between threads.
pub struct Contenders {
    pub ours: StateCell,
    pub locked: LockedCell,
    pub rwlock: RwLock<ProcessState>,
    pub arcswap: ArcSwap<ProcessState>,
    pub pl_mutex: parking_lot::Mutex<ProcessState>,
    /// Prototype: a seqlock mirror of `ours`, published by the writer after each update.
    pub seq: SeqCell,
}

/// A read path under test, by name. Every path copies the state out once.
#[derive(Clone, Copy)]
pub enum Read {
    /// `StateCell::snapshot`: pin, load, copy, unpin.
    Snapshot,
    /// `StateCell::load` under a guard held across reads and repinned every `REPIN_EVERY`.
    Batch,
    /// Prototype (benches/common): thread-local guard repinned every 256 reads.
    ProtoTlGuard,
    /// Prototype (benches/common/seqlock.rs): seqlock mirror, epoch fallback mid-publish.
    ProtoSeqlock,
    /// `LockedCell::snapshot` (the Mutex cell).
    Locked,
    /// `*RwLock::read()`.
    RwLock,
    /// `**ArcSwap::load()`.
    ArcSwap,
    /// `*parking_lot::Mutex::lock()`.
    PlMutex,
}

pub const READS: [(Read, &str); 8] = [
    (Read::Snapshot, "statecell_snapshot"),
    (Read::Batch, "statecell_batch_repin256"),
    (Read::ProtoTlGuard, "proto_tl_guard"),
    (Read::ProtoSeqlock, "proto_seqlock"),
    (Read::Locked, "lockedcell"),
    (Read::RwLock, "rwlock"),
    (Read::ArcSwap, "arcswap_load"),
    (Read::PlMutex, "parking_lot_mutex"),
];

impl Contenders {
    pub fn new() -> Contenders {
        let c = Contenders {
            ours: StateCell::new(running()),
            locked: LockedCell::new(running()),
            rwlock: RwLock::new(running()),
            arcswap: ArcSwap::from_pointee(running()),
            pl_mutex: parking_lot::Mutex::new(running()),
            seq: SeqCell::new(running()),
        };
        let up = c.ours.update(|s| Ok::<_, Infallible>(*s)).unwrap();
        c.seq.write(&up.new);
        assert_eq!(
            c.seq.read(),
            c.ours.snapshot(),
            "seqlock encoding round trip"
        );
        c
    }

    /// `n` reads on `path`, each copied out once into a local handed to `black_box` by reference.
    pub fn read_n(&self, path: Read, n: u64) {
        match path {
            Read::Snapshot => each(n, || self.ours.snapshot()),
            Read::Batch => {
                let mut guard = pin();
                for i in 0..n {
                    let s = *self.ours.load(&guard);
                    black_box(&s);
                    if i % REPIN_EVERY == REPIN_EVERY - 1 {
                        guard.repin();
                    }
                }
            }
            Read::ProtoTlGuard => each(n, || tl_snapshot(&self.ours)),
            Read::ProtoSeqlock => each(n, || {
                self.seq.try_read().unwrap_or_else(|| self.ours.snapshot())
            }),
            Read::Locked => each(n, || self.locked.snapshot()),
            Read::RwLock => each(n, || *self.rwlock.read().unwrap()),
            Read::ArcSwap => each(n, || **self.arcswap.load()),
            Read::PlMutex => each(n, || *self.pl_mutex.lock()),
        }
    }

    /// One update of the structure `path` reads (the epoch paths share `StateCell::update`).
    pub fn write(&self, path: Read) {
        let bump = |s: &ProcessState| ProcessState {
            version: s.version.wrapping_add(1),
            ..*s
        };
        match path {
            Read::Snapshot | Read::Batch | Read::ProtoTlGuard => {
                let up = self.ours.update(|s| Ok::<_, Infallible>(*s));
                black_box(&up);
            }
            Read::ProtoSeqlock => {
                // What `update` would do with a mirror: CAS, then publish the new state.
                let up = self.ours.update(|s| Ok::<_, Infallible>(*s)).unwrap();
                self.seq.write(&up.new);
            }
            Read::Locked => {
                let up = self.locked.update(|s| Ok::<_, Infallible>(*s));
                black_box(&up);
            }
            Read::RwLock => {
                let mut w = self.rwlock.write().unwrap();
                *w = bump(&w);
            }
            Read::ArcSwap => {
                let old = self.arcswap.rcu(|s| bump(s));
                black_box(&old);
            }
            Read::PlMutex => {
                let mut w = self.pl_mutex.lock();
                *w = bump(&w);
            }
        }
    }
}

/// Runs `read` `n` times, keeping each result alive through `black_box`.
#[inline(always)]
pub fn each(n: u64, mut read: impl FnMut() -> ProcessState) {
    for _ in 0..n {
        let s = read();
        black_box(&s);
    }
}

/// How many reads a thread-local guard serves before it is repinned.
pub const TL_REPIN_EVERY: u32 = 256;

struct TlReader {
    /// `None` after [`tl_quiesce`]: the thread holds no pin until its next read.
    guard: Option<procsnap::Guard>,
    reads: u32,
}

thread_local! {
    static TL_READER: RefCell<TlReader> = const { RefCell::new(TlReader { guard: None, reads: 0 }) };
}

/// Prototype: a per-call read that keeps one guard per thread and repins it every
/// [`TL_REPIN_EVERY`] reads instead of pinning per call.
///
/// `Guard::repin` only republishes the thread's epoch (a plain `Release` store when the global
/// epoch moved) and never runs a collection, so a read costs a TLS access, a counter and a load.
/// The price: a thread that stops reading keeps its last pin, and then no garbage anywhere can
/// be reclaimed until it reads again or exits. A library would need an explicit quiescent call
/// (`procsnap::quiesce()`) or a time bound, which is why this stays a prototype in the benches.
#[inline]
pub fn tl_snapshot(cell: &StateCell) -> ProcessState {
    TL_READER.with(|r| {
        let r = &mut *r.borrow_mut();
        r.reads += 1;
        let guard = r.guard.get_or_insert_with(pin);
        if r.reads >= TL_REPIN_EVERY {
            r.reads = 0;
            guard.repin();
        }
        *cell.load(guard)
    })
}

/// Drops this thread's prototype guard's pin until its next read (a quiescent point).
pub fn tl_quiesce() {
    TL_READER.with(|r| {
        let r = &mut *r.borrow_mut();
        r.reads = 0;
        r.guard = None;
    });
}
