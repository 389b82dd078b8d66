//! procsnap: lock-free process-state snapshots and a process-group supervisor.
//!
//! Every process's state is an immutable, `Copy`, 48-byte [`ProcessState`] in a [`StateCell`]:
//! readers load a pointer under an epoch guard and never lock; writers swap in a new snapshot
//! with a compare-and-swap against the pointer they loaded, and the epoch collector frees the
//! old one once no reader can see it (which is also what makes the pointer CAS immune to ABA).
//! The lifecycle is one pure function, [`ProcessState::apply`], whose terminal states are
//! absorbing. A [`Registry`] lists processes in id order as a copy-on-write list in the same
//! kind of cell, and decides "start it" or "it is already running" in one CAS
//! ([`Registry::reserve`]).
//!
//! Above the core, a [`Supervisor`] (Linux) spawns each process as the leader of its own
//! process group (`posix_spawn`, never `fork`), tags it in its environment, reaps only its own
//! children on one `epoll` thread (pidfds, never `waitpid(-1)`), keeps each process's output in
//! a byte-bounded [`LogRing`], publishes every state change and line once, in order, to
//! [`Subscription`]s (drop-oldest, or lossless with backpressure on the processes), and stops
//! whole groups — TERM, a grace period, KILL — together with the descendants that left them.
//! An optional watchdog process kills everything it started if the supervising process dies,
//! even by SIGKILL.
//!
//! Orchestration — dependencies, readiness and restart policies — is a pure policy in
//! [`orchestrate`]: a function of a checked [`orchestrate::Plan`], what happened and the time,
//! returning what to do; a driver carries its actions out on the supervisor (the `procsnap`
//! binary's `up` does).
//!
//! ```text
//! orchestrate (a pure policy: plan, events, now -> actions)
//!     |
//! Supervisor  (spawn, stop, restart, shutdown; one reaper thread; watchdog)
//!     |
//! Registry / Processes  ·  Broadcast / EventQueue  ·  LogRing      safe code
//!     |
//! StateCell, Reader, Guard (epoch cell)  ·  system calls (libc)    the only unsafe
//!     |
//! ProcessState + Status + Exit + Event + apply()                   pure data
//! ```
//!
//! # Reading states
//!
//! | you read | use | cost here (instructions per read, copy included) |
//! |---|---|---|
//! | a state now and then | [`StateCell::snapshot`] (pin, copy, unpin) | ~41 |
//! | states over and over on a busy thread | a [`Reader`] (stays pinned, repins every [`REPIN_EVERY`] reads) | ~14 |
//! | many states as one consistent batch | [`Reader::list`], or one [`pin`] and [`StateCell::load`]s | ~13–14 per process |
//!
//! # Guarantees
//!
//! - Reads ([`StateCell::load`], [`Reader`], [`Registry::list`]) are wait-free once pinned and
//!   allocate nothing; a reader sees only published snapshots, whole, and never an older one
//!   after a newer one.
//! - Writers are lock-free; every successful [`StateCell::update`] bumps `version` by one.
//! - A process's state changes only through its lifecycle ([`ProcessState::apply`]): its
//!   supervisor's transitions or [`Registry::apply`]; [`Process::state`] is read-only.
//! - Memory is never reclaimed while a pinned reader can still see it; it is freed later, by
//!   whichever thread's collection gets to it. A state update leaves its replaced snapshot in a
//!   thread-local bag (handed to the collector every 64, or when the thread exits); a registry
//!   write hands the bag over at once, so a removed process and its log ring are freed by the
//!   next registry write (see [`Registry`]). procsnap's cells use a collector of their own, so
//!   a guard held by another crate's code never holds back procsnap's reclamation, nor the
//!   reverse.
//! - Reading a state never waits on a stop, a spawn or the reaper.
//!
//! # Limits
//!
//! A guard (or a [`Reader`]) held for a long time delays reclamation of everything procsnap
//! replaces meanwhile: repin in long loops, and do not keep one across a blocking wait. The
//! supervisor is Linux-only (pidfd, epoll, `/proc`); the core (states, cells, registry, logs,
//! events) builds anywhere std does.
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
//! let mut reader = procsnap::Reader::new();
//! let running = reader.list(&registry).filter(|(_, state)| state.is_running());
//! assert_eq!(running.count(), 1);
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[allow(unsafe_code)]
mod cell;
mod error;
mod events;
mod logs;
pub mod orchestrate;
mod registry;
mod signal;
mod spec;
pub mod state;
#[cfg(target_os = "linux")]
mod supervisor;
#[cfg(all(target_os = "linux", feature = "internals"))]
#[doc(hidden)]
#[allow(unsafe_code)]
pub mod sys;
#[cfg(all(target_os = "linux", not(feature = "internals")))]
#[allow(unsafe_code, dead_code, unused_imports)]
mod sys;

pub use cell::{Guard, Listed, REPIN_EVERY, Reader, StateCell, StateView, Updated, pin};
pub use error::{ApplyError, RestartError, SignalError, SpawnError, StopError};
pub use events::{Broadcast, EventQueue, Subscription};
pub use logs::{DEFAULT_MAX_LINE, LINE_OVERHEAD, LineSplitter, LogLine, LogRing, LogView, Stream};
pub use registry::{DEFAULT_LOG_BYTES, ProcId, Process, Processes, Registry, Reserve};
pub use signal::Signal;
pub use spec::CommandSpec;
pub use state::{Event, Exit, ProcessState, Rejected, Status, Timestamp};
#[cfg(target_os = "linux")]
pub use supervisor::{OutputHold, Stopping, Supervisor, SupervisorConfig, SupervisorEvent};

/// Unstable internals for procsnap's own benchmarks, fuzz targets, loom models and tests: the
/// generic cell under [`StateCell`], the Mutex oracle, the system-call layer. Not part of the
/// API (no semver promise), and absent unless the `internals` feature is on.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    pub use crate::cell::{EpochCell, LockedCell, Swap};
    #[cfg(target_os = "linux")]
    pub use crate::sys;
}
