//! Idle cost of a Supervisor with 20 idle children (`sleep 300`): CPU % of the whole process
//! and of the reaper thread, and the reaper's context switches, over a 3 s window.
//!
//! Run: `cargo bench --bench idle` (≈ 4 s; `PROCSNAP_IDLE_SECS` changes the window).
//! The watchdog process is sampled too (it should not run either: nothing is spawned or reaped
//! in the window).

use std::time::{Duration, Instant};

use procsnap::{CommandSpec, Supervisor};

fn ticks(stat_path: &str) -> u64 {
    let stat = std::fs::read_to_string(stat_path).unwrap();
    let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn switches(tid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .map(|l| l.split(':').nth(1).unwrap().trim().parse::<u64>().unwrap())
        .sum()
}

fn main() {
    let secs: f64 = std::env::var("PROCSNAP_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let sup = Supervisor::with_config(
        procsnap::SupervisorConfig::default()
            .watchdog(true)
            .raise_nofile(true),
    )
    .unwrap();
    let _procs: Vec<_> = (0..20)
        .map(|i| {
            sup.spawn(&format!("idle{i}"), CommandSpec::new("sleep").arg("300"))
                .unwrap()
        })
        .collect();
    let tid: u32 = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .find(|tid| {
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .is_ok_and(|c| c.trim() == "procsnap-reaper")
        })
        .expect("reaper thread");
    std::thread::sleep(Duration::from_millis(300));
    let hz = 100.0; // USER_HZ on Linux
    let wd = format!("/proc/{}/stat", sup.watchdog_pid().unwrap());
    let reaper = format!("/proc/self/task/{tid}/stat");
    let (p0, r0, w0, s0) = (
        ticks("/proc/self/stat"),
        ticks(&reaper),
        ticks(&wd),
        switches(tid),
    );
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    let el = t.elapsed().as_secs_f64();
    let (p1, r1, w1, s1) = (
        ticks("/proc/self/stat"),
        ticks(&reaper),
        ticks(&wd),
        switches(tid),
    );
    let pct = |a: u64, b: u64| (b - a) as f64 / hz / el * 100.0;
    println!(
        "20 idle children, {el:.2} s window (1 tick = 10 ms, so 1 tick = {:.2} %)",
        1.0 / hz / el * 100.0
    );
    println!("whole process CPU: {:.2} %", pct(p0, p1));
    println!("reaper thread CPU: {:.2} %", pct(r0, r1));
    println!("watchdog CPU:      {:.2} %", pct(w0, w1));
    println!("reaper context switches: {}", s1 - s0);
}
