//! A mirror of a live session in another process, for the terminal UI that attaches to it: a
//! registry of its own whose processes, states and output follow the owner's, fed by one
//! client connection (the past from `scripts_status` and `logs_stream`, then every event from
//! `session_events {scope: "all"}`). The UI reads it exactly as it reads a local session.
//!
//! The owner's configured processes (their phases: waiting, ready, in a backoff…) come from
//! its `scripts_status`, again after each change of its board.
//!
//! Each mirrored process keeps the owner's `processId` for the commands sent back; its state
//! goes through the same lifecycle (`Registry::apply`), so it can only show what the owner's
//! process went through. Output lines are those of the owner's rings, deduplicated by their
//! sequence numbers across the seeding and the first events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use procsnap::orchestrate::{Health, Phase};
use procsnap::{CommandSpec, Event, Exit, ProcId, Registry, Status, Stream};
use serde_json::json;

use crate::control::client::{CallError, Client};
use crate::mcp::session_tools::{SessionEvents, WireEvent};
use crate::timefmt::parse_rfc3339;
use crate::wire::{LogsStream, ProcessInfo, ScriptsStatus, UnitStatus};

/// Lines of each process's past output shown on attaching.
const SEED_LINES: usize = 500;
/// How long one request waits for events.
const WAIT_MS: u64 = 1000;

/// One mirrored process.
struct Entry {
    id: ProcId,
    /// The newest line sequence number seen.
    seq: u64,
}

/// A configured process as the owner's `scripts_status` reports it: its phase beyond its
/// process's status (waiting, ready, in a backoff…).
pub struct Unit {
    pub name: String,
    pub phase: Phase,
    pub health: Health,
    pub restarts: u32,
    pub reason: Option<String>,
}

impl Unit {
    /// `u` as reported at `now`; `None` if it says a phase or health this version cannot read.
    fn of(u: &UnitStatus, now: Instant) -> Option<Unit> {
        let until = now + Duration::from_millis(u.next_restart_in_ms.unwrap_or(0));
        Some(Unit {
            name: u.name.clone(),
            phase: Phase::parse(&u.phase, until)?,
            health: Health::parse(&u.health)?,
            restarts: u.restarts,
            reason: u.reason.clone(),
        })
    }
}

/// See the [module docs](self).
pub struct Mirror {
    registry: Registry,
    by_label: Mutex<HashMap<String, Entry>>,
    labels: Mutex<HashMap<ProcId, String>>,
    units: Mutex<Vec<Unit>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A state as the wire gives it.
struct Seen<'a> {
    status: &'a str,
    pid: Option<u32>,
    start: Option<&'a str>,
    end: Option<&'a str>,
    exit: Option<Exit>,
    restarts: u32,
}

impl Mirror {
    fn new() -> Mirror {
        Mirror {
            registry: Registry::new(),
            by_label: Mutex::new(HashMap::new()),
            labels: Mutex::new(HashMap::new()),
            units: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on the owner's configured processes, as last reported.
    pub fn with_units<T>(&self, f: impl FnOnce(&[Unit]) -> T) -> T {
        f(&lock(&self.units))
    }

    /// Takes the owner's configured processes from its `scripts_status`.
    fn set_units(&self, status: &ScriptsStatus) {
        let now = Instant::now();
        *lock(&self.units) = status
            .orchestrated
            .iter()
            .filter_map(|u| Unit::of(u, now))
            .collect();
    }

    /// Asks the owner for its configured processes again (their phases changed).
    fn refresh_units(&self, client: &mut Client) -> Result<(), CallError> {
        let status = client.call("scripts_status", json!({}))?;
        if let Ok(status) = serde_json::from_value::<ScriptsStatus>(status) {
            self.set_units(&status);
        }
        Ok(())
    }

    /// The mirrored processes.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The owner's `processId` of mirrored process `id`.
    pub fn label(&self, id: ProcId) -> Option<String> {
        lock(&self.labels).get(&id).cloned()
    }

    /// The mirrored process of the owner's `label` (named `name`), made on first sight.
    fn entry(&self, label: &str, name: &str, restarts: u32) -> ProcId {
        let mut by_label = lock(&self.by_label);
        if let Some(e) = by_label.get(label) {
            return e.id;
        }
        let p = self.registry.insert(name, CommandSpec::new(name), restarts);
        by_label.insert(label.to_owned(), Entry { id: p.id(), seq: 0 });
        lock(&self.labels).insert(p.id(), label.to_owned());
        p.id()
    }

    /// Brings process `id`'s state up to `seen`, through the lifecycle.
    fn follow_state(&self, id: ProcId, seen: &Seen<'_>) {
        let Some(p) = self.registry.get(id) else {
            return;
        };
        let now = SystemTime::now();
        let at = |t: Option<&str>| t.and_then(|t| parse_rfc3339(t).ok()).unwrap_or(now);
        let current = p.state().snapshot().status;
        let target = seen.status;
        if current == Status::Pending {
            match (target, seen.pid) {
                ("pending", _) => return,
                ("failed", None) => {
                    let _ = self
                        .registry
                        .apply(id, Event::SpawnFailed { at: at(seen.end) });
                    return;
                }
                (_, Some(pid)) => {
                    let _ = self.registry.apply(
                        id,
                        Event::Started {
                            pid,
                            at: at(seen.start),
                        },
                    );
                }
                _ => return,
            }
        }
        let status = p.state().snapshot().status;
        if matches!(target, "stopping" | "stopped") && status == Status::Running {
            let _ = self.registry.apply(id, Event::StopRequested);
        }
        if matches!(target, "stopped" | "failed" | "success") {
            let exit = seen.exit.unwrap_or(if target == "success" {
                Exit::Code(0)
            } else {
                Exit::Unknown
            });
            let _ = self.registry.apply(
                id,
                Event::Exited {
                    exit,
                    at: at(seen.end),
                },
            );
        }
        let _ = seen.restarts;
    }

    /// One process of `scripts_status`.
    fn seed_process(&self, info: &ProcessInfo) -> ProcId {
        let id = self.entry(&info.process_id, &info.name, info.restarts);
        let exit = match (info.exit_code, info.signal) {
            (Some(c), _) => Some(Exit::Code(c)),
            (None, Some(s)) => Some(Exit::Signal(s)),
            _ => None,
        };
        let seen = Seen {
            status: &info.status,
            pid: info.pid,
            start: info.start_time.as_deref(),
            end: info.end_time.as_deref(),
            exit,
            restarts: info.restarts,
        };
        self.follow_state(id, &seen);
        id
    }

    fn push(&self, label: &str, seq: u64, stream: Stream, text: &str, truncated: bool) {
        let mut by_label = lock(&self.by_label);
        let Some(e) = by_label.get_mut(label) else {
            return;
        };
        if seq <= e.seq {
            return; // seen in the seed already
        }
        e.seq = seq;
        let id = e.id;
        drop(by_label);
        let _ = self.registry.push_line(id, stream, text, truncated);
    }

    /// Applies one event; true for the owner's `closing`.
    fn apply(&self, ev: &WireEvent) -> bool {
        let (Some(label), Some(name)) = (ev.process_id.as_deref(), ev.name.as_deref()) else {
            return ev.kind == "closing";
        };
        match ev.kind.as_str() {
            "line" => {
                self.entry(label, name, 0);
                let stream = match ev.stream.as_deref() {
                    Some("stderr") => Stream::Stderr,
                    _ => Stream::Stdout,
                };
                let text = ev.text.as_deref().unwrap_or("");
                self.push(
                    label,
                    ev.seq.unwrap_or(u64::MAX),
                    stream,
                    text,
                    ev.truncated,
                );
            }
            "state" => {
                let id = self.entry(label, name, ev.restarts.unwrap_or(0));
                let exit = match (ev.exit_code, ev.signal) {
                    (Some(c), _) => Some(Exit::Code(c)),
                    (None, Some(s)) => Some(Exit::Signal(s)),
                    _ => None,
                };
                let seen = Seen {
                    status: ev.status.as_deref().unwrap_or("pending"),
                    pid: ev.pid,
                    start: ev.start_time.as_deref(),
                    end: ev.end_time.as_deref(),
                    exit,
                    restarts: ev.restarts.unwrap_or(0),
                };
                self.follow_state(id, &seen);
            }
            _ => {}
        }
        false
    }
}

/// Mirrors the session `client` reaches: seeds the mirror, then follows it on a thread of its
/// own, calling `changed` after each batch and `ended` (with why) when the owner goes.
///
/// # Errors
///
/// The seeding failed (the owner went away meanwhile, or answered something unreadable).
pub fn start(
    mut client: Client,
    changed: impl Fn() + Send + 'static,
    ended: impl FnOnce(String) + Send + 'static,
) -> Result<Arc<Mirror>, CallError> {
    let mirror = Arc::new(Mirror::new());
    // Following first: nothing falls between the past and the events.
    client.call("session_events", json!({"scope": "all"}))?;
    let status: ScriptsStatus = serde_json::from_value(client.call("scripts_status", json!({}))?)
        .map_err(|e| CallError::Tool(e.to_string()))?;
    mirror.set_units(&status);
    for info in &status.processes {
        mirror.seed_process(info);
        let logs = client.call(
            "logs_stream",
            json!({"processId": info.process_id, "limit": SEED_LINES}),
        )?;
        let Ok(logs) = serde_json::from_value::<LogsStream>(logs) else {
            continue;
        };
        for l in &logs.logs {
            let seq =
                l.id.rsplit('-')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
            let stream = if l.is_error {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            mirror.push(&info.process_id, seq, stream, &l.content, l.truncated);
        }
    }
    let on_thread = mirror.clone();
    let spawned = std::thread::Builder::new()
        .name("procsnap-mirror".into())
        .spawn(move || {
            let why = loop {
                let r = client.call("session_events", json!({"scope": "all", "waitMs": WAIT_MS}));
                let batch = match r.map(serde_json::from_value::<SessionEvents>) {
                    Ok(Ok(b)) => b,
                    Ok(Err(e)) => break format!("the session answered something unreadable: {e}"),
                    Err(CallError::Gone) => break crate::remote::ended(&client),
                    Err(e) => break e.to_string(),
                };
                let mut closing = batch.closing;
                for ev in &batch.events {
                    closing |= on_thread.apply(ev);
                }
                // The owner's board changed: phases, readiness, a backoff's end.
                if batch.events.iter().any(|e| e.kind == "board")
                    && let Err(e) = on_thread.refresh_units(&mut client)
                {
                    break match e {
                        CallError::Gone => crate::remote::ended(&client),
                        e => e.to_string(),
                    };
                }
                if !batch.events.is_empty() {
                    changed();
                }
                if closing {
                    break crate::remote::ended(&client);
                }
            };
            ended(why);
        });
    spawned.map_err(|e| CallError::Tool(format!("cannot start the mirror's thread: {e}")))?;
    Ok(mirror)
}
