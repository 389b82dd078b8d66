//! [`Reader`]: a per-thread read handle that stays pinned and repins on its own.

use std::sync::Arc;

use super::{Guard, StateCell, pin};
use crate::registry::{Process, Processes, Registry};
use crate::state::ProcessState;

/// Reads between two repins of a [`Reader`]: few enough that a reader beside a writer at full
/// speed holds back at most this many replaced snapshots per cell it reads, many enough that
/// the repin's atomic read-modify-write is a rounding error per read.
pub const REPIN_EVERY: u32 = 256;

/// A pinned read handle for one thread.
///
/// [`StateCell::snapshot`] pins and unpins on every call, and a pin is an atomic
/// read-modify-write on shared epoch state: as costly as an uncontended mutex, and it stops
/// scaling with many reader threads. A held [`Guard`] reads for the cost of one load, but holds
/// back the reclamation of everything replaced meanwhile until it is repinned. A `Reader` keeps
/// the held guard's speed and bounds what it holds back: it repins after every
/// [`REPIN_EVERY`] reads, and on demand ([`repin`](Reader::repin)). Its per-call reads do no
/// atomic read-modify-write.
///
/// Which to use:
///
/// | you read | use |
/// |---|---|
/// | a state now and then | [`StateCell::snapshot`] |
/// | states over and over on one busy thread (a polling loop, a benchmark, a render loop that never sleeps) | a [`Reader`] kept by that thread |
/// | many states as one consistent batch, in place | [`Reader::list`] (a reader made for the batch is one pin), or a [`Guard`] from [`pin`] held for the batch only |
///
/// A reader is pinned for as long as it lives, so do not keep one across a blocking wait (an
/// idle UI thread, a server between requests): while it sleeps pinned, nothing replaced
/// anywhere in procsnap can be freed. Drop it, or make one per burst of reads.
///
/// Like a guard, a reader belongs to its thread:
///
/// ```compile_fail,E0277
/// let reader = procsnap::Reader::new();
/// std::thread::spawn(move || drop(reader)); // `Reader` cannot be sent between threads
/// ```
///
/// A state read in place cannot be kept across a repin:
///
/// ```compile_fail,E0502
/// let cell = procsnap::StateCell::default();
/// let mut reader = procsnap::Reader::new();
/// let state = reader.load(&cell);
/// reader.repin(); // cannot borrow `reader` as mutable: `state` still reads through it
/// println!("{state:?}");
/// ```
///
/// ```
/// use procsnap::{Event, Reader, StateCell, Status};
/// use std::time::SystemTime;
///
/// let cell = StateCell::default();
/// let mut reader = Reader::new();
/// assert_eq!(reader.read(&cell).status, Status::Pending);
/// cell.update(|s| s.apply(Event::Started { pid: 7, at: SystemTime::now() })).unwrap();
/// let state = reader.read(&cell); // always the current state: pinning never hides updates
/// assert_eq!((state.status, state.pid), (Status::Running, Some(7)));
/// ```
pub struct Reader {
    guard: Guard,
    /// Reads left before the next repin.
    pub(super) left: u32,
}

impl Reader {
    /// A reader for this thread, pinned.
    ///
    /// ```
    /// let mut reader = procsnap::Reader::new();
    /// assert_eq!(reader.read(&procsnap::StateCell::default()).version, 0);
    /// ```
    pub fn new() -> Reader {
        Reader {
            guard: pin(),
            left: REPIN_EVERY,
        }
    }

    /// Counts one read; repins first when [`REPIN_EVERY`] reads were made under this pin.
    #[inline]
    fn tick(&mut self) {
        self.left -= 1;
        if self.left == 0 {
            self.repin();
        }
    }

    /// A copy of `cell`'s current state.
    ///
    /// ```
    /// let cell = procsnap::StateCell::default();
    /// let mut reader = procsnap::Reader::new();
    /// let copy = reader.read(&cell);
    /// assert!(!copy.is_finished());
    /// ```
    #[inline]
    pub fn read(&mut self, cell: &StateCell) -> ProcessState {
        self.tick();
        *cell.load(&self.guard)
    }

    /// `cell`'s current state, read in place (no copy). It lives until the reader's next call.
    ///
    /// ```
    /// let cell = procsnap::StateCell::default();
    /// let mut reader = procsnap::Reader::new();
    /// let state = reader.load(&cell);
    /// assert!(!state.is_finished());
    /// ```
    #[inline]
    pub fn load<'r>(&'r mut self, cell: &StateCell) -> &'r ProcessState {
        self.tick();
        cell.load(&self.guard)
    }

    /// Every process of `registry` with its current state, in id order, read in place as one
    /// consistent listing (one read of the reader's count: no pin, lock or allocation per
    /// process).
    ///
    /// ```
    /// use procsnap::{CommandSpec, Reader, Registry};
    ///
    /// let registry = Registry::new();
    /// registry.insert("web", CommandSpec::new("true"), 0);
    /// registry.insert("db", CommandSpec::new("true"), 0);
    /// let mut reader = Reader::new();
    /// let names: Vec<&str> = reader.list(&registry).map(|(p, _)| p.name()).collect();
    /// assert_eq!(names, ["web", "db"]);
    /// ```
    pub fn list<'r>(
        &'r mut self,
        registry: &impl Listed,
    ) -> impl ExactSizeIterator<Item = (&'r Arc<Process>, &'r ProcessState)> + 'r {
        self.tick();
        let guard = &self.guard;
        registry
            .listing(guard)
            .iter()
            .map(move |p| (p, p.state().load(guard)))
    }

    /// The reader's guard, for reading in place under one pin what the other methods do not
    /// cover; counts as one read.
    ///
    /// ```
    /// let (a, b) = (procsnap::StateCell::default(), procsnap::StateCell::default());
    /// let mut reader = procsnap::Reader::new();
    /// let guard = reader.guard();
    /// assert_eq!(a.load(guard).version + b.load(guard).version, 0);
    /// ```
    #[inline]
    pub fn guard(&mut self) -> &Guard {
        self.tick();
        &self.guard
    }

    /// Repins now: lets everything replaced since the last pin be freed. Useful before the
    /// thread goes idle, so that it holds nothing back while it waits.
    ///
    /// ```
    /// let mut reader = procsnap::Reader::new();
    /// reader.repin();
    /// ```
    #[inline]
    pub fn repin(&mut self) {
        self.guard.repin();
        self.left = REPIN_EVERY;
    }
}

impl Default for Reader {
    fn default() -> Reader {
        Reader::new()
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("reads_before_repin", &self.left)
            .finish()
    }
}

/// What a [`Reader`] can list: a [`Registry`], or the read-only [`Processes`] a supervisor
/// hands out. Sealed: implemented by procsnap only.
pub trait Listed: sealed::Sealed {
    /// The processes in id order, under `guard`.
    #[doc(hidden)]
    fn listing<'g>(&self, guard: &'g Guard) -> &'g [Arc<Process>];
}

impl Listed for Registry {
    fn listing<'g>(&self, guard: &'g Guard) -> &'g [Arc<Process>] {
        self.list(guard)
    }
}

impl Listed for Processes {
    fn listing<'g>(&self, guard: &'g Guard) -> &'g [Arc<Process>] {
        self.list(guard)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::registry::Registry {}
    impl Sealed for crate::registry::Processes {}
}
