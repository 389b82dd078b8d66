//! `procsnap mcp` over a long session: a run during a stop, and finished runs kept bounded.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn status_of(m: &mut Mcp) -> Vec<Value> {
    m.ok("scripts_status", json!({}))["processes"]
        .as_array()
        .unwrap()
        .clone()
}

/// A script that ignores SIGTERM, once it says so by creating `armed` (a TERM before its trap
/// is set would end it).
const DEAF: &str = "trap '' TERM; touch armed; while :; do sleep 0.1; done";

fn wait_armed(p: &TempProject) {
    let armed = p.path().join("armed");
    assert!(
        eventually(TIMEOUT, || armed.exists()),
        "the script never set its trap"
    );
}

/// `scripts_run` while the script's last process is still stopping (it ignores SIGTERM, so it
/// lingers for the grace period) waits for that stop and starts a new process, rather than
/// answering `duplicate` with a process that is about to be gone.
#[test]
fn a_run_during_a_stop_starts_a_new_process() {
    let p = TempProject::procfile(&[("deaf", DEAF)]);
    let mut m = Mcp::start(p.path(), &["--grace", "1"]);
    m.initialize();
    let first = m.ok("scripts_run", json!({"name": "deaf"}));
    let first_id = first["processId"].as_str().unwrap().to_owned();
    let pgid = m.pid_of(&first_id);
    wait_armed(&p);

    // The stop, without waiting for its answer (it takes the grace period).
    let stop_id = m.id();
    m.send(&json!({
        "jsonrpc": "2.0", "id": stop_id, "method": "tools/call",
        "params": {"name": "scripts_stop", "arguments": {"processId": first_id}}
    }));
    assert!(
        eventually(TIMEOUT, || status_of(&mut m).iter().any(|s| s["processId"]
            == first_id.as_str()
            && s["status"] == "stopping")),
        "never saw {first_id} stopping"
    );
    let again = m.ok("scripts_run", json!({"name": "deaf"}));
    assert_eq!(again["duplicate"], false, "{again}");
    assert_ne!(again["processId"], first_id.as_str(), "{again}");
    assert_eq!(
        group_members(pgid),
        Vec::<u32>::new(),
        "the old group is gone"
    );
    let stopped = m.response(stop_id);
    assert_eq!(
        stopped["result"]["structuredContent"]["status"], "stopped",
        "{stopped}"
    );
    assert_eq!(
        m.close(Duration::from_secs(10)).and_then(|s| s.code()),
        Some(0)
    );
}

/// A long session does not keep every finished run (each with up to 1 MiB of output): only the
/// most recent five finished processes of each script stay listed.
#[test]
fn finished_runs_are_pruned_to_the_most_recent_five() {
    let p = TempProject::procfile(&[("hello", "echo hello")]);
    let mut m = Mcp::start_initialized(p.path());
    let mut ids = Vec::new();
    for _ in 0..8 {
        let run = m.ok("scripts_run", json!({"name": "hello"}));
        let id = run["processId"].as_str().unwrap().to_owned();
        assert!(
            eventually(TIMEOUT, || status_of(&mut m)
                .iter()
                .any(|s| s["processId"] == id.as_str() && s["status"] == "success")),
            "{id} never finished"
        );
        ids.push(id);
    }
    let listed: Vec<String> = status_of(&mut m)
        .iter()
        .map(|s| s["processId"].as_str().unwrap().to_owned())
        .collect();
    // Pruned when the 8th started: 5 finished before it, plus the 8th itself.
    assert!(listed.len() <= 6, "{listed:?}");
    assert!(
        listed.ends_with(&ids[ids.len() - 5..]),
        "{listed:?} vs {ids:?}"
    );
    for old in &ids[..2] {
        assert!(!listed.contains(old), "{old} still listed: {listed:?}");
    }
    let err = m.tool_error("logs_stream", json!({"processId": ids[0]}));
    assert!(err.contains("unknown"), "{err}");
}

/// SIGTERM stops every group with the grace period; a second SIGTERM meanwhile kills them at
/// once, as a second Ctrl-C does for `procsnap run`.
#[test]
fn a_second_signal_kills_at_once() {
    let p = TempProject::procfile(&[("deaf", DEAF)]);
    let mut m = Mcp::start(p.path(), &["--grace", "60"]);
    m.initialize();
    let run = m.ok("scripts_run", json!({"name": "deaf"}));
    let pgid = m.pid_of(run["processId"].as_str().unwrap());
    wait_armed(&p);
    let server = m.child.id() as i64;
    kill("TERM", server);
    // Two signals sent before the first is taken would be one (signals do not queue).
    assert!(
        eventually(TIMEOUT, || m.stderr().contains("stopping all processes")),
        "{}",
        m.stderr()
    );
    assert!(
        !group_members(pgid).is_empty(),
        "the grace period is running"
    );
    kill("TERM", server);
    let status = m
        .wait(Duration::from_secs(10))
        .expect("exits after the second signal");
    assert_eq!(status.code(), Some(0));
    assert_eq!(group_members(pgid), Vec::<u32>::new());
}
