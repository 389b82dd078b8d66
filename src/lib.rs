//! procsnap: lock-free process-state snapshots and a process-group supervisor.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod events;
pub mod logs;
pub mod spec;
pub mod state;

pub use events::{Broadcast, EventQueue, Subscription};
pub use logs::{DEFAULT_MAX_LINE, LINE_OVERHEAD, LineSplitter, LogLine, LogRing, Stream};
pub use spec::CommandSpec;
pub use state::{Event, Exit, ProcessState, Rejected, Status};
