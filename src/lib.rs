//! procsnap: lock-free process-state snapshots and a process-group supervisor.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod spec;
pub mod state;

pub use spec::CommandSpec;
pub use state::{Event, Exit, ProcessState, Rejected, Status};
