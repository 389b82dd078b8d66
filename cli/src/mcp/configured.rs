//! `scripts_run` and `scripts_restart` over the session: one path for configured processes,
//! scripts and ad-hoc commands alike (the session's rules decide duplicates, a start during a
//! stop, dependencies), plus the waiting for a start or for readiness within a timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use procsnap::orchestrate::{Outcome, Phase};
use procsnap::{ProcId, Process, ProcessState};
use procsnap_session::{Owner, Session, Started, UnitView};

use super::blocking;
use crate::safe::clip;
use crate::timefmt::{human, rfc3339};
use crate::wire::ScriptsRun;

/// How long `scripts_run` waits for a configured process by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `timeoutMs` honoured.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// The answer for process `proc` (in state `s`) of a script whose command is `command`.
fn answer(
    proc: &Process,
    s: procsnap::ProcessState,
    command: String,
    duplicate: bool,
    ready: Option<bool>,
) -> ScriptsRun {
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
        Phase::Running if (!ready || u.ready) && new.is_some() => new.map(|id| Ok((id, u.ready))),
        // It started and has already ended (a crash in a restart backoff, a quick one-shot):
        // it did start, and that process is the answer.
        _ if !ready && new.is_some() && !matches!(u.phase, Phase::Waiting) => {
            new.map(|id| Ok((id, false)))
        }
        // A one-shot that ran to success: it ran, and that is the answer.
        Phase::Done(Outcome::Succeeded) if new.is_some() => new.map(|id| Ok((id, false))),
        Phase::Done(o) if new.is_none() || o.is_failure() => {
            let why = u.reason.clone().unwrap_or_else(|| o.as_str().to_owned());
            let what = if ready { "ready" } else { "started" };
            Some(Err(format!("{:?} did not get {what}: {why}", u.name)))
        }
        _ => None,
    }
}

/// Why `u` is not there yet, for a timeout message: the board's reason (the words `up` and
/// the terminal UI show), with its phase.
fn pending(u: &UnitView) -> String {
    let phase = match u.phase {
        Phase::Backoff { .. } => "in a restart backoff",
        Phase::Running => "running, not ready",
        Phase::Stopping => "its previous process is still stopping",
        p => p.as_str(),
    };
    match (&u.reason, u.phase) {
        (Some(why), Phase::Waiting) => why.clone(),
        (Some(why), _) => format!("{phase}: {why}"),
        (None, _) => phase.to_owned(),
    }
}

/// What to wait for after a request.
pub struct Want {
    /// Ready, not only started (configured processes with readiness checks).
    pub ready: bool,
    pub timeout: Duration,
    /// Whether to say `ready` in the answer (configured processes only).
    pub report_ready: bool,
}

/// Starts `name` for `owner` (an ad-hoc or script name must be defined already) and waits,
/// within the timeout, until its process is started — or ready. A running process is the
/// answer at once, as a duplicate; a finished one never is.
pub async fn run(
    session: Arc<Session>,
    name: String,
    owner: Owner,
    command: String,
    want: Want,
) -> Result<ScriptsRun, String> {
    let started = Instant::now();
    let s = session.clone();
    let n = name.clone();
    let (duplicate, found) = blocking(move || -> Result<_, String> {
        let (answer, seen) = start_unless_over(&s, &n, owner)?;
        let previous = match answer {
            Some(Started::Running(id)) if !want.ready => return Ok((seen, Ok(Ok((id, false))))),
            Some(Started::New(id)) if !want.ready => return Ok((None, Ok(Ok((id, false))))),
            // Waiting for readiness: of the process that runs.
            Some(Started::Running(_) | Started::New(_)) => None,
            Some(Started::Pending { previous }) => previous,
            Some(Started::Failed(why)) => {
                return Err(format!("{:?} did not start: {why}", clip(&n)));
            }
            _ => None,
        };
        let dup = seen.filter(|_| matches!(answer, Some(Started::Running(_))));
        let found = s.wait_for(want.timeout, |b| {
            b.unit(&n).and_then(|u| outcome(u, want.ready, previous))
        });
        Ok((dup, found))
    })
    .await??;
    let (id, _) = match found {
        Ok(r) => r?,
        Err(board) => {
            let why = board.unit(&name).map_or_else(String::new, pending);
            let what = if want.ready { "ready" } else { "started" };
            return Err(format!(
                "{:?} is not {what} after {} ms: {why}",
                clip(&name),
                started.elapsed().as_millis()
            ));
        }
    };
    let proc = session
        .processes()
        .get(id)
        .ok_or_else(|| format!("process {id} of {:?} is gone", clip(&name)))?;
    let ready = want
        .report_ready
        .then(|| session.board().by_process(id).is_some_and(|u| u.ready));
    // A duplicate is told as it was when found running (it may have ended since).
    let state = duplicate.unwrap_or_else(|| proc.state().snapshot());
    Ok(answer(&proc, state, command, duplicate.is_some(), ready))
}

/// Starts `name`, asking again (a few times) while the answer is a duplicate whose process
/// has finished meanwhile: a finished process is never a duplicate, and a name that ends at
/// once is started anew rather than reported as already running. For a duplicate, also the
/// state its process was seen running in.
fn start_unless_over(
    s: &Session,
    name: &str,
    owner: Owner,
) -> Result<(Option<Started>, Option<ProcessState>), String> {
    let mut answer = None;
    for _ in 0..10 {
        answer = s.start(&[name], owner)?.pop();
        let Some(Started::Running(id)) = &answer else {
            return Ok((answer, None));
        };
        let seen = s.processes().get(*id).map(|p| p.state().snapshot());
        if let Some(state) = seen.filter(|st| !st.is_finished()) {
            return Ok((answer, Some(state)));
        }
    }
    Ok((answer, None))
}

/// Restarts process `id` and waits (within `timeout`) for its name's new process.
pub async fn restart(
    session: Arc<Session>,
    id: ProcId,
    by: String,
    timeout: Duration,
) -> Result<Arc<Process>, String> {
    let s = session.clone();
    let new = blocking(move || -> Result<ProcId, String> {
        if let Some(new) = s.restart(id, Some(&by))? {
            return Ok(new);
        }
        let name = s
            .processes()
            .get(id)
            .map(|p| p.name().to_owned())
            .ok_or("the process is gone")?;
        s.wait_for(timeout, |b| {
            let u = b.unit(&name)?;
            match (u.process, u.phase) {
                (Some(p), _) if p != id => Some(Ok(p)),
                (_, Phase::Done(o)) if o.is_failure() => Some(Err(format!(
                    "{name:?} did not start again: {}",
                    u.reason.as_deref().unwrap_or(o.as_str())
                ))),
                _ => None,
            }
        })
        .map_err(|b| {
            let why = b.unit(&name).map_or_else(String::new, pending);
            format!(
                "{name:?} has not started again after {} ms: {why}",
                timeout.as_millis()
            )
        })?
    })
    .await??;
    session
        .processes()
        .get(new)
        .ok_or_else(|| format!("process {new} is gone"))
}
