//! `scripts_status` for 100 running processes: in-process (building the answer from one pinned
//! registry view, with and without JSON) and end to end over stdio against the real binary
//! (JSON-RPC request written, response line read), with `ping` as the transport floor.
//!
//! `cargo bench -p procsnap-cli --bench status` (median of 5 batches; µs per call).
//! With `PROCSNAP_BASELINE=/path/to/procsnap` (another build), the end-to-end calls are
//! measured on both binaries in the same run, alternately, and their ratio printed;
//! `PROCSNAP_BENCH_BIN` replaces this profile's binary as the one compared.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant, SystemTime};

use procsnap::{CommandSpec, Supervisor};
use procsnap_cli::answers::status_view;
use serde_json::json;

const PROCESSES: usize = 100;

/// Runs `batches` batches of `per_batch` calls of `f`; returns the median µs per call.
fn median_us(batches: usize, per_batch: usize, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn in_process() {
    let sup = Supervisor::with_config(
        procsnap::SupervisorConfig::default()
            .watchdog(true)
            .raise_nofile(true),
    )
    .expect("supervisor");
    for i in 0..PROCESSES {
        sup.spawn(&format!("s{i}"), CommandSpec::new("sleep").arg("300"))
            .expect("spawn sleep");
    }
    let registry = sup.registry();
    assert!(common::eventually(Duration::from_secs(20), || {
        status_view(registry, None, SystemTime::now())
            .processes
            .iter()
            .all(|p| p.status == "running")
    }));

    let build = median_us(5, 2_000, || {
        let s = status_view(registry, None, SystemTime::now());
        assert_eq!(s.processes.len(), PROCESSES);
        std::hint::black_box(s);
    });
    let build_json = median_us(5, 2_000, || {
        let s = status_view(registry, None, SystemTime::now());
        std::hint::black_box(serde_json::to_string(&s).unwrap());
    });
    // The states alone: one pin for the whole listing vs a pin (snapshot) per process.
    let one_pin = median_us(5, 20_000, || {
        let guard = procsnap::pin();
        let running = registry
            .list(&guard)
            .iter()
            .filter(|p| p.state().load(&guard).is_running())
            .count();
        std::hint::black_box(running);
    });
    let pin_each = median_us(5, 20_000, || {
        let all = {
            let guard = procsnap::pin();
            registry.list(&guard).to_vec()
        };
        let running = all
            .iter()
            .filter(|p| p.state().snapshot().is_running())
            .count();
        std::hint::black_box(running);
    });
    println!("in-process, {PROCESSES} running processes:");
    println!("  scripts_status answer (one pinned view → structs)  {build:8.2} µs/call");
    println!("  … serialized to JSON text                           {build_json:8.2} µs/call");
    println!("  states only, one pin for the listing                {one_pin:8.3} µs/call");
    println!("  states only, Arc clones + snapshot() per process    {pin_each:8.3} µs/call");
    sup.stop_all(Duration::from_secs(2));
}

/// Median µs per call over stdio against `binary`: `scripts_status` of all processes, of one,
/// `ping`; and the bytes of the full answer.
struct EndToEnd {
    status: f64,
    filtered: f64,
    ping: f64,
    bytes: usize,
}

fn end_to_end(binary: &std::path::Path) -> EndToEnd {
    let entries: Vec<(String, &str)> = (0..PROCESSES)
        .map(|i| (format!("s{i}"), "sleep 300"))
        .collect();
    let refs: Vec<(&str, &str)> = entries.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    let project = common::TempProject::procfile(&refs);
    let mut m = common::Mcp::start_binary_initialized(binary, project.path());
    for (name, _) in &entries {
        let r = m.ok("scripts_run", json!({"name": name}));
        assert_eq!(r["duplicate"], false);
    }
    assert!(common::eventually(Duration::from_secs(20), || {
        let st = m.ok("scripts_status", json!({}));
        st["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["status"] == "running")
            .count()
            == PROCESSES
    }));
    let status = median_us(5, 200, || {
        let r = m.request(
            "tools/call",
            json!({"name": "scripts_status", "arguments": {}}),
        );
        assert_eq!(
            r["result"]["structuredContent"]["processes"]
                .as_array()
                .unwrap()
                .len(),
            PROCESSES
        );
    });
    let filtered = median_us(5, 200, || {
        let r = m.request(
            "tools/call",
            json!({"name": "scripts_status", "arguments": {"name": "s7"}}),
        );
        std::hint::black_box(r);
    });
    let ping = median_us(5, 200, || {
        std::hint::black_box(m.request("ping", json!({})));
    });
    let bytes = m
        .request(
            "tools/call",
            json!({"name": "scripts_status", "arguments": {}}),
        )
        .to_string()
        .len();
    let exit = m.close(Duration::from_secs(30));
    assert!(exit.is_some_and(|s| s.success()));
    EndToEnd {
        status,
        filtered,
        ping,
        bytes,
    }
}

fn print(label: &str, e: &EndToEnd) {
    println!("end to end over stdio, {label}, {PROCESSES} running processes:");
    println!(
        "  scripts_status (all, {} bytes of response)     {:8.1} µs/call",
        e.bytes, e.status
    );
    println!(
        "  scripts_status name=s7 (1 of {PROCESSES})                 {:8.1} µs/call",
        e.filtered
    );
    println!(
        "  ping (transport + rmcp floor)                      {:8.1} µs/call",
        e.ping
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing special either way.
    in_process();
    let this = std::env::var_os("PROCSNAP_BENCH_BIN")
        .map_or_else(|| common::BIN.into(), std::path::PathBuf::from);
    let this = this.as_path();
    let Some(baseline) = std::env::var_os("PROCSNAP_BASELINE") else {
        print("the binary of this cargo profile", &end_to_end(this));
        return;
    };
    let baseline = std::path::PathBuf::from(baseline);
    // Alternated, three rounds each; the median round of each binary.
    let mut runs: (Vec<EndToEnd>, Vec<EndToEnd>) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        runs.0.push(end_to_end(this));
        runs.1.push(end_to_end(&baseline));
    }
    let median = |v: &mut Vec<EndToEnd>| {
        v.sort_by(|a, b| a.status.total_cmp(&b.status));
        v.swap_remove(v.len() / 2)
    };
    let (new, old) = (median(&mut runs.0), median(&mut runs.1));
    print(&format!("this build {}", this.display()), &new);
    print(&format!("baseline {}", baseline.display()), &old);
    println!(
        "this / baseline: scripts_status {:.2}×, name=s7 {:.2}×, ping {:.2}×",
        new.status / old.status,
        new.filtered / old.filtered,
        new.ping / old.ping
    );
}
