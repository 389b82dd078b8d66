//! Wall-clock benchmarks (criterion), grouped by contention shape, each with its rivals in the
//! same run: the Mutex cell [`LockedCell`], `std::sync::RwLock`, `arc_swap::ArcSwap::load()` and a
//! `parking_lot::Mutex`.
//!
//! - `single/{load_held_guard,snapshot,update}/<impl>`: one thread, no contention.
//! - `two_readers/<impl>`: two reader threads, no writer (throughput: total reads/s).
//! - `reader_writer/<impl>`: one reader measured while one writer updates at full speed.
//! - `registry_list/<impl>/{10,100,1000}`: a whole listing, every state read (throughput:
//!   processes/s); ours is one pin per listing.
//!
//! Every read copies the state out once into a local handed to `black_box` by reference (as in
//! `benches/iai.rs`). Loops run inside `iter_custom`, so no per-iteration dispatch is timed.
//!
//! Multi-thread groups use `iter_custom`: threads are spawned once per sample, released together
//! by a barrier, and the sample's time runs from the barrier to the last reader's end.
//!
//! Run: `cargo bench --bench cell` (about a minute; `scripts/bench.sh` extracts the ratios). On a
//! shared machine compare only ratios within one run, never absolute times across runs.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use procsnap::internals::LockedCell;
use procsnap::{CommandSpec, ProcessState, Registry, pin};

#[path = "common/mod.rs"]
mod common;
use common::{Contenders, READS, Read, running, started, thread_cpu_ns};

/// `iters` calls of `op` on this thread, timed.
fn timed(iters: u64, op: impl FnOnce(u64)) -> Duration {
    let start = Instant::now();
    op(iters);
    start.elapsed()
}

/// Readers' on-CPU nanoseconds and `readers × span` nanoseconds, summed over a benchmark's
/// samples: their ratio says how parallel the "parallel" readers really were.
static CPU_NS: AtomicU64 = AtomicU64::new(0);
static SPAN_NS: AtomicU64 = AtomicU64::new(0);

/// Prints (and resets) the readers' CPU share for the benchmark just run; `scripts/bench.sh`
/// reads these lines. Below ~0.9 the readers took turns on a core and a multi-thread ratio
/// says little.
fn report_cpu_share(id: &str) {
    // Relaxed: read after the benchmark's threads were joined.
    let cpu = CPU_NS.swap(0, Ordering::Relaxed);
    let span = SPAN_NS.swap(0, Ordering::Relaxed);
    if span > 0 && cpu > 0 {
        eprintln!("cpu_share {id} {:.2}", cpu as f64 / span as f64);
    }
}

/// Runs `readers` threads doing `iters` reads each on `path` (plus a full-speed writer when
/// `writer`), all released by one barrier; returns the time from release to the last reader's end.
fn timed_readers(c: &Contenders, path: Read, readers: usize, writer: bool, iters: u64) -> Duration {
    let barrier = Barrier::new(readers + usize::from(writer));
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        if writer {
            s.spawn(|| {
                barrier.wait();
                // Relaxed: a plain stop flag; the scope's join orders everything else.
                while !stop.load(Ordering::Relaxed) {
                    c.write(path);
                }
            });
        }
        let spans: Vec<_> = (0..readers)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let cpu0 = thread_cpu_ns();
                    let start = Instant::now();
                    c.read_n(path, iters);
                    let end = Instant::now();
                    let cpu = thread_cpu_ns().zip(cpu0).map_or(0, |(b, a)| b - a);
                    (start, end, cpu)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        stop.store(true, Ordering::Relaxed);
        let first = spans.iter().map(|s| s.0).min().unwrap();
        let last = spans.iter().map(|s| s.1).max().unwrap();
        let span = last - first;
        let cpu: u64 = spans.iter().map(|s| s.2).sum();
        CPU_NS.fetch_add(cpu, Ordering::Relaxed);
        SPAN_NS.fetch_add(span.as_nanos() as u64 * readers as u64, Ordering::Relaxed);
        span
    })
}

/// Short warm-up and measurement: the machine is shared, so only same-run ratios mean anything.
fn short() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000))
        .sample_size(20)
}

fn single(c: &mut Criterion) {
    let cs = Contenders::new();
    let mut g = c.benchmark_group("single");
    {
        let guard = pin();
        g.bench_function(BenchmarkId::new("load_held_guard", "statecell"), |b| {
            b.iter_custom(|iters| {
                timed(iters, |n| {
                    for _ in 0..n {
                        let s = *cs.ours.load(&guard);
                        black_box(&s);
                    }
                })
            })
        });
    }
    for (path, name) in READS {
        if matches!(path, Read::Batch) {
            continue; // single-threaded it is load_held_guard, above
        }
        g.bench_function(BenchmarkId::new("snapshot", name), |b| {
            b.iter_custom(|iters| timed(iters, |n| cs.read_n(path, n)))
        });
    }
    for (path, name) in [
        (Read::Snapshot, "statecell"),
        (Read::Locked, "lockedcell"),
        (Read::RwLock, "rwlock"),
        (Read::ArcSwap, "arcswap_rcu"),
        (Read::PlMutex, "parking_lot_mutex"),
    ] {
        g.bench_function(BenchmarkId::new("update", name), |b| {
            b.iter_custom(|iters| timed(iters, |n| (0..n).for_each(|_| cs.write(path))))
        });
    }
    g.finish();
}

fn two_readers(c: &mut Criterion) {
    let cs = Contenders::new();
    let mut g = c.benchmark_group("two_readers");
    g.throughput(Throughput::Elements(2));
    for (path, name) in READS {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| timed_readers(&cs, path, 2, false, iters))
        });
        report_cpu_share(&format!("two_readers/{name}"));
    }
    g.finish();
}

fn reader_writer(c: &mut Criterion) {
    let cs = Contenders::new();
    let mut g = c.benchmark_group("reader_writer");
    g.throughput(Throughput::Elements(1));
    for (path, name) in READS {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| timed_readers(&cs, path, 1, true, iters))
        });
        report_cpu_share(&format!("reader_writer/{name}"));
    }
    g.finish();
}

/// The rivals' registries: a locked or swapped list of per-process locked or swapped states.
struct Lists {
    ours: Registry,
    locked: Mutex<Vec<Arc<LockedCell>>>,
    rwlock: RwLock<Vec<Arc<RwLock<ProcessState>>>>,
    arcswap: ArcSwap<Vec<Arc<ArcSwap<ProcessState>>>>,
}

impl Lists {
    fn new(n: usize) -> Lists {
        let ours = Registry::new();
        for i in 0..n {
            let p = ours.insert(&format!("p{i}"), CommandSpec::new("true"), 0);
            ours.apply(p.id(), started()).unwrap();
        }
        Lists {
            ours,
            locked: Mutex::new(
                (0..n)
                    .map(|_| Arc::new(LockedCell::new(running())))
                    .collect(),
            ),
            rwlock: RwLock::new((0..n).map(|_| Arc::new(RwLock::new(running()))).collect()),
            arcswap: ArcSwap::from_pointee(
                (0..n)
                    .map(|_| Arc::new(ArcSwap::from_pointee(running())))
                    .collect(),
            ),
        }
    }
}

fn registry_list(c: &mut Criterion) {
    let mut g = c.benchmark_group("registry_list");
    for n in [10, 100, 1000] {
        let l = Lists::new(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("statecell", n), |b| {
            b.iter(|| {
                let guard = pin();
                for p in l.ours.list(&guard) {
                    let s = *p.state().load(&guard);
                    black_box(&s);
                }
            })
        });
        g.bench_function(BenchmarkId::new("lockedcell", n), |b| {
            b.iter(|| {
                for p in l.locked.lock().unwrap().iter() {
                    let s = p.snapshot();
                    black_box(&s);
                }
            })
        });
        g.bench_function(BenchmarkId::new("rwlock", n), |b| {
            b.iter(|| {
                for p in l.rwlock.read().unwrap().iter() {
                    let s = *p.read().unwrap();
                    black_box(&s);
                }
            })
        });
        g.bench_function(BenchmarkId::new("arcswap_load", n), |b| {
            b.iter(|| {
                for p in l.arcswap.load().iter() {
                    let s = **p.load();
                    black_box(&s);
                }
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = short();
    targets = single, two_readers, reader_writer, registry_list
}
criterion_main!(benches);
