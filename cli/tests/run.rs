//! `procsnap list` and `procsnap run`: prefixes, status lines, exit codes, Ctrl-C.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn dir(p: &TempProject) -> &str {
    p.path().to_str().unwrap()
}

#[test]
fn run_prefixes_every_line_and_reports_each_end() {
    let p = TempProject::procfile(&[
        ("a", "echo one; echo two >&2"),
        ("longname", "sleep 0.2; echo three"),
    ]);
    let out = procsnap(&["run", "--dir", dir(&p), "a", "longname"], &[]);
    assert!(out.status.success(), "{out:?}", out = out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    for want in ["a        | one", "a        | two", "longname | three"] {
        assert!(lines.contains(&want), "missing {want:?} in\n{}", out.stdout);
    }
    let status: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("exited with code 0 after"))
        .collect();
    assert_eq!(status.len(), 2, "{}", out.stdout);
    // A process's status line comes after its own output.
    let pos = |s: &str| lines.iter().position(|l| l.starts_with(s)).unwrap();
    assert!(
        pos("longname | three") < pos("longname | exited"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn exit_code_is_nonzero_when_any_script_fails() {
    let p = TempProject::procfile(&[("ok", "true"), ("bad", "exit 3"), ("sig", "kill -9 $$")]);
    let out = procsnap(&["run", "--dir", dir(&p), "ok", "bad"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", out.stdout);
    assert!(
        out.stdout.contains("bad | failed with code 3 after"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("ok  | exited with code 0"),
        "{}",
        out.stdout
    );

    let out = procsnap(&["run", "--dir", dir(&p), "sig"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.contains("sig | killed by SIGKILL"),
        "{}",
        out.stdout
    );
}

#[test]
fn adhoc_commands_run_beside_scripts() {
    let p = TempProject::procfile(&[("a", "echo from-a")]);
    let out = procsnap(
        &["run", "--dir", dir(&p), "a", "shout=echo $((6*7)) && pwd"],
        &[],
    );
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("shout | 42"), "{}", out.stdout);
    // Ad-hoc commands run in the project directory.
    let canonical = std::fs::canonicalize(p.path()).unwrap();
    assert!(
        out.stdout
            .contains(&format!("shout | {}", canonical.display())),
        "{}",
        out.stdout
    );
}

#[test]
fn colour_is_forced_with_always_and_off_with_never() {
    let p = TempProject::procfile(&[("a", "echo x")]);
    let out = procsnap(&["run", "--dir", dir(&p), "--color", "always", "a"], &[]);
    assert!(
        out.stdout.contains("\x1b[96ma |\x1b[0m x"),
        "{:?}",
        out.stdout
    );
    let out = procsnap(
        &["run", "--dir", dir(&p), "--color", "never", "a"],
        &[("NO_COLOR", "1")],
    );
    assert!(!out.stdout.contains('\x1b'));
}

/// `--color auto` on a real terminal (util-linux `script` gives us a pty): colour, unless
/// `NO_COLOR` is set.
#[test]
fn colour_follows_the_terminal_and_no_color() {
    if Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("`script` not installed: skipping");
        return;
    }
    let p = TempProject::procfile(&[("a", "echo x")]);
    let cmd = format!("{BIN} run --dir {} a", dir(&p));
    let tty = |no_color: bool| {
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).stdin(Stdio::null());
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    };
    assert!(
        tty(false).contains("\x1b[96ma |\x1b[0m x"),
        "{:?}",
        tty(false)
    );
    let plain = tty(true);
    assert!(
        plain.contains("a | x") && !plain.contains('\x1b'),
        "{plain:?}"
    );
}

#[test]
fn unknown_targets_and_bad_projects_are_usage_errors() {
    let p = TempProject::procfile(&[("a", "true"), ("b", "true")]);
    let out = procsnap(&["run", "--dir", dir(&p), "c"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr
            .contains("unknown script \"c\"; available scripts: a, b"),
        "{}",
        out.stderr
    );

    let bad = TempProject::new();
    bad.write(
        "package.json",
        "{\n  \"scripts\": {\n    \"dev\": \"vite\"\n    \"x\": 1\n}",
    );
    let out = procsnap(&["list", "--dir", dir(&bad)], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.contains("package.json:4:5: expected `,` or `}`"),
        "{}",
        out.stderr
    );
    let out = procsnap(&["run", "--dir", dir(&bad), "dev"], &[]);
    assert_eq!(out.status.code(), Some(2));

    let bad = TempProject::new();
    bad.write("Procfile", "web: ok\nbroken line\n");
    let out = procsnap(&["list", "--dir", dir(&bad)], &[]);
    assert!(
        out.stderr
            .contains("Procfile:2:1: expected `name: command`"),
        "{}",
        out.stderr
    );

    let out = procsnap(&["list", "--dir", "/nonexistent/procsnap"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.contains("/nonexistent/procsnap"),
        "{}",
        out.stderr
    );
}

/// Both files may start with a UTF-8 BOM, as npm allows: they were rejected with
/// `1:1: expected a JSON object, found '\u{feff}'` / `invalid character '\u{feff}'`.
#[test]
fn files_starting_with_a_bom_are_read() {
    let p = TempProject::new();
    p.write(
        "package.json",
        "\u{feff}{\"scripts\": {\"build\": \"tsc\"}}",
    );
    p.write("Procfile", "\u{feff}worker: echo working\n");
    let out = procsnap(&["list", "--dir", dir(&p)], &[]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "build   tsc  [npm]\nworker  echo working  [Procfile]\n"
    );
    let out = procsnap(&["run", "--dir", dir(&p), "worker"], &[]);
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("worker | working"), "{}", out.stdout);
}

/// `{"scripts":{"-v":"echo hi"}}` ran `npm run -v`, which prints npm's version and exits 0.
/// Now it is refused with a message that names it and says why; a Procfile entry of that name
/// runs through the shell and is not affected.
#[test]
fn a_script_named_like_an_option_fails_with_a_clear_error() {
    let p = TempProject::new();
    p.write(
        "package.json",
        r#"{"scripts": {"-v": "echo RAN-THE-SCRIPT"}}"#,
    );
    p.write("Procfile", "-w: echo procfile entry ran\n");
    let out = procsnap(&["run", "--dir", dir(&p), "--", "-v"], &[]);
    // A usage error: nothing is started.
    assert_eq!(out.status.code(), Some(2), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "procsnap: script \"-v\" cannot be run: a name starting with '-' would be read as an option by the package manager (npm run -v)"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("RAN-THE-SCRIPT"), "{}", out.stdout);
    assert!(
        out.stderr.contains("warning: ") && out.stderr.contains("\"-v\" cannot be run"),
        "{}",
        out.stderr
    );
    let out = procsnap(&["run", "--dir", dir(&p), "--", "-w"], &[]);
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("-w | procfile entry ran"),
        "{}",
        out.stdout
    );
}

#[test]
fn list_shows_both_sources_and_the_package_manager() {
    let p = TempProject::new();
    p.write(
        "package.json",
        r#"{"scripts": {"dev": "vite --port 3000", "build": "tsc"}}"#,
    );
    p.write("yarn.lock", "");
    p.write("Procfile", "worker: node worker.js\n");
    let out = procsnap(&["list", "--dir", dir(&p)], &[]);
    assert!(out.status.success());
    assert_eq!(
        out.stdout,
        "dev     vite --port 3000  [yarn]\nbuild   tsc  [yarn]\nworker  node worker.js  [Procfile]\n"
    );
}

#[test]
fn help_has_an_example_per_command() {
    for (args, want) in [
        (vec!["--help"], "procsnap run --dir examples/demo"),
        (vec!["list", "--help"], "procsnap list --dir"),
        (
            vec!["run", "--help"],
            "procsnap run --dir examples/demo build",
        ),
        (vec!["mcp", "--help"], "\"args\": [\"mcp\""),
    ] {
        let out = procsnap(&args, &[]);
        assert!(out.status.success());
        assert!(out.stdout.contains(want), "{args:?}:\n{}", out.stdout);
    }
}

/// Starts `procsnap run` on scripts that write their pid (= their group id) to `<name>.pid`
/// and keep a grandchild; waits for every pid file.
fn start_long_running(
    p: &TempProject,
    names: &[&str],
    extra: &[&str],
) -> (std::process::Child, Vec<u32>) {
    let mut child = Command::new(BIN)
        .args(["run", "--dir", dir(p)])
        .args(extra)
        .args(names)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
    let mut pgids = Vec::new();
    for n in names {
        let file = p.path().join(format!("{n}.pid"));
        assert!(
            eventually(TIMEOUT, || read_pid(&file).is_some()),
            "{n} never started"
        );
        let pgid = read_pid(&file).unwrap();
        assert!(
            eventually(TIMEOUT, || group_members(pgid).len() >= 2),
            "{n} has no grandchild"
        );
        pgids.push(pgid);
    }
    (child, pgids)
}

fn read_pid(file: &Path) -> Option<u32> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

struct KillOnDrop(std::process::Child, Vec<u32>);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        kill_groups(&self.1.iter().copied().collect());
    }
}

fn wait_exit(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    poll_for(limit, || child.try_wait().ok().flatten())
}

#[test]
fn ctrl_c_stops_every_group_and_leaves_no_process() {
    let p = TempProject::procfile(&[
        ("web", "echo $$ > web.pid; sleep 300 & sleep 300"),
        ("worker", "echo $$ > worker.pid; sleep 300 & wait"),
    ]);
    let (child, pgids) = start_long_running(&p, &["web", "worker"], &["--grace", "5"]);
    let mut guard = KillOnDrop(child, pgids.clone());
    kill("INT", guard.0.id() as i64);
    let status = wait_exit(&mut guard.0, Duration::from_secs(10)).expect("exits after Ctrl-C");
    assert_eq!(status.code(), Some(130));
    for g in pgids {
        assert_eq!(group_members(g), Vec::<u32>::new(), "group {g} survived");
    }
}

#[test]
fn second_ctrl_c_kills_groups_that_ignore_sigterm() {
    // Ignored signals stay ignored across exec, so the grandchild ignores SIGTERM too.
    let p = TempProject::procfile(&[(
        "stubborn",
        "trap '' TERM; echo $$ > stubborn.pid; sleep 300 & sleep 300",
    )]);
    let (child, pgids) = start_long_running(&p, &["stubborn"], &["--grace", "60"]);
    let mut guard = KillOnDrop(child, pgids.clone());
    kill("INT", guard.0.id() as i64);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        guard.0.try_wait().unwrap().is_none(),
        "SIGTERM is ignored: still in grace"
    );
    assert!(!group_members(pgids[0]).is_empty());
    kill("INT", guard.0.id() as i64);
    let status = wait_exit(&mut guard.0, Duration::from_secs(10)).expect("second Ctrl-C kills");
    assert_eq!(status.code(), Some(130));
    assert_eq!(group_members(pgids[0]), Vec::<u32>::new());
}

#[test]
fn sigterm_to_run_stops_every_group() {
    let p = TempProject::procfile(&[("web", "echo $$ > web.pid; sleep 300 & sleep 300")]);
    let (child, pgids) = start_long_running(&p, &["web"], &[]);
    let mut guard = KillOnDrop(child, pgids.clone());
    kill("TERM", guard.0.id() as i64);
    let status = wait_exit(&mut guard.0, Duration::from_secs(10)).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(143));
    assert_eq!(group_members(pgids[0]), Vec::<u32>::new());
}

/// The README's main job: the bundled demo through npm.
#[test]
fn demo_project_runs_through_npm() {
    if Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("npm not installed: skipping");
        return;
    }
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo");
    let out = procsnap(&["run", "--dir", demo, "build", "lint"], &[]);
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("build | built dist/app.js (1.2 kB)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("lint  | src/app.js:3:7: warning"),
        "{}",
        out.stdout
    );
    let out = procsnap(&["run", "--dir", demo, "test"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", out.stdout);
    assert!(
        out.stdout.contains("test | not ok 2 - subtracts"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("test | failed with code 1"),
        "{}",
        out.stdout
    );
}

/// `procsnap run … | head -1`: once nobody reads, the groups are stopped and we exit 141.
#[test]
fn closed_stdout_stops_every_group() {
    let p = TempProject::procfile(&[(
        "spam",
        "echo $$ > spam.pid; sleep 300 & while true; do echo tick; sleep 0.01; done",
    )]);
    let mut child = Command::new(BIN)
        .args(["run", "--dir", dir(&p), "spam"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "spam | tick");
    let file = p.path().join("spam.pid");
    assert!(eventually(TIMEOUT, || read_pid(&file).is_some()));
    let pgid = read_pid(&file).unwrap();
    let mut guard = KillOnDrop(child, vec![pgid]);
    drop(lines);
    let status = wait_exit(&mut guard.0, Duration::from_secs(10)).expect("exits on EPIPE");
    assert_eq!(status.code(), Some(141));
    assert_eq!(group_members(pgid), Vec::<u32>::new());
}

/// `procsnap run --grace GRACE NAME` in `p` with a stdout nobody reads (kept open: returned).
fn run_unread(
    p: &TempProject,
    grace: &str,
    name: &str,
) -> (std::process::Child, Option<std::process::ChildStdout>) {
    let mut child = Command::new(BIN)
        .args(["run", "--dir", dir(p), "--grace", grace, name])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let unread = child.stdout.take();
    (child, unread)
}

/// Nobody reads our stdout (a paused pager, a stalled ssh session) while a script floods it:
/// memory stays bounded, and Ctrl-C still stops everything at once.
#[test]
fn ctrl_c_works_while_stdout_is_blocked() {
    let p = TempProject::procfile(&[(
        "flood",
        "echo $$ > flood.pid; sleep 300 & yes \"$(printf '%01000d' 0)\"",
    )]);
    let (child, unread) = run_unread(&p, "5", "flood");
    let file = p.path().join("flood.pid");
    assert!(eventually(TIMEOUT, || read_pid(&file).is_some()));
    let pgid = read_pid(&file).unwrap();
    let mut guard = KillOnDrop(child, vec![pgid]);
    // Long enough for the pipe, the writer and the subscription to fill up several times over.
    std::thread::sleep(Duration::from_secs(2));
    let rss = rss_kib(guard.0.id());
    assert!(rss < 200 * 1024, "{rss} KiB resident with stdout blocked");
    kill("INT", guard.0.id() as i64);
    let status = wait_exit(&mut guard.0, Duration::from_secs(10))
        .expect("Ctrl-C is handled while stdout is blocked");
    assert_eq!(status.code(), Some(130));
    assert_eq!(group_members(pgid), Vec::<u32>::new());
    drop(unread);
}

/// Ctrl-C while nobody reads stdout and a crash loop goes on (each run's little output is
/// read at its end, so runs keep ending and retention drops the oldest, also ones whose end
/// waited behind the blocked output): procsnap still exits.
#[test]
fn ctrl_c_works_while_stdout_is_blocked_and_runs_are_dropped() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:\n  crash:\n    command: seq 1 2000; exit 1\n    availability:\n      restart: always\n      backoff_seconds: 0\n",
    );
    let (child, unread) = run_unread(&p, "1", "crash");
    let mut guard = KillOnDrop(child, Vec::new());
    // Long enough to fill the pipe and the writer, and for many runs to end behind them.
    std::thread::sleep(Duration::from_secs(3));
    kill("INT", guard.0.id() as i64);
    let status = wait_exit(&mut guard.0, Duration::from_secs(15))
        .expect("Ctrl-C is handled while stdout is blocked and runs are dropped");
    assert_eq!(status.code(), Some(130));
    drop(unread);
}

/// `--grace` is also the grace of a group's leftovers after its leader exits on its own.
#[test]
fn grace_applies_to_leftovers_of_a_leader_that_exited() {
    let p = TempProject::procfile(&[(
        "lead",
        "(trap '' TERM; sleep 300) & sleep 0.2; echo started",
    )]);
    let t = Instant::now();
    let out = procsnap(&["run", "--dir", dir(&p), "--grace", "0.3", "lead"], &[]);
    assert!(out.stdout.contains("lead | started"), "{}", out.stdout);
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "took {:?}: the default 5 s grace was used",
        t.elapsed()
    );
}

#[test]
fn grace_out_of_range_is_a_usage_error() {
    let p = TempProject::procfile(&[("a", "true")]);
    for bad in ["1e19", "-1", "NaN", "inf"] {
        let arg = format!("--grace={bad}");
        let out = procsnap(&["run", "--dir", dir(&p), &arg, "a"], &[]);
        assert_eq!(out.status.code(), Some(2), "--grace {bad}: {}", out.stderr);
        assert!(out.stderr.contains("--grace"), "{}", out.stderr);
    }
}

/// `--grace -1` (with a space, as one types it) answered "unexpected argument '-1'": it is read
/// as the grace, and refused for what it is, on every command that takes one.
#[test]
fn a_negative_grace_says_the_grace_must_not_be_negative() {
    let p = TempProject::procfile(&[("a", "true")]);
    for cmd in ["run", "up", "tui", "mcp"] {
        let mut args = vec![cmd, "--dir", dir(&p), "--grace", "-1"];
        if cmd == "run" {
            args.push("a");
        }
        let out = procsnap(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", out.stderr);
        assert!(
            out.stderr.contains("--grace") && out.stderr.contains("must be at least 0"),
            "{cmd}: {}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("unexpected argument"),
            "{}",
            out.stderr
        );
    }
}

/// Voluntary context switches of every thread of `pid` so far.
fn switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .filter_map(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum()
}

/// With a script running quietly, `procsnap run` sleeps until something happens instead of
/// ticking (it woke ~120 times a second before).
#[test]
fn run_sleeps_while_its_scripts_are_quiet() {
    let p = TempProject::procfile(&[("quiet", "echo $$ > quiet.pid; sleep 300 & wait")]);
    let (child, pgids) = start_long_running(&p, &["quiet"], &[]);
    let mut guard = KillOnDrop(child, pgids);
    std::thread::sleep(Duration::from_millis(300));
    let pid = guard.0.id();
    let before = switches(pid);
    std::thread::sleep(Duration::from_secs(2));
    let woke = switches(pid) - before;
    assert!(woke < 20, "{woke} wake-ups in 2 s while idle");
    kill("INT", pid as i64);
    assert_eq!(
        wait_exit(&mut guard.0, Duration::from_secs(10)).and_then(|s| s.code()),
        Some(130)
    );
}

/// A script whose package manager is missing fails to start: reported at once, exit code 1,
/// and no waiting for events that cannot come.
#[test]
fn nothing_started_exits_at_once() {
    let p = TempProject::new();
    p.write("package.json", r#"{"scripts": {"a": "echo hi"}}"#);
    let t = Instant::now();
    let out = procsnap(&["run", "--dir", dir(&p), "a"], &[("PATH", "/nonexistent")]);
    assert_eq!(out.status.code(), Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("a | failed to start: cannot spawn `npm`"),
        "{}",
        out.stdout
    );
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "took {:?}",
        t.elapsed()
    );
}
