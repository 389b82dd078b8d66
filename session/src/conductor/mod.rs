//! The conductor: the session's one thread, which owns every lifecycle decision.
//!
//! It takes every state change and line from one lossless subscription (an exit or a ready
//! line is never missed), feeds them to the orchestration policy
//! ([`procsnap::orchestrate::Orchestrator`]), carries out what the policy decides, and hands
//! each event to the observers ([`crate::observer`]). Every name a session can run is a unit
//! of that policy — a configured process with its dependencies, readiness checks and restart
//! policy, or a script or ad-hoc command with none of them and `restart: no` — so the same
//! rules hold for all of them, whoever asks:
//!
//! - **start**: a name that is running is a duplicate (its process is the answer); a name
//!   whose process is stopping starts again when the stop ends; a finished name starts anew
//!   (a finished process is never a duplicate); a dependency that has finished is not run
//!   again for a dependent.
//! - **stop** is final: no restart follows it, also during a backoff.
//! - **restart** stops the process (its own shutdown signal and timeout) and starts the name
//!   again once the stop has ended; it keeps the name in its job.
//! - **starts are unique**: through [`Supervisor::run_unique`](procsnap::Supervisor::run_unique), so no race makes a second
//!   process of one name.
//! - **retention**: after each start, finished runs beyond the last `keep_finished` of each
//!   name are dropped with their output, and the oldest go first while the output of finished
//!   runs exceeds `finished_log_bytes`.
//! - **probes** are supervised processes of their own (own group, the tag, the watchdog),
//!   killed at their timeout; an HTTP probe is a bounded connect and request. Nothing polls:
//!   the thread sleeps until an event, a message or the policy's next deadline.
//!
//! Faces never touch the policy or the supervisor's lifecycle calls: they send messages
//! through [`Session`](crate::Session).

mod board;
mod driver;
mod probe;
mod retain;

pub use board::{Board, Notice, Tone, UnitView, countdown, notice, short};
pub use probe::http_get;

use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use procsnap::ProcId;
use procsnap::orchestrate::UnitId;

use crate::def::{Proc, Stack};
use crate::job::{JobId, Owner};
use crate::observer::ObsShared;

pub(crate) use driver::{Again, Driver};
pub(crate) use probe::Probes;

/// Undelivered events the conductor's subscription holds before the supervisor stops reading
/// output (the conductor only hands events on: it keeps up).
pub(crate) const HIGH_WATER: usize = 4096;
/// Events taken at once.
const BATCH: usize = 512;

/// What a request for one name found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Started {
    /// A new process of it started for this request.
    New(ProcId),
    /// It was running already: nothing new started (a duplicate request).
    Running(ProcId),
    /// It waits — for its dependencies, a restart backoff, or the end of its stop — and
    /// starts later; `previous` is its newest process before the request.
    Pending { previous: Option<ProcId> },
    /// It could not start: why.
    Failed(String),
}

/// What a stop request found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stopping {
    /// The process is being stopped (its final state comes as an event).
    Process(ProcId),
    /// Its name was waiting or backing off: that was cancelled, nothing was running.
    Cancelled,
    /// It had already finished and nothing was pending.
    Finished,
}

pub(crate) enum Msg {
    /// The subscription (or the probes') has events.
    Wake,
    ProbeDone {
        unit: UnitId,
        process: ProcId,
        outcome: Result<(), String>,
    },
    Request {
        units: Vec<UnitId>,
        owner: Owner,
        reply: Option<SyncSender<Vec<Started>>>,
    },
    Define {
        procs: Vec<Proc>,
        reply: SyncSender<Result<(), String>>,
    },
    Stop {
        id: ProcId,
        kill: bool,
        by: Option<String>,
        reply: Option<SyncSender<Stopping>>,
    },
    Restart {
        id: ProcId,
        by: Option<String>,
        reply: Option<SyncSender<Result<Option<ProcId>, String>>>,
    },
    EndJob(JobId),
    /// Job control for a job's client: SIGTSTP suspends the job (its processes, and any its
    /// policy starts until SIGCONT), SIGCONT resumes it.
    SignalJob {
        job: JobId,
        signal: procsnap::Signal,
        reply: SyncSender<()>,
    },
    Observe(Arc<ObsShared>),
    Shutdown {
        kill: bool,
    },
    Quit,
}

/// What the conductor shares with the handle: the board, the catalog, and a condvar for
/// waiters.
pub(crate) struct Shared {
    pub(crate) board: Mutex<Board>,
    pub(crate) changed: Condvar,
    pub(crate) stack: Mutex<Arc<Stack>>,
    pub(crate) departed: retain::Departed,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
