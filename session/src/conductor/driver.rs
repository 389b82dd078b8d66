//! The conductor's thread: takes events and messages, tells the policy, carries out its
//! actions, hands events to the observers, publishes the board.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use procsnap::orchestrate::{Action, Orchestrator, Phase, UnitId};
use procsnap::{ProcId, Status, Subscription, Supervisor, SupervisorEvent};

use super::board::{self, Board, Notice, notice};
use super::probe::Probes;
use super::{BATCH, Msg, Shared, Started, Stopping, lock};
use crate::def::{Proc, Stack};
use crate::job::{JobId, Owner};
use crate::observer::{Filter, ObsShared, SessionEvent};
use crate::session::SessionConfig;

/// What happens to a unit once its process's stop has ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Again {
    /// Nothing.
    No,
    /// It starts again (a start was asked for while it was stopping).
    Start,
    /// It starts again as a restart (counted).
    Restart,
}

/// The conductor's thread state.
pub(crate) struct Driver {
    pub(crate) sup: Arc<Supervisor>,
    pub(crate) cfg: SessionConfig,
    pub(crate) stack: Arc<Stack>,
    pub(crate) orch: Orchestrator,
    /// The newest process of each unit.
    pub(crate) current: Vec<Option<ProcId>>,
    /// Who each unit belongs to (see [`crate::job`]).
    pub(crate) owners: Vec<Owner>,
    /// Units to start again once their process's stop has ended (a restart, or a start asked
    /// for while it was stopping).
    pub(crate) again: Vec<Again>,
    /// Restarts asked for by people, per unit (the policy counts its own).
    pub(crate) manual_restarts: Vec<u32>,
    /// Jobs suspended by their client (Ctrl-Z): a process started for one is suspended too.
    pub(crate) suspended: HashSet<JobId>,
    /// Readiness probes that came due while their process's job was suspended: run when it
    /// resumes (a stopped process fails every probe, and failing ones would restart it).
    pub(crate) held_probes: Vec<(UnitId, ProcId)>,
    /// Which unit a process belongs to (`None`: not one of ours).
    pub(crate) units_of: HashMap<ProcId, Option<UnitId>>,
    pub(crate) observers: Vec<Arc<ObsShared>>,
    pub(crate) probes: Probes,
    pub(crate) tx: Sender<Msg>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) version: u64,
}

impl Driver {
    pub(crate) fn run(&mut self, events: &Subscription<SupervisorEvent>, rx: &Receiver<Msg>) {
        loop {
            let mut changed = false;
            while let Ok(msg) = rx.try_recv() {
                match self.on_msg(msg) {
                    None => return self.close(),
                    Some(c) => changed |= c,
                }
            }
            let (c, emptied) = self.take_events(events);
            changed |= c;
            changed |= self.probes.take_events(&mut self.orch, &self.current);
            changed |= self.act();
            if changed {
                self.publish();
            }
            if !emptied || !events.park() || !self.probes.park() {
                continue;
            }
            let wake = [self.orch.next_wake(), self.probes.next_deadline()]
                .into_iter()
                .flatten()
                .min();
            let msg = match wake {
                Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return self.close(),
                },
                None => match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => return self.close(),
                },
            };
            if let Some(msg) = msg {
                match self.on_msg(msg) {
                    None => return self.close(),
                    Some(true) => self.publish(),
                    Some(false) => {}
                }
            }
            if self
                .probes
                .expire(Instant::now(), &mut self.orch, &self.current)
            {
                self.publish();
            }
        }
    }

    /// Tells every observer that no event follows.
    fn close(&mut self) {
        for o in self.observers.drain(..) {
            o.close();
        }
    }

    /// Handles one message: `None` to quit, else whether the policy was told something.
    fn on_msg(&mut self, msg: Msg) -> Option<bool> {
        let now = Instant::now();
        Some(match msg {
            Msg::Wake => false,
            Msg::Quit => return None,
            Msg::ProbeDone {
                unit,
                process,
                outcome,
            } => {
                if self.current[unit.index()] == Some(process) {
                    self.orch.probe_result(unit, outcome, now);
                }
                true
            }
            Msg::Request {
                units,
                owner,
                reply,
            } => {
                let answers = self.request(&units, owner, now);
                // Published before the answer: whoever asked sees the board that follows it.
                self.publish();
                if let Some(r) = reply {
                    let _ = r.send(answers);
                }
                false
            }
            Msg::Define { procs, reply } => {
                let defined = self.define(procs);
                self.publish();
                let _ = reply.send(defined);
                false
            }
            Msg::Stop {
                id,
                kill,
                by,
                reply,
            } => {
                let s = self.stop_process(id, kill, by.as_deref());
                self.publish();
                if let Some(r) = reply {
                    let _ = r.send(s);
                }
                false
            }
            Msg::Restart { id, by, reply } => {
                let r = self.restart(id, by.as_deref(), now);
                self.publish();
                if let Some(reply) = reply {
                    let _ = reply.send(r);
                }
                false
            }
            Msg::EndJob(job) => {
                self.suspended.remove(&job);
                // Its processes are being stopped: no probe of theirs is wanted.
                let owners = &self.owners;
                self.held_probes
                    .retain(|(u, _)| owners[u.index()] != Owner::Job(job));
                self.end_owner(Owner::Job(job));
                true
            }
            Msg::SignalJob { job, signal, reply } => {
                self.signal_job(job, signal);
                let _ = reply.send(());
                false
            }
            Msg::Observe(o) => {
                self.observers.push(o);
                false
            }
            Msg::Shutdown { kill } => {
                self.orch.shutdown(now);
                self.again.iter_mut().for_each(|a| *a = Again::No);
                if kill {
                    let sup = self.sup.clone();
                    spawn_stop(move || sup.stop_all(Duration::ZERO));
                }
                self.broadcast(SessionEvent::Closing, None, None);
                true
            }
        })
    }

    /// Asks for `units` (and their dependencies) for `owner`; answers for each.
    fn request(&mut self, units: &[UnitId], owner: Owner, now: Instant) -> Vec<Started> {
        let before: Vec<Option<ProcId>> = units.iter().map(|u| self.current[u.index()]).collect();
        let mut answers: Vec<Option<Started>> = vec![None; units.len()];
        let mut fresh = Vec::new();
        for (i, &u) in units.iter().enumerate() {
            match self.live_process(u) {
                Some((id, Status::Stopping)) => {
                    // Started again when the stop ends: the same in every face.
                    if self.again[u.index()] == Again::No {
                        self.again[u.index()] = Again::Start;
                    }
                    answers[i] = Some(Started::Pending { previous: Some(id) });
                }
                Some((id, _)) if self.orch.unit(u).phase().is_live() => {
                    answers[i] = Some(Started::Running(id));
                }
                None if self.ending(u) => {
                    // Its process has finished and its final event is on its way: it starts
                    // anew once the end is taken (a finished process is never a duplicate).
                    if self.again[u.index()] == Again::No {
                        self.again[u.index()] = Again::Start;
                    }
                    let previous = self.current[u.index()];
                    answers[i] = Some(Started::Pending { previous });
                }
                _ => fresh.push(u),
            }
        }
        if !fresh.is_empty() && !self.orch.is_shutting_down() {
            let live: Vec<bool> = self
                .orch
                .plan()
                .ids()
                .map(|u| self.orch.unit(u).phase().is_live())
                .collect();
            self.orch.request_many(&fresh, now);
            // Whatever this request brought to life is the requester's; what was live
            // already is only adopted.
            for u in self.orch.plan().ids() {
                if !live[u.index()] && self.orch.unit(u).phase().is_live() {
                    self.owners[u.index()] = owner;
                }
            }
        }
        // Started before the answer, so the answer can name the process.
        self.act();
        units
            .iter()
            .zip(answers)
            .zip(before)
            .map(|((&u, answer), previous)| answer.unwrap_or_else(|| self.answer_for(u, previous)))
            .collect()
    }

    /// What a fresh request of `u` came to, once acted on.
    fn answer_for(&self, u: UnitId, previous: Option<ProcId>) -> Started {
        let s = self.orch.unit(u);
        match (s.phase(), self.current[u.index()]) {
            (_, Some(id)) if Some(id) != previous => Started::New(id),
            (Phase::Done(o), _) if self.orch.is_shutting_down() || o.is_failure() => {
                Started::Failed(
                    s.reason()
                        .map_or_else(|| o.as_str().to_owned(), str::to_owned),
                )
            }
            (Phase::Idle, _) if self.orch.is_shutting_down() => {
                Started::Failed("the session is shutting down".to_owned())
            }
            _ => Started::Pending { previous },
        }
    }

    /// True when `u`'s policy still has its process running or stopping, while the process
    /// itself has finished: its final event is queued behind the state change.
    fn ending(&self, u: UnitId) -> bool {
        matches!(
            self.orch.unit(u).phase(),
            Phase::Starting | Phase::Running | Phase::Stopping
        ) && self.current[u.index()].is_some()
    }

    /// The unit's newest process and its status, if it has not finished.
    fn live_process(&self, u: UnitId) -> Option<(ProcId, Status)> {
        let id = self.current[u.index()]?;
        let p = self.sup.registry().get(id)?;
        let status = p.state().snapshot().status;
        (!status.is_finished()).then_some((id, status))
    }

    /// Adds dependency-free names (scripts, ad-hoc commands), or updates those that are not
    /// configured and not running; the catalog is shared once, after all of them.
    fn define(&mut self, procs: Vec<Proc>) -> Result<(), String> {
        let mut result = Ok(());
        let stack = Arc::make_mut(&mut self.stack);
        for proc in procs {
            if let Some(u) = self.orch.plan().find(&proc.name) {
                let old = &mut stack.procs[u.index()];
                // A configured process shadows a script of the same name.
                if old.origin != crate::def::Origin::Configured {
                    *old = proc;
                }
                continue;
            }
            let cfg = procsnap::orchestrate::UnitConfig::new(proc.name.clone());
            match self.orch.add_unit(cfg) {
                Ok(_) => {
                    stack.procs.push(proc);
                    self.current.push(None);
                    self.owners.push(Owner::Detached);
                    self.again.push(Again::No);
                    self.manual_restarts.push(0);
                }
                Err(e) => result = Err(e.to_string()),
            }
        }
        stack.plan = self.orch.plan().clone();
        self.share_stack();
        result
    }

    fn share_stack(&self) {
        *lock(&self.shared.stack) = self.stack.clone();
    }

    /// Stops process `id` (final: no restart follows), or cancels its name's wait or backoff.
    fn stop_process(&mut self, id: ProcId, kill: bool, by: Option<&str>) -> Stopping {
        let unit = self.unit_of(id);
        if let Some(u) = unit {
            self.again[u.index()] = Again::No;
            if self.current[u.index()] == Some(id) || self.current[u.index()].is_none() {
                let pending = matches!(
                    self.orch.unit(u).phase(),
                    Phase::Waiting | Phase::Backoff { .. }
                );
                self.orch.cancel(u);
                if pending {
                    self.note_by(u, "restart cancelled", by);
                    return Stopping::Cancelled;
                }
            }
        }
        let Some(p) = self.sup.registry().get(id) else {
            return Stopping::Finished;
        };
        if p.state().snapshot().is_finished() {
            return Stopping::Finished;
        }
        if let Some(u) = unit {
            self.note_by(u, if kill { "kill" } else { "stop" }, by);
        }
        self.stop_with_shutdown(id, unit, kill);
        Stopping::Process(id)
    }

    /// A line saying who asked for something, when somebody other than the owner did.
    fn note_by(&mut self, u: UnitId, what: &str, by: Option<&str>) {
        if let Some(by) = by {
            let n = Notice {
                name: self.stack.procs[u.index()].name.clone(),
                text: format!("{what} asked by {by}"),
                tone: board::Tone::Info,
            };
            self.note(u, n);
        }
    }

    /// Restarts process `id`: stop, then start again once stopped; a finished one starts
    /// anew. Answers the new process if it started at once.
    fn restart(
        &mut self,
        id: ProcId,
        by: Option<&str>,
        now: Instant,
    ) -> Result<Option<ProcId>, String> {
        let Some(u) = self.unit_of(id) else {
            return Err("not a process of this session".to_owned());
        };
        self.note_by(u, "restart", by);
        if self.live_process(u).is_some() {
            // Counted when the new process starts, once the stop has ended.
            self.again[u.index()] = Again::Restart;
            let current = self.current[u.index()].unwrap_or(id);
            self.stop_with_shutdown(current, Some(u), false);
            return Ok(None);
        }
        self.manual_restarts[u.index()] = self.manual_restarts[u.index()].saturating_add(1);
        let owner = self.owners[u.index()];
        match self.request(&[u], owner, now).pop() {
            Some(Started::New(id) | Started::Running(id)) => Ok(Some(id)),
            Some(Started::Failed(why)) => Err(why),
            _ => Ok(None),
        }
    }

    /// Stops every name of `owner`: cancels its waits and backoffs, stops its processes.
    fn end_owner(&mut self, owner: Owner) {
        let units: Vec<UnitId> = self
            .orch
            .plan()
            .ids()
            .filter(|u| self.owners[u.index()] == owner)
            .collect();
        for u in units {
            self.again[u.index()] = Again::No;
            self.orch.cancel(u);
            if let Some((id, _)) = self.live_process(u) {
                self.stop_with_shutdown(id, Some(u), false);
            }
        }
    }

    /// Sends `signal` to the group of every live process of `job`, and remembers whether
    /// the job is suspended (SIGTSTP or SIGSTOP) or resumed (SIGCONT: its held probes run).
    fn signal_job(&mut self, job: JobId, signal: procsnap::Signal) {
        if signal == procsnap::Signal::TSTP || signal == procsnap::Signal::STOP {
            self.suspended.insert(job);
        } else if signal == procsnap::Signal::CONT {
            self.suspended.remove(&job);
        }
        for u in self.orch.plan().ids() {
            if self.owners[u.index()] != Owner::Job(job) {
                continue;
            }
            if let Some((id, _)) = self.live_process(u) {
                // One that ended meanwhile has nothing to signal.
                let _ = self.sup.signal(id, signal);
            }
        }
        self.release_probes();
    }

    /// Whether `u` belongs to a suspended job.
    fn is_suspended(&self, u: UnitId) -> bool {
        self.owners[u.index()]
            .job()
            .is_some_and(|job| self.suspended.contains(&job))
    }

    /// Runs the held probes whose job is no longer suspended, of processes still current (the
    /// policy ignores the result of a probe of a process it no longer runs).
    fn release_probes(&mut self) {
        let held = std::mem::take(&mut self.held_probes);
        for (u, process) in held {
            if self.is_suspended(u) {
                self.held_probes.push((u, process));
            } else if self.current[u.index()] == Some(process) {
                self.probe(u, process);
            }
        }
    }

    /// Starts the readiness probe of `u`'s current `process`.
    fn probe(&mut self, u: UnitId, process: ProcId) {
        if let Some((check, timing)) = self.stack.procs[u.index()].probe.clone() {
            self.probes.start(u, process, check, timing, &self.tx);
        }
    }

    /// Stops `id` with its name's shutdown signal and timeout (SIGKILL at once with `kill`),
    /// without waiting: its exit comes as an event. (Every spawn of the session happens on
    /// this thread, so the process is never still `Pending` here, which `begin_stop` would wait
    /// out.)
    fn stop_with_shutdown(&self, id: ProcId, unit: Option<UnitId>, kill: bool) {
        let shutdown = unit.map(|u| self.stack.procs[u.index()].shutdown);
        // A number the configuration was checked to hold: never the fallback.
        let signal = shutdown
            .and_then(|s| procsnap::Signal::from_raw(s.signal))
            .unwrap_or(procsnap::Signal::TERM);
        let grace = if kill {
            Duration::ZERO
        } else {
            shutdown.and_then(|s| s.timeout).unwrap_or(self.cfg.grace)
        };
        let _ = self.sup.begin_stop(id, signal, grace);
    }

    /// Feeds queued events to the policy and the observers; (told it something, emptied).
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
                let unit = self.unit_of(id);
                let changed = unit.is_some_and(|u| self.on_state(u, id, state, now));
                self.broadcast(SessionEvent::State { id, state }, Some(id), unit);
                changed
            }
            SupervisorEvent::Line { id, line } => {
                let unit = self.unit_of(id);
                let changed = unit.is_some_and(|u| self.on_line(u, id, &line.text, now));
                self.broadcast(SessionEvent::Line { id, line }, Some(id), unit);
                changed
            }
            _ => false,
        }
    }

    fn on_state(
        &mut self,
        unit: UnitId,
        id: ProcId,
        state: procsnap::ProcessState,
        now: Instant,
    ) -> bool {
        let current = self.current[unit.index()];
        if state.status == Status::Running && current != Some(id) {
            // Started outside the policy's own start: adopt it.
            self.current[unit.index()] = Some(id);
            self.orch.started(unit, now);
            true
        } else if state.is_finished() && current == Some(id) {
            self.orch.exited(unit, state.status, state.exit, now);
            // Retention holds at every instant, not only at the next start.
            super::retain::prune(self.sup.registry(), &self.cfg, &self.shared.departed);
            let again = std::mem::replace(&mut self.again[unit.index()], Again::No);
            if again == Again::Restart {
                let n = &mut self.manual_restarts[unit.index()];
                *n = n.saturating_add(1);
            }
            if again != Again::No {
                let owner = self.owners[unit.index()];
                self.orch.request_many(&[unit], now);
                self.owners[unit.index()] = owner;
            }
            true
        } else {
            false
        }
    }

    fn on_line(&mut self, unit: UnitId, id: ProcId, text: &str, now: Instant) -> bool {
        let Some(ready) = &self.stack.procs[unit.index()].ready_line else {
            return false;
        };
        let s = self.orch.unit(unit);
        if self.current[unit.index()] != Some(id) || s.is_ready() || !ready.matches(text) {
            return false;
        }
        self.orch.log_ready(unit, now);
        true
    }

    /// Hands `ev` (about process `id` of `unit`) to every observer that takes it; forgets
    /// the observers that went away.
    fn broadcast(&mut self, ev: SessionEvent, id: Option<ProcId>, unit: Option<UnitId>) {
        let owner = unit.map(|u| self.owners[u.index()]);
        self.observers.retain(|o| !o.is_closed());
        for o in &self.observers {
            let takes = match o.filter {
                Filter::All => true,
                Filter::Owner(want) => {
                    owner == Some(want) || matches!(ev, SessionEvent::Board | SessionEvent::Closing)
                }
            };
            if takes {
                o.push(ev.clone(), id, &self.sup);
            }
        }
    }

    /// The unit process `id` belongs to, looked up once per process.
    fn unit_of(&mut self, id: ProcId) -> Option<UnitId> {
        if let Some(&u) = self.units_of.get(&id) {
            return u;
        }
        // A process dropped by retention while its last events were on their way here still
        // belongs to its unit (and its job's observers get them).
        let name = match self.sup.registry().get(id) {
            Some(p) => Some(p.name().to_owned()),
            None => self.shared.departed.name(id),
        };
        let unit = name.and_then(|n| self.orch.plan().find(&n));
        self.units_of.insert(id, unit);
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
            Action::Stop(u) => {
                if let Some(id) = self.current[u.index()] {
                    self.stop_with_shutdown(id, Some(u), false);
                }
            }
            Action::Probe(u) => {
                if let Some(process) = self.current[u.index()] {
                    if self.is_suspended(u) {
                        self.held_probes.push((u, process));
                    } else {
                        self.probe(u, process);
                    }
                }
            }
            Action::Report(u, r) => {
                let n = notice(&self.orch, u, &r);
                self.note(u, n);
            }
            _ => {}
        }
    }

    fn note(&mut self, unit: UnitId, n: Notice) {
        self.broadcast(SessionEvent::Notice(n), None, Some(unit));
    }

    fn start(&mut self, unit: UnitId) {
        let p = &self.stack.procs[unit.index()];
        let now = Instant::now();
        let spec = self
            .cfg
            .env
            .iter()
            .fold(p.spec.clone(), |spec, (k, v)| spec.env(k, v));
        // The state carries the name's restarts so far: the policy's and people's.
        let restarts = self
            .orch
            .unit(unit)
            .restarts()
            .saturating_add(self.manual_restarts[unit.index()]);
        match self.sup.run_unique_with(&p.name, spec, restarts) {
            Ok(r) => {
                // Ours, or the one somebody else started meanwhile: one process either way.
                let id = r.process().id();
                self.units_of.insert(id, Some(unit));
                self.current[unit.index()] = Some(id);
                self.orch.started(unit, now);
                if self.is_suspended(unit) {
                    // Its job is suspended: so is what its policy starts meanwhile.
                    let _ = self.sup.signal(id, procsnap::Signal::TSTP);
                }
                super::retain::prune(self.sup.registry(), &self.cfg, &self.shared.departed);
                self.units_of
                    .retain(|id, _| self.sup.registry().get(*id).is_some());
            }
            Err(e) => {
                let n = Notice {
                    name: p.name.clone(),
                    text: format!("failed to start: {e}"),
                    tone: board::Tone::Bad,
                };
                self.note(unit, n);
                self.orch.spawn_failed(unit, now);
            }
        }
    }

    pub(crate) fn publish(&mut self) {
        self.version += 1;
        let board = Board::build(
            &self.orch,
            (&self.current, &self.owners),
            &self.manual_restarts,
            &self.stack,
            self.version,
        );
        *lock(&self.shared.board) = board;
        self.shared.changed.notify_all();
        self.broadcast(SessionEvent::Board, None, None);
    }
}

/// Runs a blocking stop on a thread of its own; if no thread can be had, at once.
fn spawn_stop(stop: impl FnOnce() + Send + 'static) {
    let stop = std::sync::Arc::new(std::sync::Mutex::new(Some(stop)));
    let on_thread = stop.clone();
    let spawned = std::thread::Builder::new()
        .name("procsnap-stop".into())
        .spawn(move || {
            if let Some(f) = lock(&on_thread).take() {
                f();
            }
        });
    if spawned.is_err()
        && let Some(f) = lock(&stop).take()
    {
        f();
    }
}
