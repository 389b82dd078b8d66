//! What `procsnap tui` costs, measured on the real binary in a pty: keypress-to-screen latency
//! and RSS during a `yes` flood, and CPU with 20 idle processes. The figures are printed
//! (`cargo test --release -p procsnap-cli --test tui_perf -- --nocapture --test-threads 1`);
//! the assertions are generous bounds that only catch a real regression (a busy loop, an
//! unbounded buffer, a UI that stops answering), not benchmarks.
//!
//! `PROCSNAP_FLOOD_SECS` (default 10) and `PROCSNAP_IDLE_SECS` (default 10) set the windows.
#![forbid(unsafe_code)]

#[path = "common/mod.rs"]
mod common;
#[path = "tui_pty/harness.rs"]
mod harness;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{TempProject, rss_kib};
use harness::{LIMIT, Tui};

/// One measurement at a time: they would disturb each other.
static SERIAL: Mutex<()> = Mutex::new(());

fn secs(var: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

/// utime + stime of process `pid` (all its threads), in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Nanoseconds on a CPU, summed over every thread of `pid` (`/proc/PID/task/*/schedstat`).
fn cpu_ns(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn keypresses_answer_within_100ms_and_rss_stays_bounded_during_a_flood() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let window = secs("PROCSNAP_FLOOD_SECS", 10);
    let p = TempProject::procfile(&[("flood", "yes")]);
    let mut t = Tui::start(p.path(), &["flood"], (120, 40), &[]);
    t.pid_of("flood");
    t.wait_for("flood | y");
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut max_rss = 0;
    let mut wrapped = false;
    for _ in 0..50 {
        wrapped = !wrapped;
        let sent = Instant::now();
        t.send("w");
        t.wait_until("the wrap flag", LIMIT, |s| {
            s.lines()
                .next()
                .is_some_and(|l| l.contains("· wrap") == wrapped)
        });
        latencies.push(sent.elapsed());
        max_rss = max_rss.max(rss_kib(t.pid));
        std::thread::sleep(Duration::from_millis(20));
    }
    while start.elapsed() < window {
        max_rss = max_rss.max(rss_kib(t.pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];
    let max = latencies[latencies.len() - 1];
    println!(
        "flood: keypress → screen over 50 presses: p50 {p50:?}, p99 {p99:?}, max {max:?}; \
         max RSS {:.1} MiB over {:.0?}",
        max_rss as f64 / 1024.0,
        start.elapsed()
    );
    t.send("Q");
    assert!(t.wait_exit(LIMIT).is_some(), "Q quits during a flood");
    assert!(max_rss < 64 * 1024, "RSS {max_rss} KiB");
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?}");
}

#[test]
fn twenty_idle_processes_cost_no_cpu() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let window = secs("PROCSNAP_IDLE_SECS", 10);
    let p = TempProject::new();
    let targets: Vec<String> = (0..20).map(|i| format!("idle{i:02}=sleep 300")).collect();
    let mut args = vec!["--grace", "1"];
    args.extend(targets.iter().map(String::as_str));
    let mut t = Tui::start(p.path(), &args, (140, 40), &[]);
    t.wait_until("20 running", LIMIT, |s| s.contains("20 running"));
    std::thread::sleep(Duration::from_millis(500)); // let start-up settle

    // Uptimes on screen: one redraw a second.
    let (ticks, ns, at) = (cpu_ticks(t.pid), cpu_ns(t.pid), Instant::now());
    std::thread::sleep(window);
    let listed = (cpu_ticks(t.pid) - ticks, cpu_ns(t.pid) - ns, at.elapsed());
    // Zoomed on the (silent) log pane: no uptime on screen, no timer at all.
    t.send("z");
    t.wait_until("zoomed", LIMIT, |s| !s.contains("sort:"));
    std::thread::sleep(Duration::from_millis(200));
    let (ticks, ns, at) = (cpu_ticks(t.pid), cpu_ns(t.pid), Instant::now());
    std::thread::sleep(window);
    let zoomed = (cpu_ticks(t.pid) - ticks, cpu_ns(t.pid) - ns, at.elapsed());
    for (what, (ticks, ns, over)) in [("list shown", listed), ("log zoomed", zoomed)] {
        println!(
            "idle, 20 processes, {what}: {ticks} ticks, {:.3} ms CPU over {over:.1?} = {:.4} %",
            ns as f64 / 1e6,
            ns as f64 / over.as_nanos() as f64 * 100.0
        );
    }
    t.send("Q");
    assert!(t.wait_exit(LIMIT).is_some());
    // A busy loop or a fast timer would cost hundreds of ticks; one redraw a second, none.
    assert!(listed.0 <= 20, "{} ticks with the list shown", listed.0);
    assert!(zoomed.0 <= 2, "{} ticks zoomed", zoomed.0);
    assert!(zoomed.1 < listed.1.max(5_000_000), "zoomed costs less");
}
