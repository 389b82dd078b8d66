//! The real `procsnap mcp` binary driven over stdio with raw JSON-RPC lines: every tool, every
//! error path, the duplicate race, stops that leave no group member, shutdown on EOF/SIGTERM.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// `web` runs forever with a grandchild; `build` fails with output on both streams.
fn project() -> TempProject {
    TempProject::procfile(&[
        (
            "web",
            "echo 'listening on http://localhost:5173'; echo 'GET /health 200'; echo 'warn: slow start' >&2; sleep 300 & sleep 300",
        ),
        (
            "build",
            "echo 'compiled 3 files'; echo 'error: type mismatch in app.ts' >&2; exit 3",
        ),
        ("hello", "echo hello"),
    ])
}

/// Polls scripts_status until `process_id` is finished; returns its entry.
fn wait_finished(m: &mut Mcp, process_id: &str) -> Value {
    let end = std::time::Instant::now() + TIMEOUT;
    loop {
        let st = m.ok("scripts_status", json!({}));
        let p = st["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["processId"] == process_id)
            .cloned()
            .unwrap_or_else(|| panic!("{process_id} missing from {st}"));
        if ["stopped", "failed", "success"].contains(&p["status"].as_str().unwrap()) {
            return p;
        }
        assert!(
            std::time::Instant::now() < end,
            "{process_id} never finished: {p}"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// Polls logs_stream for `process_id` until a line containing `text` shows up.
fn wait_line(m: &mut Mcp, process_id: &str, text: &str) {
    let ok = eventually(TIMEOUT, || {
        let l = m.ok("logs_stream", json!({"processId": process_id}));
        l["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["content"].as_str().unwrap().contains(text))
    });
    assert!(ok, "{process_id} never printed {text:?}");
}

#[test]
fn handshake_names_the_server_and_lists_seven_tools_with_schemas() {
    let p = project();
    let mut m = Mcp::start(p.path(), &[]);
    let init = m.initialize();
    assert_eq!(init["result"]["serverInfo"]["name"], "procsnap", "{init}");
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );
    let tools = m.request("tools/list", json!({}));
    let tools = tools["result"]["tools"].as_array().unwrap().clone();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "logs_search",
            "logs_stream",
            "scripts_list",
            "scripts_restart",
            "scripts_run",
            "scripts_status",
            "scripts_stop"
        ]
    );
    for t in &tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert_eq!(t["outputSchema"]["type"], "object", "{t}");
        assert!(t["description"].as_str().unwrap().len() > 20, "{t}");
    }
    let search = tools.iter().find(|t| t["name"] == "logs_search").unwrap();
    assert_eq!(search["inputSchema"]["required"], json!(["query"]));
    assert_eq!(
        m.close(Duration::from_secs(5)).map(|s| s.success()),
        Some(true)
    );
}

#[test]
fn every_tool_works_on_a_failing_build() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());

    let list = m.ok("scripts_list", json!({}));
    assert_eq!(list["scripts"]["hello"], "echo hello");
    assert_eq!(list["scripts"].as_object().unwrap().len(), 3);

    let run = m.ok("scripts_run", json!({"name": "build"}));
    let id = run["processId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("build-"), "{run}");
    assert_eq!(run["duplicate"], false);
    assert_eq!(run["name"], "build");
    assert!(run["script"].as_str().unwrap().contains("exit 3"));

    let done = wait_finished(&mut m, &id);
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["exitCode"], 3, "{done}");
    for k in ["startTime", "endTime", "duration", "uptime"] {
        assert!(done[k].is_string(), "{k} missing: {done}");
    }
    assert!(done.get("signal").is_none());

    wait_line(&mut m, &id, "type mismatch");
    let logs = m.ok("logs_stream", json!({"processId": id}));
    let logs = logs["logs"].as_array().unwrap();
    let texts: Vec<&str> = logs
        .iter()
        .map(|e| e["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["compiled 3 files", "error: type mismatch in app.ts"]
    );
    for e in logs {
        assert_eq!(e["processId"], id.as_str());
        assert_eq!(e["processName"], "build");
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(logs[0]["isError"], false);
    assert_eq!(logs[1]["isError"], true);

    // e9: level is honoured.
    let errs = m.ok("logs_stream", json!({"processId": id, "level": "error"}));
    assert_eq!(errs["logs"].as_array().unwrap().len(), 1, "{errs}");
    assert_eq!(errs["logs"][0]["isError"], true);
    let last = m.ok("logs_stream", json!({"limit": 1}));
    assert_eq!(last["logs"][0]["content"], "error: type mismatch in app.ts");

    // e9: regex is honoured — the same pattern as a substring matches nothing.
    let re = m.ok(
        "logs_search",
        json!({"query": "compiled \\d+ files", "regex": true}),
    );
    assert_eq!(re["results"].as_array().unwrap().len(), 1, "{re}");
    let lit = m.ok("logs_search", json!({"query": "compiled \\d+ files"}));
    assert_eq!(lit["results"].as_array().unwrap().len(), 0, "{lit}");
    let sub = m.ok(
        "logs_search",
        json!({"query": "type mismatch", "processId": id}),
    );
    assert_eq!(
        sub["results"][0]["content"],
        "error: type mismatch in app.ts"
    );
    let lvl = m.ok("logs_search", json!({"query": "", "level": "error"}));
    assert_eq!(lvl["results"].as_array().unwrap().len(), 1, "{lvl}");
    let info = m.ok("logs_search", json!({"query": "", "level": "info"}));
    assert_eq!(info["results"][0]["content"], "compiled 3 files");
    let future = m.ok(
        "logs_search",
        json!({"query": "", "since": "2999-01-01T00:00:00Z"}),
    );
    assert_eq!(future["results"].as_array().unwrap().len(), 0);
    let past = m.ok(
        "logs_search",
        json!({"query": "files", "since": "2000-01-01T00:00:00+02:00", "limit": 5}),
    );
    assert_eq!(past["results"].as_array().unwrap().len(), 1);

    // Only this script: filtered status.
    let st = m.ok("scripts_status", json!({"name": "build"}));
    assert_eq!(st["processes"].as_array().unwrap().len(), 1);
    let none = m.ok("scripts_status", json!({"name": "hello"}));
    assert_eq!(none["processes"], json!([]));

    // Stopping a finished process says so without failing.
    let stop = m.ok("scripts_stop", json!({"processId": id}));
    assert_eq!(stop["success"], false, "{stop}");
    assert!(
        stop["message"].as_str().unwrap().contains("code 3"),
        "{stop}"
    );
}

#[test]
fn run_duplicate_restart_and_stop_leave_no_group_member() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());
    let run = m.ok("scripts_run", json!({"name": "web"}));
    let id = run["processId"].as_str().unwrap().to_owned();
    assert_eq!(run["status"], "running", "{run}");
    let pgid = m.pid_of(&id);
    assert!(
        eventually(TIMEOUT, || group_members(pgid).len() >= 2),
        "web should have a grandchild: {:?}",
        group_members(pgid)
    );
    wait_line(&mut m, &id, "listening on http://localhost:5173");

    let dup = m.ok("scripts_run", json!({"name": "web"}));
    assert_eq!(dup["duplicate"], true, "{dup}");
    assert_eq!(dup["processId"], id.as_str());
    assert!(dup["message"].as_str().unwrap().contains("already running"));
    assert!(
        dup["startTime"].is_string() && dup["runtime"].is_string(),
        "{dup}"
    );

    let restarted = m.ok("scripts_restart", json!({"processId": id}));
    let new_id = restarted["processId"].as_str().unwrap().to_owned();
    assert_ne!(new_id, id);
    assert_eq!(restarted["previousProcessId"], id.as_str());
    assert_eq!(restarted["restarts"], 1, "{restarted}");
    assert!(
        eventually(TIMEOUT, || group_members(pgid).is_empty()),
        "old group survived restart: {:?}",
        group_members(pgid)
    );
    let old = wait_finished(&mut m, &id);
    assert_eq!(old["status"], "stopped", "{old}");

    let new_pgid = m.pid_of(&new_id);
    assert!(eventually(TIMEOUT, || group_members(new_pgid).len() >= 2));
    let stop = m.ok("scripts_stop", json!({"processId": new_id}));
    assert_eq!(stop["success"], true, "{stop}");
    assert_eq!(stop["status"], "stopped", "{stop}");
    assert_eq!(
        group_members(new_pgid),
        Vec::<u32>::new(),
        "stop returned while group members were alive"
    );
    let st = wait_finished(&mut m, &new_id);
    assert_eq!(st["signal"], 15, "{st}");
}

#[test]
fn concurrent_duplicate_runs_start_one_process() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());
    for round in 0..3 {
        let ids: Vec<u64> = (0..3).map(|_| m.id()).collect();
        let batch: String = ids
            .iter()
            .map(|id| {
                format!(
                    "{}\n",
                    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                           "params": {"name": "scripts_run", "arguments": {"name": "web"}}})
                )
            })
            .collect();
        m.send_raw(batch.as_bytes());
        let answers: Vec<Value> = ids
            .iter()
            .map(|&id| m.response(id)["result"]["structuredContent"].clone())
            .collect();
        let first = answers[0]["processId"].clone();
        assert!(
            answers.iter().all(|a| a["processId"] == first),
            "round {round}: {answers:?}"
        );
        let fresh = answers.iter().filter(|a| a["duplicate"] == false).count();
        assert_eq!(fresh, 1, "round {round}: {answers:?}");
        let st = m.ok("scripts_status", json!({"name": "web"}));
        let live = st["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["status"] == "running")
            .count();
        assert_eq!(live, 1, "round {round}: {st}");
        let stop = m.ok("scripts_stop", json!({"processId": first}));
        assert_eq!(stop["success"], true);
    }
}

#[test]
fn tool_errors_say_what_is_available() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());
    let e = m.tool_error("scripts_run", json!({"name": "deploy"}));
    assert!(
        e.contains("unknown script \"deploy\"") && e.contains("web, build, hello"),
        "{e}"
    );
    // No arbitrary command from a client.
    let e = m.tool_error("scripts_run", json!({"name": "rm -rf /tmp/x"}));
    assert!(e.contains("unknown script"), "{e}");
    let e = m.tool_error("scripts_run", json!({"name": "x=touch pwned"}));
    assert!(e.contains("unknown script"), "{e}");
    assert!(!p.path().join("pwned").exists());

    let e = m.tool_error("scripts_stop", json!({"processId": "web-1"}));
    assert!(
        e.contains("unknown processId \"web-1\"") && e.contains("none"),
        "{e}"
    );
    let run = m.ok("scripts_run", json!({"name": "hello"}));
    let id = run["processId"].as_str().unwrap().to_owned();
    for tool in ["scripts_stop", "scripts_restart", "logs_stream"] {
        let e = m.tool_error(tool, json!({"processId": "hello-999"}));
        assert!(
            e.contains("unknown processId") && e.contains(&id),
            "{tool}: {e}"
        );
    }
    let e = m.tool_error("logs_search", json!({"query": "x", "processId": "nope"}));
    assert!(e.contains("unknown processId") && e.contains(&id), "{e}");
    // The number is right but the name is not: still unknown.
    let wrong = id.replace("hello", "web");
    assert!(
        m.tool_error("scripts_stop", json!({"processId": wrong}))
            .contains(&id)
    );

    let e = m.tool_error("logs_search", json!({"query": "(unclosed", "regex": true}));
    assert!(e.contains("invalid regex"), "{e}");
    let e = m.tool_error(
        "logs_search",
        json!({"query": "x", "since": "last tuesday"}),
    );
    assert!(e.contains("since") && e.contains("RFC 3339"), "{e}");
    let e = m.tool_error("scripts_status", json!({"name": "deploy"}));
    assert!(e.contains("available scripts"), "{e}");

    // Bad arguments and unknown tools are protocol errors, and the server goes on.
    let r = m.request(
        "tools/call",
        json!({"name": "scripts_run", "arguments": {}}),
    );
    assert!(
        r.get("error").is_some() || r["result"]["isError"] == true,
        "{r}"
    );
    let r = m.request(
        "tools/call",
        json!({"name": "logs_stream", "arguments": {"level": "loud"}}),
    );
    assert!(
        r.get("error").is_some() || r["result"]["isError"] == true,
        "{r}"
    );
    let r = m.request(
        "tools/call",
        json!({"name": "no_such_tool", "arguments": {}}),
    );
    assert!(
        r.get("error").is_some() || r["result"]["isError"] == true,
        "{r}"
    );
    assert!(m.ok("scripts_list", json!({}))["scripts"].is_object());
}

#[test]
fn edits_to_the_project_are_seen_and_a_broken_file_is_a_positioned_tool_error() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());
    assert!(
        m.ok("scripts_list", json!({}))["scripts"]
            .get("later")
            .is_none()
    );
    p.write(
        "Procfile",
        "hello: echo hello\nlater: echo added while serving\n",
    );
    assert_eq!(
        m.ok("scripts_list", json!({}))["scripts"]["later"],
        "echo added while serving"
    );
    let run = m.ok("scripts_run", json!({"name": "later"}));
    assert_eq!(run["duplicate"], false);
    p.write("package.json", "{\"scripts\": {\"a\": 1}}");
    let e = m.tool_error("scripts_list", json!({}));
    assert!(
        e.contains("package.json:1:19: invalid type: integer"),
        "{e}"
    );
    assert!(
        m.tool_error("scripts_run", json!({"name": "hello"}))
            .contains("package.json:1:19")
    );
    // Reading processes does not need the files.
    assert!(eventually(TIMEOUT, || {
        m.ok("logs_stream", json!({}))["logs"]
            .as_array()
            .map(Vec::len)
            == Some(1)
    }));
}

#[test]
fn malformed_json_gets_a_parse_error_and_the_server_keeps_serving() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());
    m.send_raw(b"{\"jsonrpc\": \"2.0\", \"id\": 77, \"method\": \n");
    let e = m.recv();
    assert_eq!(e["error"]["code"], -32700, "{e}");
    assert!(e.get("id").is_none() || e["id"].is_null(), "{e}");
    m.send_raw(b"this is not json\n");
    assert_eq!(m.recv()["error"]["code"], -32700);
    // Well-formed JSON of the wrong shape: rmcp's Invalid Request.
    m.send_raw(b"{\"hello\": \"world\"}\n");
    assert_eq!(m.recv()["error"]["code"], -32600);
    // Blank lines are ignored; the session goes on.
    m.send_raw(b"\n  \n");
    let ping = m.request("ping", json!({}));
    assert!(ping.get("result").is_some(), "{ping}");
    assert_eq!(
        m.ok("scripts_list", json!({}))["scripts"]["hello"],
        "echo hello"
    );
}

/// Lines a lenient reader takes for JSON but rmcp's decode rejects: rmcp dropped each without
/// a reply and the client waited forever. Each now gets -32700 with the request's id, and the
/// server goes on serving.
#[test]
fn undecodable_requests_get_a_parse_error_with_their_id_and_the_server_keeps_serving() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let cases: [(&str, &[u8]); 4] = [
        ("invalid UTF-8 byte 0xFF", b"\"hel\xfflo\""),
        ("lone surrogate", br#""\ud800""#),
        ("number out of range", b"1e999"),
        ("200 levels of nesting", deep.as_bytes()),
    ];
    for (i, (what, bad)) in cases.into_iter().enumerate() {
        let id = 1000 + i as u64;
        let mut line = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"scripts_run","arguments":{{"name":"#
        )
        .into_bytes();
        line.extend_from_slice(bad);
        line.extend_from_slice(b"}}}\n");
        m.send_raw(&line);
        let e = m.response(id);
        assert_eq!(e["error"]["code"], -32700, "{what}: {e}");
        assert_eq!(e["jsonrpc"], "2.0", "{what}: {e}");
        let ping = m.request("ping", json!({}));
        assert!(
            ping.get("result").is_some(),
            "{what}: then ping gave {ping}"
        );
    }
    // The same fault at the top level (no id to read): answered without one.
    m.send_raw(format!("{deep}\n").as_bytes());
    let e = m.recv();
    assert_eq!(e["error"]["code"], -32700, "{e}");
    assert!(e.get("id").is_none(), "{e}");
    // Valid JSON but an invalid request: -32600, now with its id.
    m.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":2000,\"method\":\"tools/call\",\"params\":5}\n");
    assert_eq!(m.response(2000)["error"]["code"], -32600);
    assert!(m.other.is_empty(), "unexpected messages: {:?}", m.other);
    assert!(
        m.ok("scripts_status", json!({}))["processes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// A package.json script named `-v` was started as `npm run -v` (npm's version, exit 0).
#[test]
fn a_script_named_like_an_option_fails_with_a_clear_error() {
    let p = TempProject::new();
    p.write(
        "package.json",
        r#"{"scripts": {"-v": "echo RAN-THE-SCRIPT"}}"#,
    );
    let mut m = Mcp::start_initialized(p.path());
    // A tool error; nothing is started.
    let err = m.tool_error("scripts_run", json!({"name": "-v"}));
    assert_eq!(
        err,
        "script \"-v\" cannot be run: a name starting with '-' would be read as an option by the package manager (npm run -v), not as the script's name; rename it"
    );
    let st = m.ok("scripts_status", json!({}));
    assert_eq!(st["processes"], json!([]), "{st}");
}

#[test]
fn modern_era_needs_no_handshake() {
    let p = project();
    let mut m = Mcp::start(p.path(), &[]);
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "procsnap-tests", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let d = m.request("server/discover", json!({"_meta": meta}));
    assert!(
        d["result"]["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28")),
        "{d}"
    );
    let r = m.request(
        "tools/call",
        json!({"name": "scripts_list", "arguments": {}, "_meta": meta}),
    );
    assert_eq!(
        r["result"]["structuredContent"]["scripts"]["hello"], "echo hello",
        "{r}"
    );
}

#[test]
fn eof_on_stdin_stops_every_group_and_exits() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());
    let a = m.ok("scripts_run", json!({"name": "web"}));
    let pgid = m.pid_of(a["processId"].as_str().unwrap());
    assert!(eventually(TIMEOUT, || group_members(pgid).len() >= 2));
    let status = m
        .close(Duration::from_secs(10))
        .expect("server exits on EOF");
    assert!(status.success(), "{status:?}\n{}", m.stderr());
    assert_eq!(group_members(pgid), Vec::<u32>::new());
    assert!(
        m.stderr().contains("the client closed the connection"),
        "{}",
        m.stderr()
    );
}

#[test]
fn sigterm_stops_every_group_and_exits() {
    let p = project();
    let mut m = Mcp::start_initialized(p.path());
    let a = m.ok("scripts_run", json!({"name": "web"}));
    let pgid = m.pid_of(a["processId"].as_str().unwrap());
    assert!(eventually(TIMEOUT, || group_members(pgid).len() >= 2));
    kill("TERM", m.child.id() as i64);
    let status = m
        .wait(Duration::from_secs(10))
        .expect("server exits on SIGTERM");
    assert!(status.success(), "{status:?}");
    assert_eq!(group_members(pgid), Vec::<u32>::new());
}

/// 300 back-to-back `scripts_run` of a script that ends at once: a finished process is never
/// a duplicate — an answer says `duplicate: true` only of a process it found running, and
/// tells it as it found it; nothing is refused.
#[test]
fn a_finished_process_is_never_a_duplicate() {
    let p = TempProject::procfile(&[("quick", "exit 0")]);
    let mut m = Mcp::start_initialized(p.path());
    let mut new = 0;
    for i in 0..300 {
        let r = m.ok("scripts_run", json!({"name": "quick"}));
        if r["duplicate"] == json!(true) {
            assert_eq!(r["status"], "running", "run {i}: {r}");
        } else {
            new += 1;
        }
    }
    assert!(new > 0, "{new} new processes");
}
