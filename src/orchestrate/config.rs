//! What each process of a [`Plan`](super::Plan) is configured with: [`UnitConfig`], its
//! [`Dependency`]s and their [`Condition`]s, its [`Restart`] policy and [`ProbeTiming`].

use std::time::Duration;

use super::backoff::Backoff;

/// When a dependency counts as met (process-compose's condition names).
///
/// ```
/// use procsnap::orchestrate::Condition;
/// assert_eq!(Condition::parse("process_log_ready"), Some(Condition::LogReady));
/// assert_eq!(Condition::LogReady.as_str(), "process_log_ready");
/// assert_eq!(Condition::parse("process_ready"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// No condition given: [`Healthy`](Self::Healthy) when the dependency has a readiness
    /// probe or a ready log line (all of them must pass), else [`Started`](Self::Started).
    Default,
    /// `process_started`: its process was spawned.
    Started,
    /// `process_healthy`: its readiness probe passed (its ready log line, if it has no probe).
    Healthy,
    /// `process_log_ready`: it printed its ready log line.
    LogReady,
    /// `process_completed`: its process ended (any exit).
    Completed,
    /// `process_completed_successfully`: its process exited with code 0.
    CompletedSuccessfully,
}

impl Condition {
    /// Every condition a configuration may name.
    pub const NAMES: [&'static str; 5] = [
        "process_started",
        "process_healthy",
        "process_log_ready",
        "process_completed",
        "process_completed_successfully",
    ];

    /// The condition called `name` (one of [`NAMES`](Self::NAMES)).
    ///
    /// ```
    /// use procsnap::orchestrate::Condition;
    /// assert_eq!(Condition::parse("process_healthy"), Some(Condition::Healthy));
    /// ```
    pub fn parse(name: &str) -> Option<Condition> {
        Some(match name {
            "process_started" => Condition::Started,
            "process_healthy" => Condition::Healthy,
            "process_log_ready" => Condition::LogReady,
            "process_completed" => Condition::Completed,
            "process_completed_successfully" => Condition::CompletedSuccessfully,
            _ => return None,
        })
    }

    /// The configuration name (`"default"` for [`Default`](Self::Default)).
    ///
    /// ```
    /// assert_eq!(procsnap::orchestrate::Condition::Started.as_str(), "process_started");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Condition::Default => "default",
            Condition::Started => "process_started",
            Condition::Healthy => "process_healthy",
            Condition::LogReady => "process_log_ready",
            Condition::Completed => "process_completed",
            Condition::CompletedSuccessfully => "process_completed_successfully",
        }
    }
}

/// What happens when a process ends on its own (a stop somebody asked for is never followed
/// by a restart).
///
/// ```
/// use procsnap::orchestrate::Restart;
/// assert_eq!(Restart::parse("on_failure"), Some(Restart::OnFailure));
/// assert_eq!(Restart::default(), Restart::No);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Restart {
    /// `no`: never restart.
    #[default]
    No,
    /// `on_failure`: restart after a non-zero exit, a death by signal or a failed spawn.
    OnFailure,
    /// `always`: restart after every exit.
    Always,
    /// `exit_on_failure`: a failure stops everything (in reverse dependency order).
    ExitOnFailure,
}

impl Restart {
    /// Every policy a configuration may name.
    pub const NAMES: [&'static str; 4] = ["no", "on_failure", "always", "exit_on_failure"];

    /// The policy called `name` (one of [`NAMES`](Self::NAMES)).
    ///
    /// ```
    /// assert_eq!(procsnap::orchestrate::Restart::parse("sometimes"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Restart> {
        Some(match name {
            "no" => Restart::No,
            "on_failure" => Restart::OnFailure,
            "always" => Restart::Always,
            "exit_on_failure" => Restart::ExitOnFailure,
            _ => return None,
        })
    }

    /// The configuration name.
    ///
    /// ```
    /// assert_eq!(procsnap::orchestrate::Restart::Always.as_str(), "always");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Restart::No => "no",
            Restart::OnFailure => "on_failure",
            Restart::Always => "always",
            Restart::ExitOnFailure => "exit_on_failure",
        }
    }
}

/// When a readiness probe runs and how many results decide (Kubernetes' rules and defaults).
/// What the probe does (a command, an HTTP GET) is the caller's business.
///
/// ```
/// use procsnap::orchestrate::ProbeTiming;
/// use std::time::Duration;
/// let t = ProbeTiming::default();
/// assert_eq!((t.period, t.timeout), (Duration::from_secs(10), Duration::from_secs(1)));
/// assert_eq!((t.success_threshold, t.failure_threshold), (1, 3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProbeTiming {
    /// After the process starts, before the first probe (default 0).
    pub initial_delay: Duration,
    /// From the end of one probe to the start of the next (default 10 s).
    pub period: Duration,
    /// How long one probe may take before it counts as failed (default 1 s).
    pub timeout: Duration,
    /// Consecutive successes that make the process ready (default 1).
    pub success_threshold: u32,
    /// Consecutive failures that make a ready process not ready again (default 3).
    pub failure_threshold: u32,
}

impl Default for ProbeTiming {
    fn default() -> ProbeTiming {
        ProbeTiming {
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            success_threshold: 1,
            failure_threshold: 3,
        }
    }
}

/// One dependency: the process it waits for and when that counts as met.
///
/// ```
/// use procsnap::orchestrate::{Condition, Dependency};
/// let d = Dependency::new("db", Condition::Healthy);
/// assert_eq!((d.name.as_str(), d.condition), ("db", Condition::Healthy));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dependency {
    /// The name of the process waited for.
    pub name: String,
    /// When it counts as met.
    pub condition: Condition,
}

impl Dependency {
    /// A dependency on `name` with `condition`.
    ///
    /// ```
    /// let d = procsnap::orchestrate::Dependency::new("gen", procsnap::orchestrate::Condition::Completed);
    /// assert_eq!(d.name, "gen");
    /// ```
    pub fn new(name: impl Into<String>, condition: Condition) -> Dependency {
        Dependency {
            name: name.into(),
            condition,
        }
    }
}

/// The orchestration settings of one process: no command here (that is the caller's), only
/// what the policy decides with.
///
/// ```
/// use procsnap::orchestrate::{Condition, Restart, UnitConfig};
/// let api = UnitConfig::new("api")
///     .depends_on("db", Condition::Healthy)
///     .restart(Restart::OnFailure)
///     .max_restarts(5);
/// assert_eq!(api.depends_on.len(), 1);
/// assert_eq!((api.restart, api.max_restarts), (Restart::OnFailure, 5));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnitConfig {
    /// The process's name (unique in a plan).
    pub name: String,
    /// What it waits for before it starts.
    pub depends_on: Vec<Dependency>,
    /// It is ready once a ready log line was seen (the caller matches lines).
    pub ready_log_line: bool,
    /// It has a readiness probe with this timing.
    pub probe: Option<ProbeTiming>,
    /// What happens when it ends on its own.
    pub restart: Restart,
    /// The delay before each restart.
    pub backoff: Backoff,
    /// Restarts allowed before it is failed for good; 0 means no limit (process-compose's rule).
    pub max_restarts: u32,
    /// Left out when everything is started; still started when named or needed by another.
    pub disabled: bool,
}

impl UnitConfig {
    /// A process called `name` with no dependency, no readiness check, no restart.
    ///
    /// ```
    /// let u = procsnap::orchestrate::UnitConfig::new("web");
    /// assert!(u.depends_on.is_empty() && u.probe.is_none() && !u.ready_log_line);
    /// ```
    pub fn new(name: impl Into<String>) -> UnitConfig {
        UnitConfig {
            name: name.into(),
            depends_on: Vec::new(),
            ready_log_line: false,
            probe: None,
            restart: Restart::No,
            backoff: Backoff::default(),
            max_restarts: 0,
            disabled: false,
        }
    }

    /// With one more dependency.
    ///
    /// ```
    /// use procsnap::orchestrate::{Condition, UnitConfig};
    /// let u = UnitConfig::new("api").depends_on("db", Condition::Started);
    /// assert_eq!(u.depends_on[0].name, "db");
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn depends_on(mut self, name: impl Into<String>, condition: Condition) -> UnitConfig {
        self.depends_on.push(Dependency::new(name, condition));
        self
    }

    /// With a ready log line (the caller reports when it is seen).
    ///
    /// ```
    /// assert!(procsnap::orchestrate::UnitConfig::new("db").ready_log_line(true).ready_log_line);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn ready_log_line(mut self, on: bool) -> UnitConfig {
        self.ready_log_line = on;
        self
    }

    /// With a readiness probe run on this timing.
    ///
    /// ```
    /// use procsnap::orchestrate::{ProbeTiming, UnitConfig};
    /// assert!(UnitConfig::new("web").probe(ProbeTiming::default()).probe.is_some());
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn probe(mut self, timing: ProbeTiming) -> UnitConfig {
        self.probe = Some(timing);
        self
    }

    /// With a restart policy.
    ///
    /// ```
    /// use procsnap::orchestrate::{Restart, UnitConfig};
    /// assert_eq!(UnitConfig::new("w").restart(Restart::Always).restart, Restart::Always);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn restart(mut self, restart: Restart) -> UnitConfig {
        self.restart = restart;
        self
    }

    /// With a backoff.
    ///
    /// ```
    /// use procsnap::orchestrate::{Backoff, UnitConfig};
    /// use std::time::Duration;
    /// let u = UnitConfig::new("w").backoff(Backoff::new(Duration::from_secs(2)));
    /// assert_eq!(u.backoff.base, Duration::from_secs(2));
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn backoff(mut self, backoff: Backoff) -> UnitConfig {
        self.backoff = backoff;
        self
    }

    /// With a restart limit (0: none).
    ///
    /// ```
    /// assert_eq!(procsnap::orchestrate::UnitConfig::new("w").max_restarts(3).max_restarts, 3);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn max_restarts(mut self, n: u32) -> UnitConfig {
        self.max_restarts = n;
        self
    }

    /// Disabled (or not).
    ///
    /// ```
    /// assert!(procsnap::orchestrate::UnitConfig::new("w").disabled(true).disabled);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn disabled(mut self, on: bool) -> UnitConfig {
        self.disabled = on;
        self
    }

    /// True when it has a readiness check (a probe or a ready log line).
    ///
    /// ```
    /// use procsnap::orchestrate::UnitConfig;
    /// assert!(UnitConfig::new("db").ready_log_line(true).has_readiness());
    /// assert!(!UnitConfig::new("db").has_readiness());
    /// ```
    pub fn has_readiness(&self) -> bool {
        self.ready_log_line || self.probe.is_some()
    }
}
