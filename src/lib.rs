//! procsnap: lock-free process-state snapshots and a process-group supervisor.
//!
//! Every process's state is an immutable, `Copy` [`ProcessState`] in a [`StateCell`]: readers
//! load a pointer under an epoch guard and never lock; writers swap in a new snapshot with a
//! compare-and-swap against the pointer they loaded, and the epoch collector frees the old one
//! once no reader can see it (which is also what makes the pointer CAS immune to ABA). The
//! lifecycle is one pure function, [`ProcessState::apply`]. A [`Registry`] lists processes in id
//! order as a copy-on-write list in the same kind of cell.
//!
//! Above the core, a [`Supervisor`] spawns each process as the leader of its own process group
//! (`posix_spawn`, never `fork`), reaps only its own children on one `epoll` thread (pidfds, never
//! `waitpid(-1)`), keeps each process's output in a byte-bounded [`LogRing`], publishes every state
//! change and line once, in order, to [`Subscription`]s that drop the oldest when a reader is slow,
//! and stops whole groups: TERM, a grace period, KILL. A watchdog process kills every group it
//! started if the supervising process dies, even by SIGKILL.
//!
//! ```text
//! Supervisor  (spawn, stop, restart, shutdown; one reaper thread; watchdog)
//!     |
//! Registry  ·  Broadcast/EventQueue  ·  LogRing          safe code
//!     |
//! StateCell / EpochCell (cell)  ·  sys (libc)             the only unsafe
//!     |
//! ProcessState + Status + Event + apply()                 pure data
//! ```
//!
//! # Guarantees
//!
//! - Reads ([`StateCell::load`], [`Registry::list`]) are wait-free once pinned and allocate
//!   nothing; [`StateCell::snapshot`] pins, copies and unpins.
//! - Writers are lock-free; every successful [`StateCell::update`] bumps `version` by one.
//! - Memory is never reclaimed while a pinned reader can still see it; it is freed later, by
//!   whichever thread's collection gets to it. A state update leaves its replaced 72-byte
//!   snapshot in a thread-local bag (handed to the collector every 64, or when the thread
//!   exits); a registry write hands the bag over at once, so a removed process and its log
//!   ring are freed by the next registry write (see [`Registry`]).
//! - Reading a state never waits on a stop, a spawn or the reaper.
//!
//! # Limits
//!
//! A guard held for a long time delays reclamation everywhere: repin in long loops. The
//! supervisor is Linux-only (pidfd, epoll, `/proc`).
//!
//! ```
//! use procsnap::{CommandSpec, Event, Registry, Reserve};
//! use std::time::SystemTime;
//!
//! let registry = Registry::new();
//! let Reserve::Started(p) = registry.reserve("dev", CommandSpec::shell("sleep 1")) else {
//!     unreachable!()
//! };
//! registry.apply(p.id(), Event::Started { pid: 4242, at: SystemTime::now() }).unwrap();
//!
//! let mut reader = procsnap::Reader::new(); // one per thread: pinned, repins on its own
//! let running = reader.list(&registry).filter(|(_, state)| state.is_running());
//! assert_eq!(running.count(), 1);
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[allow(unsafe_code)]
pub mod cell;
pub mod error;
pub mod events;
pub mod logs;
pub mod orchestrate;
pub mod registry;
pub mod spec;
pub mod state;
pub mod supervisor;
#[allow(unsafe_code)]
pub mod sys;

pub use cell::{
    Guard, Listed, LockedCell, REPIN_EVERY, Reader, StateCell, StateView, Updated, pin,
};
pub use error::{ApplyError, RestartError, SpawnError, StopError};
pub use events::{Broadcast, EventQueue, Subscription};
pub use logs::{DEFAULT_MAX_LINE, LINE_OVERHEAD, LineSplitter, LogLine, LogRing, Stream};
pub use registry::{DEFAULT_LOG_BYTES, ProcId, Process, Processes, Registry, Reserve};
pub use spec::CommandSpec;
pub use state::{Event, Exit, ProcessState, Rejected, Status, Timestamp};
pub use supervisor::{Supervisor, SupervisorConfig, SupervisorEvent};
