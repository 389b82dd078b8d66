//! The conductor: one thread that drives the orchestration policy
//! ([`procsnap::orchestrate::Orchestrator`]) over the [`Supervisor`].
//!
//! It takes every state change and line from a lossless subscription (an exit or a ready line
//! is never missed), feeds them to the policy, and carries out what the policy decides:
//! starts through [`Supervisor::run_unique`] (so a policy restart racing a manual run or
//! restart of the same name never makes a second process: the loser adopts the winner), stops
//! with each process's own `shutdown` signal and timeout on a helper thread (a stop blocks for
//! its grace), probes on helper threads within their timeouts. Processes of a configured name
//! started by somebody else (the terminal UI, a manual restart) are adopted.
//!
//! Front ends read the published [`Board`] and take the [`Notice`]s; they ask for processes,
//! cancel them and shut everything down with messages, never by touching the policy.

mod board;
pub mod probe;

pub use board::{Board, Notice, Tone, UnitView, countdown, notice, short};

use std::collections::HashMap;
use std::io;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use procsnap::orchestrate::{Action, Orchestrator, UnitId};
use procsnap::{ProcId, Subscription, Supervisor, SupervisorEvent};

use crate::compose::Stack;

/// Undelivered events the conductor's subscription holds before the supervisor stops reading
/// output (the conductor only scans lines for ready lines: it keeps up).
const HIGH_WATER: usize = 4096;
/// Events taken at once.
const BATCH: usize = 512;
/// Notices kept for a front end that does not take them.
const MAX_NOTICES: usize = 1024;

enum Msg {
    /// The subscription has events.
    Wake,
    ProbeDone {
        unit: UnitId,
        process: ProcId,
        ok: bool,
    },
    Request {
        unit: UnitId,
        reply: Option<SyncSender<Requested>>,
    },
    RequestAll,
    Cancel(UnitId),
    Shutdown,
    Quit,
}

/// What a request found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requested {
    /// The process was already waiting, starting, running or backing off.
    pub was_live: bool,
    /// Its newest process before the request.
    pub previous: Option<ProcId>,
    /// Its process running once the request was acted on (a new one, or the one that was
    /// running); `None` while it waits for dependencies or a backoff.
    pub running: Option<ProcId>,
}

struct Shared {
    board: Mutex<Board>,
    changed: Condvar,
    notices: Mutex<Vec<Notice>>,
    notify: Box<dyn Fn() + Send + Sync>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running conductor; dropping it ends its thread (the processes stay with the supervisor).
pub struct Conductor {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    stack: Arc<Stack>,
    thread: Option<JoinHandle<()>>,
}

impl Conductor {
    /// Starts the conductor for `stack` on `sup`. `grace` is the stop timeout of a process
    /// whose `shutdown.timeout_seconds` is not set; `notify` is called (on the conductor's
    /// thread: it must be quick) whenever the board changes or a notice is queued.
    pub fn start(
        sup: Arc<Supervisor>,
        stack: Arc<Stack>,
        grace: Duration,
        notify: impl Fn() + Send + Sync + 'static,
    ) -> io::Result<Conductor> {
        let (tx, rx) = channel();
        let shared = Arc::new(Shared {
            board: Mutex::new(Board::default()),
            changed: Condvar::new(),
            notices: Mutex::new(Vec::new()),
            notify: Box::new(notify),
        });
        let events = sup.subscribe_lossless(HIGH_WATER);
        let waker = tx.clone();
        events.set_waker(move || {
            let _ = waker.send(Msg::Wake);
        });
        let mut driver = Driver {
            orch: Orchestrator::new(stack.plan.clone()),
            current: vec![None; stack.plan.len()],
            owners: HashMap::new(),
            sup,
            stack: stack.clone(),
            grace,
            tx: tx.clone(),
            shared: shared.clone(),
            version: 0,
        };
        driver.publish();
        let thread = std::thread::Builder::new()
            .name("procsnap-conductor".into())
            .spawn(move || driver.run(&events, &rx))?;
        Ok(Conductor {
            tx,
            shared,
            stack,
            thread: Some(thread),
        })
    }

    /// The configuration it runs.
    pub fn stack(&self) -> &Arc<Stack> {
        &self.stack
    }

    /// Asks for every process that is not `disabled` (and their dependencies).
    pub fn request_all(&self) {
        let _ = self.tx.send(Msg::RequestAll);
    }

    /// Asks for the process called `name` and its dependencies, without waiting; `false` if
    /// no such process is configured.
    pub fn request(&self, name: &str) -> bool {
        let Some(unit) = self.stack.plan.find(name) else {
            return false;
        };
        self.tx.send(Msg::Request { unit, reply: None }).is_ok()
    }

    /// [`request`](Self::request), waiting for the conductor to have taken it (blocking: call
    /// it off an async runtime's thread). `None` if `name` is not configured or the conductor
    /// is gone.
    pub fn request_now(&self, name: &str) -> Option<Requested> {
        let unit = self.stack.plan.find(name)?;
        let (reply, answer) = sync_channel(1);
        self.tx
            .send(Msg::Request {
                unit,
                reply: Some(reply),
            })
            .ok()?;
        answer.recv().ok()
    }

    /// Cancels a wait or a backoff of `name` (a stop asked for by a person: final). A running
    /// process is stopped through the supervisor; its exit ends it the same way.
    pub fn cancel(&self, name: &str) {
        if let Some(unit) = self.stack.plan.find(name) {
            let _ = self.tx.send(Msg::Cancel(unit));
        }
    }

    /// Stops everything in reverse dependency order, each process with its own `shutdown`.
    pub fn shutdown(&self) {
        let _ = self.tx.send(Msg::Shutdown);
    }

    /// The board as of the last change.
    pub fn board(&self) -> Board {
        lock(&self.shared.board).clone()
    }

    /// The notices queued since the last call, oldest first.
    pub fn take_notices(&self) -> Vec<Notice> {
        std::mem::take(&mut *lock(&self.shared.notices))
    }

    /// Blocks until `check` returns something for the board, or `timeout` passes (then the
    /// last board is the error).
    pub fn wait_for<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Board) -> Option<T>,
    ) -> Result<T, Board> {
        let end = Instant::now() + timeout;
        let mut board = lock(&self.shared.board);
        loop {
            if let Some(t) = check(&board) {
                return Ok(t);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(board.clone());
            }
            board = self
                .shared
                .changed
                .wait_timeout(board, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for Conductor {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Quit);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The conductor's thread state.
struct Driver {
    sup: Arc<Supervisor>,
    stack: Arc<Stack>,
    orch: Orchestrator,
    /// The newest process of each unit.
    current: Vec<Option<ProcId>>,
    /// Which unit a process belongs to (`None`: not a configured name).
    owners: HashMap<ProcId, Option<UnitId>>,
    grace: Duration,
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    version: u64,
}

impl Driver {
    fn run(&mut self, events: &Subscription<SupervisorEvent>, rx: &Receiver<Msg>) {
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
        let stop = move || {
            let _ = sup.stop_with(id, shutdown.signal, grace);
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

    fn publish(&mut self) {
        self.version += 1;
        let board = Board::build(&self.orch, &self.current, self.version);
        *lock(&self.shared.board) = board;
        self.shared.changed.notify_all();
        (self.shared.notify)();
    }
}

#[cfg(test)]
mod tests;
