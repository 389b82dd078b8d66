//! Shared test harness: temporary projects, a raw JSON-RPC client over the real binary's
//! stdio, and /proc-based checks that process groups are gone. Every guard cleans up on drop,
//! even when an assertion failed (no leaked children between tests).
#![allow(dead_code)]

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_procsnap");
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A temporary project directory, removed on drop.
pub struct TempProject {
    pub dir: PathBuf,
}

static COUNTER: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

impl TempProject {
    pub fn new() -> TempProject {
        let n = {
            let mut c = COUNTER.lock().unwrap_or_else(|e| e.into_inner());
            *c += 1;
            *c
        };
        let dir = std::env::temp_dir().join(format!("procsnap-it-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempProject { dir }
    }

    /// A project whose Procfile holds `entries` (name, command).
    pub fn procfile(entries: &[(&str, &str)]) -> TempProject {
        let p = TempProject::new();
        let text: String = entries.iter().map(|(n, c)| format!("{n}: {c}\n")).collect();
        p.write("Procfile", &text);
        p
    }

    pub fn write(&self, name: &str, text: &str) {
        fs::write(self.dir.join(name), text).unwrap();
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TempProject {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Process ids in process group `pgid` that are alive (zombies excluded).
pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...; comm may contain spaces, so split after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[0] != "X" && fields[2] == pgid.to_string()
        {
            out.push(pid);
        }
    }
    out
}

/// The state letter of `pid` in /proc (`S`, `R`, `T` for stopped, …).
pub fn state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// True if `pid` is alive and not a zombie.
pub fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().next() != Some("Z"))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Polls `f` every 20 ms until it gives a value or `limit` passes (a child's `try_wait`, say).
pub fn poll_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Resident set size of `pid`, in KiB (0 once it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Polls until `f` is true or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `sig` (e.g. "KILL", "TERM", "INT") to a pid, or to a group when `pid` is negative.
pub fn kill(sig: &str, target: i64) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg("--")
        .arg(target.to_string())
        .stderr(Stdio::null())
        .status();
}

/// Kills every group in `pgids` (safety net for failed tests).
pub fn kill_groups(pgids: &HashSet<u32>) {
    for &g in pgids {
        if !group_members(g).is_empty() {
            kill("KILL", -(g as i64));
        }
    }
}

/// A running `procsnap mcp` spoken to with raw JSON-RPC lines.
pub struct Mcp {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    next_id: u64,
    /// Process groups seen in results, killed on drop if still alive.
    pub groups: HashSet<u32>,
    /// Lines received that were not the response being waited for.
    pub other: Vec<Value>,
    /// The length of the last line received, in bytes (its `\n` not counted).
    pub last_len: usize,
}

impl Mcp {
    /// Starts `procsnap mcp --dir <dir> <extra...>`.
    pub fn start(dir: &Path, extra: &[&str]) -> Mcp {
        Mcp::start_binary(Path::new(BIN), dir, extra)
    }

    /// Starts `<binary> mcp --dir <dir> <extra...>` (another build of procsnap, say).
    pub fn start_binary(binary: &Path, dir: &Path, extra: &[&str]) -> Mcp {
        Mcp::spawn(binary, dir, extra, &[])
    }

    /// [`Mcp::start`] with variables `envs` set for the server.
    pub fn start_with_env(dir: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Mcp {
        Mcp::spawn(Path::new(BIN), dir, extra, envs)
    }

    fn spawn(binary: &Path, dir: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Mcp {
        let mut child = Command::new(binary)
            .arg("mcp")
            .arg("--dir")
            .arg(dir)
            .args(extra)
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn procsnap mcp");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr_buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr_buf.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        Mcp {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            stderr: stderr_buf,
            next_id: 1,
            groups: HashSet::new(),
            other: Vec::new(),
            last_len: 0,
        }
    }

    /// Starts the server and does the legacy handshake.
    pub fn start_initialized(dir: &Path) -> Mcp {
        Mcp::start_binary_initialized(Path::new(BIN), dir)
    }

    /// [`Mcp::start_binary`] with `--grace 2`, and the legacy handshake.
    pub fn start_binary_initialized(binary: &Path, dir: &Path) -> Mcp {
        let mut m = Mcp::start_binary(binary, dir, &["--grace", "2"]);
        m.initialize();
        m
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Writes raw bytes (one or more lines) to the server's stdin.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, msg: &Value) {
        let mut line = msg.to_string();
        line.push('\n');
        self.send_raw(line.as_bytes());
    }

    /// The next line from the server, parsed.
    pub fn recv(&mut self) -> Value {
        self.recv_within(TIMEOUT).unwrap_or_else(|| {
            panic!(
                "no message from the server in {TIMEOUT:?}; stderr:\n{}",
                self.stderr()
            )
        })
    }

    pub fn recv_within(&mut self, limit: Duration) -> Option<Value> {
        match self.lines.recv_timeout(limit) {
            Ok(line) => Some({
                self.last_len = line.len();
                serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("server wrote a non-JSON line {line:?}: {e}"))
            }),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// A fresh request id.
    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Waits for the response with `id`, keeping anything else in `other`.
    pub fn response(&mut self, id: u64) -> Value {
        if let Some(i) = self
            .other
            .iter()
            .position(|v| v.get("id") == Some(&json!(id)))
        {
            return self.other.remove(i);
        }
        loop {
            let v = self.recv();
            if v.get("id") == Some(&json!(id)) {
                return v;
            }
            self.other.push(v);
        }
    }

    /// Sends a request and returns the whole response message.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.id();
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.response(id)
    }

    pub fn initialize(&mut self) -> Value {
        let r = self.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "procsnap-tests", "version": "0"}
            }),
        );
        assert!(r.get("result").is_some(), "initialize failed: {r}");
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        r
    }

    /// Calls a tool; returns the `result` object (which may have `isError: true`).
    pub fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args}));
        let result = r
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{tool} gave no result: {r}"));
        self.note_groups(&result);
        result
    }

    /// Calls a tool that must succeed; returns its structured content after checking that the
    /// text content carries the same JSON.
    pub fn ok(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args.clone());
        assert_ne!(r["isError"], json!(true), "{tool} {args} failed: {r}");
        let structured = r["structuredContent"].clone();
        assert!(structured.is_object(), "{tool}: no structuredContent: {r}");
        let text = r["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{tool}: no text content: {r}"));
        assert_eq!(r["content"][0]["type"], "text");
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            parsed, structured,
            "{tool}: text and structured content differ"
        );
        structured
    }

    /// Calls a tool that must fail as a tool error; returns the error text.
    pub fn tool_error(&mut self, tool: &str, args: Value) -> String {
        let r = self.call(tool, args.clone());
        assert_eq!(r["isError"], json!(true), "{tool} {args} should fail: {r}");
        r["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn note_groups(&mut self, v: &Value) {
        match v {
            Value::Object(m) => {
                if let Some(pid) = m.get("pid").and_then(Value::as_u64) {
                    self.groups.insert(pid as u32);
                }
                m.values().for_each(|x| self.note_groups(x));
            }
            Value::Array(a) => a.iter().for_each(|x| self.note_groups(x)),
            _ => {}
        }
    }

    /// The pid (= process group id) of `process_id`, from scripts_status.
    pub fn pid_of(&mut self, process_id: &str) -> u32 {
        let st = self.ok("scripts_status", json!({}));
        let p = st["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["processId"] == process_id)
            .unwrap_or_else(|| panic!("{process_id} not in {st}"));
        p["pid"].as_u64().expect("running process has a pid") as u32
    }

    /// Closes stdin (EOF) and waits for the server to exit.
    pub fn close(&mut self, limit: Duration) -> Option<ExitStatus> {
        drop(self.stdin.take());
        self.wait(limit)
    }

    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        poll_for(limit, || self.child.try_wait().ok().flatten())
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if self.wait(Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        kill_groups(&self.groups);
    }
}

/// Runs `procsnap <args>` in `dir`'s project to completion (with a timeout).
pub struct RunOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

pub fn procsnap(args: &[&str], envs: &[(&str, &str)]) -> RunOutput {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn procsnap");
    let pid = child.id();
    let (done, finished) = channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(TIMEOUT) == Err(RecvTimeoutError::Timeout) {
            kill("KILL", pid as i64);
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    let _ = watchdog.join();
    RunOutput {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
