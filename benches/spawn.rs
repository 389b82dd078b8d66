//! Spawn + reap of a small program, through the [`Supervisor`] and its rivals, in one run.
//!
//! - `spawn_reap/std_command`: `std::process::Command::new("/bin/true").status()` (posix_spawn
//!   inside, since no `pre_exec` is set).
//! - `spawn_reap/sys_posix_spawn`: our raw layer: `sys::spawn` (own group, reset signals, two
//!   pipes) + `waitpid`.
//! - `spawn_reap/supervisor`: `Supervisor::spawn` + `wait` (pidfd, epoll reaper thread, pipes
//!   read to EOF, state CAS, event, condvar wake-up).
//! - `spawn_reap_fat_parent/*`: the same after the parent touched 1 GiB (set
//!   `PROCSNAP_BENCH_FAT_MIB` to change it, 0 to skip): no fork anywhere, so it must stay flat.
//!
//! Run: `cargo bench --bench spawn` (about 40 s). Compare ratios within one run only.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use procsnap::{CommandSpec, Status, Supervisor, sys};

const PROGRAM: &str = "/bin/true";

fn group(c: &mut Criterion, name: &str) {
    let sup = Supervisor::new().expect("supervisor");
    let spec = CommandSpec::new(PROGRAM);
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.sample_size(30);
    g.bench_function("std_command", |b| {
        b.iter(|| {
            let st = Command::new(PROGRAM).status().unwrap();
            assert!(st.success());
        })
    });
    g.bench_function("sys_posix_spawn", |b| {
        b.iter(|| {
            let child = sys::spawn(&spec).unwrap();
            let st = sys::wait_blocking(child.pid).unwrap();
            black_box((st, child.stdout, child.stderr));
        })
    });
    g.bench_function("supervisor", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let p = sup.spawn("bench", spec.clone()).unwrap();
                let s = sup.wait(p.id()).unwrap();
                total += t.elapsed();
                assert_eq!(s.status, Status::Success);
                // Untimed: keep the copy-on-write registry at one entry.
                sup.registry().remove_finished();
            }
            total
        })
    });
    g.finish();
}

fn spawn_reap(c: &mut Criterion) {
    group(c, "spawn_reap");
    let mib: usize = std::env::var("PROCSNAP_BENCH_FAT_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    if mib > 0 {
        // Touch every page so that a fork would have to copy the page tables.
        let fat = vec![1u8; mib << 20];
        black_box(&fat);
        group(c, "spawn_reap_fat_parent");
        drop(fat);
    }
}

criterion_group!(benches, spawn_reap);
criterion_main!(benches);
