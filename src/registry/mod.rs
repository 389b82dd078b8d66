//! [`Registry`]: every [`Process`] in id order, as a copy-on-write list swapped by CAS.
//!
//! The registry is one [`EpochCell`] holding an immutable `Vec<Arc<Process>>` sorted by id (and
//! the next id, handed out by the same CAS that publishes the process). A
//! reader pins once and walks a consistent listing with no lock and no allocation; a writer copies
//! the list, changes the copy and swaps it in. Writes (a process started or removed) are rare next
//! to reads (every status call reads every process), which is what copy-on-write is for.
//!
//! Because a finished process never becomes unfinished again (terminal states are absorbing), a
//! decision taken on one listing stays right for as long as the listing is current. That is what
//! makes [`Registry::reserve`] decide "start it" or "it is already running" in one CAS.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

mod view;

pub use view::Processes;

use crate::cell::{EpochCell, Guard, StateCell, StateView, Updated, pin};
use crate::error::ApplyError;
use crate::logs::{LogRing, LogView, Stream};
use crate::spec::CommandSpec;
use crate::state::{Event, ProcessState};

/// A process's id: unique within its [`Registry`], never reused, increasing in registration
/// order. Ids are taken inside the CAS that publishes the process, so they also appear in that
/// order: once a listing shows id N, no process with a smaller id can show up later.
///
/// Unlike brummer's `name-<unix seconds>` (defect e4) two processes started in the same second
/// get different ids. [`Process::label`] gives the `name-N` form used on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcId(u64);

impl ProcId {
    /// The id as a number.
    ///
    /// ```
    /// let registry = procsnap::Registry::new();
    /// let p = registry.insert("x", procsnap::CommandSpec::new("true"), 0);
    /// assert_eq!(p.id().get(), 1); // ids start at 1
    /// ```
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Parses the number at the end of a `name-N` label (or a bare `N`).
    ///
    /// ```
    /// use procsnap::ProcId;
    /// assert_eq!(ProcId::from_label("dev-server-12").map(ProcId::get), Some(12));
    /// assert_eq!(ProcId::from_label("nope"), None);
    /// ```
    pub fn from_label(label: &str) -> Option<ProcId> {
        let n = label.rsplit('-').next()?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n.parse().ok().map(ProcId)
    }
}

impl fmt::Display for ProcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// One supervised process: its immutable identity beside its lock-free [`StateCell`] and its
/// bounded output ([`LogRing`]).
///
/// Identity (id, name, command) never changes and is shared through `Arc`, so a reader never
/// clones strings to look at a process.
pub struct Process {
    id: ProcId,
    name: Box<str>,
    spec: CommandSpec,
    state: StateView,
    logs: LogRing,
    unique: bool,
}

impl Process {
    fn new(
        id: ProcId,
        name: &str,
        spec: CommandSpec,
        restarts: u32,
        log_bytes: usize,
        unique: bool,
    ) -> Process {
        let initial = ProcessState {
            restarts,
            ..ProcessState::default()
        };
        Process {
            id,
            name: name.into(),
            spec,
            state: StateView::new(initial),
            logs: LogRing::new(log_bytes),
            unique,
        }
    }

    /// True when it was registered by [`Registry::reserve`] (or
    /// [`reserve_with`](Registry::reserve_with)): no other unfinished process had its name then.
    /// A restart of such a process goes through `reserve_with` again, so it stays the only one.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Registry};
    /// let r = Registry::new();
    /// assert!(!r.insert("a", CommandSpec::new("true"), 0).is_unique());
    /// assert!(r.reserve("b", CommandSpec::new("true")).process().is_unique());
    /// ```
    pub fn is_unique(&self) -> bool {
        self.unique
    }

    /// Its unique id.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let p = r.insert("x", procsnap::CommandSpec::new("true"), 0);
    /// assert_eq!(r.get(p.id()).unwrap().name(), "x");
    /// ```
    pub fn id(&self) -> ProcId {
        self.id
    }

    /// The name it was started under (a script name, say). Several processes may share a name
    /// over time; at most one unfinished one does when started through [`Registry::reserve`].
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// assert_eq!(r.insert("web", procsnap::CommandSpec::new("true"), 0).name(), "web");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command it runs.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let p = r.insert("web", procsnap::CommandSpec::new("vite"), 0);
    /// assert_eq!(p.spec().program(), "vite");
    /// ```
    pub fn spec(&self) -> &CommandSpec {
        &self.spec
    }

    /// Its current state, read-only: it changes only through its lifecycle ([`ProcessState::apply`](crate::ProcessState::apply)),
    /// applied by its supervisor or by [`Registry::apply`].
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let p = r.insert("web", procsnap::CommandSpec::new("vite"), 2);
    /// assert_eq!(p.state().snapshot().restarts, 2);
    /// ```
    pub fn state(&self) -> &StateView {
        &self.state
    }

    /// The cell, for the crate's own transitions (the supervisor's and [`Registry::apply`]).
    pub(crate) fn cell(&self) -> &StateCell {
        self.state.cell()
    }

    /// Its output, bounded in bytes: read-only. Lines are added by its supervisor (or through
    /// [`Registry::push_line`] on a registry you own), never by a holder of the process.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let p = r.insert("web", procsnap::CommandSpec::new("vite"), 0);
    /// assert!(p.logs().is_empty());
    /// ```
    pub fn logs(&self) -> &LogView {
        &self.logs
    }

    /// `name-N`, the process id used on the wire.
    ///
    /// ```
    /// let registry = procsnap::Registry::new();
    /// let p = registry.insert("dev", procsnap::CommandSpec::new("true"), 0);
    /// assert_eq!(p.label(), format!("dev-{}", p.id()));
    /// ```
    pub fn label(&self) -> String {
        format!("{}-{}", self.name, self.id)
    }
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("spec", &self.spec)
            .field("unique", &self.unique)
            .field("state", &self.state)
            .finish()
    }
}

/// What [`Registry::reserve`] decided.
#[derive(Debug)]
pub enum Reserve {
    /// No unfinished process had the name: this new `Pending` process was registered for it.
    Started(Arc<Process>),
    /// This unfinished process already has the name; nothing was registered.
    AlreadyRunning(Arc<Process>),
}

impl Reserve {
    /// The process, whichever way it was decided.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let first = r.reserve("dev", procsnap::CommandSpec::new("vite"));
    /// let again = r.reserve("dev", procsnap::CommandSpec::new("vite"));
    /// assert_eq!(first.process().id(), again.process().id());
    /// ```
    pub fn process(&self) -> &Arc<Process> {
        match self {
            Reserve::Started(p) | Reserve::AlreadyRunning(p) => p,
        }
    }
}

/// Every process, in id order, readable without locks.
///
/// # Reclamation
///
/// A process removed by [`remove_finished`](Self::remove_finished) or
/// [`prune_finished`](Self::prune_finished), or still listed when the registry is dropped, is
/// freed with its [`LogRing`] once the caller has dropped its `Arc`s and the next registry
/// write (of any registry, on any thread) has returned: every write hands the listing it
/// replaced straight to the epoch collector and runs a collection. A thread pinned since
/// before the removal (a long-held [`Guard`]) holds this back until it unpins, as it must.
///
/// ```
/// use procsnap::{CommandSpec, Registry, Reserve};
///
/// let registry = Registry::new();
/// let first = registry.reserve("dev", CommandSpec::shell("npm run dev"));
/// let second = registry.reserve("dev", CommandSpec::shell("npm run dev"));
/// assert!(matches!(first, Reserve::Started(_)));
/// assert!(matches!(second, Reserve::AlreadyRunning(ref p) if p.id() == first.process().id()));
///
/// let guard = procsnap::pin();
/// for p in registry.list(&guard) {
///     println!("{} {}", p.label(), p.state().load(&guard).status);
/// }
/// ```
pub struct Registry {
    processes: EpochCell<Listing>,
    log_bytes: usize,
}

/// One immutable version of the registry: the processes in id order and the id the next one
/// gets. Taking the id inside the CAS that publishes the process makes ids appear in order: a
/// reader that has seen id N will never see a process below N appear later.
struct Listing {
    processes: Vec<Arc<Process>>,
    next_id: u64,
}

/// The output each process keeps unless [`Registry::with_log_bytes`] says otherwise: 1 MiB.
pub const DEFAULT_LOG_BYTES: usize = 1 << 20;

impl Default for Registry {
    fn default() -> Registry {
        Registry::new()
    }
}

impl Registry {
    /// An empty registry whose processes keep [`DEFAULT_LOG_BYTES`] of output each. Ids start
    /// at 1.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// assert!(r.is_empty());
    /// ```
    pub fn new() -> Registry {
        Registry::with_log_bytes(DEFAULT_LOG_BYTES)
    }

    /// An empty registry whose processes keep at most `log_bytes` of output each.
    ///
    /// ```
    /// let r = procsnap::Registry::with_log_bytes(4096);
    /// let p = r.insert("x", procsnap::CommandSpec::new("true"), 0);
    /// assert_eq!(p.logs().max_bytes(), 4096);
    /// ```
    pub fn with_log_bytes(log_bytes: usize) -> Registry {
        Registry {
            processes: EpochCell::new(Listing {
                processes: Vec::new(),
                next_id: 1,
            }),
            log_bytes,
        }
    }

    /// Registers a new `Pending` process, whatever else has the same name.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let a = r.insert("job", procsnap::CommandSpec::new("true"), 0);
    /// let b = r.insert("job", procsnap::CommandSpec::new("true"), 0); // whatever else has the name
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn insert(&self, name: &str, spec: CommandSpec, restarts: u32) -> Arc<Process> {
        match self.register(name, spec, restarts, false) {
            Reserve::Started(p) | Reserve::AlreadyRunning(p) => p,
        }
    }

    /// Registers a new `Pending` process under `name` unless an unfinished one already has it,
    /// deciding in one CAS: of any number of concurrent `reserve`s of one name, exactly one gets
    /// [`Reserve::Started`] while that process is unfinished (none does if an unfinished process
    /// of that name was already registered, by [`insert`](Self::insert) say: all get
    /// [`Reserve::AlreadyRunning`] with it).
    ///
    /// ```
    /// use procsnap::{CommandSpec, Registry, Reserve};
    /// let r = Registry::new();
    /// assert!(matches!(r.reserve("dev", CommandSpec::new("vite")), Reserve::Started(_)));
    /// assert!(matches!(r.reserve("dev", CommandSpec::new("vite")), Reserve::AlreadyRunning(_)));
    /// ```
    pub fn reserve(&self, name: &str, spec: CommandSpec) -> Reserve {
        self.reserve_with(name, spec, 0)
    }

    /// [`reserve`](Self::reserve) for a process that continues an earlier one: the new process
    /// starts with `restarts`.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let p = r.reserve_with("dev", procsnap::CommandSpec::new("vite"), 3);
    /// assert_eq!(p.process().state().snapshot().restarts, 3);
    /// ```
    pub fn reserve_with(&self, name: &str, spec: CommandSpec, restarts: u32) -> Reserve {
        self.register(name, spec, restarts, true)
    }

    /// Appends a new process with the listing's next id in one CAS; with `unique`, unless an
    /// unfinished process already has `name` (then that one is returned, and nothing changes).
    fn register(&self, name: &str, spec: CommandSpec, restarts: u32, unique: bool) -> Reserve {
        // Built at most once per id it could get: a lost CAS with the same `next_id` (another
        // writer removed finished processes) keeps it.
        let mut candidate: Option<Arc<Process>> = None;
        let swapped = self.write(|list, guard| {
            // If the CAS below succeeds, `list` was still current then; every unfinished process
            // we skip here could only have finished meanwhile, never the other way round.
            if unique {
                if let Some(live) = find_live(&list.processes, name, guard) {
                    return Err(live.clone());
                }
            }
            let id = ProcId(list.next_id);
            let process = match &candidate {
                Some(p) if p.id == id => p,
                _ => candidate.insert(Arc::new(Process::new(
                    id,
                    name,
                    spec.clone(),
                    restarts,
                    self.log_bytes,
                    unique,
                ))),
            };
            let mut processes = Vec::with_capacity(list.processes.len() + 1);
            processes.extend(list.processes.iter().cloned());
            processes.push(process.clone());
            Ok(Listing {
                processes,
                next_id: list.next_id + 1,
            })
        });
        match swapped {
            Ok(_) => Reserve::Started(candidate.expect("set by the successful attempt")),
            Err(live) => Reserve::AlreadyRunning(live),
        }
    }

    /// Applies `event` to process `id` through [`ProcessState::apply`](crate::ProcessState::apply)
    /// (one CAS; a concurrent transition makes it retry on the new state): the way a
    /// registry's owner moves its processes through their lifecycle. A supervised process is
    /// beyond reach: a [`Supervisor`](crate::Supervisor) hands out only a read-only
    /// [`Processes`].
    ///
    /// # Errors
    ///
    /// [`ApplyError::UnknownProcess`] for an id this registry does not hold;
    /// [`ApplyError::Rejected`] when the event does not apply to the process's current state
    /// (see [`ProcessState::apply`](crate::ProcessState::apply)); nothing changed then.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Event, Exit, Registry, Status};
    /// use std::time::SystemTime;
    ///
    /// let registry = Registry::new();
    /// let p = registry.insert("build", CommandSpec::new("make"), 0);
    /// let at = SystemTime::now();
    /// registry.apply(p.id(), Event::Started { pid: 4242, at }).unwrap();
    /// let done = registry.apply(p.id(), Event::Exited { exit: Exit::Code(0), at }).unwrap();
    /// assert_eq!(done.new.status, Status::Success);
    /// // Terminal states are absorbing.
    /// assert!(registry.apply(p.id(), Event::StopRequested).is_err());
    /// ```
    pub fn apply(&self, id: ProcId, event: Event) -> Result<Updated, ApplyError> {
        let process = self.get(id).ok_or(ApplyError::UnknownProcess(id))?;
        process
            .cell()
            .update(|s| s.apply(event))
            .map_err(ApplyError::Rejected)
    }

    /// Appends a line to the output of process `id` and returns its sequence number; `None`
    /// for an unknown id. For a registry you own (one that feeds its processes' output itself,
    /// or a test): a [`Supervisor`](crate::Supervisor)'s registry is read-only, and its
    /// processes' output is what they wrote.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Registry, Stream};
    /// let r = Registry::new();
    /// let p = r.insert("web", CommandSpec::new("vite"), 0);
    /// let seq = r.push_line(p.id(), Stream::Stdout, "ready", false).unwrap();
    /// assert_eq!(&*p.logs().get(seq).unwrap().text, "ready");
    /// ```
    pub fn push_line(
        &self,
        id: ProcId,
        stream: Stream,
        text: &str,
        truncated: bool,
    ) -> Option<u64> {
        let process = self.get(id)?;
        Some(process.logs.push(stream, text, truncated).seq)
    }

    /// The process with `id`, if it is registered.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let p = r.insert("x", procsnap::CommandSpec::new("true"), 0);
    /// assert!(r.get(p.id()).is_some());
    /// assert!(r.get(procsnap::ProcId::from_label("x-99").unwrap()).is_none());
    /// ```
    pub fn get(&self, id: ProcId) -> Option<Arc<Process>> {
        let guard = &pin();
        self.get_in(id, guard).cloned()
    }

    /// The process with `id`, read under `guard` without touching its reference count.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let p = r.insert("x", procsnap::CommandSpec::new("true"), 0);
    /// let guard = procsnap::pin();
    /// assert_eq!(r.get_in(p.id(), &guard).unwrap().name(), "x");
    /// ```
    pub fn get_in<'g>(&self, id: ProcId, guard: &'g Guard) -> Option<&'g Arc<Process>> {
        let list = &self.processes.load(guard).processes;
        list.binary_search_by_key(&id, |p| p.id)
            .ok()
            .map(|i| &list[i])
    }

    /// Every registered process in id order, as one consistent listing.
    ///
    /// Reading each process's state with [`StateCell::load`] under the same `guard` makes a
    /// whole status listing one pin, no lock and no allocation. Hold the guard briefly: it delays
    /// reclamation for the whole program.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// r.insert("a", procsnap::CommandSpec::new("true"), 0);
    /// r.insert("b", procsnap::CommandSpec::new("true"), 0);
    /// let guard = procsnap::pin();
    /// let names: Vec<&str> = r.list(&guard).iter().map(|p| p.name()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// ```
    #[inline]
    pub fn list<'g>(&self, guard: &'g Guard) -> &'g [Arc<Process>] {
        &self.processes.load(guard).processes
    }

    /// The unfinished (`Pending`, `Running` or `Stopping`) process named `name`, the oldest if
    /// several were inserted.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let p = r.insert("dev", procsnap::CommandSpec::new("vite"), 0); // Pending counts as running
    /// assert_eq!(r.find_running("dev").unwrap().id(), p.id());
    /// assert!(r.find_running("other").is_none());
    /// ```
    pub fn find_running(&self, name: &str) -> Option<Arc<Process>> {
        let guard = &pin();
        find_live(self.list(guard), name, guard).cloned()
    }

    /// Removes every finished process and returns them, in id order.
    ///
    /// The removed processes are freed (with their output) once the caller drops the returned
    /// `Arc`s and the next registry write has returned; see [`Registry`] on reclamation. When
    /// nothing is finished, the listing is left as it is (no write).
    ///
    /// ```
    /// use procsnap::{CommandSpec, Event, Registry};
    /// let r = Registry::new();
    /// let p = r.insert("job", CommandSpec::new("true"), 0);
    /// r.apply(p.id(), Event::SpawnFailed { at: std::time::SystemTime::now() }).unwrap();
    /// assert_eq!(r.remove_finished().len(), 1);
    /// assert!(r.is_empty());
    /// ```
    pub fn remove_finished(&self) -> Vec<Arc<Process>> {
        let mut removed = Vec::new();
        let _unchanged = self.write(|list, guard| {
            removed.clear();
            let mut kept = Vec::with_capacity(list.processes.len());
            for p in &list.processes {
                if p.state.load(guard).is_finished() {
                    removed.push(p.clone());
                } else {
                    kept.push(p.clone());
                }
            }
            if removed.is_empty() {
                return Err(Unchanged);
            }
            Ok(Listing {
                processes: kept,
                next_id: list.next_id,
            })
        });
        removed
    }

    /// Removes the finished processes of each name except its `keep` most recent ones (highest
    /// ids), and returns the removed, in id order. A long-running host calls this after starting
    /// processes, so that finished runs (and their logs) do not pile up without bound while the
    /// latest results stay listed. The removed are freed as [`remove_finished`]'s are; when
    /// nothing is to be removed, the listing is left as it is.
    ///
    /// [`remove_finished`]: Self::remove_finished
    ///
    /// ```
    /// use procsnap::{CommandSpec, Event, Exit, Registry};
    /// use std::time::SystemTime;
    ///
    /// let r = Registry::new();
    /// let at = SystemTime::now();
    /// for _ in 0..4 {
    ///     let p = r.insert("test", CommandSpec::new("true"), 0);
    ///     r.apply(p.id(), Event::Started { pid: 1, at }).unwrap();
    ///     r.apply(p.id(), Event::Exited { exit: Exit::Code(0), at }).unwrap();
    /// }
    /// let live = r.insert("test", CommandSpec::new("true"), 0); // Pending: never removed
    /// let removed = r.prune_finished(2);
    /// assert_eq!(removed.iter().map(|p| p.id().get()).collect::<Vec<_>>(), [1, 2]);
    /// let guard = procsnap::pin();
    /// let left: Vec<u64> = r.list(&guard).iter().map(|p| p.id().get()).collect();
    /// assert_eq!(left, [3, 4, live.id().get()]);
    /// ```
    pub fn prune_finished(&self, keep: usize) -> Vec<Arc<Process>> {
        let mut removed = Vec::new();
        let _unchanged = self.write(|list, guard| {
            removed.clear();
            let mut seen: HashMap<&str, usize> = HashMap::new();
            let mut kept = Vec::with_capacity(list.processes.len());
            // Newest first, so the first `keep` finished of each name are the most recent.
            for p in list.processes.iter().rev() {
                let finished = p.state.load(guard).is_finished();
                let n = seen.entry(&p.name).or_default();
                if finished && *n >= keep {
                    removed.push(p.clone());
                } else {
                    *n += usize::from(finished);
                    kept.push(p.clone());
                }
            }
            if removed.is_empty() {
                return Err(Unchanged);
            }
            kept.reverse();
            Ok(Listing {
                processes: kept,
                next_id: list.next_id,
            })
        });
        removed.reverse();
        removed
    }

    /// Replaces the listing with `f(current, guard)` (retried like any CAS; `Err` changes
    /// nothing), then hands this thread's deferred garbage to the collector.
    ///
    /// The replaced listing holds an `Arc` of every process it lists, so until the collector
    /// runs its destructor a removed process, and its log ring, stays allocated. Deferred values
    /// wait in a thread-local bag that reaches the collector only when 64 are in it, when the
    /// thread exits, or when it is flushed: without the flush, a thread's last 63 replaced
    /// listings (every process removed meanwhile, up to [`DEFAULT_LOG_BYTES`] of output each)
    /// would stay allocated however long the program runs. The flush also collects: it moves
    /// the global epoch on when no thread is pinned in an older one, and frees what is two
    /// epochs old, so a listing replaced by one write is freed during the next. Only writes
    /// flush; [`StateCell::update`] (a 48-byte snapshot owning nothing) does not.
    fn write<E>(&self, mut f: impl FnMut(&Listing, &Guard) -> Result<Listing, E>) -> Result<(), E> {
        let guard = &pin();
        self.processes.update(guard, |list| f(list, guard))?;
        // Not under loom: the flush is crossbeam's own code (model-checked there), the
        // properties the registry's models check do not depend on when garbage is freed, and
        // its atomics multiply the interleavings of two concurrent writes by 7 (131,981 ->
        // 901,408 executions of `concurrent_reserve_starts_one` at bound 4, 15 s -> 165 s).
        #[cfg(not(crossbeam_loom))]
        guard.flush();
        Ok(())
    }

    /// How many processes are registered.
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// r.insert("x", procsnap::CommandSpec::new("true"), 0);
    /// assert_eq!(r.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.list(&pin()).len()
    }

    /// True when no process is registered.
    ///
    /// ```
    /// assert!(procsnap::Registry::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a removal left the listing as it was: nothing to remove.
struct Unchanged;

impl Drop for Registry {
    /// Swaps in an empty listing through `write`, so the last one, which
    /// holds every remaining process, reaches the collector now rather than waiting in this
    /// thread's bag (the cell's own drop then defers only the empty listing).
    fn drop(&mut self) {
        let _ = self.write(|list, _| {
            Ok::<_, Infallible>(Listing {
                processes: Vec::new(),
                next_id: list.next_id,
            })
        });
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = &pin();
        f.debug_list().entries(self.list(guard)).finish()
    }
}

fn find_live<'a>(list: &'a [Arc<Process>], name: &str, guard: &Guard) -> Option<&'a Arc<Process>> {
    list.iter()
        .find(|p| &*p.name == name && !p.state.load(guard).is_finished())
}

/// A copy of `list` with `process` at its place in id order (ids are handed out before the CAS
/// that inserts them, so a later id may land first).
#[cfg(all(test, not(crossbeam_loom)))]
mod tests;
