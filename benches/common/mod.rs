//! Bench-only helpers shared by `benches/cell.rs`, `benches/iai.rs` and `examples/scaling.rs`.
//!
//! Nothing here is part of the library. `seqlock` is a prototype of another read path, kept so
//! its numbers can be compared with the library's.

#![allow(dead_code)] // each bench uses a different subset

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
    /// `procsnap::Reader::read`: a per-thread pinned handle, repinned every 256 reads.
    Reader,
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
    (Read::Reader, "reader"),
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
            Read::Reader => {
                let mut reader = procsnap::Reader::new();
                each(n, || reader.read(&self.ours));
            }
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
        let bump = |s: &ProcessState| {
            let mut next = *s;
            next.version = s.version.wrapping_add(1);
            next
        };
        match path {
            Read::Snapshot | Read::Batch | Read::Reader => {
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
