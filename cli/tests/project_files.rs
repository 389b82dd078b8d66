//! A FIFO where package.json or the Procfile should be is an error at once, for every command:
//! `list`, `run` and `mcp` used to block forever in `open`, waiting for a writer (`mcp` never
//! answered `initialize`).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Long enough for a loaded machine, far shorter than the harness's own timeout.
const PROMPT: Duration = Duration::from_secs(10);

/// A project whose `file` is a FIFO (the other file, when there is one, is a valid Procfile).
fn fifo_project(file: &str) -> TempProject {
    let p = TempProject::new();
    if file != "Procfile" {
        p.write("Procfile", "web: echo hi\n");
    }
    let ok = Command::new("mkfifo")
        .arg(p.path().join(file))
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok, "mkfifo {file}");
    p
}

fn assert_refused(what: &str, dir: &Path, file: &str, code: Option<i32>, stderr: &str) {
    let expected = format!(
        "{}: is a FIFO, not a regular file",
        dir.join(file).display()
    );
    assert_eq!(code, Some(2), "{what} with a FIFO {file}: {stderr}");
    assert!(
        stderr.contains(&expected),
        "{what}: expected {expected:?} in {stderr:?}"
    );
}

fn refused_by(args: &[&str]) {
    for file in ["package.json", "Procfile"] {
        let p = fifo_project(file);
        let dir = p.path().to_str().unwrap();
        let mut argv = args.to_vec();
        argv.extend(["--dir", dir]);
        if args[0] == "run" {
            argv.push("web");
        }
        let started = Instant::now();
        let out = procsnap(&argv, &[]);
        assert!(
            started.elapsed() < PROMPT,
            "{args:?} with a FIFO {file} took {:?}",
            started.elapsed()
        );
        assert_refused(args[0], p.path(), file, out.status.code(), &out.stderr);
    }
}

#[test]
fn list_refuses_a_fifo_project_file() {
    refused_by(&["list"]);
}

#[test]
fn run_refuses_a_fifo_project_file() {
    refused_by(&["run"]);
}

/// The project is read before the server starts, so `mcp` exits with 2 and the message, like
/// `list` and `run`, instead of serving a project it cannot read.
#[test]
fn mcp_refuses_a_fifo_project_file() {
    for file in ["package.json", "Procfile"] {
        let p = fifo_project(file);
        let mut m = Mcp::start(p.path(), &[]);
        let status = m.wait(PROMPT);
        // The stderr reader may lag the exit by a moment.
        eventually(Duration::from_secs(2), || m.stderr().contains("FIFO"));
        let stderr = m.stderr();
        assert!(
            status.is_some(),
            "mcp with a FIFO {file} still running after {PROMPT:?}: {stderr}"
        );
        assert_refused(
            "mcp",
            p.path(),
            file,
            status.and_then(|s| s.code()),
            &stderr,
        );
    }
}

/// A FIFO that appears while the server runs is a tool error for the call that reads the
/// project, and the server keeps answering.
#[test]
fn mcp_reports_a_fifo_that_appears_later_as_a_tool_error() {
    let p = TempProject::procfile(&[("web", "echo hi")]);
    let mut m = Mcp::start_initialized(p.path());
    std::fs::remove_file(p.path().join("Procfile")).unwrap();
    let ok = Command::new("mkfifo")
        .arg(p.path().join("Procfile"))
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok);
    let e = m.tool_error("scripts_list", serde_json::json!({}));
    assert!(
        e.ends_with("Procfile: is a FIFO, not a regular file"),
        "{e}"
    );
    let e = m.tool_error("scripts_run", serde_json::json!({"name": "web"}));
    assert!(e.contains("is a FIFO"), "{e}");
    m.request("ping", serde_json::json!({}));
}
