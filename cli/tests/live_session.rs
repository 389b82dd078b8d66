//! One live session per project, shared by every face through its control socket: an `up`
//! owner with an agent's `procsnap mcp` and the control verbs, an idle `mcp` that bridges
//! once `up` starts, a second `up` that joins, a SIGKILLed owner, another user.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// A project with its own socket directory (so tests never meet each other's sessions).
struct Project {
    p: TempProject,
    run: PathBuf,
}

impl Project {
    fn new(yaml: &str) -> Project {
        let p = TempProject::new();
        p.write("procsnap.yaml", yaml);
        let run = p.path().join(".run");
        std::fs::create_dir(&run).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        Project { p, run }
    }

    fn dir(&self) -> &str {
        self.p.path().to_str().unwrap()
    }

    fn env(&self) -> [(&str, &str); 1] {
        [("XDG_RUNTIME_DIR", self.run.to_str().unwrap())]
    }

    /// A long-running face (`up`, `run`, `tui`…) with its output collected.
    fn face(&self, args: &[&str]) -> Face {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .args(["--dir", self.dir()])
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Face::spawn(cmd)
    }

    /// A control verb, run to its end.
    fn verb(&self, args: &[&str]) -> RunOutput {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--dir", self.dir()]);
        procsnap(&all, &self.env())
    }

    /// `procsnap mcp` on this project, initialized.
    fn mcp(&self) -> Mcp {
        let mut m = Mcp::start_with_env(self.p.path(), &["--grace", "2"], &self.env());
        m.initialize();
        m
    }
}

/// A face running in the background; killed (its group too) on drop.
struct Face {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Face {
    fn spawn(mut cmd: Command) -> Face {
        let mut child = cmd.spawn().unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut o = out.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Face { child, out }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    fn wait_for(&self, text: &str) {
        assert!(
            eventually(TIMEOUT, || self.output().contains(text)),
            "{text:?} never came:\n{}",
            self.output()
        );
    }

    fn signal(&self, sig: &str) {
        kill(sig, i64::from(self.child.id()));
    }

    fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Face {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const STACK: &str = "processes:\n  web:\n    command: echo web up; exec sleep 300\n  db:\n    command: echo db ready; exec sleep 300\n    ready_log_line: db ready\n";

fn pid_in(ps: &str, process_id: &str) -> u32 {
    ps.lines()
        .find(|l| l.split_whitespace().next() == Some(process_id))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{process_id} not in\n{ps}"))
}

#[test]
fn an_agent_and_the_developer_share_one_session() {
    let p = Project::new(STACK);
    let up = p.face(&["up", "--color", "never"]);
    up.wait_for("db  | ready");
    // The agent's MCP server sees the developer's processes, and a run of a running name is
    // a duplicate of the same process, not a second server.
    let mut m = p.mcp();
    let status = m.ok("scripts_status", json!({}));
    let ids: Vec<&str> = status["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["processId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["web-1", "db-2"], "{status}");
    let again = m.ok("scripts_run", json!({"name": "web"}));
    assert_eq!(
        (again["duplicate"].clone(), again["processId"].clone()),
        (json!(true), json!("web-1"))
    );
    // ps from a third terminal.
    let ps = p.verb(&["ps"]);
    assert!(ps.status.success(), "{}{}", ps.stdout, ps.stderr);
    assert!(ps.stdout.contains("(procsnap up (pid"), "{}", ps.stdout);
    let old = pid_in(&ps.stdout, "web-1");
    // restart: a new process, the old group gone, and the owner's output says who asked.
    let r = p.verb(&["restart", "web"]);
    assert!(r.status.success(), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("web: restarted (web-1 → web-3)"),
        "{}",
        r.stdout
    );
    assert!(group_members(old).is_empty(), "the old group is gone");
    up.wait_for("web | restart asked by procsnap restart (pid");
    let ps = p.verb(&["ps"]);
    let new = pid_in(&ps.stdout, "web-3");
    assert_ne!(new, old);
    assert!(alive(new));
    // The agent sees the restart too.
    let status = m.ok("scripts_status", json!({"name": "web"}));
    assert!(status.to_string().contains("web-3"), "{status}");
    // logs, stop (final), start.
    let logs = p.verb(&["logs", "web"]);
    assert_eq!(logs.stdout.trim(), "web up", "{}", logs.stderr);
    let stop = p.verb(&["stop", "web"]);
    assert!(stop.status.success(), "{}{}", stop.stdout, stop.stderr);
    assert!(!alive(new));
    up.wait_for("web | stopped (SIGTERM)");
    let start = p.verb(&["start", "web"]);
    assert!(
        start.stdout.contains("web: started (web-4)"),
        "{}{}",
        start.stdout,
        start.stderr
    );
    let json = p.verb(&["ps", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["processes"].as_array().unwrap().len(), 4, "{v}");
}

/// An agent's calls through the bridge do not wait for each other: while a `scripts_run`
/// waits for readiness, a `scripts_status` is answered.
#[test]
fn a_bridged_call_that_waits_holds_up_no_other_call() {
    let p = Project::new(
        "processes:\n  web:\n    command: echo web up; exec sleep 300\n  slow:\n    command: \"while [ ! -e go ]; do sleep 0.05; done; echo slow ready; exec sleep 300\"\n    ready_log_line: slow ready\n    disabled: true\n",
    );
    let up = p.face(&["up", "--color", "never"]);
    up.wait_for("web | web up");
    let mut m = p.mcp();
    m.ok("scripts_status", json!({})); // bridged from here on
    let waits = m.id();
    m.send(
        &json!({"jsonrpc": "2.0", "id": waits, "method": "tools/call",
        "params": {"name": "scripts_run", "arguments": {"name": "slow", "waitReady": true}}}),
    );
    assert!(
        eventually(TIMEOUT, || p.verb(&["ps"]).stdout.contains("slow-2")),
        "the run never reached the owner"
    );
    let status = m.id();
    m.send(
        &json!({"jsonrpc": "2.0", "id": status, "method": "tools/call",
        "params": {"name": "scripts_status", "arguments": {"name": "web"}}}),
    );
    let answer = m.response(status);
    assert!(answer.to_string().contains("web-1"), "{answer}");
    assert!(
        !m.other.iter().any(|v| v.get("id") == Some(&json!(waits))),
        "the waiting call was answered first"
    );
    std::fs::write(p.p.path().join("go"), "").unwrap();
    let ran = m.response(waits);
    assert!(ran.to_string().contains("slow-2"), "{ran}");
}

#[test]
fn control_verbs_without_a_session_say_so_and_start_nothing() {
    let p = Project::new(STACK);
    for args in [
        &["ps"][..],
        &["start", "web"],
        &["stop", "web"],
        &["restart", "web"],
        &["logs", "web"],
    ] {
        let out = p.verb(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("no live session"), "{}", out.stderr);
    }
    // Nothing was started: there is still no session.
    assert_eq!(p.verb(&["ps"]).status.code(), Some(3));
}

#[test]
fn an_idle_mcp_bridges_once_up_starts_and_answers_at_once_when_the_owner_ends() {
    let p = Project::new(STACK);
    // The agent's client starts its server first: it owns nothing and blocks nothing.
    let mut m = p.mcp();
    let status = m.ok("scripts_status", json!({}));
    assert_eq!(status["processes"], json!([]), "{status}");
    assert_eq!(
        p.verb(&["ps"]).status.code(),
        Some(3),
        "an idle mcp owns nothing"
    );
    let mut up = p.face(&["up", "--color", "never"]);
    up.wait_for("db  | ready");
    let status = m.ok("scripts_status", json!({"name": "db"}));
    assert_eq!(status["processes"][0]["processId"], "db-2", "{status}");
    // The owner ends: the next call says so at once, the one after it works again (here).
    up.signal("INT");
    assert!(up.wait(TIMEOUT).is_some(), "{}", up.output());
    let start = Instant::now();
    let e = m.tool_error("scripts_status", json!({}));
    assert!(e.contains("the session ended: its owner, pid"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10));
    let status = m.ok("scripts_status", json!({}));
    assert_eq!(status["processes"], json!([]), "{status}");
}

#[test]
fn an_mcp_that_must_start_something_owns_the_session() {
    let p = Project::new(STACK);
    let mut m = p.mcp();
    let r = m.ok("scripts_run", json!({"name": "web"}));
    assert_eq!(r["processId"], "web-1");
    let ps = p.verb(&["ps"]);
    assert!(
        ps.stdout.contains("procsnap mcp (pid"),
        "{}{}",
        ps.stdout,
        ps.stderr
    );
    // A developer's up then joins it, adopting web.
    let up = p.face(&["up", "--color", "never", "web"]);
    up.wait_for("already running (web-1)");
    drop(up);
}

#[test]
fn a_second_up_joins_and_its_ctrl_c_stops_only_what_it_started() {
    let p = Project::new(
        "processes:\n  web:\n    command: echo web up; exec sleep 300\n  extra:\n    command: echo extra up; exec sleep 300\n    disabled: true\n",
    );
    let owner = p.face(&["up", "--color", "never"]);
    owner.wait_for("web | web up");
    let web = pid_in(&p.verb(&["ps"]).stdout, "web-1");
    let mut second = p.face(&["up", "--color", "never", "web", "extra"]);
    second.wait_for("web   | already running (web-1)");
    second.wait_for("extra | extra up");
    let extra = pid_in(&p.verb(&["ps"]).stdout, "extra-2");
    second.signal("INT");
    let status = second.wait(TIMEOUT).expect("the second up exits");
    assert_eq!(status.code(), Some(130), "{}", second.output());
    assert!(
        second.output().contains("extra | stopped (SIGTERM)"),
        "{}",
        second.output()
    );
    assert!(!alive(extra), "what it started is stopped");
    assert!(alive(web), "what it adopted keeps running");
    assert!(
        !owner.output().contains("web | stopped"),
        "{}",
        owner.output()
    );
}

/// A joined `up` ends as the owner's would: a run that failed and that its policy restarted
/// is no failure of the job; a process that fails for good is (exit 1).
#[test]
fn a_joined_up_judges_its_job_by_the_outcome_not_by_each_run() {
    let p = Project::new(
        "processes:
  web:
    command: echo web up; exec sleep 300
  flaky:
    command: \"if [ -e once ]; then echo fine; exit 0; fi; touch once; echo broken; exit 3\"\n    disabled: true\n    availability:\n      restart: on_failure\n      backoff_seconds: 0\n      max_restarts: 2\n  broken:\n    command: exit 4\n    disabled: true\n",
    );
    let owner = p.face(&["up", "--color", "never"]);
    owner.wait_for("web | web up");
    let mut second = p.face(&["up", "--color", "never", "flaky"]);
    let status = second.wait(TIMEOUT).expect("the joined up ends");
    let out = second.output();
    assert!(out.contains("flaky | failed with code 3"), "{out}");
    assert!(out.contains("flaky | fine"), "{out}");
    assert_eq!(status.code(), Some(0), "restarted, then fine: {out}");
    let mut third = p.face(&["up", "--color", "never", "broken"]);
    let status = third.wait(TIMEOUT).expect("the joined up ends");
    assert_eq!(status.code(), Some(1), "{}", third.output());
}

#[test]
fn a_sigkilled_owner_leaves_nothing_and_a_new_owner_starts_over_its_socket() {
    let p = Project::new(
        "processes:\n  web:\n    command: echo web up; exec sleep 300\n    readiness_probe:\n      exec: {command: sleep 317}\n      timeout_seconds: 300\n",
    );
    let mut owner = p.face(&["up", "--color", "never"]);
    owner.wait_for("web | web up");
    let mut m = p.mcp();
    let status = m.ok("scripts_status", json!({}));
    let web = status["processes"][0]["pid"].as_u64().unwrap() as u32;
    // The probe command runs (as a supervised process of its own).
    let probe = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.starts_with(b"sleep\x00317\x00"))
            })
    };
    let probe_pid = poll_for(TIMEOUT, probe).expect("the probe runs");
    owner.signal("KILL");
    let _ = owner.wait(TIMEOUT);
    let start = Instant::now();
    assert!(
        eventually(Duration::from_secs(5), || !alive(web) && !alive(probe_pid)),
        "left behind: web {} probe {}",
        alive(web),
        alive(probe_pid)
    );
    eprintln!("nothing left {:?} after the SIGKILL", start.elapsed());
    let start = Instant::now();
    let e = m.tool_error("scripts_status", json!({}));
    assert!(e.contains("the session ended"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10));
    // A new owner binds over the dead one's socket.
    let owner = p.face(&["up", "--color", "never"]);
    owner.wait_for("web | web up");
    let status = m.ok("scripts_status", json!({}));
    assert_eq!(status["processes"][0]["processId"], "web-1", "{status}");
    drop(owner);
}

/// Another user gets nothing: the socket's directory is closed to them, and a connection
/// from another uid (root, which the directory does not stop) is closed unread.
#[test]
fn another_user_is_refused() {
    if !Path::new("/proc/self").exists() || unsafe_uid() != 0 {
        eprintln!("skipped: needs root to run the owner as another user");
        return;
    }
    let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!("skipped: no setpriv to run the owner as another user");
        return;
    };
    let p = Project::new(STACK);
    let nobody = "65534";
    let chown = |path: &Path| {
        let ok = Command::new("chown")
            .args(["-R", &format!("{nobody}:{nobody}"), path.to_str().unwrap()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    chown(p.p.path());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p.p.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(setpriv);
    cmd.args([
        "--reuid",
        nobody,
        "--regid",
        nobody,
        "--clear-groups",
        BIN,
        "up",
        "--color",
        "never",
        "--dir",
        p.dir(),
    ])
    .envs(p.env())
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let owner = Face::spawn(cmd);
    owner.wait_for("db  | ready");
    let socket = std::fs::read_dir(p.run.join("procsnap"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "sock"))
        .expect("the socket");
    // Root gets through the file permissions, not through the peer check: the owner closes
    // the connection without answering.
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"x\",\"version\":\"1\"}}}\n");
    let mut got = Vec::new();
    let read = s.read_to_end(&mut got);
    // Closed (a reset, since our request was left unread), not timed out.
    let closed = match &read {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(
        closed && got.is_empty(),
        "another user got {:?} ({read:?})",
        String::from_utf8_lossy(&got)
    );
    // And root's verbs refuse the directory that is not theirs.
    let ps = p.verb(&["ps"]);
    assert_ne!(ps.status.code(), Some(0), "{}", ps.stdout);
    drop(owner);
}

/// This process's uid, without unsafe code: the owner of /proc/self.
fn unsafe_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid()
}

const SLOW_STOP: &str = "processes:\n  slow:\n    command: trap 'sleep 1; exit 0' TERM; echo slow up; sleep 300 & wait\n";

/// A start asked for while the name's process is stopping runs once the stop has ended —
/// the same rule whichever face asks: the agent's `scripts_run`, or `procsnap start`.
#[test]
fn a_start_during_a_stop_runs_when_the_stop_ends_in_every_face() {
    let p = Project::new(SLOW_STOP);
    let up = p.face(&["up", "--color", "never"]);
    up.wait_for("slow | slow up");
    let mut m = p.mcp();
    // Face 1: MCP. The stop takes a second (the TERM trap sleeps).
    let stopper = p.face(&["stop", "slow"]);
    assert!(eventually(TIMEOUT, || p
        .verb(&["ps"])
        .stdout
        .contains("stopping")));
    let r = m.ok("scripts_run", json!({"name": "slow"}));
    assert_eq!(
        (r["processId"].clone(), r["duplicate"].clone()),
        (json!("slow-2"), json!(false)),
        "a new process once the stop ended: {r}"
    );
    drop(stopper);
    // Face 2: the start verb.
    let stopper = p.face(&["stop", "slow"]);
    assert!(eventually(TIMEOUT, || p
        .verb(&["ps"])
        .stdout
        .contains("stopping")));
    let s = p.verb(&["start", "slow"]);
    assert!(
        s.stdout.contains("slow: starts once"),
        "{}{}",
        s.stdout,
        s.stderr
    );
    assert!(
        eventually(TIMEOUT, || p.verb(&["ps"]).stdout.contains("slow-3")),
        "{}",
        p.verb(&["ps"]).stdout
    );
    drop(stopper);
    // A running name is a duplicate in both faces.
    assert!(eventually(TIMEOUT, || {
        m.ok("scripts_run", json!({"name": "slow"}))["duplicate"] == json!(true)
    }));
    let s = p.verb(&["start", "slow"]);
    assert!(
        s.stdout.contains("slow: already running (slow-3)"),
        "{}",
        s.stdout
    );
}

/// Retention is the session's: a crash loop keeps the last five finished runs, whichever
/// face looks (the agent's status, `procsnap ps`), while the restart count stays exact.
#[test]
fn a_crash_loop_keeps_five_finished_runs_in_every_face() {
    let p = Project::new(
        "processes:\n  crash:\n    command: exit 1\n    availability: {restart: always, backoff_seconds: 0}\n",
    );
    let up = p.face(&["up", "--color", "never"]);
    let mut m = p.mcp();
    let restarts = |m: &mut Mcp| {
        let s = m.ok("scripts_status", json!({"name": "crash"}));
        s["orchestrated"][0]["restarts"].as_u64().unwrap_or(0)
    };
    assert!(
        eventually(TIMEOUT, || restarts(&mut m) > 50),
        "{}",
        up.output()
    );
    let s = m.ok("scripts_status", json!({"name": "crash"}));
    let kept = s["processes"].as_array().unwrap().len();
    assert!((1..=6).contains(&kept), "{kept} runs kept: {s}");
    let ps = p.verb(&["ps"]);
    let rows = ps
        .stdout
        .lines()
        .filter(|l| l.starts_with("crash-"))
        .count();
    assert!((1..=6).contains(&rows), "{}", ps.stdout);
    // The newest run's state carries the exact count (the policy's restarts).
    let newest = s["processes"].as_array().unwrap().last().unwrap().clone();
    assert!(newest["restarts"].as_u64().unwrap() > 50, "{newest}");
}

/// Ctrl-Z in a `run` that joined a session suspends its job's processes with it, as in a
/// `run` of its own, and nobody else's; `fg` resumes them.
#[test]
fn ctrl_z_in_a_joined_run_suspends_its_job() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::{Read, Write};

    let p = Project::new(
        "processes:\n  web:\n    command: echo web up; exec sleep 300\n  work:\n    command: \"echo $$$$ > work.pid; while :; do sleep 0.05; done\"\n    disabled: true\n",
    );
    let owner = p.face(&["up", "--color", "never"]);
    owner.wait_for("web | web up");
    let web = pid_in(&p.verb(&["ps"]).stdout, "web-1");
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(BIN);
    cmd.args(["run", "--dir", p.dir(), "work"]);
    for (k, v) in p.env() {
        cmd.env(k, v);
    }
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    let joined = child.process_id().unwrap();
    let mut reader = pty.master.try_clone_reader().unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut term = pty.master.take_writer().unwrap();
    let pid_file = p.p.path().join("work.pid");
    let work = poll_for(TIMEOUT, || {
        std::fs::read_to_string(&pid_file)
            .ok()?
            .trim()
            .parse::<u32>()
            .ok()
    })
    .unwrap_or_else(|| {
        panic!(
            "work never started:\n{}\nowner:\n{}\nps:\n{}",
            seen.lock().unwrap(),
            owner.output(),
            p.verb(&["ps"]).stdout
        )
    });
    term.write_all(b"\x1a").unwrap(); // Ctrl-Z
    term.flush().unwrap();
    assert!(
        eventually(TIMEOUT, || state(joined) == Some('T')),
        "the joined run is not suspended"
    );
    assert!(
        eventually(TIMEOUT, || group_members(work)
            .iter()
            .all(|&m| state(m) == Some('T'))),
        "its job is not suspended: {:?}",
        group_members(work)
            .iter()
            .map(|&m| state(m))
            .collect::<Vec<_>>()
    );
    assert_ne!(state(web), Some('T'), "another job's process was suspended");
    kill("CONT", i64::from(joined)); // what `fg` sends
    assert!(
        eventually(TIMEOUT, || {
            let now = group_members(work);
            now.contains(&work) && now.iter().all(|&m| state(m) != Some('T'))
        }),
        "not resumed"
    );
    term.write_all(b"\x03").unwrap(); // Ctrl-C ends the job
    term.flush().unwrap();
    let status = poll_for(TIMEOUT, || child.try_wait().ok().flatten());
    if status.is_none() {
        let _ = child.kill();
    }
    assert_eq!(status.map(|s| s.exit_code()), Some(130));
    assert!(group_members(work).is_empty());
    assert!(alive(web));
}
