//! Who a process belongs to.
//!
//! Every process belongs to the job of the client that started it, or is detached. A job is
//! what one `run` or `up` started: it stops when that client goes (Ctrl-C, exit, a dropped
//! connection, SIGKILL). A name that was already live when a job asked for it is adopted —
//! shown, never stopped by that job — and a restart keeps a name in the job it was in.
//! Processes started by an agent, from an attached terminal UI or by `procsnap start` are
//! detached: they run until somebody stops them or the session ends.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A job: what one client started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(u64);

impl JobId {
    /// A job id never handed out before in this program.
    pub fn fresh() -> JobId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Relaxed: only uniqueness matters, which the read-modify-write gives on its own.
        JobId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// Its number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// Who a process (or a name) belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Owner {
    /// Runs until stopped or until the session ends.
    #[default]
    Detached,
    /// Stops when its job ends.
    Job(JobId),
}

impl Owner {
    /// The job, if any.
    pub fn job(self) -> Option<JobId> {
        match self {
            Owner::Detached => None,
            Owner::Job(j) => Some(j),
        }
    }
}
