//! The orchestration part of the answers: configured processes in `scripts_list`, and their
//! readiness and restart state in `scripts_status`, from the session's [`Board`].

use std::collections::BTreeMap;
use std::time::Instant;

use procsnap::orchestrate::Condition;

use crate::compose::{Check, Stack};
use crate::wire::{ConfiguredProcess, ScriptsStatus, UnitStatus};
use procsnap_session::Origin;
use procsnap_session::conductor::{Board, UnitView, short};

/// What `scripts_list` says about each configured process.
pub fn configured(stack: &Stack) -> BTreeMap<String, ConfiguredProcess> {
    stack
        .procs
        .iter()
        .zip(stack.plan.ids())
        .filter(|(p, _)| p.origin == Origin::Configured)
        .map(|(p, u)| {
            let cfg = stack.plan.unit(u);
            let readiness = match (&p.ready_line, &p.probe) {
                (_, Some((Check::Http { host, port, path }, _))) => {
                    Some(format!("http GET {host}:{port}{path}"))
                }
                (_, Some((Check::Exec(spec), _))) => Some(format!("exec {spec}")),
                (Some(line), None) => Some(format!("log line {:?}", line.text)),
                (None, None) => None,
            };
            let depends_on = cfg
                .depends_on
                .iter()
                .map(|d| {
                    let c = match d.condition {
                        Condition::Default => "default",
                        c => c.as_str(),
                    };
                    (d.name.clone(), c.to_owned())
                })
                .collect();
            let info = ConfiguredProcess {
                command: p.command.clone(),
                depends_on,
                readiness,
                restart: cfg.restart.as_str().to_owned(),
                max_restarts: cfg.max_restarts,
                disabled: cfg.disabled,
            };
            (p.name.clone(), info)
        })
        .collect()
}

/// The `processId` of process `id` of `name` (as [`procsnap::Process::label`] spells it).
fn label(name: &str, id: procsnap::ProcId) -> String {
    format!("{name}-{id}")
}

/// One configured process as `scripts_status` shows it, at `now`.
pub fn unit_status(u: &UnitView, now: Instant) -> UnitStatus {
    UnitStatus {
        name: u.name.clone(),
        phase: u.phase.as_str().to_owned(),
        ready: u.ready,
        health: u.health.as_str().to_owned(),
        restarts: u.restarts,
        max_restarts: u.max_restarts,
        restart: u.restart.as_str().to_owned(),
        next_restart_in_ms: u
            .next_restart
            .map(|t| t.saturating_duration_since(now).as_millis() as u64),
        backoff: u.next_restart.and(u.last_delay).map(short),
        waiting_for: u
            .waiting_for
            .iter()
            .map(|(n, c)| format!("{n} ({c})"))
            .collect(),
        reason: u.reason.clone(),
        process_id: None,
    }
}

/// Adds the conductor's view to a `scripts_status` answer: `ready` and `health` on the newest
/// process of each configured name, and the `orchestrated` list (only `name`'s, if given).
pub fn annotate(status: &mut ScriptsStatus, board: &Board, name: Option<&str>, now: Instant) {
    let configured = || {
        board
            .units
            .iter()
            .filter(|u| u.origin == Origin::Configured)
    };
    for info in &mut status.processes {
        if let Some(u) = configured().find(|u| {
            u.process
                .is_some_and(|id| label(&u.name, id) == info.process_id)
        }) {
            info.ready = Some(u.ready);
            info.health = Some(u.health.as_str().to_owned());
        }
    }
    status.orchestrated = configured()
        .filter(|u| name.is_none_or(|n| n == u.name))
        .map(|u| UnitStatus {
            process_id: u.process.map(|id| label(&u.name, id)),
            ..unit_status(u, now)
        })
        .collect();
}
