//! Faces of a live session in another process, through its control socket: the control
//! verbs (`ps`, `start`, `stop`, `restart`, `logs`) and a `run` or `up` that joins.
//!
//! Exit codes of the verbs: 0 done; 1 the session refused (an unknown name, nothing to stop);
//! 2 a usage error; 3 no live session for the project (nothing was started).

pub mod follow;
pub mod mirror;

use std::io::Write;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::control::client::{CallError, Client, ConnectError};
use crate::control::place::Place;
use crate::wire::{LogsStream, ProcessInfo, ScriptsStatus};

/// The verb's exit code when no session is live.
pub const NO_SESSION: u8 = 3;

/// Connects to the live session of the project in `dir`, or says why not (and which exit
/// code that is).
pub fn connect(dir: &std::path::Path) -> Result<Client, ExitCode> {
    let place = match Place::for_project(dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("procsnap: {e}");
            return Err(ExitCode::from(2));
        }
    };
    match Client::connect(&place) {
        Ok(c) => Ok(c),
        Err(ConnectError::NoSession) => {
            eprintln!(
                "procsnap: no live session for {} (start one with `procsnap up` or `procsnap tui`)",
                place.project.display()
            );
            Err(ExitCode::from(NO_SESSION))
        }
        Err(ConnectError::Io(e)) => {
            eprintln!("procsnap: cannot reach the session: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// Says that the session ended under a client, naming its owner.
pub fn ended(client: &Client) -> String {
    match &client.owner {
        Some(o) => format!("the session ended: its owner, pid {}, exited", o.pid),
        None => "the session ended: its owner exited".to_owned(),
    }
}

fn fail(client: &Client, e: CallError) -> ExitCode {
    match e {
        CallError::Gone => eprintln!("procsnap: {}", ended(client)),
        e => eprintln!("procsnap: {e}"),
    }
    ExitCode::FAILURE
}

fn print_json(v: &Value) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, v);
    let _ = writeln!(out);
    ExitCode::SUCCESS
}

/// `procsnap ps`: every process of the live session, and each configured name's phase.
pub fn ps(dir: &std::path::Path, as_json: bool) -> ExitCode {
    let mut c = match connect(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let status = match c.call("scripts_status", json!({})) {
        Ok(s) => s,
        Err(e) => return fail(&c, e),
    };
    if as_json {
        return print_json(&status);
    }
    let Ok(status) = serde_json::from_value::<ScriptsStatus>(status) else {
        eprintln!("procsnap: the session answered something this version cannot read");
        return ExitCode::FAILURE;
    };
    let mut out = std::io::stdout().lock();
    if let Some(o) = &c.owner {
        let _ = writeln!(out, "session of {} ({})", o.project, o.describe());
    }
    let _ = writeln!(
        out,
        "{:<20} {:<10} {:>8} {:>10}  ended",
        "PROCESS", "STATUS", "PID", "UPTIME"
    );
    for p in &status.processes {
        let _ = writeln!(out, "{}", ps_line(p));
    }
    for u in &status.orchestrated {
        let mut line = format!("{}: {}", crate::safe::escape(&u.name), u.phase);
        if let Some(why) = &u.reason {
            line.push_str(&format!(" ({})", crate::safe::escape(why)));
        }
        let _ = writeln!(out, "  {line}");
    }
    ExitCode::SUCCESS
}

fn ps_line(p: &ProcessInfo) -> String {
    let ended = match (p.exit_code, p.signal) {
        (Some(c), _) => format!("code {c}"),
        (None, Some(s)) => crate::style::signal_name(s),
        _ => String::new(),
    };
    format!(
        "{:<20} {:<10} {:>8} {:>10}  {ended}",
        crate::safe::escape(&p.process_id),
        p.status,
        p.pid.map(|p| p.to_string()).unwrap_or_default(),
        p.uptime
    )
}

/// `procsnap start NAME…`: starts them detached (they run until stopped or until the session
/// ends).
pub fn start(dir: &std::path::Path, names: &[String], as_json: bool) -> ExitCode {
    let mut c = match connect(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let r = match c.call("session_start", json!({"names": names, "job": false})) {
        Ok(r) => r,
        Err(e) => return fail(&c, e),
    };
    if as_json {
        return print_json(&r);
    }
    let mut failed = false;
    let mut out = std::io::stdout().lock();
    for s in r["started"].as_array().into_iter().flatten() {
        let name = crate::safe::escape(s["name"].as_str().unwrap_or("?"));
        let id = s["processId"].as_str().unwrap_or("");
        let msg = s["message"]
            .as_str()
            .map(|m| crate::safe::escape(m).into_owned())
            .unwrap_or_default();
        let line = match s["outcome"].as_str() {
            Some("new") => format!("{name}: started ({id})"),
            Some("running") => format!("{name}: already running ({id})"),
            Some("failed") => {
                failed = true;
                format!("{name}: not started: {msg}")
            }
            _ => format!("{name}: {msg}"),
        };
        let _ = writeln!(out, "{line}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The newest process of `name` (a live one first), as `scripts_status` lists them.
fn newest(c: &mut Client, name: &str) -> Result<Option<ProcessInfo>, CallError> {
    let status = c.call("scripts_status", json!({"name": name}))?;
    let status: ScriptsStatus =
        serde_json::from_value(status).map_err(|e| CallError::Tool(e.to_string()))?;
    let live = |p: &&ProcessInfo| matches!(p.status.as_str(), "pending" | "running" | "stopping");
    let pick = status
        .processes
        .iter()
        .rfind(live)
        .or_else(|| status.processes.last())
        .cloned();
    Ok(pick)
}

/// `procsnap stop NAME…` and `procsnap restart NAME…`.
pub fn stop_or_restart(
    dir: &std::path::Path,
    names: &[String],
    restart: bool,
    as_json: bool,
) -> ExitCode {
    let mut c = match connect(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut code = ExitCode::SUCCESS;
    let mut answers = Vec::new();
    for name in names {
        let shown = crate::safe::escape(name);
        let p = match newest(&mut c, name) {
            Ok(Some(p)) => p,
            Ok(None) => {
                eprintln!("procsnap: {shown} has no process in this session");
                code = ExitCode::FAILURE;
                continue;
            }
            Err(e) => return fail(&c, e),
        };
        let tool = if restart {
            "scripts_restart"
        } else {
            "scripts_stop"
        };
        match c.call(tool, json!({"processId": p.process_id})) {
            Ok(r) if as_json => answers.push(r),
            Ok(r) if restart => println!(
                "{shown}: restarted ({} → {})",
                p.process_id,
                r["processId"].as_str().unwrap_or("?")
            ),
            Ok(r) => println!(
                "{shown}: {} ({})",
                match r["message"].as_str() {
                    Some(m) => crate::safe::escape(m).into_owned(),
                    None => r["status"].as_str().unwrap_or("stopped").to_owned(),
                },
                p.process_id
            ),
            Err(CallError::Gone) => return fail(&c, CallError::Gone),
            Err(e) => {
                eprintln!("procsnap: {shown}: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    if as_json {
        print_json(&Value::Array(answers));
    }
    code
}

/// `procsnap logs NAME [--lines N] [--follow]`.
pub fn logs(
    dir: &std::path::Path,
    name: &str,
    lines: usize,
    follow: bool,
    as_json: bool,
) -> ExitCode {
    let mut c = match connect(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let shown = crate::safe::escape(name);
    let mut out = std::io::stdout().lock();
    if follow {
        // Registered before the past lines are read: nothing falls between the two.
        if let Err(e) = c.call("session_events", json!({"scope": "all"})) {
            return fail(&c, e);
        }
    }
    match newest(&mut c, name) {
        Ok(Some(p)) => {
            let r = c.call(
                "logs_stream",
                json!({"processId": p.process_id, "limit": lines}),
            );
            let r = match r {
                Ok(r) => r,
                Err(e) => return fail(&c, e),
            };
            if as_json && !follow {
                return print_json(&r);
            }
            if let Ok(logs) = serde_json::from_value::<LogsStream>(r) {
                for l in &logs.logs {
                    if writeln!(out, "{}", l.content).is_err() {
                        return ExitCode::SUCCESS;
                    }
                }
            }
        }
        Ok(None) if !follow => {
            eprintln!("procsnap: {shown} has no process in this session");
            return ExitCode::FAILURE;
        }
        Ok(None) => {}
        Err(e) => return fail(&c, e),
    }
    if !follow {
        return ExitCode::SUCCESS;
    }
    loop {
        let r = match c.call("session_events", json!({"scope": "all", "waitMs": 5000})) {
            Ok(r) => r,
            Err(e) => return fail(&c, e),
        };
        for ev in r["events"].as_array().into_iter().flatten() {
            if ev["kind"] == "line" && ev["name"].as_str() == Some(name) {
                let text = ev["text"].as_str().unwrap_or("");
                let written = if as_json {
                    writeln!(out, "{ev}")
                } else {
                    writeln!(out, "{}", text)
                };
                if written.and_then(|()| out.flush()).is_err() {
                    return ExitCode::SUCCESS;
                }
            }
        }
        if r["closing"] == true {
            eprintln!("procsnap: {}", ended(&c));
            return ExitCode::FAILURE;
        }
    }
}
