//! Exit-to-visible-state latency: from the moment a child is told to die to the moment its
//! final state is visible, through the [`Supervisor`] and through an inline `waitpid`.
//!
//! The cue is a `SIGKILL` sent by the bench thread to a `sleep 300` child that is already
//! asleep (its `/proc/PID/stat` shows `(sleep) S`), so both sides pay the same kill and the same
//! kernel exit path; the clock starts just before `kill(2)`. Modes, interleaved round by round
//! (the order rotates) so that the machine's noise hits all of them alike:
//!
//! - `inline_waitpid`: a `std::process::Command` child, then `Child::wait()` (a blocking
//!   `waitpid` on the bench thread: the floor).
//! - `sup_poll`: a Supervisor child; the bench thread polls `state().load()` until the state
//!   is final (what a reader sees), with a `sched_yield` between loads.
//! - `sup_subscribe`: the same, polling a subscription until the final `State` event.
//!
//! The polls yield: on a 2-core machine with a busy neighbour, a pure spin holds the core the
//! reaper thread needs and the median becomes a scheduler tick (1.8 ms measured), which says
//! nothing about the Supervisor.
//! - `sup_wait`: the same, blocking in `Supervisor::wait` (condvar).
//!
//! Prints the median, p10 and p90 of each mode in µs, and for each Supervisor mode the median
//! of the per-round difference to `inline_waitpid` (target: within 25 µs).
//!
//! Run: `cargo bench --bench exit_latency` (≈ 10 s; `PROCSNAP_LATENCY_ROUNDS`, default 300).

use std::process::Command;
use std::time::{Duration, Instant};

use procsnap::internals::sys::{self, Pid};
use procsnap::{CommandSpec, Supervisor, SupervisorEvent};

const MODES: [&str; 4] = ["inline_waitpid", "sup_poll", "sup_subscribe", "sup_wait"];

/// Waits until `pid` runs `sleep` and is asleep in it.
fn wait_asleep(pid: u32) {
    let path = format!("/proc/{pid}/stat");
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(stat) = std::fs::read_to_string(&path) {
            if let Some(i) = stat.rfind(')') {
                if stat[..i].ends_with("(sleep") && stat[i..].starts_with(") S") {
                    return;
                }
            }
        }
        assert!(Instant::now() < end, "child {pid} never fell asleep");
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn kill(pid: u32) {
    sys::kill(Pid::from_raw(pid as i32).unwrap(), libc::SIGKILL).unwrap();
}

fn inline_waitpid() -> Duration {
    let mut child = Command::new("sleep").arg("300").spawn().unwrap();
    wait_asleep(child.id());
    let t = Instant::now();
    kill(child.id());
    let st = child.wait().unwrap();
    let d = t.elapsed();
    assert!(!st.success());
    d
}

/// Returns the latency and, from the final state's `ended_at` (taken by the reaper right after
/// its `waitpid`), how much of it passed before the reaper had reaped the child.
fn supervised(sup: &Supervisor, mode: &str) -> (Duration, Duration) {
    let sub = (mode == "sup_subscribe").then(|| sup.subscribe());
    let p = sup
        .spawn("latency", CommandSpec::new("sleep").arg("300"))
        .unwrap();
    let pid = p.state().snapshot().pid.unwrap();
    wait_asleep(pid);
    let wall = std::time::SystemTime::now();
    let t = Instant::now();
    kill(pid);
    let d = match mode {
        "sup_poll" => loop {
            let guard = procsnap::pin();
            if p.state().load(&guard).is_finished() {
                break t.elapsed();
            }
            drop(guard);
            std::thread::yield_now();
        },
        "sup_subscribe" => {
            let sub = sub.as_ref().unwrap();
            loop {
                match sub.pop() {
                    Some(SupervisorEvent::State { state, .. }) if state.is_finished() => {
                        break t.elapsed();
                    }
                    Some(_) => {}
                    None => std::thread::yield_now(),
                }
            }
        }
        "sup_wait" => {
            sup.wait(p.id()).unwrap();
            t.elapsed()
        }
        _ => unreachable!(),
    };
    let end = p.state().snapshot();
    assert!(end.is_finished());
    let reaped = end.ended_at.unwrap().duration_since(wall.into());
    sup.registry().remove_finished();
    (d, reaped)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn main() {
    let rounds: usize = std::env::var("PROCSNAP_LATENCY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let sup = Supervisor::with_config(
        procsnap::SupervisorConfig::default()
            .watchdog(true)
            .raise_nofile(true),
    )
    .unwrap();
    // Warm-up: page in both paths.
    for _ in 0..5 {
        inline_waitpid();
        supervised(&sup, "sup_poll");
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); MODES.len()];
    let mut reaped: Vec<f64> = Vec::with_capacity(rounds);
    for r in 0..rounds {
        for k in 0..MODES.len() {
            let m = (r + k) % MODES.len();
            let d = match MODES[m] {
                "inline_waitpid" => inline_waitpid(),
                mode => {
                    let (d, r) = supervised(&sup, mode);
                    if mode == "sup_poll" {
                        reaped.push(us(r));
                    }
                    d
                }
            };
            times[m].push(us(d));
        }
    }
    println!("exit-to-visible-state latency, {rounds} rounds (µs; SIGKILL to a sleeping child)");
    println!(
        "{:<16} {:>8} {:>8} {:>8}   {:>22}",
        "mode", "p10", "median", "p90", "median of (mode - inline)"
    );
    for (m, name) in MODES.iter().enumerate() {
        let s = sorted(times[m].clone());
        let diff = if m == 0 {
            String::from("-")
        } else {
            let d = sorted(times[m].iter().zip(&times[0]).map(|(a, b)| a - b).collect());
            format!("{:+.1}", pct(&d, 0.5))
        };
        println!(
            "{:<16} {:>8.1} {:>8.1} {:>8.1}   {:>22}",
            name,
            pct(&s, 0.1),
            pct(&s, 0.5),
            pct(&s, 0.9),
            diff
        );
    }
    let r = sorted(reaped);
    println!(
        "sup_poll: kill -> reaper's waitpid done (ended_at): p10 {:.1}, median {:.1}, p90 {:.1}",
        pct(&r, 0.1),
        pct(&r, 0.5),
        pct(&r, 0.9)
    );
}
