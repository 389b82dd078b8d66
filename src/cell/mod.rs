//! [`StateCell`]: one process's current [`ProcessState`], swapped by compare-and-swap.
//!
//! The cell owns a heap-allocated snapshot behind a [`crossbeam_epoch::Atomic`]. Readers load the
//! pointer under an epoch [`Guard`] and read the snapshot in place; writers build a new snapshot
//! and `compare_exchange` it against **the pointer they loaded**. The replaced snapshot is handed
//! to the epoch collector, which frees it once every thread that was pinned when it was unlinked
//! has unpinned. Because a snapshot's memory cannot be reused while any reader could still hold
//! its address, a pointer CAS cannot be fooled by ABA.
//!
//! # Guarantees
//!
//! - [`load`](StateCell::load) is wait-free once pinned: one atomic load, no allocation, no
//!   retry, no store to shared memory.
//! - [`snapshot`](StateCell::snapshot) pins, copies and unpins: no allocation, no lock.
//! - [`update`](StateCell::update) is lock-free: a CAS fails only because another update
//!   succeeded. Every successful update increments `version` by exactly one, so `version` counts
//!   updates and a reader can order any two snapshots of one cell.
//! - A reader sees only published snapshots, each one whole (it reads an immutable allocation),
//!   and never an older one after a newer one (acquire loads of a single location).
//!
//! # Limits
//!
//! A guard held for a long time delays reclamation of every snapshot replaced meanwhile (in
//! every cell: the collector is one for all of procsnap, though not shared with other crates).
//! Readers that loop should repin now and then ([`Guard::repin`]), or use a [`Reader`], which
//! does; [`snapshot`](StateCell::snapshot) pins and unpins on every call.

#[cfg(any(test, feature = "internals"))]
mod locked;
mod reader;
mod spares;

#[cfg(any(test, feature = "internals"))]
pub use locked::LockedCell;
pub use reader::{Listed, REPIN_EVERY, Reader};
pub use spares::{Fresh, Pool, Spares};

use std::fmt;
use std::sync::atomic::Ordering;

use crossbeam_epoch::{self as epoch, Atomic, Owned};

use crate::state::ProcessState;

/// This thread pinned on procsnap's epoch collector, the collector every cell defers its
/// replaced values to: while the guard lives, nothing read through it is freed.
///
/// Only [`pin`] (and a [`Reader`]) makes one. The collector is procsnap's own, not
/// crossbeam-epoch's default: a guard held for long by another crate's code does not hold back
/// the reclamation of our snapshots, nor ours theirs. A guard of any other collector is another
/// type, so a reference read under a foreign guard cannot dangle:
///
/// ```compile_fail,E0308
/// let collector = crossbeam_epoch::Collector::new();
/// let handle = collector.register();
/// let cell = procsnap::StateCell::default();
/// let foreign = handle.pin();
/// let _ = cell.load(&foreign); // expected `procsnap::Guard`, found `crossbeam_epoch::Guard`
/// ```
///
/// A guard belongs to its thread:
///
/// ```compile_fail,E0277
/// let guard = procsnap::pin();
/// std::thread::spawn(move || drop(guard)); // `Guard` cannot be sent between threads
/// ```
#[must_use = "the thread unpins as soon as the guard is dropped"]
pub struct Guard {
    inner: epoch::Guard,
}

/// procsnap's epoch collector. Under loom, crossbeam's default collector, which is a loom lazy
/// static there (so that the models can check that everything deferred is freed).
#[cfg(not(crossbeam_loom))]
fn collector() -> &'static epoch::Collector {
    static COLLECTOR: std::sync::LazyLock<epoch::Collector> =
        std::sync::LazyLock::new(epoch::Collector::new);
    &COLLECTOR
}

/// Pins this thread on procsnap's collector (re-entrant: nested pins are cheap).
///
/// ```
/// let cell = procsnap::StateCell::default();
/// let guard = procsnap::pin();
/// assert_eq!(cell.load(&guard).version, 0);
/// ```
#[inline]
pub fn pin() -> Guard {
    #[cfg(not(crossbeam_loom))]
    {
        // Our own registration of the thread, which also keeps `pin` small enough to inline
        // (crossbeam's `epoch::pin` goes through a closure-generic helper whose inlining
        // depends on unrelated code).
        thread_local! {
            static HANDLE: epoch::LocalHandle = collector().register();
        }
        match HANDLE.try_with(epoch::LocalHandle::pin) {
            Ok(inner) => Guard { inner },
            Err(_) => pin_unregistered(),
        }
    }
    // Under loom: its threads share one OS thread, so the thread-local must be loom's.
    #[cfg(crossbeam_loom)]
    Guard {
        inner: epoch::pin(),
    }
}

/// A pin while this thread's locals are being destroyed: a registration for this pin only (the
/// guard keeps it alive), as crossbeam does for its default collector. Out of line, so that
/// [`pin`]'s common path stays small enough to inline.
#[cfg(not(crossbeam_loom))]
#[cold]
#[inline(never)]
fn pin_unregistered() -> Guard {
    Guard {
        inner: collector().register().pin(),
    }
}

impl Guard {
    /// Unpins and pins again, letting values replaced meanwhile be freed. Taking `&mut self`
    /// ends every reference read under the guard before it:
    ///
    /// ```compile_fail,E0502
    /// let cell = procsnap::StateCell::default();
    /// let mut guard = procsnap::pin();
    /// let state = cell.load(&guard);
    /// guard.repin(); // cannot borrow `guard` as mutable: `state` still reads through it
    /// println!("{state:?}");
    /// ```
    ///
    /// ```
    /// let cell = procsnap::StateCell::default();
    /// let mut guard = procsnap::pin();
    /// for _ in 0..3 {
    ///     assert_eq!(cell.load(&guard).version, 0);
    ///     guard.repin();
    /// }
    /// ```
    #[inline]
    pub fn repin(&mut self) {
        self.inner.repin();
    }

    /// Hands this thread's deferred garbage (snapshots and listings it replaced) to the
    /// collector now, and runs a collection step, instead of waiting until 64 have piled up.
    /// For a thread that replaced values owning real memory and then goes quiet.
    ///
    /// ```
    /// procsnap::pin().flush();
    /// ```
    pub fn flush(&self) {
        self.inner.flush();
    }

    /// The crossbeam guard inside, for the cell module's loads, CASes and deferrals.
    #[inline]
    pub(crate) fn epoch(&self) -> &epoch::Guard {
        &self.inner
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Guard { .. }")
    }
}

/// The outcome of a successful [`StateCell::update`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Updated {
    /// The snapshot that was replaced.
    pub old: ProcessState,
    /// The snapshot that was installed, with `version == old.version + 1`.
    pub new: ProcessState,
    /// How many times the CAS lost to another writer before it won.
    pub retries: u32,
}

/// A lock-free cell holding the current [`ProcessState`] of one process.
///
/// ```
/// use procsnap::{Event, ProcessState, StateCell, Status};
/// use std::time::SystemTime;
///
/// let cell = StateCell::new(ProcessState::default());
/// let up = cell
///     .update(|s| s.apply(Event::Started { pid: 42, at: SystemTime::now() }))
///     .unwrap();
/// assert_eq!((up.old.version, up.new.version), (0, 1));
///
/// // Many reads under one pin: zero-copy.
/// let guard = procsnap::pin();
/// let s = cell.load(&guard);
/// assert_eq!((s.status, s.pid), (Status::Running, Some(42)));
/// ```
pub struct StateCell {
    inner: EpochCell<ProcessState, Spares>,
}

impl StateCell {
    /// A cell holding `state`.
    ///
    /// ```
    /// let mut state = procsnap::ProcessState::default();
    /// state.restarts = 1;
    /// let cell = procsnap::StateCell::new(state);
    /// assert_eq!(cell.snapshot().restarts, 1);
    /// ```
    pub fn new(state: ProcessState) -> StateCell {
        StateCell {
            inner: EpochCell::pooled(state),
        }
    }

    /// The current snapshot, read in place: zero copies, zero allocations.
    ///
    /// The reference lives as long as `guard`. While it is held, the snapshot it points to
    /// stays allocated even if the cell is updated or dropped.
    ///
    /// ```
    /// let cell = procsnap::StateCell::default();
    /// let guard = procsnap::pin();
    /// let state: &procsnap::ProcessState = cell.load(&guard); // no copy
    /// assert_eq!(state.version, 0);
    /// ```
    #[inline]
    pub fn load<'g>(&self, guard: &'g Guard) -> &'g ProcessState {
        self.inner.load(guard)
    }

    /// A copy of the current snapshot: pins, copies, unpins. No allocation (beyond a thread's
    /// very first pin, which registers it with the collector).
    ///
    /// To read many cells, pin once and use [`load`](Self::load) instead.
    ///
    /// ```
    /// let cell = procsnap::StateCell::default();
    /// let copy = cell.snapshot();
    /// assert_eq!(copy, procsnap::ProcessState::default());
    /// ```
    #[inline]
    pub fn snapshot(&self) -> ProcessState {
        *self.inner.load(&pin())
    }

    /// Replaces the snapshot with `f(current)`, retrying if another writer got there first.
    ///
    /// `f` may run several times (once per attempt) and must be pure. If it returns `Err`, the
    /// cell is left unchanged and the error is returned. The cell sets the new snapshot's
    /// `version` to the old one plus one, whatever `f` returned. On a lost CAS the allocation is
    /// reused for the next attempt, so a successful update allocates exactly once.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns as its error; the cell is then unchanged.
    ///
    /// ```
    /// use procsnap::{Event, ProcessState, StateCell};
    ///
    /// let cell = StateCell::new(ProcessState::default());
    /// // A stop on a process that never started is refused and changes nothing.
    /// assert!(cell.update(|s| s.apply(Event::StopRequested)).is_err());
    /// assert_eq!(cell.snapshot().version, 0);
    /// ```
    #[inline]
    pub fn update<E, F>(&self, mut f: F) -> Result<Updated, E>
    where
        F: FnMut(&ProcessState) -> Result<ProcessState, E>,
    {
        let guard = &pin();
        let swap = self.inner.update(guard, |old| {
            let mut new = f(old)?;
            new.version = old.version.wrapping_add(1);
            Ok(new)
        })?;
        Ok(Updated {
            old: *swap.old,
            new: *swap.new,
            retries: swap.retries,
        })
    }
}

/// The result of an [`EpochCell::update`]: both values stay readable while the guard is held.
#[derive(Debug)]
pub struct Swap<'g, T> {
    /// The value that was replaced.
    pub old: &'g T,
    /// The value that was installed.
    pub new: &'g T,
    /// How many times the CAS lost to another writer before it won.
    pub retries: u32,
}

/// The mechanism under [`StateCell`] and [`Registry`](crate::Registry), for any immutable value:
/// a never-null `crossbeam_epoch::Atomic<T>` replaced by CAS against the loaded pointer, with
/// epoch-deferred reclamation.
///
/// `T: Send + Sync + 'static` because readers on any thread share it and the collector may drop a
/// replaced value on another thread, later.
///
/// ```
/// use procsnap::internals::EpochCell;
/// let cell = EpochCell::new(vec![1, 2]);
/// let guard = procsnap::pin();
/// let swap = cell
///     .update(&guard, |v| Ok::<_, ()>(v.iter().map(|x| x * 10).collect()))
///     .unwrap();
/// assert_eq!((swap.old.as_slice(), swap.new.as_slice()), (&[1, 2][..], &[10, 20][..]));
/// ```
///
/// `P` says where new values' boxes come from and where replaced ones go ([`Fresh`]: the
/// allocator; [`Spares`]: the thread's spare snapshots, for [`StateCell`]).
pub struct EpochCell<T: Send + Sync + 'static, P: Pool<T> = Fresh> {
    /// Never null: set in `new`, and every successful CAS installs a non-null `Owned`.
    current: Atomic<T>,
    pool: std::marker::PhantomData<P>,
}

// `EpochCell<T>` is `Send + Sync` for `T: Send + Sync` because `Atomic<T>` is; checked here for
// the cells the crate uses.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<StateCell>();
    send_sync::<EpochCell<Vec<std::sync::Arc<crate::Process>>>>();
};

impl<T: Send + Sync + 'static> EpochCell<T> {
    /// A cell holding `value`, whose values are allocated and freed as usual ([`Fresh`]).
    pub fn new(value: T) -> EpochCell<T> {
        EpochCell::pooled(value)
    }
}

impl<T: Send + Sync + 'static, P: Pool<T>> EpochCell<T, P> {
    /// A cell holding `value`, whose values' boxes come from and go back to `P`.
    pub fn pooled(value: T) -> EpochCell<T, P> {
        EpochCell {
            current: Atomic::new(value),
            pool: std::marker::PhantomData,
        }
    }

    /// The current value, read in place. It stays allocated while `guard` is held, even if the
    /// cell is updated or dropped meanwhile.
    #[inline]
    pub fn load<'g>(&self, guard: &'g Guard) -> &'g T {
        // Acquire: pairs with the Release of the CAS in `update` that published this value, so
        // its contents are visible.
        let shared = self.current.load(Ordering::Acquire, guard.epoch());
        // SAFETY: never null (see the field); `guard` pins us on procsnap's collector (only
        // `pin` makes a `Guard`), where replacing or dropping the value defers its destruction.
        unsafe { shared.deref() }
    }

    /// Replaces the value with `f(current)`, retrying the CAS when another writer won.
    ///
    /// `f` runs once per attempt; on `Err` nothing changes. A lost attempt's allocation is
    /// reused, so a successful update allocates once.
    #[inline]
    pub fn update<'g, E, F>(&self, guard: &'g Guard, mut f: F) -> Result<Swap<'g, T>, E>
    where
        F: FnMut(&'g T) -> Result<T, E>,
    {
        // Acquire: pairs with the Release of the CAS that published the value we read.
        let mut current = self.current.load(Ordering::Acquire, guard.epoch());
        let mut spare: Option<Owned<T>> = None;
        let mut retries = 0;
        loop {
            // SAFETY: never null (see the field); `guard` pins us on procsnap's collector, the
            // one every replaced value is deferred to, so it is not reclaimed while read.
            let old = unsafe { current.deref() };
            let value = f(old)?;
            let next = match spare.take() {
                Some(mut owned) => {
                    *owned = value;
                    owned
                }
                None => match P::take() {
                    Some(mut spare) => {
                        *spare = value;
                        Owned::from(spare)
                    }
                    None => Owned::new(value),
                },
            };
            // Success Release: publishes `next` to readers' Acquire loads. Failure Acquire: the
            // winner's value is read on the next attempt.
            match self.current.compare_exchange(
                current,
                next,
                Ordering::Release,
                Ordering::Acquire,
                guard.epoch(),
            ) {
                Ok(installed) => {
                    if P::RECYCLES {
                        // SAFETY: unlinked by our CAS (deferred once, here); procsnap's
                        // collector runs this, on any thread (`T: Send`), after every reader
                        // pinned now has unpinned: the box is then ours alone, to reuse.
                        unsafe {
                            guard.epoch().defer_unchecked(move || {
                                P::recycle(current.into_owned().into_box())
                            })
                        };
                    } else {
                        // SAFETY: as above; the collector frees it then.
                        unsafe { guard.epoch().defer_destroy(current) };
                    }
                    // SAFETY: `installed` is the non-null `Owned` we just published; pinned by
                    // `guard`, so it outlives `'g` even if replaced at once.
                    let new = unsafe { installed.deref() };
                    return Ok(Swap { old, new, retries });
                }
                Err(lost) => {
                    current = lost.current;
                    spare = Some(lost.new);
                    retries += 1;
                }
            }
        }
    }
}

impl<T: Send + Sync + 'static, P: Pool<T>> Drop for EpochCell<T, P> {
    fn drop(&mut self) {
        let guard = &pin();
        // Relaxed: `&mut self` means every write to `current` happened before this drop.
        let current = self.current.load(Ordering::Relaxed, guard.epoch());
        // A reader may still hold a `&'g T` from `load` (tied to its guard, not to the cell), so
        // the value is deferred, not freed.
        // SAFETY: `&mut self`: nobody can load `current` again, and it is deferred once (the
        // cell drops once); the collector frees it after every pinned reader has unpinned.
        unsafe { guard.epoch().defer_destroy(current) };
    }
}

impl Default for StateCell {
    fn default() -> StateCell {
        StateCell::new(ProcessState::default())
    }
}

impl fmt::Debug for StateCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StateCell").field(&self.snapshot()).finish()
    }
}

/// A [`StateCell`] that can only be read: what [`Process::state`](crate::Process::state) hands
/// out. A process's state changes only through [`ProcessState::apply`] (its lifecycle, whose
/// terminal states stay terminal), applied by its supervisor or by
/// [`Registry::apply`](crate::Registry::apply) — never by an arbitrary closure, which could
/// un-finish a process and break the one-CAS argument of
/// [`Registry::reserve`](crate::Registry::reserve).
///
/// ```compile_fail,E0599
/// let registry = procsnap::Registry::new();
/// let p = registry.insert("x", procsnap::CommandSpec::new("true"), 0);
/// p.state().update(|s| Ok::<_, ()>(*s)); // no method named `update`
/// ```
pub struct StateView(StateCell);

impl StateView {
    pub(crate) fn new(state: ProcessState) -> StateView {
        StateView(StateCell::new(state))
    }

    /// The cell, for the crate's own transitions.
    pub(crate) fn cell(&self) -> &StateCell {
        &self.0
    }

    /// The current state, read in place; see [`StateCell::load`].
    ///
    /// ```
    /// let registry = procsnap::Registry::new();
    /// let p = registry.insert("x", procsnap::CommandSpec::new("true"), 0);
    /// assert_eq!(p.state().load(&procsnap::pin()).version, 0);
    /// ```
    #[inline]
    pub fn load<'g>(&self, guard: &'g Guard) -> &'g ProcessState {
        self.0.load(guard)
    }

    /// A copy of the current state; see [`StateCell::snapshot`].
    ///
    /// ```
    /// let registry = procsnap::Registry::new();
    /// let p = registry.insert("x", procsnap::CommandSpec::new("true"), 0);
    /// assert_eq!(p.state().snapshot().status, procsnap::Status::Pending);
    /// ```
    #[inline]
    pub fn snapshot(&self) -> ProcessState {
        self.0.snapshot()
    }
}

impl fmt::Debug for StateView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StateView").field(&self.snapshot()).finish()
    }
}

#[cfg(all(test, not(crossbeam_loom)))]
mod tests;
