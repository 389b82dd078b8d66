//! `procsnap run` never drops a line: whatever its stdout is, every line a script prints is
//! written, in order. A sink slower than the scripts slows the scripts down (they block in
//! `write`, as in a shell pipeline) instead of losing output.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn dir(p: &TempProject) -> &str {
    p.path().to_str().unwrap()
}

/// Checks that `text` holds `prefix N` for N in 1..=n, in order, then the status line.
fn assert_numbered(text: &str, prefix: &str, n: u64) {
    let mut expected = 1;
    for (i, line) in text.lines().enumerate() {
        if expected > n {
            assert!(
                line.starts_with(prefix) && line.contains("exited with code 0"),
                "line {i} after the last number: {line:?}"
            );
            return;
        }
        let Some(num) = line.strip_prefix(prefix) else {
            panic!("line {i}: {line:?} (expected {prefix}{expected})");
        };
        assert_eq!(num, expected.to_string(), "line {i}");
        expected += 1;
    }
    panic!("only {} of {n} lines, and no status line", expected - 1);
}

/// `procsnap run seq > file`: a million lines, all of them, in order.
#[test]
fn a_million_lines_to_a_file_arrive_whole_and_in_order() {
    let p = TempProject::procfile(&[("seq", "seq 1 1000000")]);
    let out_path = p.path().join("out.txt");
    let status = Command::new(BIN)
        .args(["run", "--dir", dir(&p), "seq"])
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(Stdio::piped())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert_numbered(&text, "seq | ", 1_000_000);
}

/// A reader that takes breaks (a pager, a slow terminal): nothing is lost, and the script is
/// held back while the reader pauses rather than its output being buffered without bound.
#[test]
fn a_slow_reader_loses_nothing() {
    let p = TempProject::procfile(&[("seq", "seq 1 200000")]);
    let mut child = Command::new(BIN)
        .args(["run", "--dir", dir(&p), "seq"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        // A pause of 20 ms every 256 KiB.
        if text.len() % (256 * 1024) < n {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert!(child.wait().unwrap().success());
    assert_numbered(&String::from_utf8(text).unwrap(), "seq | ", 200_000);
}

/// Lines of one script, with a counter file updated after each: how far the script got.
/// (Appended to, so that a reader never sees the file empty between a truncation and a write.)
const COUNTER: &str = "exec 3>count; i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); echo \"line $i\"; echo $i >&3; done";

/// The last number the counter script wrote to its counter file.
fn count(p: &TempProject) -> u64 {
    let text = std::fs::read_to_string(p.path().join("count")).unwrap_or_default();
    text.lines().rev().find_map(|l| l.parse().ok()).unwrap_or(0)
}

/// Nobody reads stdout: the script is held back (blocked in `write` on its pipe) once the
/// buffers between it and our stdout are full, instead of running on with its output dropped.
/// Reading then delivers every line, from the first.
#[test]
fn a_blocked_stdout_holds_the_scripts_back() {
    let p = TempProject::procfile(&[("count", COUNTER)]);
    let child = Command::new(BIN)
        .args(["run", "--dir", dir(&p), "count"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop(child);
    let out = guard.0.stdout.take().unwrap();
    assert!(eventually(TIMEOUT, || count(&p) > 0), "never started");
    // Give the script time to fill every buffer, then check it has stopped advancing.
    let mut last = count(&p);
    let start = Instant::now();
    let stalled = loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = count(&p);
        if now == last {
            break Some(now);
        }
        if start.elapsed() > Duration::from_secs(20) {
            break None;
        }
        last = now;
    };
    let stalled = stalled.unwrap_or_else(|| panic!("never held back: {} lines", count(&p)));
    // Pipe (64 KiB) + subscription + writer buffers: far below the million lines.
    assert!(stalled < 200_000, "held back only after {stalled} lines");
    // Now read: the first lines are there, in order.
    let mut lines = BufReader::new(out).lines();
    for i in 1..=1000 {
        assert_eq!(lines.next().unwrap().unwrap(), format!("count | line {i}"));
    }
    assert!(
        eventually(TIMEOUT, || count(&p) > stalled),
        "reading resumed the script"
    );
    drop(lines);
    drop(guard);
}

/// Several scripts at full speed: each one's lines arrive complete and in its own order.
#[test]
fn parallel_floods_keep_each_scripts_order() {
    let p = TempProject::procfile(&[
        ("a", "seq 1 300000"),
        ("b", "seq 1 300000"),
        ("c", "seq 1 300000"),
    ]);
    let out = Command::new(BIN)
        .args(["run", "--dir", dir(&p), "a", "b", "c"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["a", "b", "c"] {
        let prefix = format!("{name} | ");
        let mine: Vec<&str> = text.lines().filter(|l| l.starts_with(&prefix)).collect();
        assert_eq!(mine.len(), 300_001, "{name}: lines + status line");
        for (i, line) in mine[..300_000].iter().enumerate() {
            assert_eq!(line[prefix.len()..], (i + 1).to_string(), "{name}");
        }
    }
}

/// SIGKILLs `procsnap run` (its watchdog then kills the scripts) and reaps it, also when a test
/// fails half-way.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
