//! SIGKILL of `procsnap run` or `procsnap mcp` at a random instant while it is starting 10–50
//! scripts leaves nothing running: not the groups it had recorded, not the children it was in
//! the middle of spawning, not their grandchildren.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Live processes whose environment holds `NAME=VALUE` exactly: everything the killed procsnap
/// started (children inherit its environment), never anything else.
fn marked(mark: &str) -> Vec<i32> {
    let needle = mark.as_bytes();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == needle))
        })
        .collect()
}

/// A small deterministic generator (no dependency): the instants differ per run of the test.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng(t ^ u64::from(std::process::id()))
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A Procfile of 50 scripts, each with two grandchildren.
fn project() -> TempProject {
    let entries: Vec<(String, &str)> = (0..50)
        .map(|i| (format!("s{i}"), "sleep 300 & sleep 300 & wait"))
        .collect();
    let refs: Vec<(&str, &str)> = entries.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    TempProject::procfile(&refs)
}

/// Waits up to 5 s for every marked process to be gone; kills and reports survivors.
fn assert_nothing_left(mark: &str, what: &str) {
    let start = Instant::now();
    let gone = eventually(Duration::from_secs(5), || marked(mark).is_empty());
    let left = marked(mark);
    for pid in &left {
        kill("KILL", i64::from(*pid));
    }
    assert!(gone, "{what}: {} survivors: {left:?}", left.len());
    eprintln!("{what}: all gone {:?} after the SIGKILL", start.elapsed());
}

#[test]
fn sigkill_of_run_while_spawning_leaves_nothing() {
    let p = project();
    let mut rng = Rng::new();
    for round in 0..20 {
        let n = 10 + rng.below(41) as usize;
        let delay = Duration::from_millis(5 + rng.below(76));
        let value = format!("run-{}-{round}", std::process::id());
        let mark = format!("PROCSNAP_TEST_MARK={value}");
        let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        let mut child = Command::new(BIN)
            .args(["run", "--dir", p.path().to_str().unwrap()])
            .args(&names)
            .env("PROCSNAP_TEST_MARK", &value)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_nothing_left(&mark, &format!("run of {n}, SIGKILL after {delay:?}"));
    }
}

#[test]
fn sigkill_of_mcp_while_spawning_leaves_nothing() {
    let p = project();
    let mut rng = Rng::new();
    for round in 0..20 {
        let n = 10 + rng.below(41) as usize;
        let delay = Duration::from_millis(5 + rng.below(76));
        let value = format!("mcp-{}-{round}", std::process::id());
        let mark = format!("PROCSNAP_TEST_MARK={value}");
        let mut child = Command::new(BIN)
            .args(["mcp", "--dir", p.path().to_str().unwrap()])
            .env("PROCSNAP_TEST_MARK", &value)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut send = |v: serde_json::Value| {
            use std::io::Write;
            writeln!(stdin, "{v}").unwrap();
        };
        send(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}}),
        );
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        // Every run at once, in one write burst.
        for i in 0..n {
            send(
                json!({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                "params": {"name": "scripts_run", "arguments": {"name": format!("s{i}")}}}),
            );
        }
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_nothing_left(
            &mark,
            &format!("mcp with {n} runs, SIGKILL after {delay:?}"),
        );
    }
}
