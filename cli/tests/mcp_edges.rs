//! Protocol manners of `procsnap mcp` at its edges, over the real binary's stdio: a client
//! that leaves at once, arguments of the wrong JSON type, a string that is no Unicode, a
//! client that stops reading for a while.

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

/// The agent on stdio stops reading (paused, busy) for longer than a socket client's stall
/// (30 s) while replies pile up: it is waited for, not dropped — dropping it would end the
/// session it owns, under a developer's attached UI. Once it reads, every reply is there.
#[test]
fn a_stdio_client_that_stops_reading_for_a_while_is_waited_for() {
    use std::io::{BufRead, BufReader, Write};
    let p = TempProject::procfile(&[("big", "seq 1 100000; touch printed; exec sleep 300")]);
    let mut child = Command::new(BIN)
        .args(["mcp", "--dir"])
        .arg(p.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        // The first two replies, then nothing until told.
        for _ in 0..2 {
            let Some(Ok(l)) = lines.next() else { return };
            let _ = tx.send(serde_json::from_str(&l).unwrap());
        }
        if go_rx.recv().is_err() {
            return;
        }
        for l in lines.map_while(Result::ok) {
            let _ = tx.send(serde_json::from_str(&l).unwrap());
        }
    });
    let mut send = |v: serde_json::Value| {
        stdin.write_all(format!("{v}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    };
    send(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "paused", "version": "0"}}}),
    );
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let call = |id: u64, name: &str, args: serde_json::Value| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": name, "arguments": args}})
    };
    send(call(1, "scripts_run", json!({"name": "big"})));
    for _ in 0..2 {
        rx.recv_timeout(TIMEOUT)
            .expect("initialize and scripts_run answered");
    }
    let printed = p.path().join("printed");
    assert!(poll_for(TIMEOUT, || printed.exists().then_some(())).is_some());
    std::thread::sleep(std::time::Duration::from_millis(200)); // its last lines are read
    // 2.9 MB each: far more than the pipe and the server's queue hold.
    let asks = 2..22u64;
    for id in asks.clone() {
        send(call(id, "logs_stream", json!({"limit": 10000})));
    }
    std::thread::sleep(std::time::Duration::from_secs(35));
    assert!(
        child.try_wait().unwrap().is_none(),
        "procsnap mcp ended while its client was not reading"
    );
    go_tx.send(()).unwrap();
    send(call(99, "scripts_status", json!({})));
    let mut answered = std::collections::HashSet::new();
    while !answered.contains(&99) {
        let v = rx
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("replies stopped after {answered:?}"));
        assert!(v.get("error").is_none(), "{v}");
        answered.insert(v["id"].as_u64().unwrap());
    }
    assert!(
        asks.clone().all(|id| answered.contains(&id)),
        "{answered:?}"
    );
    drop(send);
    drop(stdin);
    let status = poll_for(TIMEOUT, || child.try_wait().ok().flatten());
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
