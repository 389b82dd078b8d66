//! `procsnap run` and signals, as a terminal user means them: the terminal closing (SIGHUP)
//! stops every group gracefully, Ctrl-Z suspends the scripts with procsnap, `fg` resumes them.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn read_pid(file: &Path) -> Option<u32> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// `procsnap run --color never web` in `p`, its stdout and stderr piped.
fn run_web(p: &TempProject) -> std::process::Child {
    Command::new(BIN)
        .args([
            "run",
            "--dir",
            p.path().to_str().unwrap(),
            "--color",
            "never",
            "web",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `signal` to `child`, then reads its stdout to the end: its exit status and output.
fn signal_and_read(
    mut child: std::process::Child,
    signal: &str,
) -> (std::process::ExitStatus, String) {
    kill(signal, child.id() as i64);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (child.wait().unwrap(), out)
}

/// A script that answers SIGTERM itself (prints, then exits 0) and keeps a grandchild.
const POLITE: &str = "trap 'echo cleaning up; exit 0' TERM; echo $$ > web.pid; sleep 300 & while :; do sleep 0.05; done";

/// Closing the terminal: the groups get SIGTERM (their handlers run), every status line is
/// printed, and procsnap exits 129, as a shell job would report a hang-up.
#[test]
fn sighup_stops_every_group_gracefully() {
    let p = TempProject::procfile(&[("web", POLITE)]);
    let child = run_web(&p);
    let pid_file = p.path().join("web.pid");
    assert!(eventually(TIMEOUT, || read_pid(&pid_file).is_some()));
    let pgid = read_pid(&pid_file).unwrap();
    assert!(eventually(TIMEOUT, || group_members(pgid).len() >= 2));
    let (status, out) = signal_and_read(child, "HUP");
    assert_eq!(status.code(), Some(129), "{out}");
    assert!(out.contains("web | cleaning up"), "{out}");
    assert!(out.contains("web | stopped (exit code 0)"), "{out}");
    assert_eq!(group_members(pgid), Vec::<u32>::new());
}

/// Ctrl-Z in the terminal suspends procsnap and every script's group; `fg` (SIGCONT) resumes
/// them all. Driven through a real pseudo-terminal, where Ctrl-Z is the byte 0x1a.
#[test]
fn ctrl_z_suspends_the_scripts_and_fg_resumes_them() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};

    let p = TempProject::procfile(&[("web", POLITE)]);
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(BIN);
    cmd.args([
        "run",
        "--dir",
        p.path().to_str().unwrap(),
        "--grace",
        "2",
        "web",
    ]);
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    let procsnap = child.process_id().unwrap();
    let mut reader = pty.master.try_clone_reader().unwrap();
    std::thread::spawn(move || {
        let mut sink = [0u8; 4096];
        while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
    });
    let mut term = pty.master.take_writer().unwrap();
    let pid_file = p.path().join("web.pid");
    assert!(eventually(TIMEOUT, || read_pid(&pid_file).is_some()));
    let pgid = read_pid(&pid_file).unwrap();
    assert!(eventually(TIMEOUT, || group_members(pgid).len() >= 2));

    term.write_all(b"\x1a").unwrap(); // Ctrl-Z
    term.flush().unwrap();
    let all_stopped = |pids: &[u32]| pids.iter().all(|&p| state(p) == Some('T'));
    assert!(
        eventually(TIMEOUT, || state(procsnap) == Some('T')),
        "procsnap is not suspended"
    );
    let members = group_members(pgid);
    assert!(
        eventually(TIMEOUT, || all_stopped(&members)),
        "the script's group is not suspended: {:?}",
        members.iter().map(|&p| state(p)).collect::<Vec<_>>()
    );

    kill("CONT", procsnap as i64); // what `fg` sends
    // The group's members change as the script loops: look at them as they are now.
    let resumed = || {
        let now = group_members(pgid);
        now.contains(&pgid)
            && now.iter().all(|&p| state(p) != Some('T'))
            && state(procsnap) != Some('T')
    };
    assert!(eventually(TIMEOUT, resumed), "not resumed");
    // Still supervised: Ctrl-C stops it as usual.
    term.write_all(b"\x03").unwrap();
    term.flush().unwrap();
    let status = wait_child(&mut *child, TIMEOUT).expect("exits after Ctrl-C");
    assert_eq!(status.exit_code(), 130);
    assert_eq!(group_members(pgid), Vec::<u32>::new());
}

fn wait_child(
    child: &mut dyn portable_pty::Child,
    limit: Duration,
) -> Option<portable_pty::ExitStatus> {
    let status = poll_for(limit, || child.try_wait().ok().flatten());
    if status.is_none() {
        let _ = child.kill();
    }
    status
}

/// A script that reads the terminal (`read x < /dev/tty`) under `run` is stopped by the
/// kernel (SIGTTIN: only procsnap is in the terminal's foreground) and showed nothing while it
/// waited. procsnap says so, once, and Ctrl-C still stops everything.
#[test]
fn a_script_waiting_for_terminal_input_is_said_to_wait() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::sync::{Arc, Mutex};

    let p = TempProject::procfile(&[
        (
            "ask",
            "echo $$ > ask.pid; echo asking; read x < /dev/tty; echo got $x",
        ),
        ("other", "sleep 300"),
    ]);
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(BIN);
    let dir = p.path().to_str().unwrap();
    cmd.args([
        "run", "--dir", dir, "--grace", "2", "--color", "never", "ask", "other",
    ]);
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    let mut reader = pty.master.try_clone_reader().unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let output = || seen.lock().unwrap().clone();
    let pid_file = p.path().join("ask.pid");
    assert!(eventually(TIMEOUT, || read_pid(&pid_file).is_some()));
    let pgid = read_pid(&pid_file).unwrap();
    assert!(
        eventually(TIMEOUT, || output().contains("waits for terminal input")),
        "nothing said:\n{}",
        output()
    );
    let said = output();
    let line = said
        .lines()
        .find(|l| l.contains("waits for terminal input"))
        .unwrap();
    assert!(line.starts_with("ask   | "), "{line}");
    // Said once, not at every check.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        output().matches("waits for terminal input").count(),
        1,
        "{}",
        output()
    );
    let mut term = pty.master.take_writer().unwrap();
    term.write_all(b"\x03").unwrap();
    term.flush().unwrap();
    let status = wait_child(&mut *child, TIMEOUT).expect("exits after Ctrl-C");
    assert_eq!(status.exit_code(), 130, "{}", output());
    assert_eq!(group_members(pgid), Vec::<u32>::new());
}

/// What a script writes while it answers the stop (a cleanup that reports a lot) is all
/// printed, before its status line: the stop never cuts its last words short.
#[test]
fn every_line_written_while_stopping_is_printed() {
    const LINES: usize = 3000;
    let talk = format!(
        "trap 'i=0; while [ $i -lt {LINES} ]; do echo bye $i; i=$((i+1)); done; exit 0' TERM; \
         echo $$ > web.pid; while :; do sleep 0.05; done"
    );
    let p = TempProject::procfile(&[("web", talk.as_str())]);
    let child = run_web(&p);
    let pid_file = p.path().join("web.pid");
    assert!(eventually(TIMEOUT, || read_pid(&pid_file).is_some()));
    let (status, out) = signal_and_read(child, "TERM");
    assert_eq!(status.code(), Some(143), "{out}");
    let byes: Vec<&str> = out.lines().filter(|l| l.contains("| bye ")).collect();
    assert_eq!(
        byes.len(),
        LINES,
        "lines lost:\n{}",
        &out[out.len().saturating_sub(2000)..]
    );
    assert_eq!(
        byes.last(),
        Some(&format!("web | bye {}", LINES - 1).as_str())
    );
    let status_line = out.lines().position(|l| l.contains("web | stopped"));
    let last_bye = out
        .lines()
        .position(|l| l.contains(&format!("bye {}", LINES - 1)));
    assert!(status_line > last_bye, "the status line comes last:\n{out}");
}
