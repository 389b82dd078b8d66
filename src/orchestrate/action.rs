//! What the [`Orchestrator`](super::Orchestrator) asks for: [`Action`]s, and [`Report`]s
//! worth telling the user.

use std::time::Duration;

use super::plan::UnitId;

/// Something the orchestrator wants done, or wants said.
///
/// Non-exhaustive: match with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Start a new process for this name, then call [`Orchestrator::started`](super::Orchestrator::started) (or
    /// [`spawn_failed`](super::Orchestrator::spawn_failed)). Through
    /// [`Supervisor::run_unique`](crate::Supervisor::run_unique): if a process of the name is
    /// already running (somebody started one meanwhile), report that one as started.
    Start(UnitId),
    /// Stop its process, with its own shutdown signal and timeout, then report its exit: the
    /// shutdown (in reverse dependency order), or a readiness probe that kept failing under
    /// `on_failure` or `always` (the exit is then restarted by its policy).
    Stop(UnitId),
    /// Run its readiness probe once, within its timeout, and report the result with
    /// [`Orchestrator::probe_result`](super::Orchestrator::probe_result).
    Probe(UnitId),
    /// Worth telling the user.
    Report(UnitId, Report),
}

/// A change worth telling the user about.
///
/// Non-exhaustive: match with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Report {
    /// It waits for these dependencies (names, with the condition as configured).
    Waiting(Vec<(String, &'static str)>),
    /// Its current process became ready.
    Ready,
    /// Its probe failed `failure_threshold` times in a row (why, with the last failure).
    NotReady(String),
    /// It ended and restarts after `delay`; this is restart number `restart`.
    Restarting {
        /// The backoff delay.
        delay: Duration,
        /// Which restart this will be (1 for the first).
        restart: u32,
    },
    /// It failed with every restart used (`reason` says so).
    GaveUp(String),
    /// It will never start: `reason` names the dependency and why.
    Blocked(String),
    /// It failed under `exit_on_failure`: everything is being stopped.
    ExitRequested,
}
