//! What the [`Orchestrator`](super::Orchestrator) knows about one process of its plan:
//! [`Phase`], [`Health`], [`Outcome`] and the per-run bookkeeping behind them.

use std::time::{Duration, Instant};

use crate::state::Exit;

/// Where a configured process is, as the orchestrator sees it. A process of the
/// [`Supervisor`](crate::Supervisor) is one run; a phase spans the runs of one name.
///
/// Non-exhaustive: match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Not asked for.
    Idle,
    /// Asked for; some dependency is not met yet.
    Waiting,
    /// A [`Start`](super::Action::Start) was issued; not yet heard to be running.
    Starting,
    /// Its process runs.
    Running,
    /// A [`Stop`](super::Action::Stop) was issued (shutting down).
    Stopping,
    /// Its process ended; a new one starts at `until`.
    Backoff {
        /// When the restart is due.
        until: Instant,
    },
    /// Over: nothing more happens unless it is asked for again.
    Done(Outcome),
}

impl Phase {
    /// A short word for displays: `idle`, `waiting`, `starting`, `running`, `stopping`,
    /// `backoff`, or the outcome's.
    ///
    /// ```
    /// use procsnap::orchestrate::{Outcome, Phase};
    /// assert_eq!(Phase::Done(Outcome::GaveUp).as_str(), "gave-up");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Waiting => "waiting",
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Stopping => "stopping",
            Phase::Backoff { .. } => "backoff",
            Phase::Done(o) => o.as_str(),
        }
    }

    /// Reads back [`as_str`](Self::as_str); a `backoff` phase ends at `until` (the words carry
    /// no instant).
    ///
    /// ```
    /// use procsnap::orchestrate::{Outcome, Phase};
    /// use std::time::Instant;
    /// let now = Instant::now();
    /// assert_eq!(Phase::parse("gave-up", now), Some(Phase::Done(Outcome::GaveUp)));
    /// assert_eq!(Phase::parse("backoff", now), Some(Phase::Backoff { until: now }));
    /// assert_eq!(Phase::parse("Running", now), None);
    /// ```
    pub fn parse(s: &str, until: Instant) -> Option<Phase> {
        Some(match s {
            "idle" => Phase::Idle,
            "waiting" => Phase::Waiting,
            "starting" => Phase::Starting,
            "running" => Phase::Running,
            "stopping" => Phase::Stopping,
            "backoff" => Phase::Backoff { until },
            other => Phase::Done(Outcome::parse(other)?),
        })
    }

    /// True while something is still to happen: waiting, starting, running, stopping or in
    /// backoff.
    ///
    /// ```
    /// use procsnap::orchestrate::{Outcome, Phase};
    /// assert!(Phase::Waiting.is_live());
    /// assert!(!Phase::Done(Outcome::Succeeded).is_live() && !Phase::Idle.is_live());
    /// ```
    pub const fn is_live(self) -> bool {
        !matches!(self, Phase::Idle | Phase::Done(_))
    }
}

/// How a configured process ended for good.
///
/// Non-exhaustive: match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Exited with code 0 and was not restarted.
    Succeeded,
    /// Failed (non-zero exit, signal, spawn failure) and its policy does not restart it.
    Failed,
    /// Failed with all of its `max_restarts` used.
    GaveUp,
    /// Somebody stopped it (a stop is never followed by a restart), or the shutdown did.
    Stopped,
    /// Never started: a dependency can never be met.
    Blocked,
    /// Never (re)started: the shutdown came first.
    Cancelled,
}

impl Outcome {
    /// `succeeded`, `failed`, `gave-up`, `stopped`, `blocked` or `cancelled`.
    ///
    /// ```
    /// assert_eq!(procsnap::orchestrate::Outcome::Blocked.as_str(), "blocked");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::GaveUp => "gave-up",
            Outcome::Stopped => "stopped",
            Outcome::Blocked => "blocked",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// Reads back [`as_str`](Self::as_str).
    ///
    /// ```
    /// use procsnap::orchestrate::Outcome;
    /// assert_eq!(Outcome::parse("gave-up"), Some(Outcome::GaveUp));
    /// assert_eq!(Outcome::parse("gave up"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "succeeded" => Outcome::Succeeded,
            "failed" => Outcome::Failed,
            "gave-up" => Outcome::GaveUp,
            "stopped" => Outcome::Stopped,
            "blocked" => Outcome::Blocked,
            "cancelled" => Outcome::Cancelled,
            _ => return None,
        })
    }

    /// True for the outcomes that make a run fail: failed, gave up, blocked.
    ///
    /// ```
    /// use procsnap::orchestrate::Outcome;
    /// assert!(Outcome::GaveUp.is_failure() && !Outcome::Stopped.is_failure());
    /// ```
    pub const fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::GaveUp | Outcome::Blocked)
    }
}

/// Whether the current process of a configured name is ready.
///
/// Non-exhaustive: match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// No readiness check is configured: ready means running.
    NoCheck,
    /// Not running, or running and its checks have not passed yet.
    Unknown,
    /// Every readiness check passed.
    Ready,
    /// Its readiness probe failed: it is not ready ([`reason`](UnitState::reason) says why).
    NotReady,
}

impl Health {
    /// `none`, `unknown`, `ready` or `not-ready`.
    ///
    /// ```
    /// assert_eq!(procsnap::orchestrate::Health::NotReady.as_str(), "not-ready");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Health::NoCheck => "none",
            Health::Unknown => "unknown",
            Health::Ready => "ready",
            Health::NotReady => "not-ready",
        }
    }

    /// Reads back [`as_str`](Self::as_str).
    ///
    /// ```
    /// use procsnap::orchestrate::Health;
    /// assert_eq!(Health::parse("not-ready"), Some(Health::NotReady));
    /// assert_eq!(Health::parse("ok"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Health> {
        Some(match s {
            "none" => Health::NoCheck,
            "unknown" => Health::Unknown,
            "ready" => Health::Ready,
            "not-ready" => Health::NotReady,
            _ => return None,
        })
    }
}

/// What is known about one configured name: its phase, the current process's readiness, the
/// restarts of this run (since it was last asked for) and why it ended, if it did.
///
/// ```
/// use procsnap::orchestrate::{Orchestrator, Phase, Plan, UnitConfig};
/// let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("db")]).unwrap());
/// let db = orch.plan().find("db").unwrap();
/// assert_eq!(orch.unit(db).phase(), Phase::Idle);
/// assert_eq!(orch.unit(db).restarts(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct UnitState {
    pub(crate) phase: Phase,
    pub(crate) restarts: u32,
    /// Runs that ended quickly since the last stable one (the backoff exponent).
    pub(crate) quick: u32,
    pub(crate) reason: Option<String>,
    pub(crate) run: Run,
    pub(crate) process: ProcessChecks,
    pub(crate) last_exit: Option<Exit>,
    pub(crate) last_delay: Option<Duration>,
    /// A `Waiting` report was issued for the current wait.
    pub(crate) announced: bool,
    /// It has a readiness check (a probe or a ready log line).
    pub(crate) checks: bool,
    /// It has a ready log line.
    pub(crate) log_line: bool,
}

/// What happened since the name was last asked for (across restarts): what its dependents'
/// conditions look at.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Run {
    pub(crate) started: bool,
    pub(crate) ready: bool,
    pub(crate) log_ready: bool,
    pub(crate) probe_ready: bool,
    /// Its last process exited with code 0.
    pub(crate) succeeded: bool,
}

/// The readiness of the current process (reset by every start).
#[derive(Clone, Debug, Default)]
pub(crate) struct ProcessChecks {
    /// Why it is not ready, once a probe failed: the last failure and how many in a row.
    pub(crate) why: Option<String>,
    /// It is being stopped because its readiness probe kept failing (and why): its exit is a
    /// failure that its restart policy restarts.
    pub(crate) unready_stop: Option<String>,
    pub(crate) since: Option<Instant>,
    pub(crate) log_ready: bool,
    pub(crate) probe_ready: bool,
    pub(crate) probe_failing: bool,
    pub(crate) ready: bool,
    pub(crate) next_probe: Option<Instant>,
    pub(crate) probing: bool,
    pub(crate) successes: u32,
    pub(crate) failures: u32,
}

impl UnitState {
    pub(crate) fn new(cfg: &super::UnitConfig) -> UnitState {
        let (checks, log_line) = (cfg.has_readiness(), cfg.ready_log_line);
        UnitState {
            phase: Phase::Idle,
            restarts: 0,
            quick: 0,
            reason: None,
            run: Run::default(),
            process: ProcessChecks::default(),
            last_exit: None,
            last_delay: None,
            announced: false,
            checks,
            log_line,
        }
    }

    /// True once its process ran and ended with no restart pending: succeeded, failed, gave
    /// up, or stopped after it started.
    pub(crate) fn ran_to_an_end(&self) -> bool {
        match self.phase {
            Phase::Done(Outcome::Succeeded | Outcome::Failed | Outcome::GaveUp) => true,
            Phase::Done(Outcome::Stopped) => self.run.started,
            _ => false,
        }
    }

    /// Where it is.
    ///
    /// ```
    /// # use procsnap::orchestrate::{Orchestrator, Phase, Plan, UnitConfig};
    /// # let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("db")]).unwrap());
    /// assert_eq!(orch.unit(orch.plan().find("db").unwrap()).phase(), Phase::Idle);
    /// ```
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Restarts made by the policy since it was last asked for.
    ///
    /// ```
    /// # use procsnap::orchestrate::{Orchestrator, Plan, UnitConfig};
    /// # let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("db")]).unwrap());
    /// assert_eq!(orch.unit(orch.plan().find("db").unwrap()).restarts(), 0);
    /// ```
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Why it ended, was blocked or gave up; while its process runs and is not ready, why
    /// not (its readiness probe's failures). `None` when there is nothing to explain.
    ///
    /// ```
    /// # use procsnap::orchestrate::{Orchestrator, Plan, UnitConfig};
    /// # let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("db")]).unwrap());
    /// assert_eq!(orch.unit(orch.plan().find("db").unwrap()).reason(), None);
    /// ```
    pub fn reason(&self) -> Option<&str> {
        let p = &self.process;
        match (self.phase, &p.why) {
            (Phase::Running | Phase::Stopping, Some(why)) if !p.ready => Some(why),
            (Phase::Running, None) if !p.ready && self.log_line && !p.log_ready => {
                Some("its ready log line has not been printed yet")
            }
            (Phase::Running, None) if !p.ready => Some("its readiness probe has not passed yet"),
            _ => self.reason.as_deref(),
        }
    }

    /// How its last process ended, if one did.
    ///
    /// ```
    /// # use procsnap::orchestrate::{Orchestrator, Plan, UnitConfig};
    /// # let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("db")]).unwrap());
    /// assert_eq!(orch.unit(orch.plan().find("db").unwrap()).last_exit(), None);
    /// ```
    pub fn last_exit(&self) -> Option<Exit> {
        self.last_exit
    }

    /// When the next restart is due, during a backoff.
    ///
    /// ```
    /// # use procsnap::orchestrate::{Orchestrator, Plan, UnitConfig};
    /// # let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("db")]).unwrap());
    /// assert_eq!(orch.unit(orch.plan().find("db").unwrap()).next_restart(), None);
    /// ```
    pub fn next_restart(&self) -> Option<Instant> {
        match self.phase {
            Phase::Backoff { until } => Some(until),
            _ => None,
        }
    }

    /// The delay of the latest backoff (the one running, or the last one).
    ///
    /// ```
    /// # use procsnap::orchestrate::{Orchestrator, Plan, UnitConfig};
    /// # let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("db")]).unwrap());
    /// assert_eq!(orch.unit(orch.plan().find("db").unwrap()).last_delay(), None);
    /// ```
    pub fn last_delay(&self) -> Option<Duration> {
        self.last_delay
    }

    /// True while its current process runs and is ready (running, for a name without
    /// readiness checks).
    ///
    /// ```
    /// # use procsnap::orchestrate::{Orchestrator, Plan, UnitConfig};
    /// # let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("db")]).unwrap());
    /// assert!(!orch.unit(orch.plan().find("db").unwrap()).is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Running && self.process.ready
    }

    /// The readiness of the current process.
    ///
    /// ```
    /// # use procsnap::orchestrate::{Health, Orchestrator, Plan, UnitConfig};
    /// # let orch = Orchestrator::new(Plan::new(vec![UnitConfig::new("db")]).unwrap());
    /// assert_eq!(orch.unit(orch.plan().find("db").unwrap()).health(), Health::Unknown);
    /// ```
    pub fn health(&self) -> Health {
        if self.phase != Phase::Running {
            return Health::Unknown;
        }
        if !self.checks {
            return Health::NoCheck;
        }
        if self.process.ready {
            Health::Ready
        } else if self.process.why.is_some() {
            Health::NotReady
        } else {
            Health::Unknown
        }
    }
}
