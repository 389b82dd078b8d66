//! Orchestration: start configured processes in dependency order, know when each is ready,
//! and restart the ones that fail — as a pure policy over the [`Supervisor`](crate::Supervisor).
//!
//! This module parses nothing and runs nothing. A caller describes each process's
//! dependencies, readiness checks and restart policy as a [`UnitConfig`] (the `procsnap`
//! binary reads them from `procsnap.yaml` or `process-compose.yaml`), checks them into a
//! [`Plan`], and drives an [`Orchestrator`]: it tells it what happened (a process started,
//! ended, printed its ready line, passed a probe) and carries out the [`Action`]s that
//! [`Orchestrator::step`] returns for an instant `now`. The orchestrator reads no clock, so
//! its decisions are a function of the plan, what it was told and `now`, and its tests run on
//! a made-up clock.
//!
//! # Guarantees
//!
//! - A process starts only once every condition of its `depends_on` holds; a dependency that
//!   ended for good without meeting its condition blocks its dependents at once, with a reason
//!   naming it (they never wait forever on a process that is over).
//! - A stop somebody asked for is final: it is never followed by a restart.
//! - Restarts wait an exponential [`Backoff`] (reset after a stable run) and stop after
//!   `max_restarts`.
//! - A restart is always a new process, started through
//!   [`Supervisor::run_unique`](crate::Supervisor::run_unique): a restart racing a manual run
//!   or restart of the same name never starts a second process (the registry decides in one
//!   CAS), and the orchestrator adopts whichever process won.
//! - [`Orchestrator::shutdown`] stops processes in reverse dependency order.
//!
//! ```
//! use procsnap::orchestrate::{Action, Backoff, Orchestrator, Plan, Restart, UnitConfig};
//! use procsnap::{Exit, Status};
//! use std::time::{Duration, Instant};
//!
//! let worker = UnitConfig::new("worker")
//!     .restart(Restart::OnFailure)
//!     .backoff(Backoff::new(Duration::from_secs(1)))
//!     .max_restarts(2);
//! let mut orch = Orchestrator::new(Plan::new(vec![worker]).unwrap());
//! let w = orch.plan().find("worker").unwrap();
//! let t0 = Instant::now();
//! orch.request(w, t0);
//! assert_eq!(orch.step(t0), [Action::Start(w)]);
//! orch.started(w, t0);
//! orch.exited(w, Status::Failed, Some(Exit::Code(1)), t0);
//! assert_eq!(orch.unit(w).next_restart(), Some(t0 + Duration::from_secs(1)));
//! assert!(!orch.step(t0).contains(&Action::Start(w))); // not yet
//! assert!(orch.step(t0 + Duration::from_secs(1)).contains(&Action::Start(w)));
//! ```

mod action;
mod backoff;
mod config;
mod plan;
mod policy;
mod unit;

pub use action::{Action, Report};
pub use backoff::Backoff;
pub use config::{Condition, Dependency, ProbeTiming, Restart, UnitConfig};
pub use plan::{Plan, PlanError, UnitId};
pub use policy::Orchestrator;
pub use unit::{Health, Outcome, Phase, UnitState};

#[cfg(test)]
mod tests;
