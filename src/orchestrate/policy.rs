//! [`Orchestrator`]: the policy. Told what happened, asked what to do at an instant.

use std::mem;
use std::time::{Duration, Instant};

use super::action::{Action, Report};
use super::config::{Restart, UnitConfig};
use super::plan::{Edge, Gate, Plan, PlanError, UnitId};
use super::unit::{Outcome, Phase, ProcessChecks, Run, UnitState};
use crate::state::{Exit, Status};

/// The orchestration policy: dependencies, readiness and restarts, as a pure state machine.
///
/// It holds no clock and does no I/O: what it decides depends only on the [`Plan`], what it
/// was told (a process started, ended, printed its ready line, passed a probe) and the `now`
/// passed in, so it is tested with a made-up clock. A driver feeds it the supervisor's events
/// and carries out its [`Action`]s, calling [`step`](Self::step) after every change and again
/// at [`next_wake`](Self::next_wake).
///
/// Rules:
/// - A name starts once every dependency's condition holds; a dependency that can no longer
///   meet it (it ended for good before) blocks the name at once, with a reason naming it.
/// - After an exit: a stop somebody asked for is final; otherwise the restart policy decides,
///   with an exponential [`Backoff`](super::Backoff), until `max_restarts` is used up.
/// - [`shutdown`](Self::shutdown) cancels waits and backoffs and stops the running names in
///   reverse dependency order: a name is stopped once nothing that depends on it still runs.
///
/// ```
/// use procsnap::orchestrate::{Action, Condition, Orchestrator, Plan, UnitConfig};
/// use procsnap::Status;
/// use std::time::{Duration, Instant};
///
/// let plan = Plan::new(vec![
///     UnitConfig::new("db").ready_log_line(true),
///     UnitConfig::new("api").depends_on("db", Condition::Default),
/// ])
/// .unwrap();
/// let (db, api) = (plan.find("db").unwrap(), plan.find("api").unwrap());
/// let mut orch = Orchestrator::new(plan);
/// let t0 = Instant::now(); // any instant: the orchestrator never reads the clock
///
/// orch.request_all(t0);
/// assert!(orch.step(t0).contains(&Action::Start(db)));
/// orch.started(db, t0);
/// assert!(!orch.step(t0).contains(&Action::Start(api))); // db is not ready yet
/// orch.log_ready(db, t0 + Duration::from_secs(1));
/// assert!(orch.step(t0 + Duration::from_secs(1)).contains(&Action::Start(api)));
/// ```
#[derive(Clone, Debug)]
pub struct Orchestrator {
    plan: Plan,
    units: Vec<UnitState>,
    pending: Vec<Action>,
    shutting_down: bool,
    exit_requested: bool,
    exit_code: Option<i32>,
}

impl Orchestrator {
    /// An orchestrator for `plan`, every name idle.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Plan};
    /// let orch = Orchestrator::new(Plan::new(Vec::new()).unwrap());
    /// assert!(orch.is_settled());
    /// ```
    pub fn new(plan: Plan) -> Orchestrator {
        let units = plan.ids().map(|u| UnitState::new(plan.unit(u))).collect();
        Orchestrator {
            plan,
            units,
            pending: Vec::new(),
            shutting_down: false,
            exit_requested: false,
            exit_code: None,
        }
    }

    /// Adds a process to the plan while it runs (a script or an ad-hoc command started
    /// beside the configured ones), idle until it is asked for. Its dependencies must already
    /// be in the plan and its name must be new ([`Plan::add`]).
    ///
    /// ```
    /// use procsnap::orchestrate::{Action, Orchestrator, Plan, PlanError, Restart, UnitConfig};
    /// use std::time::Instant;
    /// let mut orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("db")]).unwrap());
    /// let now = Instant::now();
    /// let dev = orch.add_unit(UnitConfig::new("dev").restart(Restart::No)).unwrap();
    /// orch.request(dev, now);
    /// assert_eq!(orch.step(now), [Action::Start(dev)]);
    /// let again = orch.add_unit(UnitConfig::new("dev"));
    /// assert!(matches!(again, Err(PlanError::DuplicateName { .. })));
    /// ```
    pub fn add_unit(&mut self, unit: UnitConfig) -> Result<UnitId, PlanError> {
        let state = UnitState::new(&unit);
        let id = self.plan.add(unit)?;
        self.units.push(state);
        Ok(id)
    }

    /// The plan.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Plan, UnitConfig};
    /// let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("a")]).unwrap());
    /// assert_eq!(orch.plan().len(), 1);
    /// ```
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// What is known about `unit`.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Phase, Plan, UnitConfig};
    /// let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("a")]).unwrap());
    /// assert_eq!(orch.unit(orch.plan().find("a").unwrap()).phase(), Phase::Idle);
    /// ```
    pub fn unit(&self, unit: UnitId) -> &UnitState {
        &self.units[unit.0]
    }

    /// True once [`shutdown`](Self::shutdown) was called (or `exit_on_failure` fired).
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Plan};
    /// use std::time::Instant;
    /// let mut orch = Orchestrator::new(Plan::new(Vec::new()).unwrap());
    /// orch.shutdown(Instant::now());
    /// assert!(orch.is_shutting_down());
    /// ```
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// True when a name under `exit_on_failure` failed.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Plan};
    /// assert!(!Orchestrator::new(Plan::new(Vec::new()).unwrap()).exit_requested());
    /// ```
    pub fn exit_requested(&self) -> bool {
        self.exit_requested
    }

    /// The exit code the whole run should end with because a name under `exit_on_failure`
    /// failed: its process's own exit code, 128 + the signal for a death by signal, 1 for a
    /// process that could not start or whose status is unknown. `None` while none failed.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Plan, Restart, UnitConfig};
    /// use procsnap::{Exit, Status};
    /// use std::time::Instant;
    /// let plan = Plan::new(vec![UnitConfig::new("job").restart(Restart::ExitOnFailure)]).unwrap();
    /// let mut orch = Orchestrator::new(plan);
    /// let job = orch.plan().find("job").unwrap();
    /// let now = Instant::now();
    /// orch.started(job, now);
    /// orch.exited(job, Status::Failed, Some(Exit::Code(42)), now);
    /// assert_eq!(orch.exit_code(), Some(42));
    /// ```
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// True when nothing is left to happen: no name waits, starts, runs, stops or backs off.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Plan, UnitConfig};
    /// use std::time::Instant;
    /// let mut orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("a")]).unwrap());
    /// orch.request_all(Instant::now());
    /// assert!(!orch.is_settled());
    /// ```
    pub fn is_settled(&self) -> bool {
        self.units.iter().all(|u| !u.phase.is_live())
    }

    /// True when some name ended in failure (failed, gave up or blocked).
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Plan};
    /// assert!(!Orchestrator::new(Plan::new(Vec::new()).unwrap()).any_failed());
    /// ```
    pub fn any_failed(&self) -> bool {
        self.units
            .iter()
            .any(|u| matches!(u.phase, Phase::Done(o) if o.is_failure()))
    }

    /// Asks for `unit` and everything it depends on, as [`request_many`](Self::request_many)
    /// does for one name. Returns true if `unit` itself was live already.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Phase, Plan, UnitConfig};
    /// use std::time::Instant;
    /// let mut orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("a")]).unwrap());
    /// let a = orch.plan().find("a").unwrap();
    /// assert!(!orch.request(a, Instant::now()));
    /// assert_eq!(orch.unit(a).phase(), Phase::Waiting);
    /// assert!(orch.request(a, Instant::now()));
    /// ```
    pub fn request(&mut self, unit: UnitId, now: Instant) -> bool {
        let was_live = self.units[unit.0].phase.is_live();
        self.request_many(&[unit], now);
        was_live
    }

    /// Asks for `units` and everything they depend on, in one request.
    ///
    /// A named unit that is over (or idle) starts a new run: its restart count and conditions
    /// start afresh. A dependency that is not named starts only if it has not run since it
    /// was last asked for (idle, blocked, or cancelled before it started): a dependency that
    /// ran — a one-shot that succeeded, a process that failed or was stopped — is never run
    /// again for a dependent; its dependents are gated on how that run ended. Only its own
    /// restart policy, or a request naming it, runs it again. Live units are left as they are;
    /// nothing is asked for during a shutdown.
    ///
    /// ```
    /// use procsnap::orchestrate::{Action, Condition, Orchestrator, Plan, UnitConfig};
    /// use procsnap::Status;
    /// use std::time::Instant;
    /// let plan = Plan::new(vec![
    ///     UnitConfig::new("migrate"),
    ///     UnitConfig::new("api").depends_on("migrate", Condition::CompletedSuccessfully),
    ///     UnitConfig::new("worker").depends_on("migrate", Condition::CompletedSuccessfully),
    /// ])
    /// .unwrap();
    /// let [m, api, worker] = ["migrate", "api", "worker"].map(|n| plan.find(n).unwrap());
    /// let mut orch = Orchestrator::new(plan);
    /// let now = Instant::now();
    /// orch.request_many(&[api], now);
    /// assert_eq!(orch.step(now)[0], Action::Start(m));
    /// orch.started(m, now);
    /// orch.exited(m, Status::Success, None, now);
    /// assert!(orch.step(now).contains(&Action::Start(api)));
    /// orch.request_many(&[worker], now); // migrate ran: it is not run again
    /// assert!(orch.step(now).contains(&Action::Start(worker)));
    /// ```
    pub fn request_many(&mut self, units: &[UnitId], now: Instant) {
        let _ = now;
        if self.shutting_down {
            return;
        }
        let mut named = vec![false; self.units.len()];
        for u in units {
            named[u.0] = true;
        }
        for u in self.plan.closure_of(units) {
            let s = &mut self.units[u.0];
            let named = named[u.0];
            let ran = s.run.started || s.phase == Phase::Done(Outcome::Stopped);
            if !s.phase.is_live() && (named || !ran) {
                s.phase = Phase::Waiting;
                s.restarts = 0;
                s.quick = 0;
                s.reason = None;
                s.run = Run::default();
                s.announced = false;
            }
        }
    }

    /// Asks for every name that is not `disabled` (and what they depend on), in one request.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Phase, Plan, UnitConfig};
    /// use std::time::Instant;
    /// let plan = Plan::new(vec![UnitConfig::new("a"), UnitConfig::new("b").disabled(true)]).unwrap();
    /// let mut orch = Orchestrator::new(plan);
    /// orch.request_all(Instant::now());
    /// assert_eq!(orch.unit(orch.plan().find("b").unwrap()).phase(), Phase::Idle);
    /// ```
    pub fn request_all(&mut self, now: Instant) {
        let enabled: Vec<UnitId> = self
            .plan
            .ids()
            .filter(|&u| !self.plan.unit(u).disabled)
            .collect();
        self.request_many(&enabled, now);
    }

    /// A process of `unit` runs: the one a [`Start`](Action::Start) asked for, or one somebody
    /// else started (a manual run or restart: a new run, with its restart count afresh).
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Phase, Plan, UnitConfig};
    /// use std::time::Instant;
    /// let mut orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("a")]).unwrap());
    /// let a = orch.plan().find("a").unwrap();
    /// orch.started(a, Instant::now()); // started by hand: adopted
    /// assert_eq!(orch.unit(a).phase(), Phase::Running);
    /// ```
    pub fn started(&mut self, unit: UnitId, now: Instant) {
        let probe = self.plan.unit(unit).probe;
        let checks = self.plan.unit(unit).has_readiness();
        let s = &mut self.units[unit.0];
        if s.phase != Phase::Starting {
            // Somebody else's start: a fresh run.
            s.restarts = 0;
            s.quick = 0;
            s.reason = None;
            if !s.phase.is_live() {
                s.run = Run::default();
            }
        }
        s.phase = Phase::Running;
        s.announced = false;
        s.run.started = true;
        s.process = ProcessChecks {
            since: Some(now),
            ready: !checks,
            next_probe: probe.map(|p| now + p.initial_delay),
            ..ProcessChecks::default()
        };
        if !checks {
            s.run.ready = true;
        }
    }

    /// The [`Start`](Action::Start) of `unit` failed (the program is missing, say): counted
    /// as a failed run.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Outcome, Phase, Plan, UnitConfig};
    /// use std::time::Instant;
    /// let mut orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("a")]).unwrap());
    /// let a = orch.plan().find("a").unwrap();
    /// orch.request(a, Instant::now());
    /// orch.step(Instant::now());
    /// orch.spawn_failed(a, Instant::now());
    /// assert_eq!(orch.unit(a).phase(), Phase::Done(Outcome::Failed));
    /// ```
    pub fn spawn_failed(&mut self, unit: UnitId, now: Instant) {
        if self.units[unit.0].phase != Phase::Starting {
            return;
        }
        self.units[unit.0].process = ProcessChecks::default();
        self.ended(unit, Status::Failed, None, now);
    }

    /// The current process of `unit` ended with `status` (`Success`, `Failed`, or `Stopped`
    /// when somebody asked it to stop) and `exit`. Ignored unless a process of it was starting,
    /// running or stopping.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Outcome, Phase, Plan, Restart, UnitConfig};
    /// use procsnap::{Exit, Status};
    /// use std::time::Instant;
    /// let plan = Plan::new(vec![UnitConfig::new("w").restart(Restart::Always)]).unwrap();
    /// let mut orch = Orchestrator::new(plan);
    /// let w = orch.plan().find("w").unwrap();
    /// let now = Instant::now();
    /// orch.started(w, now);
    /// orch.exited(w, Status::Stopped, Some(Exit::Signal(15)), now); // a manual stop is final
    /// assert_eq!(orch.unit(w).phase(), Phase::Done(Outcome::Stopped));
    /// ```
    pub fn exited(&mut self, unit: UnitId, status: Status, exit: Option<Exit>, now: Instant) {
        if !matches!(
            self.units[unit.0].phase,
            Phase::Starting | Phase::Running | Phase::Stopping
        ) {
            return;
        }
        self.ended(unit, status, exit, now);
    }

    fn ended(&mut self, unit: UnitId, status: Status, exit: Option<Exit>, now: Instant) {
        let cfg = self.plan.unit(unit);
        let (restart, max, backoff) = (cfg.restart, cfg.max_restarts, cfg.backoff);
        let shutting_down = self.shutting_down;
        let s = &mut self.units[unit.0];
        let ran = s
            .process
            .since
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        // Stopped because its readiness probe kept failing: a failure its policy restarts.
        let unready = s.process.unready_stop.take();
        let status = match (status, &unready) {
            (Status::Stopped, Some(_)) if !shutting_down => Status::Failed,
            _ => status,
        };
        s.process = ProcessChecks::default();
        s.last_exit = exit;
        let success = status == Status::Success;
        s.run.succeeded = success;
        let how = match unready {
            Some(why) => format!("stopped: {why}"),
            None => describe(status, exit),
        };
        let policy_restarts = match status {
            Status::Stopped => false,
            Status::Success => restart == Restart::Always,
            _ => matches!(restart, Restart::OnFailure | Restart::Always),
        };
        let again = policy_restarts && !shutting_down;
        // A failure its policy would restart after its restarts were used up (a success that
        // the shutdown ends is a success).
        let gave_up =
            policy_restarts && max > 0 && s.restarts >= max && (again || status != Status::Success);
        if !again && !gave_up {
            let outcome = match status {
                Status::Stopped => Outcome::Stopped,
                Status::Success => Outcome::Succeeded,
                // Its policy would restart it: the shutdown, not the failure, ends the name.
                _ if policy_restarts => Outcome::Cancelled,
                _ => Outcome::Failed,
            };
            s.phase = Phase::Done(outcome);
            s.reason = Some(if outcome == Outcome::Cancelled {
                format!("{how}; its restart cancelled by the shutdown")
            } else {
                how
            });
            if outcome == Outcome::Failed && restart == Restart::ExitOnFailure && !shutting_down {
                self.exit_requested = true;
                self.exit_code = Some(exit_code(exit));
                self.pending
                    .push(Action::Report(unit, Report::ExitRequested));
                self.shutdown(now);
            }
            return;
        }
        if gave_up {
            let why = format!("{how}; gave up after {max} restarts (max_restarts)");
            s.phase = Phase::Done(Outcome::GaveUp);
            s.reason = Some(why.clone());
            self.pending.push(Action::Report(unit, Report::GaveUp(why)));
            return;
        }
        if backoff.is_stable(ran) {
            s.quick = 0;
        }
        let delay = backoff.delay(s.quick);
        s.quick = s.quick.saturating_add(1);
        s.last_delay = Some(delay);
        s.reason = Some(how);
        s.phase = Phase::Backoff { until: now + delay };
        let restart = s.restarts + 1;
        self.pending
            .push(Action::Report(unit, Report::Restarting { delay, restart }));
    }

    /// The current process of `unit` printed its ready log line.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Plan, UnitConfig};
    /// use std::time::Instant;
    /// let plan = Plan::new(vec![UnitConfig::new("db").ready_log_line(true)]).unwrap();
    /// let mut orch = Orchestrator::new(plan);
    /// let db = orch.plan().find("db").unwrap();
    /// orch.started(db, Instant::now());
    /// assert!(!orch.unit(db).is_ready());
    /// orch.log_ready(db, Instant::now());
    /// assert!(orch.unit(db).is_ready());
    /// ```
    pub fn log_ready(&mut self, unit: UnitId, now: Instant) {
        let _ = now;
        let s = &mut self.units[unit.0];
        if s.phase != Phase::Running || s.process.log_ready {
            return;
        }
        s.process.log_ready = true;
        s.run.log_ready = true;
        self.update_ready(unit);
    }

    /// The probe of `unit` issued by a [`Probe`](Action::Probe) passed (`Ok`) or failed
    /// (`Err` with why: `connection refused`, `exit code 1`, `timed out after 1s`). Ignored
    /// unless one was issued for its current process.
    ///
    /// A failure makes a process that is not ready yet [`NotReady`](super::Health::NotReady)
    /// with the failure as its [`reason`](super::UnitState::reason); `failure_threshold`
    /// failures in a row make a ready process not ready, and under `on_failure` or `always`
    /// stop it (an [`Action::Stop`]) so that its policy restarts it.
    ///
    /// ```
    /// use procsnap::orchestrate::{Action, Health, Orchestrator, Plan, ProbeTiming, UnitConfig};
    /// use std::time::Instant;
    /// let plan = Plan::new(vec![UnitConfig::new("web").probe(ProbeTiming::default())]).unwrap();
    /// let mut orch = Orchestrator::new(plan);
    /// let web = orch.plan().find("web").unwrap();
    /// let now = Instant::now();
    /// orch.started(web, now);
    /// assert_eq!(orch.step(now), [Action::Probe(web)]);
    /// orch.probe_result(web, Err("connection refused".into()), now);
    /// assert_eq!(orch.unit(web).health(), Health::NotReady);
    /// assert_eq!(
    ///     orch.unit(web).reason(),
    ///     Some("readiness probe failed 1 time in a row (connection refused)")
    /// );
    /// ```
    pub fn probe_result(&mut self, unit: UnitId, result: Result<(), String>, now: Instant) {
        let cfg = self.plan.unit(unit);
        let Some(timing) = cfg.probe else {
            return;
        };
        let restarts = matches!(cfg.restart, Restart::OnFailure | Restart::Always);
        let shutting_down = self.shutting_down;
        let s = &mut self.units[unit.0];
        if s.phase != Phase::Running || !s.process.probing {
            return;
        }
        let p = &mut s.process;
        p.probing = false;
        p.next_probe = Some(now + timing.period);
        let why = match result {
            Ok(()) => {
                p.successes = p.successes.saturating_add(1);
                p.failures = 0;
                p.why = None;
                if p.successes >= timing.success_threshold.max(1) && !p.probe_ready {
                    p.probe_ready = true;
                    p.probe_failing = false;
                    s.run.probe_ready = true;
                    self.update_ready(unit);
                }
                return;
            }
            Err(why) => why,
        };
        p.failures = p.failures.saturating_add(1);
        p.successes = 0;
        let times = if p.failures == 1 { "time" } else { "times" };
        let why = format!(
            "readiness probe failed {} {times} in a row ({why})",
            p.failures
        );
        p.why = Some(why.clone());
        if p.failures < timing.failure_threshold.max(1) || p.probe_failing {
            return;
        }
        p.probe_failing = true;
        p.probe_ready = false;
        p.ready = false;
        self.pending
            .push(Action::Report(unit, Report::NotReady(why.clone())));
        if restarts && !shutting_down {
            s.process.unready_stop = Some(format!("not ready: {why}"));
            s.phase = Phase::Stopping;
            self.pending.push(Action::Stop(unit));
        }
    }

    /// Recomputes the readiness of `unit`'s current process; reports it once it is ready.
    fn update_ready(&mut self, unit: UnitId) {
        let cfg = self.plan.unit(unit);
        let s = &mut self.units[unit.0];
        let p = &mut s.process;
        let ready = (!cfg.ready_log_line || p.log_ready) && (cfg.probe.is_none() || p.probe_ready);
        if ready && !p.ready {
            p.ready = true;
            s.run.ready = true;
            self.pending.push(Action::Report(unit, Report::Ready));
        }
    }

    /// Cancels what is pending for `unit` without a process to stop (a wait for
    /// dependencies, a backoff): a stop asked for by a person, final like any stop. A running
    /// process is stopped through the supervisor instead, and its exit reported.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Outcome, Phase, Plan, UnitConfig};
    /// use std::time::Instant;
    /// let mut orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("a")]).unwrap());
    /// let a = orch.plan().find("a").unwrap();
    /// orch.request(a, Instant::now());
    /// orch.cancel(a);
    /// assert_eq!(orch.unit(a).phase(), Phase::Done(Outcome::Stopped));
    /// ```
    pub fn cancel(&mut self, unit: UnitId) {
        let s = &mut self.units[unit.0];
        if matches!(s.phase, Phase::Waiting | Phase::Backoff { .. }) {
            s.phase = Phase::Done(Outcome::Stopped);
            s.reason = Some("stopped".to_owned());
        }
    }

    /// Stops everything: waits and backoffs are cancelled, and [`step`](Self::step) issues a
    /// [`Stop`](Action::Stop) for each running name once nothing that depends on it runs.
    ///
    /// ```
    /// use procsnap::orchestrate::{Action, Condition, Orchestrator, Plan, UnitConfig};
    /// use std::time::Instant;
    /// let plan = Plan::new(vec![
    ///     UnitConfig::new("db"),
    ///     UnitConfig::new("api").depends_on("db", Condition::Started),
    /// ])
    /// .unwrap();
    /// let (db, api) = (plan.find("db").unwrap(), plan.find("api").unwrap());
    /// let mut orch = Orchestrator::new(plan);
    /// let now = Instant::now();
    /// orch.started(db, now);
    /// orch.started(api, now);
    /// orch.shutdown(now);
    /// assert_eq!(orch.step(now), [Action::Stop(api)]); // db waits for api to end
    /// ```
    pub fn shutdown(&mut self, now: Instant) {
        let _ = now;
        if mem::replace(&mut self.shutting_down, true) {
            return;
        }
        for s in &mut self.units {
            if matches!(s.phase, Phase::Waiting | Phase::Backoff { .. }) {
                s.phase = Phase::Done(Outcome::Cancelled);
                s.reason = Some("cancelled by the shutdown".to_owned());
            }
        }
    }

    /// What to do at `now`: reports of what changed since the last call, then starts (of
    /// names whose dependencies are met, and of backoffs that are due), probes that are due,
    /// and during a shutdown the stops that may go ahead. Names whose dependencies can never
    /// be met are blocked here, with a report.
    ///
    /// ```
    /// use procsnap::orchestrate::{Action, Orchestrator, Plan, UnitConfig};
    /// use std::time::Instant;
    /// let mut orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("a")]).unwrap());
    /// let a = orch.plan().find("a").unwrap();
    /// orch.request(a, Instant::now());
    /// assert_eq!(orch.step(Instant::now()), [Action::Start(a)]);
    /// assert!(orch.step(Instant::now()).is_empty()); // issued once
    /// ```
    pub fn step(&mut self, now: Instant) -> Vec<Action> {
        let mut out = mem::take(&mut self.pending);
        let order = self.plan.start_order().to_vec();
        if self.shutting_down {
            for &u in order.iter().rev() {
                self.stop_if_clear(u, &mut out);
            }
            return out;
        }
        for u in order {
            match self.units[u.0].phase {
                Phase::Waiting => self.try_start(u, &mut out),
                Phase::Backoff { until } if until <= now => {
                    let s = &mut self.units[u.0];
                    s.restarts = s.restarts.saturating_add(1);
                    s.phase = Phase::Starting;
                    out.push(Action::Start(u));
                }
                Phase::Running => {
                    let p = &mut self.units[u.0].process;
                    if !p.probing && p.next_probe.is_some_and(|t| t <= now) {
                        p.probing = true;
                        p.next_probe = None;
                        out.push(Action::Probe(u));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// During a shutdown: stop `unit` if it runs and nothing that depends on it is live.
    fn stop_if_clear(&mut self, unit: UnitId, out: &mut Vec<Action>) {
        if self.units[unit.0].phase != Phase::Running {
            return;
        }
        let clear = self
            .plan
            .dependents(unit)
            .iter()
            .all(|d| !self.units[d.0].phase.is_live());
        if clear {
            self.units[unit.0].phase = Phase::Stopping;
            out.push(Action::Stop(unit));
        }
    }

    /// A waiting `unit`: start it if every dependency is met, block it if one never can be.
    fn try_start(&mut self, unit: UnitId, out: &mut Vec<Action>) {
        let mut unmet = Vec::new();
        for e in self.plan.edges(unit) {
            match self.gate(e) {
                GateState::Met => {}
                GateState::Pending => unmet.push((self.plan.unit(e.dep).name.clone(), label(e))),
                GateState::Never(why) => {
                    let reason = format!(
                        "dependency {:?} {why} ({})",
                        self.plan.unit(e.dep).name,
                        label(e)
                    );
                    let s = &mut self.units[unit.0];
                    s.phase = Phase::Done(Outcome::Blocked);
                    s.reason = Some(reason.clone());
                    out.push(Action::Report(unit, Report::Blocked(reason)));
                    return;
                }
            }
        }
        let s = &mut self.units[unit.0];
        if unmet.is_empty() {
            s.phase = Phase::Starting;
            out.push(Action::Start(unit));
        } else if !s.announced {
            s.announced = true;
            out.push(Action::Report(unit, Report::Waiting(unmet)));
        }
    }

    /// The dependencies of `unit` that are not met yet (name, condition as configured): what a
    /// waiting name waits for.
    ///
    /// ```
    /// use procsnap::orchestrate::{Condition, Orchestrator, Plan, UnitConfig};
    /// let plan = Plan::new(vec![
    ///     UnitConfig::new("db").ready_log_line(true),
    ///     UnitConfig::new("api").depends_on("db", Condition::LogReady),
    /// ])
    /// .unwrap();
    /// let orch = Orchestrator::new(plan);
    /// let api = orch.plan().find("api").unwrap();
    /// assert_eq!(orch.waiting_for(api), [("db".to_owned(), "process_log_ready")]);
    /// ```
    pub fn waiting_for(&self, unit: UnitId) -> Vec<(String, &'static str)> {
        self.plan
            .edges(unit)
            .iter()
            .filter(|e| !matches!(self.gate(e), GateState::Met))
            .map(|e| (self.plan.unit(e.dep).name.clone(), label(e)))
            .collect()
    }

    /// The earliest instant at which [`step`](Self::step) has something to do without being
    /// told anything new (a backoff ends, a probe is due); `None` if nothing is scheduled.
    ///
    /// ```
    /// use procsnap::orchestrate::{Orchestrator, Plan, ProbeTiming, UnitConfig};
    /// use std::time::{Duration, Instant};
    /// let timing = ProbeTiming { initial_delay: Duration::from_secs(2), ..ProbeTiming::default() };
    /// let mut orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("w").probe(timing)]).unwrap());
    /// let t0 = Instant::now();
    /// orch.started(orch.plan().find("w").unwrap(), t0);
    /// assert_eq!(orch.next_wake(), Some(t0 + Duration::from_secs(2)));
    /// ```
    pub fn next_wake(&self) -> Option<Instant> {
        if self.shutting_down {
            return None;
        }
        self.units
            .iter()
            .filter_map(|s| match s.phase {
                Phase::Backoff { until } => Some(until),
                Phase::Running if !s.process.probing => s.process.next_probe,
                _ => None,
            })
            .min()
    }

    /// Whether the dependency of `e` is met, still may be, or never will be (and why).
    fn gate(&self, e: &Edge) -> GateState {
        let d = &self.units[e.dep.0];
        let met = match e.gate {
            Gate::Started => d.run.started,
            Gate::Ready => d.run.ready,
            Gate::LogReady => d.run.log_ready,
            Gate::ProbeReady => d.run.probe_ready,
            // Over, with no restart pending (process-compose's rule).
            Gate::Completed => d.ran_to_an_end(),
            Gate::CompletedOk => d.ran_to_an_end() && d.run.succeeded,
        };
        if met {
            return GateState::Met;
        }
        let Phase::Done(outcome) = d.phase else {
            return if d.phase == Phase::Idle {
                GateState::Never("was not started".to_owned())
            } else {
                GateState::Pending
            };
        };
        let how = d
            .reason
            .clone()
            .unwrap_or_else(|| outcome.as_str().to_owned());
        let why = match (outcome, e.gate) {
            (Outcome::Blocked, _) => format!("was not started: {how}"),
            (Outcome::Cancelled, _) => "was cancelled".to_owned(),
            (Outcome::Stopped, _) => "was stopped".to_owned(),
            (_, Gate::Started | Gate::Completed | Gate::CompletedOk) => how,
            (_, _) => format!("{how} before it was ready"),
        };
        GateState::Never(why)
    }
}

enum GateState {
    Met,
    Pending,
    Never(String),
}

/// The condition of `e` as messages show it: its configured name, or for a default one what
/// it resolved to (`ready` or `process_started`).
fn label(e: &Edge) -> &'static str {
    match (e.condition, e.gate) {
        (super::Condition::Default, Gate::Ready) => "ready",
        (super::Condition::Default, _) => "process_started",
        (c, _) => c.as_str(),
    }
}

/// `exited with code 0`, `failed with exit code 1`, `killed by signal 9`, … for reasons.
fn describe(status: Status, exit: Option<Exit>) -> String {
    match (status, exit) {
        (Status::Success, _) => "exited with code 0".to_owned(),
        (Status::Stopped, _) => "stopped".to_owned(),
        (_, Some(Exit::Code(c))) => format!("failed (exit code {c})"),
        (_, Some(Exit::Signal(s))) => format!("failed (killed by signal {s})"),
        (_, Some(Exit::Unknown)) => "failed (exit status unknown)".to_owned(),
        (_, None) => "failed to start".to_owned(),
    }
}

/// The exit code that stands for `exit` (see [`Orchestrator::exit_code`]).
fn exit_code(exit: Option<Exit>) -> i32 {
    match exit {
        Some(Exit::Code(c)) if c != 0 => c,
        Some(Exit::Signal(s)) => 128 + s,
        _ => 1,
    }
}
