//! The MCP tools on configured processes: scripts_list shows them, scripts_run starts their
//! dependencies and waits for readiness (or says why not), scripts_status shows readiness and
//! backoff, scripts_stop is final.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn project(yaml: &str) -> TempProject {
    let p = TempProject::new();
    p.write("procsnap.yaml", yaml);
    p
}

fn unit<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["orchestrated"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["name"] == name))
        .unwrap_or_else(|| panic!("{name} not in {status}"))
}

const STACK: &str = r#"processes:
  db:
    command: "echo booting; sleep 1; echo db is ready; exec sleep 60"
    ready_log_line: "is ready"
  api:
    command: "touch api-up; exec sleep 60"
    depends_on:
      db: {condition: process_log_ready}
    readiness_probe:
      exec: {command: "test -f api-up"}
      period_seconds: 0.2
  broken:
    command: "exit 4"
  needs_broken:
    command: "sleep 60"
    depends_on:
      broken: {condition: process_completed_successfully}
  slow:
    command: "exec sleep 60"
    ready_log_line: "never printed"
"#;

#[test]
fn scripts_list_shows_configured_processes_with_their_settings() {
    let p = project(STACK);
    let mut m = Mcp::start_initialized(p.path());
    let l = m.ok("scripts_list", json!({}));
    assert_eq!(
        l["scripts"]["db"],
        "echo booting; sleep 1; echo db is ready; exec sleep 60"
    );
    assert_eq!(
        l["processes"]["api"]["dependsOn"]["db"],
        "process_log_ready"
    );
    assert_eq!(l["processes"]["api"]["readiness"], "exec test -f api-up");
    assert_eq!(l["processes"]["db"]["readiness"], "log line \"is ready\"");
    assert_eq!(l["processes"]["db"]["restart"], "no");
}

#[test]
fn wait_ready_returns_once_the_process_and_its_dependency_are_ready() {
    let p = project(STACK);
    let mut m = Mcp::start_initialized(p.path());
    let start = Instant::now();
    let r = m.ok(
        "scripts_run",
        json!({"name": "api", "waitReady": true, "timeoutMs": 20000}),
    );
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "db takes 1 s to be ready"
    );
    assert_eq!(r["ready"], true, "{r}");
    assert_eq!(r["status"], "running");
    assert_eq!(r["duplicate"], false);
    let status = m.ok("scripts_status", json!({}));
    for name in ["db", "api"] {
        let u = unit(&status, name);
        assert_eq!(
            (u["phase"].as_str(), u["ready"].as_bool()),
            (Some("running"), Some(true)),
            "{u}"
        );
    }
    let api = status["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "api")
        .unwrap();
    assert_eq!(
        (api["ready"].as_bool(), api["health"].as_str()),
        (Some(true), Some("ready"))
    );
    // A second run is a duplicate of the same process.
    let again = m.ok("scripts_run", json!({"name": "api", "waitReady": true}));
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["processId"], r["processId"]);
}

#[test]
fn wait_ready_fails_fast_naming_a_failed_dependency_and_times_out_saying_why() {
    let p = project(STACK);
    let mut m = Mcp::start_initialized(p.path());
    let start = Instant::now();
    let e = m.tool_error(
        "scripts_run",
        json!({"name": "needs_broken", "waitReady": true}),
    );
    assert!(
        e.contains(
            "\"needs_broken\" did not get ready: dependency \"broken\" failed (exit code 4)"
        ),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(10), "fails fast");
    let e = m.tool_error(
        "scripts_run",
        json!({"name": "slow", "waitReady": true, "timeoutMs": 500}),
    );
    assert!(e.contains("\"slow\" is not ready after"), "{e}");
    assert!(
        e.contains("running, not ready: its ready log line has not been printed yet"),
        "{e}"
    );
}

#[test]
fn a_backoff_shows_in_status_and_a_stop_is_final() {
    let p = project(
        "processes:\n  crashy:\n    command: exit 1\n    availability: {restart: always, backoff_seconds: 5}\n  steady:\n    command: exec sleep 60\n    availability: {restart: always, backoff_seconds: 0.2}\n",
    );
    let mut m = Mcp::start_initialized(p.path());
    let r = m.ok("scripts_run", json!({"name": "crashy"}));
    let crashy = r["processId"].as_str().unwrap().to_owned();
    assert!(
        eventually(TIMEOUT, || {
            let s = m.ok("scripts_status", json!({"name": "crashy"}));
            unit(&s, "crashy")["phase"] == "backoff"
        }),
        "crashy never backed off"
    );
    let s = m.ok("scripts_status", json!({"name": "crashy"}));
    let u = unit(&s, "crashy");
    assert_eq!(u["backoff"], "5s", "{u}");
    let left = u["nextRestartInMs"].as_u64().unwrap();
    assert!(left > 0 && left <= 5000, "{u}");
    // Stopping its finished process cancels the restart: a stop is final.
    let stop = m.ok("scripts_stop", json!({"processId": crashy}));
    assert_eq!(stop["success"], true, "{stop}");
    let s = m.ok("scripts_status", json!({"name": "crashy"}));
    assert_eq!(unit(&s, "crashy")["phase"], "stopped");

    // A running process stopped by hand is not restarted (its backoff would be 0.2 s).
    let r = m.ok("scripts_run", json!({"name": "steady"}));
    let stop = m.ok("scripts_stop", json!({"processId": r["processId"]}));
    assert_eq!(stop["status"], "stopped");
    std::thread::sleep(Duration::from_millis(1200));
    let s = m.ok("scripts_status", json!({"name": "steady"}));
    assert_eq!(
        s["processes"].as_array().unwrap().len(),
        1,
        "no new process: {s}"
    );
    assert_eq!(unit(&s, "steady")["phase"], "stopped");
}

/// Once a probe has run, `health` is never `unknown` and `reason` says why it is not ready,
/// in the words `up` prints; a dependent's `reason` carries it.
#[test]
fn a_failing_probe_shows_its_reason_in_status() {
    let p = project(
        "processes:\n  web:\n    command: exec sleep 60\n    readiness_probe:\n      exec: {command: exit 3}\n      period_seconds: 0.1\n      failure_threshold: 1000\n  client:\n    command: exec sleep 60\n    depends_on:\n      web: {condition: process_healthy}\n",
    );
    let mut m = Mcp::start_initialized(p.path());
    let e = m.tool_error("scripts_run", json!({"name": "client", "timeoutMs": 1500}));
    assert!(
        e.contains("is not started after")
            && e.contains(": waiting for web (process_healthy: readiness probe failed "),
        "{e}"
    );
    let mut last = Value::Null;
    let seen = eventually(TIMEOUT, || {
        last = m.ok("scripts_status", json!({}));
        unit(&last, "web")["health"] == "not-ready"
    });
    assert!(seen, "{last}");
    let web = unit(&last, "web");
    let why = web["reason"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("readiness probe failed ") && why.ends_with(" in a row (exit code 3)"),
        "{web}"
    );
    let proc = last["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "web")
        .unwrap();
    assert_eq!(proc["health"], "not-ready", "{proc}");
    let client = unit(&last, "client");
    let why = client["reason"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("waiting for web (process_healthy: readiness probe failed "),
        "{client}"
    );
}
