//! `scripts_run` and `scripts_stop` for configured processes (procsnap.yaml): through the
//! conductor, so that dependencies start first and readiness can be waited for.

use std::sync::Arc;
use std::time::{Duration, Instant};

use procsnap::orchestrate::{Outcome, Phase};
use procsnap::{ProcId, Process, Supervisor};

use super::blocking;
use crate::conductor::{Conductor, UnitView};
use crate::safe::clip;
use crate::timefmt::{human, rfc3339};
use crate::wire::{RunParams, ScriptsRun};

/// How long `scripts_run` waits for a configured process by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `timeoutMs` honoured.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// The answer for process `proc` of a script whose command is `command`.
pub fn answer(proc: &Process, command: String, duplicate: bool, ready: Option<bool>) -> ScriptsRun {
    let s = proc.state().snapshot();
    ScriptsRun {
        process_id: proc.label(),
        name: proc.name().to_owned(),
        script: command,
        status: s.status.as_str().to_owned(),
        duplicate,
        message: duplicate.then(|| {
            format!(
                "Script '{}' is already running with process ID: {} (stop it with scripts_stop, or use scripts_restart)",
                proc.name(),
                proc.label()
            )
        }),
        start_time: s.started_at.map(rfc3339),
        runtime: duplicate.then(|| s.duration().map_or_else(|| "0ms".to_owned(), human)),
        ready,
    }
}

/// What waiting for `u` found: its process (started — a process newer than `previous` —
/// or ready with `ready`) and whether it is ready, or why there will be none.
fn outcome(
    u: &UnitView,
    ready: bool,
    previous: Option<ProcId>,
) -> Option<Result<(ProcId, bool), String>> {
    let new = u.process.filter(|&id| Some(id) != previous);
    match u.phase {
        Phase::Running if !ready || u.ready => u.process.map(|id| Ok((id, u.ready))),
        // It started and has already ended (a crash in a restart backoff, a quick one-shot):
        // it did start, and that process is the answer.
        _ if !ready && new.is_some() => new.map(|id| Ok((id, false))),
        // A one-shot that ran to success: it ran, and that is the answer.
        Phase::Done(Outcome::Succeeded) if new.is_some() => new.map(|id| Ok((id, false))),
        Phase::Done(o) => {
            let why = u.reason.clone().unwrap_or_else(|| o.as_str().to_owned());
            let what = if ready { "ready" } else { "started" };
            Some(Err(format!("{:?} did not get {what}: {why}", u.name)))
        }
        _ => None,
    }
}

/// Why `u` is not there yet, for a timeout message.
fn pending(u: &UnitView) -> String {
    if !u.waiting_for.is_empty() {
        let deps: Vec<String> = u
            .waiting_for
            .iter()
            .map(|(n, c)| format!("{n} ({c})"))
            .collect();
        return format!("waiting for {}", deps.join(", "));
    }
    match u.phase {
        Phase::Backoff { .. } => format!(
            "in a restart backoff ({})",
            u.reason.as_deref().unwrap_or("it ended")
        ),
        Phase::Running => format!("running, not ready ({})", u.health.as_str()),
        p => p.as_str().to_owned(),
    }
}

/// `scripts_run` of a configured process: asks the conductor for it (its dependencies come
/// first) and waits, within the timeout, until its process is started — or ready.
pub async fn run(
    conductor: Arc<Conductor>,
    sup: Arc<Supervisor>,
    p: RunParams,
    command: String,
) -> Result<ScriptsRun, String> {
    let ready = p.wait_ready.unwrap_or(false);
    let timeout = p
        .timeout_ms
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
        .min(MAX_TIMEOUT);
    let name = p.name.clone();
    let started = Instant::now();
    let c = conductor.clone();
    let (requested, found) = blocking(move || {
        let requested = conductor.request_now(&name)?;
        if let (false, Some(id)) = (ready, requested.running) {
            return Some((requested, Ok(Ok((id, false)))));
        }
        let found = conductor.wait_for(timeout, |b| {
            b.unit(&name)
                .and_then(|u| outcome(u, ready, requested.previous))
        });
        Some((requested, found))
    })
    .await?
    .ok_or("the conductor is gone")?;
    let (id, _) = match found {
        Ok(r) => r?,
        Err(board) => {
            let why = board.unit(&p.name).map_or_else(String::new, pending);
            let what = if ready { "ready" } else { "started" };
            return Err(format!(
                "{:?} is not {what} after {} ms: {why}",
                clip(&p.name),
                started.elapsed().as_millis()
            ));
        }
    };
    let proc = sup
        .registry()
        .get(id)
        .ok_or_else(|| format!("process {id} of {:?} is gone", clip(&p.name)))?;
    let is_ready = c.board().by_process(id).is_some_and(|u| u.ready);
    Ok(answer(&proc, command, requested.was_live, Some(is_ready)))
}

/// `scripts_stop` of a finished process whose configured name waits for a restart (or for its
/// dependencies): cancels that, as a stop of the name is final. The message, if it did.
pub fn cancel_pending(conductor: &Conductor, id: ProcId) -> Option<String> {
    let board = conductor.board();
    let u = board.by_process(id)?;
    if !matches!(u.phase, Phase::Backoff { .. } | Phase::Waiting) {
        return None;
    }
    conductor.cancel(&u.name);
    Some(format!(
        "its restart was cancelled ({} was {}); a stop is final",
        u.name,
        u.phase.as_str()
    ))
}
