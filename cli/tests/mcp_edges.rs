//! Protocol manners of `procsnap mcp` at its edges, over the real binary's stdio: a client
//! that leaves at once, arguments of the wrong JSON type, a string that is no Unicode.

mod common;

use std::process::{Command, Stdio};

use common::*;
use serde_json::json;

fn project() -> TempProject {
    TempProject::procfile(&[("hello", "echo hello")])
}

/// `procsnap mcp < /dev/null` exited 1 with "connection closed: initialize request": a client
/// that connects and leaves is not an error.
#[test]
fn a_client_that_connects_and_leaves_is_no_error() {
    let p = project();
    let mut child = Command::new(BIN)
        .args(["mcp", "--dir"])
        .arg(p.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = poll_for(TIMEOUT, || child.try_wait().ok().flatten());
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("procsnap mcp < /dev/null did not exit");
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("before initializing"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `"arguments": [1]` was answered -32601 "tools/call" (method not found).
#[test]
fn array_arguments_are_invalid_params_naming_the_tool() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());
    let r = m.request(
        "tools/call",
        json!({"name": "scripts_run", "arguments": [1]}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(msg.contains("\"scripts_run\""), "{msg}");
    assert!(msg.contains("must be an object"), "{msg}");
    // The server goes on serving.
    assert_eq!(
        m.ok("scripts_list", json!({}))["scripts"]["hello"],
        "echo hello"
    );
}

/// A lone surrogate was answered "unexpected end of hex escape at line 1 column 95": nothing
/// about what is wrong in the user's terms.
#[test]
fn a_lone_surrogate_is_a_parse_error_that_says_so_and_where() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());
    let line = br#"{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"scripts_run","arguments":{"name":"he\ud800llo"}}}"#;
    let at = line.windows(6).position(|w| w == br"\ud800").unwrap();
    m.send_raw(&[&line[..], b"\n"].concat());
    let e = m.response(41);
    assert_eq!(e["error"]["code"], -32700, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains(r"lone surrogate \ud800"), "{msg}");
    assert!(msg.contains(&format!("column {}", at + 1)), "{msg}");
    assert!(msg.contains(&format!("byte {at}")), "{msg}");
    assert_eq!(
        m.ok("scripts_list", json!({}))["scripts"]["hello"],
        "echo hello"
    );
}
