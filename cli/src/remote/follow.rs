//! `run` and `up` joining a live session: their names start there as their own job, and its
//! output is printed as in the owner's process — every line, in order, prefixed, with status
//! lines and the session's notices.
//!
//! Nothing is lost: the job's events wait in the owner until this process takes them, and
//! while it does not (its stdout is slow or blocked), the owner holds back the job's own
//! processes, never anybody else's. Ctrl-C, SIGTERM or SIGHUP ends the job — what it started
//! stops, what it adopted keeps running — and the status lines follow as usual; a second
//! Ctrl-C or SIGTERM leaves at once (the owner still stops the job, since its client is gone).
//! Ctrl-Z suspends the job's processes with this process, `fg` resumes them.

use std::io::Write;
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use procsnap::{Exit, Status};
use serde_json::json;
use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGSTOP, SIGTERM, SIGTSTP};

use super::ended;
use crate::control::client::{CallError, Client};
use crate::mcp::session_tools::{SessionEvents, WireEvent};
use crate::safe::escape;
use crate::style::Prefixer;

/// How long one request waits for events: also how soon a signal is seen.
const WAIT_MS: u64 = 200;

/// The exit of a state event.
fn exit_of(ev: &WireEvent) -> Option<Exit> {
    match (ev.exit_code, ev.signal) {
        (Some(c), _) => Some(Exit::Code(c)),
        (None, Some(s)) => Some(Exit::Signal(s)),
        _ => None,
    }
}

/// SIGINT, SIGTERM, SIGHUP, SIGTSTP and SIGCONT, forwarded.
fn signals() -> std::io::Result<Receiver<i32>> {
    let (tx, rx) = channel();
    crate::signals::forward(&[SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGCONT], move |s| {
        tx.send(s).is_ok()
    })?;
    Ok(rx)
}

/// Ctrl-Z (SIGTSTP): suspends the job's processes in the session, then this process (SIGSTOP:
/// our own SIGTSTP is handled here); `fg`/`bg` (SIGCONT): resumes them. A shell's job is
/// suspended whole, as with a `run` of its own.
fn job_control(client: &mut Client, sig: i32) -> Result<(), CallError> {
    let name = if sig == SIGTSTP { "SIGTSTP" } else { "SIGCONT" };
    client.call("session_signal_job", json!({"signal": name}))?;
    if sig == SIGTSTP {
        let _ = signal_hook::low_level::raise(SIGSTOP);
    }
    Ok(())
}

/// Runs `names` as this process's job in the session `client` reaches, printing its output
/// until it has settled; the process exit code.
pub fn run(mut client: Client, names: &[String], color: bool) -> ExitCode {
    let signals = match signals() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("procsnap: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(o) = &client.owner {
        eprintln!(
            "procsnap: joining the live session of {} ({}); Ctrl-C stops only what this command started",
            o.project,
            o.describe()
        );
    }
    let prefixer = Prefixer::new(names.iter().map(String::as_str), color);
    let slot = |name: &str| names.iter().position(|n| n == name).unwrap_or(0);
    let mut out = std::io::stdout().lock();
    // A name that could not start.
    let mut failed = false;
    let started = client.call("session_start", json!({"names": names, "job": true}));
    match started {
        Ok(r) => {
            for s in r["started"].as_array().into_iter().flatten() {
                let name = s["name"].as_str().unwrap_or("");
                let msg = s["message"].as_str().unwrap_or("");
                let text = match s["outcome"].as_str() {
                    Some("failed") => {
                        failed = true;
                        format!("failed to start: {}", escape(msg))
                    }
                    Some("running") => format!(
                        "already running ({}): shown, not stopped by this command",
                        s["processId"].as_str().unwrap_or("?")
                    ),
                    _ => continue,
                };
                let _ = writeln!(
                    out,
                    "{}",
                    prefixer.note(&escape(name), slot(name), &text, "2")
                );
            }
        }
        Err(CallError::Gone) => {
            eprintln!("procsnap: {}", ended(&client));
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("procsnap: {e}");
            return ExitCode::from(2);
        }
    }
    let mut interrupt: Option<i32> = None;
    let job_failed = loop {
        while let Ok(sig) = signals.try_recv() {
            if sig == SIGTSTP || sig == SIGCONT {
                if let Err(CallError::Gone) = job_control(&mut client, sig) {
                    eprintln!("procsnap: {}", ended(&client));
                    return ExitCode::FAILURE;
                }
                continue;
            }
            if interrupt.is_some() && sig != SIGHUP {
                let _ = writeln!(out, "procsnap: leaving (the session stops this job)");
                return ExitCode::from(128 + sig as u8);
            }
            if interrupt.is_none() {
                if sig == SIGINT {
                    let _ = writeln!(out, "procsnap: stopping this job (Ctrl-C again to leave)");
                }
                interrupt = Some(sig);
                if let Err(CallError::Gone) = client.call("session_end_job", json!({})) {
                    eprintln!("procsnap: {}", ended(&client));
                    return ExitCode::FAILURE;
                }
            }
        }
        let r = match client.call("session_events", json!({"scope": "job", "waitMs": WAIT_MS})) {
            Ok(r) => r,
            Err(CallError::Gone) => {
                let _ = out.flush();
                eprintln!("procsnap: {}", ended(&client));
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("procsnap: {e}");
                return ExitCode::FAILURE;
            }
        };
        let Ok(batch) = serde_json::from_value::<SessionEvents>(r) else {
            eprintln!("procsnap: the session answered something this version cannot read");
            return ExitCode::FAILURE;
        };
        let empty = batch.events.is_empty();
        for ev in &batch.events {
            print(&mut out, &prefixer, &slot, ev);
        }
        if out.flush().is_err() {
            // Nobody reads our output any more: end the job, as `run` does.
            let _ = client.call("session_end_job", json!({}));
            return ExitCode::from(141);
        }
        if batch.settled && empty {
            // A process of the job failed for good: the session judges, by its policy.
            break batch.failed;
        }
        if batch.closing && empty {
            eprintln!("procsnap: {}", ended(&client));
            return ExitCode::FAILURE;
        }
    };
    match (failed || job_failed, interrupt) {
        (true, _) => ExitCode::FAILURE,
        (false, Some(sig)) => ExitCode::from(128 + sig as u8),
        (false, None) => ExitCode::SUCCESS,
    }
}

/// Prints one event.
fn print(out: &mut impl Write, prefixer: &Prefixer, slot: &dyn Fn(&str) -> usize, ev: &WireEvent) {
    let name = ev.name.as_deref().unwrap_or("?");
    let (shown, slot) = (escape(name), slot(name));
    match ev.kind.as_str() {
        "line" => {
            let mut line = Vec::new();
            crate::style::write_line(
                &mut line,
                &prefixer.prefix(&shown, slot),
                ev.text.as_deref().unwrap_or(""),
                ev.truncated,
            );
            let _ = out.write_all(&line);
        }
        "state" => {
            let Some(status) = ev.status.as_deref().and_then(Status::parse) else {
                return;
            };
            if status.is_finished() {
                let ran = ev.duration_us.map(Duration::from_micros);
                let _ = writeln!(
                    out,
                    "{}",
                    prefixer.status(&shown, slot, status, exit_of(ev), ran)
                );
            }
        }
        "notice" => {
            let code = match ev.tone.as_deref() {
                Some("good") => "32",
                Some("bad") => "31",
                _ => "2",
            };
            let text = escape(ev.text.as_deref().unwrap_or(""));
            let _ = writeln!(out, "{}", prefixer.note(&shown, slot, &text, code));
        }
        _ => {}
    }
}
