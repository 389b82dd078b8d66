//! Instruction counts per operation (iai-callgrind library benchmarks).
//!
//! Every measured function runs [`OPS`] operations, so the count divided by 1000 is the cost of
//! one operation with the loop included (single calls are dominated by first-use costs: the first
//! pin registers the thread with the collector). Setup (first pin, warm-up update, building the
//! cell or registry) runs in a `setup =` function and teardown (dropping it, unpinning) in a
//! `teardown =` function, both outside the counted region.
//!
//! Each read copies the state once into a local and hands `black_box` a reference to it; each
//! update hands `black_box` a reference to its result. So every read path pays the same one copy
//! of the 48-byte `ProcessState`, and none pays a second one for the
//! harness.
//!
//! Run: `cargo bench --bench iai` (or `scripts/bench.sh`, which divides the counts for you).
//! Targets (issue 2): load under a held guard ≤ 14, snapshot ≤ 60 (aim 45), update ≤ 500 (≤ 450 in steady state, issue 16),
//! registry list ≤ 15 per process.

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::{Mutex, RwLock};

use arc_swap::ArcSwap;
use iai_callgrind::{library_benchmark, library_benchmark_group, main};
use procsnap::internals::LockedCell;
use procsnap::{CommandSpec, Guard, ProcessState, Reader, Registry, StateCell, pin};

#[path = "common/mod.rs"]
mod common;
use common::seqlock::SeqCell;
use common::{running, started};

/// Operations per measured call.
const OPS: usize = 1000;
/// Processes in the registry for the `list` benchmark; it lists `OPS / PROCS` times.
const PROCS: usize = 100;

// ---------------------------------------------------------------------------------------------
// Setup and teardown (not counted)
//
// (`#[library_benchmark]` rejects doc comments on the measured functions, hence `//` there.)

/// Registers this thread with the collector (its first pin) and makes a cell that has already
/// been updated once, so its allocation and the thread's garbage bag are warm.
fn state_cell() -> StateCell {
    drop(pin());
    let cell = StateCell::new(running());
    cell.update(|s| Ok::<_, Infallible>(*s)).unwrap();
    black_box(cell.snapshot());
    cell
}

fn state_cell_pinned() -> (StateCell, Guard) {
    let cell = state_cell();
    let guard = pin();
    black_box(cell.load(&guard));
    (cell, guard)
}

fn reader_cell() -> (StateCell, Reader) {
    let cell = state_cell();
    let mut reader = Reader::new();
    black_box(reader.read(&cell));
    (cell, reader)
}

fn reader_registry() -> (Registry, Reader) {
    let registry = registry();
    let mut reader = Reader::new();
    black_box(reader.list(&registry).len());
    (registry, reader)
}

fn seq_cell() -> (StateCell, SeqCell) {
    let cell = state_cell();
    let seq = SeqCell::new(cell.snapshot());
    black_box(seq.read());
    (cell, seq)
}

fn locked_cell() -> LockedCell {
    let cell = LockedCell::new(running());
    cell.update(|s| Ok::<_, Infallible>(*s)).unwrap();
    cell
}

fn std_rwlock() -> RwLock<ProcessState> {
    let lock = RwLock::new(running());
    let s = *lock.read().unwrap();
    black_box(&s);
    lock
}

fn std_mutex() -> Mutex<ProcessState> {
    let lock = Mutex::new(running());
    let s = *lock.lock().unwrap();
    black_box(&s);
    lock
}

fn pl_mutex() -> parking_lot::Mutex<ProcessState> {
    let lock = parking_lot::Mutex::new(running());
    let s = *lock.lock();
    black_box(&s);
    lock
}

fn arc_swap() -> ArcSwap<ProcessState> {
    let a = ArcSwap::from_pointee(running());
    a.rcu(|s| **s);
    let s = **a.load();
    black_box(&s);
    a
}

fn registry() -> Registry {
    drop(pin());
    let registry = Registry::new();
    for i in 0..PROCS {
        let p = registry.insert(&format!("p{i}"), CommandSpec::new("true"), 0);
        registry.apply(p.id(), started()).unwrap();
    }
    registry
}

/// Drops whatever the benchmark handed back (cells, guards), outside the counted region.
fn teardown<T>(value: T) {
    drop(black_box(value));
}

// ---------------------------------------------------------------------------------------------
// Reads

// `StateCell::load` under a guard held for all 1000 reads, copying the state out.
#[library_benchmark]
#[bench::x1000(setup = state_cell_pinned, teardown = teardown)]
fn statecell_load_held_guard((cell, guard): (StateCell, Guard)) -> (StateCell, Guard) {
    for _ in 0..OPS {
        let s = *cell.load(&guard);
        black_box(&s);
    }
    (cell, guard)
}

// `StateCell::snapshot`: pin, load, copy, unpin — per call.
#[library_benchmark]
#[bench::x1000(setup = state_cell, teardown = teardown)]
fn statecell_snapshot(cell: StateCell) -> StateCell {
    for _ in 0..OPS {
        let s = cell.snapshot();
        black_box(&s);
    }
    cell
}

// `Reader::read`: a per-thread pinned handle, repinned every 256 reads (so 3.9 repins of the
// 1000 are in the count).
#[library_benchmark]
#[bench::x1000(setup = reader_cell, teardown = teardown)]
fn reader_read((cell, mut reader): (StateCell, Reader)) -> (StateCell, Reader) {
    for _ in 0..OPS {
        let s = reader.read(&cell);
        black_box(&s);
    }
    (cell, reader)
}

// Prototype (benches/common/seqlock.rs): seqlock mirror read, epoch fallback mid-publish.
#[library_benchmark]
#[bench::x1000(setup = seq_cell, teardown = teardown)]
fn proto_seqlock_snapshot((cell, seq): (StateCell, SeqCell)) -> (StateCell, SeqCell) {
    for _ in 0..OPS {
        let s = seq.try_read().unwrap_or_else(|| cell.snapshot());
        black_box(&s);
    }
    (cell, seq)
}

// The Mutex baseline's read.
#[library_benchmark]
#[bench::x1000(setup = locked_cell, teardown = teardown)]
fn lockedcell_snapshot(cell: LockedCell) -> LockedCell {
    for _ in 0..OPS {
        let s = cell.snapshot();
        black_box(&s);
    }
    cell
}

#[library_benchmark]
#[bench::x1000(setup = std_mutex, teardown = teardown)]
fn std_mutex_read(lock: Mutex<ProcessState>) -> Mutex<ProcessState> {
    for _ in 0..OPS {
        let s = *lock.lock().unwrap();
        black_box(&s);
    }
    lock
}

#[library_benchmark]
#[bench::x1000(setup = std_rwlock, teardown = teardown)]
fn std_rwlock_read(lock: RwLock<ProcessState>) -> RwLock<ProcessState> {
    for _ in 0..OPS {
        let s = *lock.read().unwrap();
        black_box(&s);
    }
    lock
}

#[library_benchmark]
#[bench::x1000(setup = pl_mutex, teardown = teardown)]
fn parking_lot_mutex_read(
    lock: parking_lot::Mutex<ProcessState>,
) -> parking_lot::Mutex<ProcessState> {
    for _ in 0..OPS {
        let s = *lock.lock();
        black_box(&s);
    }
    lock
}

#[library_benchmark]
#[bench::x1000(setup = arc_swap, teardown = teardown)]
fn arcswap_load(a: ArcSwap<ProcessState>) -> ArcSwap<ProcessState> {
    for _ in 0..OPS {
        let s = **a.load();
        black_box(&s);
    }
    a
}

// ---------------------------------------------------------------------------------------------
// Updates (identity closure: the cost of the mechanism, not of `apply`)

// `StateCell::update`: pin, CAS a new allocation in, defer the old one (the collections this
// triggers every 128 pins and the frees they do are counted, amortised).
#[library_benchmark]
#[bench::x1000(setup = state_cell, teardown = teardown)]
fn statecell_update(cell: StateCell) -> StateCell {
    for _ in 0..OPS {
        let up = cell.update(|s| Ok::<_, Infallible>(*s));
        black_box(&up);
    }
    cell
}

// Prototype: `update` plus publishing the new state into the seqlock mirror.
#[library_benchmark]
#[bench::x1000(setup = seq_cell, teardown = teardown)]
fn proto_seqlock_update((cell, seq): (StateCell, SeqCell)) -> (StateCell, SeqCell) {
    for _ in 0..OPS {
        let up = cell.update(|s| Ok::<_, Infallible>(*s)).unwrap();
        seq.write(&up.new);
    }
    (cell, seq)
}

#[library_benchmark]
#[bench::x1000(setup = locked_cell, teardown = teardown)]
fn lockedcell_update(cell: LockedCell) -> LockedCell {
    for _ in 0..OPS {
        let up = cell.update(|s| Ok::<_, Infallible>(*s));
        black_box(&up);
    }
    cell
}

// `ArcSwap::rcu`: allocate an `Arc`, CAS it in, drop the old `Arc` (freed at once here).
#[library_benchmark]
#[bench::x1000(setup = arc_swap, teardown = teardown)]
fn arcswap_rcu(a: ArcSwap<ProcessState>) -> ArcSwap<ProcessState> {
    for _ in 0..OPS {
        let old = a.rcu(|s| {
            let mut next = **s;
            next.version = s.version + 1;
            next
        });
        black_box(&old);
    }
    a
}

// ---------------------------------------------------------------------------------------------
// Registry

// `OPS / PROCS` listings of a 100-process registry, each under one fresh pin, copying every
// process's state: Ir / 1000 is the cost per process, the pin amortised over 100.
#[library_benchmark]
#[bench::procs100(setup = registry, teardown = teardown)]
fn registry_list(registry: Registry) -> Registry {
    for _ in 0..OPS / PROCS {
        let guard = pin();
        for p in registry.list(&guard) {
            let s = *p.state().load(&guard);
            black_box(&s);
        }
    }
    registry
}

// `Reader::list`: the same listings through a reader (one count per listing), copying every
// process's state.
#[library_benchmark]
#[bench::procs100(setup = reader_registry, teardown = teardown)]
fn reader_list((registry, mut reader): (Registry, Reader)) -> (Registry, Reader) {
    for _ in 0..OPS / PROCS {
        for (p, s) in reader.list(&registry) {
            let s = *s;
            black_box((p, &s));
        }
    }
    (registry, reader)
}

library_benchmark_group!(
    name = reads;
    benchmarks =
        statecell_load_held_guard,
        statecell_snapshot,
        reader_read,
        proto_seqlock_snapshot,
        lockedcell_snapshot,
        std_mutex_read,
        std_rwlock_read,
        parking_lot_mutex_read,
        arcswap_load
);

fn state_cell_for(n: usize) -> (StateCell, usize) {
    (state_cell(), n)
}

// `StateCell::update` in steady state: `n` updates in a row, reclamation included (the frees of
// the replaced snapshots happen inside the count). The per-update cost is the difference of
// the two runs divided by 100,000, which cancels the fixed costs of the call.
#[library_benchmark]
#[bench::n100k(args = (100_000), setup = state_cell_for, teardown = teardown)]
#[bench::n200k(args = (200_000), setup = state_cell_for, teardown = teardown)]
fn statecell_update_steady((cell, n): (StateCell, usize)) -> StateCell {
    for _ in 0..n {
        let up = cell.update(|s| Ok::<_, Infallible>(*s));
        black_box(&up);
    }
    cell
}

library_benchmark_group!(
    name = updates;
    benchmarks =
        statecell_update,
        statecell_update_steady,
        proto_seqlock_update,
        lockedcell_update,
        arcswap_rcu
);

// The same listings reading two fields per process instead of copying the whole state (what a
// "how many are running" status call does): the cost of the walk without the 48-byte copy.
#[library_benchmark]
#[bench::procs100(setup = registry, teardown = teardown)]
fn registry_list_status(registry: Registry) -> Registry {
    for _ in 0..OPS / PROCS {
        let guard = pin();
        let mut running = 0u64;
        let mut versions = 0u64;
        for p in registry.list(&guard) {
            let s = p.state().load(&guard);
            running += u64::from(s.is_running());
            versions = versions.wrapping_add(s.version);
        }
        black_box((running, versions));
    }
    registry
}

/// Live processes beside the one each `registry_start_remove` operation adds and removes.
const LIVE: usize = 10;

fn small_registry() -> Registry {
    drop(pin());
    let registry = Registry::new();
    for i in 0..LIVE {
        let p = registry.insert(&format!("p{i}"), CommandSpec::new("true"), 0);
        registry.apply(p.id(), started()).unwrap();
    }
    // Warm: one whole cycle, so the first allocation of each kind is outside the count.
    start_remove(&registry);
    registry
}

/// One short-lived process: registered (a registry write), started and exited (two state
/// updates), removed (a second registry write), and freed.
fn start_remove(registry: &Registry) {
    let p = registry.insert("job", CommandSpec::new("true"), 0);
    registry.apply(p.id(), started()).unwrap();
    let exited = procsnap::Event::Exited {
        exit: procsnap::Exit::Code(0),
        at: std::time::SystemTime::UNIX_EPOCH,
    };
    registry.apply(p.id(), exited).unwrap();
    drop(p);
    black_box(registry.remove_finished());
}

// The registry write path: per operation two writes (insert, remove_finished) and two state
// updates on a registry of 10 live processes, the frees of the removed processes included.
#[library_benchmark]
#[bench::live10(setup = small_registry, teardown = teardown)]
fn registry_start_remove(registry: Registry) -> Registry {
    for _ in 0..OPS {
        start_remove(&registry);
    }
    registry
}

library_benchmark_group!(
    name = registry;
    benchmarks = registry_list, reader_list, registry_list_status, registry_start_remove
);

main!(library_benchmark_groups = reads, updates, registry);
