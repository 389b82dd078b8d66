//! `procsnap up` with real processes: dependency order (by the processes' own clocks),
//! readiness by log line, exec and HTTP probes, a code generator gating its dependents,
//! restart backoff measured, reverse-order shutdown, and configuration errors before
//! anything starts.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// `procsnap up` running in the background, its stdout collected line by line. Killed (with
/// its groups, by its watchdog) on drop.
struct Up {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Up {
    fn start(p: &TempProject, extra: &[&str]) -> Up {
        let mut child = Command::new(BIN)
            .args([
                "up",
                "--color",
                "never",
                "--dir",
                p.path().to_str().unwrap(),
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let e = stderr.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut s);
            e.lock().unwrap().push_str(&s);
        });
        Up {
            child,
            lines,
            stderr,
        }
    }

    /// Everything written so far: stdout, then stderr.
    fn output(&self) -> String {
        let out = self.lines.lock().unwrap().join("\n");
        format!("{out}\n--- stderr ---\n{}", self.stderr.lock().unwrap())
    }

    /// Waits until a line equals `line`.
    fn wait_line(&self, line: &str, limit: Duration) -> bool {
        eventually(limit, || {
            self.lines.lock().unwrap().iter().any(|l| l == line)
        })
    }

    fn position(&self, line: &str) -> Option<usize> {
        self.lines.lock().unwrap().iter().position(|l| l == line)
    }

    fn position_prefix(&self, start: &str) -> Option<usize> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .position(|l| l.starts_with(start))
    }

    fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                // Let the reader threads take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return Some(s);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn interrupt(&self) {
        kill("INT", self.child.id() as i64);
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `procsnap up --color never --dir <p>`, run to its end.
fn up(p: &TempProject) -> RunOutput {
    procsnap(
        &[
            "up",
            "--color",
            "never",
            "--dir",
            p.path().to_str().unwrap(),
        ],
        &[],
    )
}

/// Seconds since the epoch that a script wrote with `date +%s.%N`, one per line.
fn times(p: &TempProject, file: &str) -> Vec<f64> {
    std::fs::read_to_string(p.path().join(file))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn time(p: &TempProject, file: &str) -> f64 {
    *times(p, file)
        .first()
        .unwrap_or_else(|| panic!("{file} was not written"))
}

const NOW: &str = "date +%s.%N";

#[test]
fn api_starts_only_after_db_printed_ready_and_a_one_shot_stops_nothing() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        &format!(
            r#"processes:
  db:
    command: "echo booting; sleep 1; {NOW} > ready.t; echo db is ready; exec sleep 60"
    ready_log_line: "is ready"
  api:
    command: "{NOW} > api.t; echo api up; exec sleep 60"
    depends_on:
      db:
        condition: process_log_ready
  once:
    command: "echo done"
"#
        ),
    );
    let mut up = Up::start(&p, &[]);
    assert!(up.wait_line("api  | api up", TIMEOUT), "{}", up.output());
    assert!(
        time(&p, "api.t") >= time(&p, "ready.t"),
        "api started before db was ready"
    );
    let ready = up.position("db   | ready").expect("the ready notice");
    assert!(
        ready < up.position("api  | api up").unwrap(),
        "{}",
        up.output()
    );
    assert!(
        up.output()
            .contains("api  | waiting for db (process_log_ready)")
    );
    // The one-shot ended with code 0; db and api run on.
    assert!(
        eventually(TIMEOUT, || up
            .output()
            .contains("once | exited with code 0")),
        "{}",
        up.output()
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        up.child.try_wait().unwrap().is_none(),
        "up is still running"
    );
    up.interrupt();
    let status = up
        .wait(Duration::from_secs(15))
        .expect("exits after Ctrl-C");
    assert_eq!(status.code(), Some(130), "{}", up.output());
}

#[test]
fn shutdown_goes_in_reverse_dependency_order() {
    let p = TempProject::new();
    // Each records when its SIGTERM came, then takes 0.5 s to exit.
    let proc = |name: &str| {
        format!(
            "trap '{NOW} > {name}.stop; sleep 0.5; exit 0' TERM; echo {name} up; while :; do sleep 0.05; done"
        )
    };
    p.write(
        "procsnap.yaml",
        &format!(
            "processes:\n  db:\n    command: \"{}\"\n  api:\n    command: \"{}\"\n    depends_on: [db]\n  web:\n    command: \"{}\"\n    depends_on: [api]\n",
            proc("db"),
            proc("api"),
            proc("web")
        ),
    );
    let mut up = Up::start(&p, &[]);
    assert!(up.wait_line("web | web up", TIMEOUT), "{}", up.output());
    up.interrupt();
    let status = up.wait(Duration::from_secs(20)).expect("exits");
    assert_eq!(status.code(), Some(130), "{}", up.output());
    let (web, api, db) = (
        time(&p, "web.stop"),
        time(&p, "api.stop"),
        time(&p, "db.stop"),
    );
    // A process gets its signal only once what depends on it has exited (0.5 s later).
    assert!(api >= web + 0.45, "api stopped {:.3}s after web", api - web);
    assert!(db >= api + 0.45, "db stopped {:.3}s after api", db - api);
}

/// A free port on 127.0.0.1 (bound, then released).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn http_and_exec_probes_gate_their_dependents() {
    let p = TempProject::new();
    let port = free_port();
    p.write(
        "procsnap.yaml",
        &format!(
            r#"processes:
  server:
    command: "sleep 1; {NOW} > server.t; exec python3 -m http.server {port} --bind 127.0.0.1"
    readiness_probe:
      http_get: {{host: 127.0.0.1, port: {port}, path: /}}
      period_seconds: 0.2
      timeout_seconds: 1
  maker:
    command: "sleep 1; {NOW} > made.t; touch made; exec sleep 60"
    readiness_probe:
      exec: {{command: "test -f made"}}
      period_seconds: 0.2
  client:
    command: "{NOW} > client.t; echo client up; exec sleep 60"
    depends_on:
      server: {{condition: process_healthy}}
      maker: {{condition: process_healthy}}
"#
        ),
    );
    let mut up = Up::start(&p, &[]);
    assert!(
        up.wait_line("client | client up", TIMEOUT),
        "{}",
        up.output()
    );
    let client = time(&p, "client.t");
    assert!(
        client >= time(&p, "server.t"),
        "client before the server listened"
    );
    assert!(
        client >= time(&p, "made.t"),
        "client before the exec probe could pass"
    );
    let out = up.output();
    assert!(
        out.contains("server | ready") && out.contains("maker  | ready"),
        "{out}"
    );
    up.interrupt();
    assert_eq!(
        up.wait(Duration::from_secs(15)).and_then(|s| s.code()),
        Some(130)
    );
}

#[test]
fn a_code_generator_gates_its_dependent_and_its_failure_fails_fast() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:\n  gen:\n    command: sleep 0.5; echo generated > out.txt\n  web:\n    command: cat out.txt\n    depends_on:\n      gen: {condition: process_completed_successfully}\n",
    );
    let out = up(&p);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("web | generated"), "{}", out.stdout);

    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:\n  gen:\n    command: exit 2\n  web:\n    command: touch started\n    depends_on:\n      gen: {condition: process_completed_successfully}\n",
    );
    let start = Instant::now();
    let out = up(&p);
    assert_eq!(out.status.code(), Some(1), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "web | not started: dependency \"gen\" failed (exit code 2) (process_completed_successfully)"
        ),
        "{}",
        out.stdout
    );
    assert!(!p.path().join("started").exists());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "fails fast, no hang"
    );
}

/// on_failure with backoff_seconds 1: restarts 1, 2 and 4 s after each failure (measured by
/// the process's own clock), then max_restarts is used up: failed for good, exit code 1.
#[test]
fn on_failure_backs_off_1_2_4_seconds_then_gives_up() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        &format!(
            "processes:\n  worker:\n    command: \"{NOW} >> runs; exit 1\"\n    availability:\n      restart: on_failure\n      backoff_seconds: 1\n      max_restarts: 3\n"
        ),
    );
    let out = up(&p);
    assert_eq!(out.status.code(), Some(1), "{}", out.stdout);
    let runs = times(&p, "runs");
    assert_eq!(runs.len(), 4, "1 run + 3 restarts\n{}", out.stdout);
    for (i, want) in [1.0, 2.0, 4.0].iter().enumerate() {
        let gap = runs[i + 1] - runs[i];
        // Never early; late by at most a loaded machine's scheduling.
        assert!(
            gap >= want - 0.02 && gap < want + 1.0,
            "restart {}: {gap:.3}s, want {want}s",
            i + 1
        );
    }
    for n in 1..=3 {
        let delay = [1, 2, 4][n - 1];
        let line = format!("worker | restarting in {delay}s (restart {n} of 3)");
        assert!(out.stdout.contains(&line), "{line}\n{}", out.stdout);
    }
    assert!(
        out.stdout
            .contains("worker | failed (exit code 1); gave up after 3 restarts (max_restarts)"),
        "{}",
        out.stdout
    );
}

/// The third run lasts longer than backoff_reset_seconds: the next delay is back to the base.
#[test]
fn a_stable_run_resets_the_backoff() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        &format!(
            "processes:\n  w:\n    command: \"n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; {NOW} >> runs; if [ $n = 3 ]; then sleep 1.2; fi; exit 1\"\n    availability:\n      restart: on_failure\n      backoff_seconds: 0.5\n      backoff_reset_seconds: 1\n      max_restarts: 3\n"
        ),
    );
    let out = up(&p);
    assert_eq!(out.status.code(), Some(1), "{}", out.stdout);
    let runs = times(&p, "runs");
    assert_eq!(runs.len(), 4, "{}", out.stdout);
    // The delays as decided, then as waited: a timer never fires early (how late it fires
    // depends on the machine's load, so only lower bounds are checked).
    for said in [
        "w | restarting in 500ms (restart 1 of 3)",
        "w | restarting in 1s (restart 2 of 3)",
        // Reset after the stable run: not 2s.
        "w | restarting in 500ms (restart 3 of 3)",
    ] {
        assert!(out.stdout.contains(said), "{said}: {}", out.stdout);
    }
    let gaps: Vec<f64> = runs.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= 0.48, "{gaps:?}");
    assert!(gaps[1] >= 0.98, "doubled: {gaps:?}");
    // 1.2 s of run + 0.5 s.
    assert!(gaps[2] >= 1.68, "reset after a stable run: {gaps:?}");
}

/// Each mistake stops `up` before anything starts (exit 2), naming the file and the line.
#[test]
fn configuration_errors_stop_everything_before_it_starts() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "processes:\n  a:\n    command: touch started\n    depends_on: [b]\n  b:\n    command: touch started\n    depends_on: [a]\n",
            "",
            "procsnap.yaml:7:18: dependency cycle: a → b → a",
        ),
        (
            "processes:\n  a:\n    command: touch started\n    shutdown: {signal: 0}\n",
            "",
            "procsnap.yaml:4:24: bad shutdown signal 0",
        ),
        (
            "processes:\n  a:\n    command: touch started\n",
            "GOOD=1\nthis is not an assignment\n",
            ".env:2:1: expected KEY=VALUE",
        ),
    ];
    for (yaml, env, want) in cases {
        let p = TempProject::new();
        p.write("procsnap.yaml", yaml);
        if !env.is_empty() {
            p.write(".env", env);
        }
        let out = procsnap(&["up", "--dir", p.path().to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(2), "{want}: {}", out.stderr);
        assert!(
            out.stderr.contains(want),
            "want {want:?}, got {}",
            out.stderr
        );
        assert!(
            !p.path().join("started").exists(),
            "{want}: something started"
        );
    }
}

#[test]
fn a_yaml_bomb_is_refused_at_once() {
    let p = TempProject::new();
    let mut text = String::from("a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for w in ["a", "b", "c", "d", "e", "f", "g", "h", "i"].windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
    }
    text.push_str("processes:\n  x:\n    command: touch started\n");
    p.write("procsnap.yaml", &text);
    let start = Instant::now();
    let out = procsnap(&["up", "--dir", p.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("alias bomb"), "{}", out.stderr);
    // A guard against a hang, not a measurement (BENCHMARKS.md has the figure): expanded, this
    // document is 387 million nodes.
    assert!(start.elapsed() < Duration::from_secs(60));
    assert!(!p.path().join("started").exists());
}

#[test]
fn an_unknown_key_is_a_warning_with_its_line_and_the_rest_runs() {
    let p = TempProject::new();
    p.write(
        "process-compose.yaml",
        "version: \"0.5\"\nprocesses:\n  hello:\n    command: echo hi\n    colour: blue\n    is_daemon: false\n",
    );
    let out = up(&p);
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("hello | hi"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("process-compose.yaml:5:5: warning: unknown key `processes.hello.colour`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("process-compose.yaml:6:5: warning: `processes.hello.is_daemon` is a process-compose setting"),
        "{}",
        out.stderr
    );
}

#[test]
fn up_without_a_configuration_says_what_it_looks_for() {
    let p = TempProject::procfile(&[("a", "true")]);
    let out = procsnap(&["up", "--dir", p.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.contains("no procsnap.yaml"), "{}", out.stderr);
    let p = TempProject::new();
    p.write("procsnap.yaml", "processes:\n  a:\n    command: 'true'\n");
    let out = procsnap(&["up", "--dir", p.path().to_str().unwrap(), "nope"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.contains("\"nope\" is not configured"),
        "{}",
        out.stderr
    );
}

#[test]
fn run_of_a_configured_process_brings_its_dependencies() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:\n  gen:\n    command: echo generated > out.txt\n  web:\n    command: cat out.txt\n    depends_on:\n      gen: {condition: process_completed_successfully}\n  other:\n    command: touch other\n",
    );
    let out = procsnap(
        &[
            "run",
            "--dir",
            p.path().to_str().unwrap(),
            "web",
            "x=echo adhoc",
        ],
        &[],
    );
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("web | generated"), "{}", out.stdout);
    assert!(out.stdout.contains("x   | adhoc"), "{}", out.stdout);
    assert!(!p.path().join("other").exists(), "only what was asked for");
}

/// `examples/stack` runs as shipped (on a free port instead of its 47821): every process
/// comes up in order, flaky recovers after two backoffs, and Ctrl-C stops them in reverse
/// order, db with its own SIGINT.
#[test]
fn the_example_stack_runs_out_of_the_box() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/stack");
    let p = TempProject::new();
    let port = free_port().to_string();
    for f in [
        "procsnap.yaml",
        ".env",
        "db.sh",
        "codegen.sh",
        "worker.py",
        "flaky.sh",
    ] {
        let text = std::fs::read_to_string(example.join(f)).unwrap();
        p.write(f, &text.replace("47821", &port));
    }
    let mut up = Up::start(&p, &[]);
    let polled =
        format!("worker  | polled http://127.0.0.1:{port}/schema.txt: schema v1 (hello from .env)");
    assert!(up.wait_line(&polled, TIMEOUT), "{}", up.output());
    assert!(
        up.wait_line("flaky   | run 3: connected", TIMEOUT),
        "{}",
        up.output()
    );
    for line in [
        "db      | ready",
        "api     | ready",
        "codegen | exited with code 0 after",
        "flaky   | restarting in 1s (restart 1 of 5)",
        "flaky   | restarting in 2s (restart 2 of 5)",
    ] {
        assert!(up.output().contains(line), "{line}\n{}", up.output());
    }
    assert!(!up.output().contains("docs"), "disabled");
    up.interrupt();
    let status = up.wait(Duration::from_secs(20)).expect("exits");
    assert_eq!(status.code(), Some(130), "{}", up.output());
    let (worker, api, db) = (
        up.position_prefix("worker  | stopped").unwrap(),
        up.position_prefix("api     | stopped").unwrap(),
        up.position("db      | shutting down cleanly").unwrap(),
    );
    assert!(worker < api && api < db, "{}", up.output());
}

/// A 300-deep `process_started` chain stops on Ctrl-C in reverse order, each process once
/// what depends on it has exited. How fast is a figure (`scripts/bench-chain-stop.sh`,
/// BENCHMARKS.md), not a verdict here: a debug build on a loaded machine takes many times as
/// long.
#[test]
fn a_300_deep_chain_stops_on_ctrl_c_in_reverse_order() {
    const DEPTH: usize = 300;
    let p = TempProject::new();
    let mut yaml = String::from("processes:\n");
    for i in 0..DEPTH {
        yaml.push_str(&format!(
            "  p{i}:\n    command: \"trap 'echo {i} >> order; exit 0' TERM; echo up; sleep 600\"\n"
        ));
        if i > 0 {
            yaml.push_str(&format!(
                "    depends_on:\n      p{}: {{condition: process_started}}\n",
                i - 1
            ));
        }
    }
    p.write("procsnap.yaml", &yaml);
    let mut up = Up::start(&p, &[]);
    let last = format!("p{} | up", DEPTH - 1);
    assert!(
        up.wait_line(&last, Duration::from_secs(60)),
        "{}",
        up.output()
    );
    let start = Instant::now();
    up.interrupt();
    let status = up.wait(Duration::from_secs(180)).expect("exits");
    let took = start.elapsed();
    assert_eq!(status.code(), Some(130), "{}", up.output());
    let order: Vec<usize> = std::fs::read_to_string(p.path().join("order"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let reverse: Vec<usize> = (0..DEPTH).rev().collect();
    assert_eq!(order, reverse);
    eprintln!("300-deep chain stopped in {took:?}");
}
