//! [`Session`]: one project's live processes and the one API every face drives them with.

use std::collections::HashMap;
use std::io;
use std::sync::mpsc::{Sender, channel, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use procsnap::orchestrate::{Orchestrator, UnitId};
use procsnap::{ProcId, ProcessState, Processes, Supervisor, SupervisorConfig};

use crate::conductor::{Board, Driver, HIGH_WATER, Msg, Shared, Started, Stopping, lock};
use crate::def::{Proc, Stack};
use crate::fmt::clip;
use crate::job::{JobId, Owner};
use crate::observer::{Filter, ObsShared, Observer, Pace};

/// How a session runs its processes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionConfig {
    /// The stop timeout (SIGTERM, then SIGKILL after it) of a name whose own `shutdown`
    /// does not say.
    pub grace: Duration,
    /// Finished runs kept per name, with their output (at least 1).
    pub keep_finished: usize,
    /// The most output bytes kept by finished runs in all; past it, fewer runs per name are
    /// kept (never fewer than one).
    pub finished_log_bytes: usize,
    /// Run the supervisor's watchdog (nothing left running even if this program is
    /// SIGKILLed) and raise the descriptor limit: what a supervising program wants.
    pub watchdog: bool,
    /// Variables set for every process the session starts (e.g. `FORCE_COLOR=1` when the
    /// owner shows colours), over each one's own environment.
    pub env: Vec<(String, String)>,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            grace: Duration::from_secs(5),
            keep_finished: 5,
            finished_log_bytes: 16 * 1024 * 1024,
            watchdog: false,
            env: Vec::new(),
        }
    }
}

impl SessionConfig {
    /// The stop timeout for names without their own.
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> SessionConfig {
        self.grace = grace;
        self
    }

    /// Finished runs kept per name (at least 1).
    #[must_use]
    pub fn keep_finished(mut self, n: usize) -> SessionConfig {
        self.keep_finished = n.max(1);
        self
    }

    /// The output bytes finished runs may keep in all.
    #[must_use]
    pub fn finished_log_bytes(mut self, bytes: usize) -> SessionConfig {
        self.finished_log_bytes = bytes;
        self
    }

    /// Sets `key=value` for every process the session starts.
    #[must_use]
    pub fn env(mut self, key: &str, value: &str) -> SessionConfig {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The watchdog and the raised descriptor limit (see the field).
    #[must_use]
    pub fn watchdog(mut self, on: bool) -> SessionConfig {
        self.watchdog = on;
        self
    }
}

/// One project's live processes, and every lifecycle rule over them (see
/// [`conductor`](crate::conductor) for the rules). Faces read its processes, board and
/// events, and ask it to start, stop and restart; none of them calls the supervisor's
/// lifecycle methods. Dropping it stops everything it runs.
pub struct Session {
    sup: Arc<Supervisor>,
    tx: Mutex<Sender<Msg>>,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    cfg: SessionConfig,
}

/// Undelivered events kept for a bounded observer by default.
pub const OBSERVER_CAPACITY: usize = 1024;

impl Session {
    /// Starts a session for `stack` (its configured processes; scripts and ad-hoc commands
    /// are added with [`define`](Self::define)). Nothing runs until something is asked for.
    ///
    /// # Errors
    ///
    /// The supervisor or the session's thread could not be started.
    pub fn open(stack: Stack, cfg: SessionConfig) -> io::Result<Session> {
        let sup_cfg = SupervisorConfig::default()
            .grace(cfg.grace)
            .event_capacity(OBSERVER_CAPACITY)
            .watchdog(cfg.watchdog)
            .raise_nofile(cfg.watchdog);
        let sup = Arc::new(Supervisor::with_config(sup_cfg)?);
        let (tx, rx) = channel();
        let stack = Arc::new(stack);
        let shared = Arc::new(Shared {
            board: Mutex::new(Board::default()),
            changed: Condvar::new(),
            stack: Mutex::new(stack.clone()),
            departed: Default::default(),
        });
        let events = sup.subscribe_lossless(HIGH_WATER);
        let waker = tx.clone();
        events.set_waker(move || {
            let _ = waker.send(Msg::Wake);
        });
        let n = stack.plan.len();
        let mut driver = Driver {
            sup: sup.clone(),
            cfg: cfg.clone(),
            orch: Orchestrator::new(stack.plan.clone()),
            stack,
            current: vec![None; n],
            owners: vec![Owner::Detached; n],
            again: vec![crate::conductor::Again::No; n],
            manual_restarts: vec![0; n],
            suspended: Default::default(),
            held_probes: Vec::new(),
            units_of: HashMap::new(),
            observers: Vec::new(),
            probes: crate::conductor::Probes::new(cfg.watchdog),
            tx: tx.clone(),
            shared: shared.clone(),
            version: 0,
        };
        driver.publish();
        let thread = std::thread::Builder::new()
            .name("procsnap-session".into())
            .spawn(move || driver.run(&events, &rx))?;
        Ok(Session {
            sup,
            tx: Mutex::new(tx),
            shared,
            thread: Mutex::new(Some(thread)),
            cfg,
        })
    }

    fn send(&self, msg: Msg) -> bool {
        lock(&self.tx).send(msg).is_ok()
    }

    /// Sends a message carrying a reply channel and waits for the answer (`None` if the
    /// session's thread is gone). Blocks for as long as the thread takes to act on it
    /// (microseconds; a spawn at most): call it off an async runtime's thread.
    fn ask<T>(&self, make: impl FnOnce(std::sync::mpsc::SyncSender<T>) -> Msg) -> Option<T> {
        let (reply, answer) = sync_channel(1);
        if !self.send(make(reply)) {
            return None;
        }
        answer.recv().ok()
    }

    /// The session's configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// Every process of the session (live, and the finished runs kept), read-only.
    pub fn processes(&self) -> &Processes {
        self.sup.registry()
    }

    /// The name of process `id`: in [`processes`](Self::processes), or one of the newest
    /// dropped by retention (an observer may still hold events about it).
    pub fn name_of(&self, id: ProcId) -> Option<String> {
        match self.processes().get(id) {
            Some(p) => Some(p.name().to_owned()),
            None => self.shared.departed.name(id),
        }
    }

    /// The label (`name-N`) of process `id`, as [`name_of`](Self::name_of) finds it.
    pub fn label_of(&self, id: ProcId) -> Option<String> {
        match self.processes().get(id) {
            Some(p) => Some(p.label()),
            None => self.shared.departed.label(id),
        }
    }

    /// What the session can run, as of now (scripts defined later included).
    pub fn stack(&self) -> Arc<Stack> {
        lock(&self.shared.stack).clone()
    }

    /// The board as of the last change: every name's phase, readiness, backoff, owner.
    pub fn board(&self) -> Board {
        lock(&self.shared.board).clone()
    }

    /// Blocks until `check` returns something for the board, or `timeout` passes (then the
    /// last board is the error).
    ///
    /// # Errors
    ///
    /// The timeout passed first: the board as it was then.
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

    /// Adds a dependency-free name the session can run (a package.json script, a Procfile
    /// entry, an ad-hoc command), or updates its command while it is not configured. A
    /// configured process of the same name wins.
    ///
    /// # Errors
    ///
    /// The session has ended, or the name cannot be added.
    pub fn define(&self, proc: Proc) -> Result<(), String> {
        self.define_all(vec![proc])
    }

    /// [`define`](Self::define) for many names at once (one catalog update for all).
    ///
    /// # Errors
    ///
    /// The session has ended, or a name cannot be added (the others are).
    pub fn define_all(&self, procs: Vec<Proc>) -> Result<(), String> {
        self.ask(|reply| Msg::Define { procs, reply })
            .ok_or_else(gone)?
    }

    fn units(&self, names: &[&str]) -> Result<Vec<UnitId>, String> {
        let stack = self.stack();
        let mut units = Vec::with_capacity(names.len());
        for n in names {
            match stack.plan.find(n) {
                Some(u) => units.push(u),
                None => {
                    let known: Vec<&str> = stack.procs.iter().map(|p| p.name.as_str()).collect();
                    return Err(format!(
                        "unknown name {:?}; this session runs: {}",
                        clip(n),
                        if known.is_empty() {
                            "nothing".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ));
                }
            }
        }
        Ok(units)
    }

    /// Starts `names` (each after its dependencies) for `owner`, in one request: a
    /// dependency several of them share runs once. Answers for each name, in order, once the
    /// request was acted on.
    ///
    /// # Errors
    ///
    /// A name the session does not know (the message lists those it does), or the session
    /// has ended.
    pub fn start(&self, names: &[&str], owner: Owner) -> Result<Vec<Started>, String> {
        let units = self.units(names)?;
        self.ask(|reply| Msg::Request {
            units,
            owner,
            reply: Some(reply),
        })
        .ok_or_else(gone)
    }

    /// Starts every configured name that is not `disabled` (and what they depend on), for
    /// `owner`; answers with their names.
    ///
    /// # Errors
    ///
    /// The session has ended.
    pub fn start_default(&self, owner: Owner) -> Result<Vec<(String, Started)>, String> {
        let stack = self.stack();
        let units = stack.plan.default_set();
        let names: Vec<String> = units
            .iter()
            .map(|&u| stack.plan.unit(u).name.clone())
            .collect();
        let answers = self
            .ask(|reply| Msg::Request {
                units,
                owner,
                reply: Some(reply),
            })
            .ok_or_else(gone)?;
        Ok(names.into_iter().zip(answers).collect())
    }

    /// Stops process `id` with its name's shutdown signal and timeout (`kill`: SIGKILL at
    /// once); final: no restart follows. A process whose name is waiting or in a restart
    /// backoff has that cancelled instead. Returns at once; the end comes as an event, or
    /// [`wait`](Self::wait) for it. `by` names who asked, for the other faces' output.
    pub fn stop(&self, id: ProcId, kill: bool, by: Option<&str>) -> Stopping {
        let by = by.map(str::to_owned);
        self.ask(|reply| Msg::Stop {
            id,
            kill,
            by,
            reply: Some(reply),
        })
        .unwrap_or(Stopping::Finished)
    }

    /// Restarts process `id`: stops it (its own shutdown), and starts its name again once
    /// the stop has ended, in the same job. A finished one starts anew at once. Returns the
    /// new process if it started at once, `None` if it starts after the stop.
    ///
    /// # Errors
    ///
    /// `id` is not a process of this session, its name cannot start, or the session ended.
    pub fn restart(&self, id: ProcId, by: Option<&str>) -> Result<Option<ProcId>, String> {
        let by = by.map(str::to_owned);
        self.ask(|reply| Msg::Restart {
            id,
            by,
            reply: Some(reply),
        })
        .ok_or_else(gone)?
    }

    /// Waits until process `id` has finished; its final state (`None` if it is not known).
    pub fn wait(&self, id: ProcId) -> Option<ProcessState> {
        self.sup.wait(id)
    }

    /// A new job (see [`crate::job`]).
    pub fn new_job(&self) -> JobId {
        JobId::fresh()
    }

    /// Ends `job`: stops everything it started (not what it adopted), each with its own
    /// shutdown signal and timeout; no restart follows.
    pub fn end_job(&self, job: JobId) {
        self.send(Msg::EndJob(job));
    }

    /// Stops everything in reverse dependency order, each with its own shutdown; `kill`
    /// sends SIGKILL to every group at once as well. Returns at once; see
    /// [`wait_idle`](Self::wait_idle).
    pub fn shutdown(&self, kill: bool) {
        self.send(Msg::Shutdown { kill });
    }

    /// Waits up to `timeout` until no process of the session is left unfinished and nothing
    /// is pending; true if so.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        if self.wait_for(timeout, |b| b.settled.then_some(())).is_err() {
            return false;
        }
        // Settled: what is left unfinished is being stopped; each stop ends within its grace
        // and the SIGKILL after it.
        let live: Vec<ProcId> = procsnap::Reader::new()
            .list(self.processes())
            .filter(|(_, s)| !s.is_finished())
            .map(|(p, _)| p.id())
            .collect();
        for id in live {
            self.sup.wait(id);
        }
        true
    }

    /// A new observer of the session's events (see [`crate::observer`]).
    pub fn observe(&self, filter: Filter, pace: Pace) -> Observer {
        let shared = ObsShared::new(filter, pace);
        if !self.send(Msg::Observe(shared.clone())) {
            shared.close();
        }
        Observer { shared }
    }

    /// Sends `signal` to every live process group (job control: SIGTSTP to suspend them
    /// with their terminal, SIGCONT to resume them).
    pub fn signal_all(&self, signal: i32) {
        if let Some(signal) = procsnap::Signal::from_raw(signal) {
            self.sup.signal_all(signal);
        }
    }

    /// Sends `signal` to the group of every live process of `job` (job control for a client
    /// whose job runs here); the others are left alone. After SIGTSTP (or SIGSTOP) the job is
    /// suspended: a process its policy starts meanwhile (a restart) is suspended at its start,
    /// until SIGCONT resumes the job.
    pub fn signal_job(&self, job: JobId, signal: i32) {
        let Some(signal) = procsnap::Signal::from_raw(signal) else {
            return;
        };
        self.ask(|reply| Msg::SignalJob { job, signal, reply });
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.send(Msg::Shutdown { kill: false });
        self.sup.stop_all(self.cfg.grace);
        self.send(Msg::Quit);
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
        // The final sweep of escapees and the watchdog's end, waited for (dropping the
        // supervisor only starts them).
        self.sup.shutdown();
    }
}

fn gone() -> String {
    "the session has ended".to_owned()
}
