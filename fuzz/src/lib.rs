//! Inputs shared by the fuzz targets: `arbitrary` stand-ins for procsnap's types (which do not
//! derive `Arbitrary`, to keep the core crate free of fuzzing dependencies).

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use procsnap::{Event, Exit, ProcessState, Status};

/// Seconds after the Unix epoch: small numbers, so inputs often hit equal and reversed times.
pub fn at(secs: u16) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(secs))
}

#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum StatusIn {
    Pending,
    Running,
    Stopping,
    Stopped,
    Failed,
    Success,
}

impl From<StatusIn> for Status {
    fn from(s: StatusIn) -> Status {
        match s {
            StatusIn::Pending => Status::Pending,
            StatusIn::Running => Status::Running,
            StatusIn::Stopping => Status::Stopping,
            StatusIn::Stopped => Status::Stopped,
            StatusIn::Failed => Status::Failed,
            StatusIn::Success => Status::Success,
        }
    }
}

#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ExitIn {
    Code(i8),
    Signal(u8),
    Unknown,
}

impl From<ExitIn> for Exit {
    fn from(e: ExitIn) -> Exit {
        match e {
            ExitIn::Code(c) => Exit::Code(i32::from(c)),
            ExitIn::Signal(s) => Exit::Signal(i32::from(s)),
            ExitIn::Unknown => Exit::Unknown,
        }
    }
}

#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum EventIn {
    Started { pid: u32, at: u16 },
    SpawnFailed { at: u16 },
    StopRequested,
    Exited { exit: ExitIn, at: u16 },
}

impl From<EventIn> for Event {
    fn from(e: EventIn) -> Event {
        match e {
            EventIn::Started { pid, at: t } => Event::Started { pid, at: at(t) },
            EventIn::SpawnFailed { at: t } => Event::SpawnFailed { at: at(t) },
            EventIn::StopRequested => Event::StopRequested,
            EventIn::Exited { exit, at: t } => Event::Exited {
                exit: exit.into(),
                at: at(t),
            },
        }
    }
}

/// Any state at all, including ones `apply` never produces (a replace can install them).
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct StateIn {
    pub status: StatusIn,
    pub pid: Option<u32>,
    pub started_at: Option<u16>,
    pub ended_at: Option<u16>,
    pub exit: Option<ExitIn>,
    pub restarts: u32,
    pub version: u64,
}

impl From<StateIn> for ProcessState {
    fn from(s: StateIn) -> ProcessState {
        // Field by field: `ProcessState` is non-exhaustive, so no struct expression out here.
        let mut state = ProcessState::default();
        state.status = s.status.into();
        state.pid = s.pid;
        state.started_at = s.started_at.map(|t| at(t).into());
        state.ended_at = s.ended_at.map(|t| at(t).into());
        state.exit = s.exit.map(Exit::from);
        state.restarts = s.restarts;
        state.version = s.version;
        state
    }
}
