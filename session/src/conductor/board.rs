//! What the conductor publishes for the front ends: one [`UnitView`] per configured process,
//! and the notices worth printing.

use std::time::{Duration, Instant};

use procsnap::ProcId;
use procsnap::orchestrate::{Health, Orchestrator, Outcome, Phase, Report, Restart, UnitId};

use crate::def::{Origin, Stack};
use crate::job::Owner;

/// One configured process as the front ends show it.
#[derive(Clone, Debug)]
pub struct UnitView {
    pub name: String,
    pub phase: Phase,
    pub health: Health,
    /// Running and ready (running, for a process without readiness checks).
    pub ready: bool,
    pub restarts: u32,
    /// 0: no limit.
    pub max_restarts: u32,
    pub restart: Restart,
    /// During a backoff: when the next process starts.
    pub next_restart: Option<Instant>,
    pub last_delay: Option<Duration>,
    /// Why it waits, is not ready, ended, was blocked or gave up: the words every face
    /// shows (see `reason`).
    pub reason: Option<String>,
    /// While waiting: the dependencies not met yet, with their conditions.
    pub waiting_for: Vec<(String, &'static str)>,
    /// Its newest process.
    pub process: Option<ProcId>,
    /// Who it belongs to.
    pub owner: Owner,
    /// Where it comes from.
    pub origin: Origin,
}

impl UnitView {
    /// The phase in a few words, with the countdown during a backoff: `running (ready)`,
    /// `backoff (next in 4s)`, `waiting for db`, `gave up`.
    pub fn describe(&self, now: Instant) -> String {
        match self.phase {
            Phase::Running if self.health == Health::NoCheck => "running".to_owned(),
            Phase::Running => format!("running ({})", self.health.as_str()),
            Phase::Backoff { until } => {
                format!("backoff (next in {})", short(countdown(until, now)))
            }
            Phase::Waiting if !self.waiting_for.is_empty() => {
                let names: Vec<&str> = self.waiting_for.iter().map(|(n, _)| n.as_str()).collect();
                format!("waiting for {}", names.join(", "))
            }
            Phase::Done(Outcome::GaveUp) => "gave up".to_owned(),
            p => p.as_str().to_owned(),
        }
    }
}

/// `4s` for whole seconds under a minute, else as [`human`](crate::fmt::human) says.
pub fn short(d: Duration) -> String {
    if d.subsec_nanos() == 0 && d.as_secs() < 60 {
        format!("{}s", d.as_secs())
    } else {
        crate::fmt::human(d)
    }
}

/// Time left until `until`, rounded up to whole seconds (a countdown never shows 0s while it
/// still runs).
pub fn countdown(until: Instant, now: Instant) -> Duration {
    let left = until.saturating_duration_since(now);
    Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0))
}

/// Everything the conductor knows, as of its last change.
#[derive(Clone, Debug, Default)]
pub struct Board {
    /// In plan order.
    pub units: Vec<UnitView>,
    /// Nothing waits, starts, runs, stops or backs off.
    pub settled: bool,
    pub shutting_down: bool,
    /// A process under `exit_on_failure` failed.
    pub exit_requested: bool,
    /// The exit code that failure asks for (its process's own).
    pub exit_code: Option<i32>,
    /// Some process ended in failure for good (failed, gave up, blocked).
    pub any_failed: bool,
    /// Counts changes.
    pub version: u64,
}

impl Board {
    /// The view of the process called `name`.
    pub fn unit(&self, name: &str) -> Option<&UnitView> {
        self.units.iter().find(|u| u.name == name)
    }

    /// The view of the process whose newest process is `id`.
    pub fn by_process(&self, id: ProcId) -> Option<&UnitView> {
        self.units.iter().find(|u| u.process == Some(id))
    }

    pub(crate) fn build(
        orch: &Orchestrator,
        current_owners: (&[Option<ProcId>], &[Owner]),
        manual_restarts: &[u32],
        stack: &Stack,
        version: u64,
    ) -> Board {
        let plan = orch.plan();
        let (current, owners) = current_owners;
        let units = plan
            .ids()
            .map(|u| {
                let s = orch.unit(u);
                let cfg = plan.unit(u);
                UnitView {
                    name: cfg.name.clone(),
                    phase: s.phase(),
                    health: s.health(),
                    ready: s.is_ready(),
                    restarts: s.restarts().saturating_add(manual_restarts[u.index()]),
                    max_restarts: cfg.max_restarts,
                    restart: cfg.restart,
                    next_restart: s.next_restart(),
                    last_delay: s.last_delay(),
                    reason: reason(orch, u),
                    waiting_for: if s.phase() == Phase::Waiting {
                        orch.waiting_for(u)
                    } else {
                        Vec::new()
                    },
                    process: current[u.index()],
                    owner: owners[u.index()],
                    origin: stack.procs[u.index()].origin,
                }
            })
            .collect();
        Board {
            units,
            settled: orch.is_settled(),
            shutting_down: orch.is_shutting_down(),
            exit_requested: orch.exit_requested(),
            exit_code: orch.exit_code(),
            any_failed: orch.any_failed(),
            version,
        }
    }
}

/// Why `unit` is where it is, in the words `up`, the terminal UI and MCP all show: what it
/// waits for (with each dependency's own trouble), why it is not ready (its probe's last
/// failures), why it ended, was blocked or gave up.
pub fn reason(orch: &Orchestrator, unit: UnitId) -> Option<String> {
    let s = orch.unit(unit);
    if s.phase() == Phase::Waiting {
        let deps = orch.waiting_for(unit);
        if !deps.is_empty() {
            return Some(waiting(&deps, &|name| trouble(orch, name)));
        }
    }
    s.reason().map(str::to_owned)
}

/// What is wrong with the dependency called `name` while something waits for it: its probe
/// fails (and why), or it is in a restart backoff (and how its last run ended). A dependency
/// that is merely not ready yet is no trouble.
fn trouble(orch: &Orchestrator, name: &str) -> Option<String> {
    let s = orch.unit(orch.plan().find(name)?);
    match s.phase() {
        Phase::Running if s.health() == Health::NotReady => s.reason().map(str::to_owned),
        Phase::Backoff { .. } => s.reason().map(|r| format!("{r}; restarting")),
        _ => None,
    }
}

/// `waiting for db (process_healthy: readiness probe failed 1 time in a row (connection
/// refused)), cache (process_started)`.
fn waiting(deps: &[(String, &'static str)], trouble: &dyn Fn(&str) -> Option<String>) -> String {
    let deps: Vec<String> = deps
        .iter()
        .map(|(n, c)| match trouble(n) {
            Some(t) => format!("{n} ({c}: {t})"),
            None => format!("{n} ({c})"),
        })
        .collect();
    format!("waiting for {}", deps.join(", "))
}

/// How a notice reads: good news, bad news, or neither (for colours).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Info,
}

/// A line worth printing about a configured process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub name: String,
    pub text: String,
    pub tone: Tone,
}

/// The notice for `report` about `unit`, in the words of `reason`.
pub fn notice(orch: &Orchestrator, unit: UnitId, report: &Report) -> Notice {
    let name = &orch.plan().unit(unit).name;
    let max = orch.plan().unit(unit).max_restarts;
    let (text, tone) = match report {
        Report::Waiting(deps) => (waiting(deps, &|n| trouble(orch, n)), Tone::Info),
        Report::Ready => ("ready".to_owned(), Tone::Good),
        Report::NotReady(why) => (format!("not ready: {why}"), Tone::Bad),
        Report::Restarting { delay, restart } => {
            let of = if max > 0 {
                format!("restart {restart} of {max}")
            } else {
                format!("restart {restart}")
            };
            (
                format!("restarting in {} ({of})", short(*delay)),
                Tone::Info,
            )
        }
        Report::GaveUp(why) => (why.clone(), Tone::Bad),
        Report::Blocked(why) => (format!("not started: {why}"), Tone::Bad),
        Report::ExitRequested => (
            "failed under exit_on_failure: stopping everything".to_owned(),
            Tone::Bad,
        ),
        _ => (format!("{report:?}"), Tone::Info),
    };
    Notice {
        name: name.to_owned(),
        text,
        tone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_read_well() {
        use procsnap::orchestrate::{Condition, Plan, ProbeTiming, UnitConfig};
        let plan = Plan::new(vec![
            UnitConfig::new("db").probe(ProbeTiming::default()),
            UnitConfig::new("api").depends_on("db", Condition::Healthy),
            UnitConfig::new("w").max_restarts(3),
        ])
        .unwrap();
        let [db, api, w] = ["db", "api", "w"].map(|n| plan.find(n).unwrap());
        let mut orch = Orchestrator::new(plan);
        let n = notice(
            &orch,
            w,
            &Report::Restarting {
                delay: Duration::from_secs(4),
                restart: 2,
            },
        );
        assert_eq!(n.text, "restarting in 4s (restart 2 of 3)");
        let waiting = Report::Waiting(vec![("db".into(), "process_healthy")]);
        assert_eq!(
            notice(&orch, api, &waiting).text,
            "waiting for db (process_healthy)"
        );
        assert_eq!(notice(&orch, w, &Report::Ready).tone, Tone::Good);
        // A dependency's trouble is part of the wait, in the board's words too.
        let now = Instant::now();
        orch.request_all(now);
        orch.step(now);
        orch.started(db, now);
        orch.step(now);
        orch.probe_result(db, Err("connection refused".into()), now);
        let want = "waiting for db (process_healthy: readiness probe failed 1 time in a row \
                    (connection refused))";
        assert_eq!(notice(&orch, api, &waiting).text, want);
        assert_eq!(reason(&orch, api).as_deref(), Some(want));
        assert_eq!(
            reason(&orch, db).as_deref(),
            Some("readiness probe failed 1 time in a row (connection refused)")
        );
    }

    #[test]
    fn a_countdown_rounds_up() {
        let t = Instant::now();
        assert_eq!(
            countdown(t + Duration::from_millis(3100), t),
            Duration::from_secs(4)
        );
        assert_eq!(countdown(t, t + Duration::from_secs(1)), Duration::ZERO);
    }
}
