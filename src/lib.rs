//! procsnap: lock-free process-state snapshots and a process-group supervisor.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod spec;
pub mod state;
#[allow(unsafe_code)]
pub mod sys;

pub use error::SpawnError;
pub use spec::CommandSpec;
pub use state::{Event, Exit, ProcessState, Rejected, Status};
