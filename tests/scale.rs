//! Scale and leaks: thousands of concurrent children on one reaper thread; thousands of
//! spawn/stop cycles with no zombie, no descriptor and no thread left behind.
//!
//! The tests of this file measure process-wide counts, so they run one at a time.

mod common;

use common::{children, fd_count, thread_count, threads_named};
use procsnap::{CommandSpec, Status, Supervisor, SupervisorConfig};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn zombies() -> Vec<(i32, char, String)> {
    children().into_iter().filter(|c| c.1 == 'Z').collect()
}

fn config() -> SupervisorConfig {
    common::config().grace(Duration::from_secs(2))
}

/// `n`, or a tenth of it under a user-mode emulator (qemu-user runs these tests tens of times
/// slower), saying so in the test's output.
fn scaled(n: usize, what: &str) -> usize {
    match procsnap::internals::sys::emulated() {
        Some(host) => {
            eprintln!("EMULATED (on {host}): {} {what} instead of {n}", n / 10);
            n / 10
        }
        None => n,
    }
}

#[test]
fn three_thousand_children_on_a_fixed_thread_count() {
    let _serial = serial();
    let threads_before = thread_count();
    let sup = common::Fixture {
        sup: Supervisor::with_config(config()).unwrap(),
    };
    let n = scaled(3000, "children");
    let t = Instant::now();
    let ps: Vec<_> = (0..n)
        .map(|_| {
            sup.spawn("many", CommandSpec::new("sleep").arg("300"))
                .unwrap()
        })
        .collect();
    let spawned = t.elapsed();
    // Other test threads of this binary may come and go; the supervisor adds exactly one.
    assert_eq!(threads_named("procsnap-reaper"), 1);
    assert!(
        thread_count() <= threads_before + 1,
        "one reaper thread, whatever n"
    );
    assert!(ps.iter().all(|p| p.state().snapshot().is_running()));
    let t = Instant::now();
    sup.stop_all(Duration::from_secs(5));
    let stopped = t.elapsed();
    assert!(
        ps.iter()
            .all(|p| p.state().snapshot().status == Status::Stopped)
    );
    assert_eq!(threads_named("procsnap-reaper"), 1);
    assert!(zombies().is_empty(), "{:?}", zombies());
    eprintln!("{n} children: spawned in {spawned:?}, all stopped and reaped in {stopped:?}");
}

#[test]
fn spawn_stop_cycles_leak_no_zombies_fds_or_threads() {
    let _serial = serial();
    let sup = Supervisor::with_config(config()).unwrap();
    // Warm up (first-use allocations, the epoll buffer, lazily opened files).
    for _ in 0..20 {
        let p = sup
            .spawn("warm", CommandSpec::new("sleep").arg("300"))
            .unwrap();
        sup.stop(p.id(), Duration::from_secs(2)).unwrap();
    }
    // `stop` and `wait` return once the final state is visible; the reaper closes that
    // process's pipes and pidfd just after publishing it, off the exit-to-visible path. So the
    // baseline is taken once the count has settled, and the final check allows the same lag.
    let fds = settled_fd_count();
    let threads = thread_count();
    let t = Instant::now();
    let cycles = scaled(4000, "cycles");
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for i in 0..cycles / 2 {
                    if i % 2 == 0 {
                        let p = sup
                            .spawn("cycle", CommandSpec::new("sleep").arg("300"))
                            .unwrap();
                        let st = sup.stop(p.id(), Duration::from_secs(2)).unwrap();
                        assert_eq!(st.status, Status::Stopped);
                    } else {
                        let p = sup.spawn("quick", CommandSpec::new("true")).unwrap();
                        assert_eq!(sup.wait(p.id()).unwrap().status, Status::Success);
                    }
                }
            });
        }
    });
    let took = t.elapsed();
    sup.registry().remove_finished();
    assert!(zombies().is_empty(), "{:?}", zombies());
    assert!(
        common::eventually(Duration::from_secs(2), || fd_count() <= fds),
        "descriptors leaked: {} open, {fds} before the cycles",
        fd_count()
    );
    // A joined thread can linger in /proc/self/task for a moment after it ended.
    assert!(common::eventually(Duration::from_secs(2), || thread_count() <= threads));
    assert_eq!(threads_named("procsnap-reaper"), 1);
    eprintln!("{cycles} spawn/stop-or-wait cycles in {took:?}");
    // The next test of this file counts reaper threads: this one's is gone when it starts.
    sup.shutdown();
}

/// The descriptor count once two readings 50 ms apart agree.
fn settled_fd_count() -> usize {
    let mut last = fd_count();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let now = fd_count();
        if now == last {
            return now;
        }
        last = now;
    }
}
