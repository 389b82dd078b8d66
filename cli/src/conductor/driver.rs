//! The conductor's thread: takes events and messages, tells the policy, carries out its
//! actions, publishes the board.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use procsnap::orchestrate::{Action, Orchestrator, UnitId};
use procsnap::{ProcId, Subscription, Supervisor, SupervisorEvent};

use super::board::{self, Board, Notice, notice};
use super::{BATCH, MAX_NOTICES, Msg, Requested, Shared, lock, probe};
use crate::compose::Stack;

/// The conductor's thread state.
pub(super) struct Driver {
    pub(super) sup: Arc<Supervisor>,
    pub(super) stack: Arc<Stack>,
    pub(super) orch: Orchestrator,
    /// The newest process of each unit.
    pub(super) current: Vec<Option<ProcId>>,
    /// Which unit a process belongs to (`None`: not a configured name).
    pub(super) owners: HashMap<ProcId, Option<UnitId>>,
    pub(super) grace: Duration,
    pub(super) tx: Sender<Msg>,
    pub(super) shared: Arc<Shared>,
    pub(super) version: u64,
}

impl Driver {
    pub(super) fn run(&mut self, events: &Subscription<SupervisorEvent>, rx: &Receiver<Msg>) {
        loop {
            let mut changed = false;
            while let Ok(msg) = rx.try_recv() {
                match self.on_msg(msg) {
                    None => return,
                    Some(c) => changed |= c,
                }
            }
            let (c, emptied) = self.take_events(events);
            changed |= c;
            changed |= self.act();
            if changed {
                self.publish();
            }
            if !emptied || !events.park() {
                continue;
            }
            let msg = match self.orch.next_wake() {
                Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
                None => match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => return,
                },
            };
            if let Some(msg) = msg {
                match self.on_msg(msg) {
                    None => return,
                    Some(true) => self.publish(),
                    Some(false) => {}
                }
            }
        }
    }

    /// Handles one message: `None` to quit, else whether the policy was told something.
    fn on_msg(&mut self, msg: Msg) -> Option<bool> {
        let now = Instant::now();
        Some(match msg {
            Msg::Wake => false,
            Msg::Quit => return None,
            Msg::ProbeDone { unit, process, ok } => {
                if self.current[unit.index()] == Some(process) {
                    self.orch.probe_result(unit, ok, now);
                }
                true
            }
            Msg::Request { unit, reply } => {
                let previous = self.current[unit.index()];
                let was_live = self.orch.request(unit, now);
                if let Some(r) = reply {
                    // Started before the answer, so the answer can name the process.
                    self.act();
                    self.publish();
                    let running = self.current[unit.index()].filter(|_| {
                        self.orch.unit(unit).phase() == procsnap::orchestrate::Phase::Running
                    });
                    let _ = r.send(Requested {
                        was_live,
                        previous,
                        running,
                    });
                }
                true
            }
            Msg::RequestAll => {
                self.orch.request_all(now);
                true
            }
            Msg::Cancel(unit) => {
                self.orch.cancel(unit);
                true
            }
            Msg::Shutdown => {
                self.orch.shutdown(now);
                true
            }
        })
    }

    /// Feeds queued events to the policy; (told it something, queue emptied).
    fn take_events(&mut self, events: &Subscription<SupervisorEvent>) -> (bool, bool) {
        let mut changed = false;
        for _ in 0..8 {
            let batch = events.drain(BATCH);
            if batch.is_empty() {
                return (changed, true);
            }
            for ev in batch {
                changed |= self.on_event(ev);
            }
        }
        (changed, false)
    }

    fn on_event(&mut self, ev: SupervisorEvent) -> bool {
        let now = Instant::now();
        match ev {
            SupervisorEvent::State { id, state } => {
                let Some(unit) = self.owner(id) else {
                    return false;
                };
                let current = self.current[unit.index()];
                if state.status == procsnap::Status::Running && current != Some(id) {
                    // Started by somebody else (a manual run or restart): adopt it.
                    self.current[unit.index()] = Some(id);
                    self.orch.started(unit, now);
                    true
                } else if state.is_finished() && current == Some(id) {
                    self.orch.exited(unit, state.status, state.exit, now);
                    true
                } else {
                    false
                }
            }
            SupervisorEvent::Line { id, line } => {
                let Some(unit) = self.owner(id) else {
                    return false;
                };
                let Some(ready) = &self.stack.procs[unit.index()].ready_line else {
                    return false;
                };
                let s = self.orch.unit(unit);
                if self.current[unit.index()] != Some(id)
                    || s.is_ready()
                    || !ready.matches(&line.text)
                {
                    return false;
                }
                self.orch.log_ready(unit, now);
                true
            }
            _ => false,
        }
    }

    /// The unit process `id` belongs to, looked up once per process.
    fn owner(&mut self, id: ProcId) -> Option<UnitId> {
        if let Some(&u) = self.owners.get(&id) {
            return u;
        }
        let unit = self
            .sup
            .registry()
            .get(id)
            .and_then(|p| self.stack.plan.find(p.name()));
        self.owners.insert(id, unit);
        unit
    }

    /// Asks the policy what to do and does it, until it has nothing more; true if it did
    /// anything.
    fn act(&mut self) -> bool {
        let mut any = false;
        loop {
            let actions = self.orch.step(Instant::now());
            if actions.is_empty() {
                return any;
            }
            any = true;
            for a in actions {
                self.carry_out(a);
            }
        }
    }

    fn carry_out(&mut self, action: Action) {
        match action {
            Action::Start(u) => self.start(u),
            Action::Stop(u) => self.stop(u),
            Action::Probe(u) => self.probe(u),
            Action::Report(u, r) => {
                let max = self.stack.plan.unit(u).max_restarts;
                let n = notice(&self.stack.procs[u.index()].name, &r, max);
                self.note(n);
            }
            _ => {}
        }
    }

    fn note(&self, n: Notice) {
        let mut notices = lock(&self.shared.notices);
        if notices.len() >= MAX_NOTICES {
            // Nobody takes them (the MCP server reads the board instead): keep the newest.
            notices.drain(..MAX_NOTICES / 2);
        }
        notices.push(n);
        drop(notices);
        (self.shared.notify)();
    }

    fn start(&mut self, unit: UnitId) {
        let p = &self.stack.procs[unit.index()];
        let now = Instant::now();
        match self.sup.run_unique(&p.name, p.spec.clone()) {
            Ok(r) => {
                // Ours, or the one somebody else started meanwhile: one process either way.
                let id = r.process().id();
                self.owners.insert(id, Some(unit));
                self.current[unit.index()] = Some(id);
                self.orch.started(unit, now);
            }
            Err(e) => {
                let n = Notice {
                    name: p.name.clone(),
                    text: format!("failed to start: {e}"),
                    tone: board::Tone::Bad,
                };
                self.note(n);
                self.orch.spawn_failed(unit, now);
            }
        }
    }

    fn stop(&mut self, unit: UnitId) {
        let Some(id) = self.current[unit.index()] else {
            return;
        };
        let shutdown = self.stack.procs[unit.index()].shutdown;
        let (sup, grace) = (self.sup.clone(), shutdown.timeout.unwrap_or(self.grace));
        // A number the configuration was checked to hold: never the fallback.
        let signal = procsnap::Signal::from_raw(shutdown.signal).unwrap_or(procsnap::Signal::TERM);
        let stop = move || {
            let _ = sup.stop_with(id, signal, grace);
        };
        // A stop blocks for its grace: on a thread of its own. Its exit comes as an event.
        if let Err(e) = std::thread::Builder::new()
            .name("procsnap-stop".into())
            .spawn(stop)
        {
            eprintln!("procsnap: cannot start a stop thread ({e}); killing at once");
            let _ = self.sup.stop(id, Duration::ZERO);
        }
    }

    fn probe(&mut self, unit: UnitId) {
        let (Some(process), Some((check, timing))) = (
            self.current[unit.index()],
            self.stack.procs[unit.index()].probe.clone(),
        ) else {
            return;
        };
        let tx = self.tx.clone();
        let run = move || {
            let ok = probe::run(&check, timing.timeout);
            let _ = tx.send(Msg::ProbeDone { unit, process, ok });
        };
        if std::thread::Builder::new()
            .name("procsnap-probe".into())
            .spawn(run)
            .is_err()
        {
            self.orch.probe_result(unit, false, Instant::now());
        }
    }

    pub(super) fn publish(&mut self) {
        self.version += 1;
        let board = Board::build(&self.orch, &self.current, self.version);
        *lock(&self.shared.board) = board;
        self.shared.changed.notify_all();
        (self.shared.notify)();
    }
}
