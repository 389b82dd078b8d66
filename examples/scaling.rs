//! Read scaling: 1..N reader threads beside one writer, for every read path, as CSV.
//!
//! ```text
//! cargo run --release --example scaling -- --max-readers 15 --secs 1
//! ```
//!
//! For each writer mode (`paced`: 10,000 updates/s; `full`: as fast as it can), each read path and
//! each reader count R in 1, 2, 4, 8, … up to N (and N itself), R readers read for `--secs`
//! seconds while the writer updates the same structure. stdout gets
//! `path,writer,readers,total_mreads_per_s,writer_updates_per_s`; stderr gets, per row, the
//! readers' CPU share (below ~0.9 the readers were not really running in parallel: the machine
//! has too few free cores) and the process's resident memory (garbage a held guard keeps alive).
//!
//! Paths: `snapshot` (`StateCell::snapshot`, a pin per read), `batch` (`StateCell::load` under
//! one guard, repinned every 256 reads), `reader` (`procsnap::Reader::read`: a per-thread pinned
//! handle that repins every 256 reads), `proto_seqlock` (prototype: a seqlock mirror written
//! after each update, see `benches/common/seqlock.rs`), `mutex` (`LockedCell`), `rwlock`, `arcswap`
//! (`ArcSwap::load`). Meant for a many-core machine; on 2 cores run it briefly to check it works.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

#[path = "../benches/common/mod.rs"]
mod common;
use common::{Contenders, Read, thread_cpu_ns};

/// Reads between two checks of the stop flag.
const CHUNK: u64 = 1024;
/// The paced writer's rate.
const PACED_PER_S: u64 = 10_000;

const PATHS: [(Read, &str); 7] = [
    (Read::Snapshot, "snapshot"),
    (Read::Batch, "batch"),
    (Read::Reader, "reader"),
    (Read::ProtoSeqlock, "proto_seqlock"),
    (Read::Locked, "mutex"),
    (Read::RwLock, "rwlock"),
    (Read::ArcSwap, "arcswap"),
];

#[derive(Clone, Copy, PartialEq)]
enum Writer {
    Paced,
    Full,
}

impl Writer {
    fn name(self) -> &'static str {
        match self {
            Writer::Paced => "paced10k",
            Writer::Full => "full",
        }
    }
}

struct Args {
    max_readers: usize,
    secs: f64,
    paths: Vec<(Read, &'static str)>,
    writers: Vec<Writer>,
}

fn usage() -> ! {
    eprintln!(
        "usage: scaling [--max-readers N] [--secs S] [--paths a,b,..] [--writer paced|full|both]\n\
         paths: snapshot,batch,reader,proto_seqlock,mutex,rwlock,arcswap"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let mut args = Args {
        max_readers: cores.saturating_sub(1).max(1),
        secs: 1.0,
        paths: PATHS.to_vec(),
        writers: vec![Writer::Paced, Writer::Full],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--max-readers" => args.max_readers = value.parse().unwrap_or_else(|_| usage()),
            "--secs" => args.secs = value.parse().unwrap_or_else(|_| usage()),
            "--paths" => {
                args.paths = value
                    .split(',')
                    .map(|p| {
                        *PATHS
                            .iter()
                            .find(|(_, name)| *name == p)
                            .unwrap_or_else(|| usage())
                    })
                    .collect()
            }
            "--writer" => {
                args.writers = match value.as_str() {
                    "paced" => vec![Writer::Paced],
                    "full" => vec![Writer::Full],
                    "both" => vec![Writer::Paced, Writer::Full],
                    _ => usage(),
                }
            }
            _ => usage(),
        }
    }
    if args.max_readers == 0 || !args.secs.is_finite() || args.secs <= 0.0 {
        usage();
    }
    args
}

/// 1, 2, 4, 8, … below `max`, then `max`.
fn reader_counts(max: usize) -> Vec<usize> {
    let mut counts: Vec<usize> = std::iter::successors(Some(1), |n| Some(n * 2))
        .take_while(|&n| n < max)
        .collect();
    counts.push(max);
    counts
}

/// One configuration's result.
struct Row {
    reads: u64,
    updates: u64,
    secs: f64,
    cpu_share: f64,
}

fn run(path: Read, writer: Writer, readers: usize, secs: f64) -> Row {
    let c = Contenders::new();
    let stop = AtomicBool::new(false);
    let reads = AtomicU64::new(0);
    let cpu_ns = AtomicU64::new(0);
    let barrier = Barrier::new(readers + 2);
    let (updates, elapsed) = thread::scope(|s| {
        let w = s.spawn(|| {
            barrier.wait();
            let start = Instant::now();
            let mut n = 0u64;
            // Relaxed: a plain stop flag; the scope's join orders the counters.
            while !stop.load(Ordering::Relaxed) {
                if writer == Writer::Paced {
                    let due = start + Duration::from_nanos(n * 1_000_000_000 / PACED_PER_S);
                    let now = Instant::now();
                    if due > now {
                        thread::sleep(due - now);
                        continue;
                    }
                }
                c.write(path);
                n += 1;
            }
            n
        });
        for _ in 0..readers {
            s.spawn(|| {
                barrier.wait();
                let cpu0 = thread_cpu_ns();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    c.read_n(path, CHUNK);
                    n += CHUNK;
                }
                let cpu = thread_cpu_ns().zip(cpu0).map_or(0, |(b, a)| b - a);
                reads.fetch_add(n, Ordering::Relaxed);
                cpu_ns.fetch_add(cpu, Ordering::Relaxed);
            });
        }
        barrier.wait();
        let start = Instant::now();
        thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
        let elapsed = start.elapsed().as_secs_f64();
        (w.join().unwrap(), elapsed)
    });
    let cpu = cpu_ns.load(Ordering::Relaxed) as f64 / 1e9;
    Row {
        reads: reads.load(Ordering::Relaxed),
        updates,
        secs: elapsed,
        cpu_share: cpu / (elapsed * readers as f64),
    }
}

/// Resident memory of this process in MiB (`VmRSS`), 0 where unknown.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let args = parse_args();
    println!("path,writer,readers,total_mreads_per_s,writer_updates_per_s");
    for &writer in &args.writers {
        for &(path, name) in &args.paths {
            for readers in reader_counts(args.max_readers) {
                let row = run(path, writer, readers, args.secs);
                println!(
                    "{name},{},{readers},{:.1},{:.0}",
                    writer.name(),
                    row.reads as f64 / row.secs / 1e6,
                    row.updates as f64 / row.secs
                );
                eprintln!(
                    "# {name},{},{readers}: readers' cpu share {:.2}, rss {:.1} MiB",
                    writer.name(),
                    row.cpu_share,
                    rss_mib()
                );
            }
        }
    }
}
