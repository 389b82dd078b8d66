//! The terminal UI as a face of the live session: as its owner, with an agent's MCP bridge
//! beside it; and attached (`procsnap attach`) to a session `up` owns — same keys, quitting
//! detaches, the owner's end ends it.
#![forbid(unsafe_code)]

#[path = "common/mod.rs"]
mod common;
#[path = "tui_pty/harness.rs"]
mod harness;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, Mcp, TempProject, alive, eventually, kill};
use harness::{LIMIT, Tui};
use serde_json::json;

/// A project with its own socket directory.
fn project() -> (TempProject, PathBuf) {
    let p = TempProject::procfile(&[
        ("web", "echo hello-web; exec sleep 300"),
        ("once", "echo hello-once"),
    ]);
    let run = p.path().join(".run");
    std::fs::create_dir(&run).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    (p, run)
}

/// `procsnap up` on `p` in the background, output discarded: a session's owner.
fn up_owner(p: &TempProject, env: &[(&str, &str)]) -> std::process::Child {
    Command::new(BIN)
        .args([
            "up",
            "--color",
            "never",
            "--dir",
            p.path().to_str().unwrap(),
        ])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_terminal_ui_owner_with_an_agent_bridge() {
    let (p, run) = project();
    let env = [("XDG_RUNTIME_DIR", run.to_str().unwrap())];
    let mut t = Tui::start(p.path(), &["web"], (120, 30), &env);
    t.wait_for("hello-web");
    let web = t.pid_of("web");
    let mut m = Mcp::start_with_env(p.path(), &["--grace", "2"], &env);
    m.initialize();
    // The agent sees the UI's process, and its run of it is a duplicate.
    let r = m.ok("scripts_run", json!({"name": "web"}));
    assert_eq!(
        (r["duplicate"].clone(), r["processId"].clone()),
        (json!(true), json!("web-1"))
    );
    // What the agent starts shows in the developer's UI.
    m.ok("scripts_run", json!({"name": "once"}));
    t.wait_row("once", "success");
    assert!(alive(web));
    t.send("q");
    t.send("y");
    assert!(t.wait_exit(LIMIT).is_some());
    assert!(
        eventually(LIMIT, || !alive(web)),
        "the owner's end stops everything"
    );
}

#[test]
fn attach_shows_and_drives_the_session_and_quitting_detaches() {
    let (p, run) = project();
    p.write(
        "procsnap.yaml",
        "processes:\n  ticker:\n    command: exec sleep 300\n",
    );
    let env = [("XDG_RUNTIME_DIR", run.to_str().unwrap())];
    let mut owner = up_owner(&p, &env);
    let procsnap = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--dir", p.path().to_str().unwrap()])
            .envs(env)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The owner runs what it was asked for; web is started in its session from outside.
    assert!(eventually(LIMIT, || procsnap(&["start", "web"]).contains("started")));
    let args = vec![
        "attach".to_owned(),
        "--dir".to_owned(),
        p.path().to_str().unwrap().to_owned(),
    ];
    let mut t = Tui::spawn(BIN, &args, (120, 30), &env);
    t.wait_for("attached to procsnap up (pid");
    t.wait_for("hello-web");
    let web = t.pid_of("web");
    // r restarts it in the owner's session (rows as in the owner's UI: its configuration's
    // ticker first, then the Procfile's web).
    t.send("gjj");
    t.send("r");
    let row = t.wait_row("web", "↻1");
    assert!(!row.contains(&web.to_string()), "a new process: {row}");
    assert!(eventually(LIMIT, || !alive(web)));
    let web = t.pid_of("web");
    // q detaches at once: nothing is stopped.
    t.send("q");
    let status = t.wait_exit(LIMIT).expect("detached");
    assert!(status.success(), "{status:?}");
    assert!(alive(web), "quitting an attached UI stops nothing");
    // Attached again, the owner's end ends it with exit code 1.
    let mut t = Tui::spawn(BIN, &args, (120, 30), &env);
    t.wait_for("attached to procsnap up (pid");
    kill("INT", i64::from(owner.id()));
    let status = t.wait_exit(LIMIT).expect("ended with the owner");
    assert_eq!(status.exit_code(), 1);
    let _ = owner.wait();
    assert!(eventually(Duration::from_secs(10), || !alive(web)));
}

/// An attached UI lists what the owner's UI lists (its configuration's processes, also one
/// that never ran) and shows what it shows of a configured process beyond its process's
/// status: ready once its ready line came, a restart backoff with its countdown.
#[test]
fn attach_shows_readiness_and_backoff_marks() {
    let (p, run) = project();
    p.write(
        "procsnap.yaml",
        "processes:\n  db:\n    command: echo db accepting; exec sleep 300\n    ready_log_line: db accepting\n  crash:\n    command: echo crashing; exit 1\n    availability:\n      restart: always\n      backoff_seconds: 60\n  later:\n    command: exec sleep 300\n    disabled: true\n",
    );
    let env = [("XDG_RUNTIME_DIR", run.to_str().unwrap())];
    let mut owner = up_owner(&p, &env);
    let args = vec![
        "attach".to_owned(),
        "--dir".to_owned(),
        p.path().to_str().unwrap().to_owned(),
    ];
    let live = || {
        Command::new(BIN)
            .args(["ps", "--dir", p.path().to_str().unwrap()])
            .envs(env)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    assert!(eventually(LIMIT, live), "the owner never listened");
    let mut t = Tui::spawn(BIN, &args, (120, 30), &env);
    t.wait_for("attached to procsnap up (pid");
    // Seen on attaching, and as it changes: the backoff counts down.
    t.wait_row("db", "ready");
    // What the owner can run is listed as in its own UI, also what never ran.
    t.wait_row("later", "idle");
    let row = t.wait_row("crash", "backoff");
    assert!(row.contains("in "), "{row}");
    t.send("q");
    assert!(t.wait_exit(LIMIT).is_some());
    let _ = owner.kill();
    let _ = owner.wait();
}
