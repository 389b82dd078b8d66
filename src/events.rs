//! Bounded, never-blocking event delivery: [`EventQueue`] and its fan-out, [`Broadcast`].
//!
//! A supervisor must never be slowed down by whoever watches it. Both types here therefore
//! *drop the oldest* event when a queue is full, and count every drop, instead of blocking the
//! producer or growing without bound. Within one queue, events keep the order in which each
//! producer pushed them, and each pushed event is delivered at most once (brummer's bus
//! reordered 286 of 20,000 lines, defect e7, and published every log line twice, defect e8).
//!
//! ```
//! use procsnap::Broadcast;
//!
//! let bus = Broadcast::new();
//! let fast = bus.subscribe(1024);
//! let slow = bus.subscribe(2);
//! for i in 0..5 {
//!     bus.publish(i);
//! }
//! assert_eq!(fast.drain(usize::MAX), [0, 1, 2, 3, 4]);
//! assert_eq!(slow.drain(usize::MAX), [3, 4]); // the oldest were dropped, and counted
//! assert_eq!(slow.dropped(), 3);
//! ```

use crossbeam_queue::ArrayQueue;
#[cfg(not(crossbeam_loom))]
use crossbeam_queue::SegQueue as Unbounded;
#[cfg(crossbeam_loom)]
use model::Unbounded;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

// The park and room flags and their fences: loom's under `--cfg crossbeam_loom`, so that
// `loom-tests/tests/events.rs` model-checks these two protocols as they are written here.
#[cfg(crossbeam_loom)]
use loom::sync::atomic::{AtomicBool, fence};
#[cfg(not(crossbeam_loom))]
use std::sync::atomic::{AtomicBool, fence};

/// What a parked consumer is woken with (see [`EventQueue::park`]).
type Waker = Box<dyn Fn() + Send + Sync>;

/// A multi-producer multi-consumer FIFO that never blocks a producer: either bounded, dropping
/// its oldest item when full ([`new`](EventQueue::new)), or lossless with a high-water mark that
/// producers honour by pausing ([`lossless`](EventQueue::lossless)).
///
/// The bounded kind wraps [`crossbeam_queue::ArrayQueue`]: [`push`](EventQueue::push) never
/// blocks and never fails. Items pushed by one thread are popped in the order it pushed them;
/// each item is popped at most once.
///
/// ```
/// use procsnap::EventQueue;
///
/// let q = EventQueue::new(2);
/// q.push("a");
/// q.push("b");
/// q.push("c"); // full: "a" is dropped
/// assert_eq!(q.pop(), Some("b"));
/// assert_eq!(q.pop(), Some("c"));
/// assert_eq!(q.pop(), None);
/// assert_eq!(q.dropped(), 1);
/// ```
pub struct EventQueue<T> {
    store: Store<T>,
    dropped: AtomicU64,
    /// Set by a consumer going to sleep ([`park`](EventQueue::park)); the next push clears it
    /// and calls `waker`.
    parked: AtomicBool,
    waker: OnceLock<Waker>,
    /// Set by a producer that found the queue full ([`want_room`](EventQueue::want_room)); the
    /// consumer clears it and calls `on_room` once it has taken the queue down to half.
    room_wanted: AtomicBool,
    on_room: OnceLock<Waker>,
}

/// Where an [`EventQueue`] keeps its items.
enum Store<T> {
    /// At most `capacity` items; a push into a full ring drops the oldest.
    Ring(ArrayQueue<T>),
    /// Unbounded storage that never drops: `high_water` is the length at which
    /// [`EventQueue::is_full`] asks producers to pause.
    Lossless {
        queue: Unbounded<T>,
        high_water: usize,
    },
}

impl<T> EventQueue<T> {
    /// An empty queue holding at most `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    ///
    /// ```
    /// let q = procsnap::EventQueue::<u32>::new(16);
    /// assert_eq!(q.capacity(), 16);
    /// assert!(q.is_empty());
    /// ```
    pub fn new(capacity: usize) -> EventQueue<T> {
        assert!(capacity > 0, "EventQueue capacity must be at least 1");
        EventQueue::with_store(Store::Ring(ArrayQueue::new(capacity)))
    }

    /// An empty queue that never drops an item: it is full ([`is_full`](Self::is_full)) at
    /// `high_water` items, and a producer that honours that ([`want_room`](Self::want_room))
    /// pauses until the consumer has taken it down to half. A push into a full lossless queue
    /// still succeeds: the mark bounds memory only as far as the producers respect it.
    ///
    /// # Panics
    ///
    /// If `high_water` is 0.
    ///
    /// ```
    /// let q = procsnap::EventQueue::lossless(2);
    /// (0..5).for_each(|i| q.push(i)); // past the mark: kept all the same
    /// assert!(q.is_full());
    /// assert_eq!(q.drain(usize::MAX), [0, 1, 2, 3, 4]);
    /// assert_eq!(q.dropped(), 0);
    /// ```
    pub fn lossless(high_water: usize) -> EventQueue<T> {
        assert!(
            high_water > 0,
            "EventQueue high-water mark must be at least 1"
        );
        EventQueue::with_store(Store::Lossless {
            queue: Unbounded::new(),
            high_water,
        })
    }

    fn with_store(store: Store<T>) -> EventQueue<T> {
        EventQueue {
            store,
            dropped: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            waker: OnceLock::new(),
            room_wanted: AtomicBool::new(false),
            on_room: OnceLock::new(),
        }
    }

    /// True for a queue made by [`lossless`](Self::lossless).
    ///
    /// ```
    /// assert!(procsnap::EventQueue::<u8>::lossless(4).is_lossless());
    /// assert!(!procsnap::EventQueue::<u8>::new(4).is_lossless());
    /// ```
    pub fn is_lossless(&self) -> bool {
        matches!(self.store, Store::Lossless { .. })
    }

    /// True when the queue holds [`capacity`](Self::capacity) items or more (a lossless queue
    /// can hold more than its mark).
    ///
    /// ```
    /// let q = procsnap::EventQueue::new(1);
    /// assert!(!q.is_full());
    /// q.push(());
    /// assert!(q.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity()
    }

    /// Sets the function that tells a paused producer that a lossless queue has room again (see
    /// [`want_room`](Self::want_room)); it runs on the consuming thread, so it must be quick
    /// and must not block. Set once: returns `false` if one was already set.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// let q = procsnap::EventQueue::lossless(2);
    /// let told = Arc::new(AtomicBool::new(false));
    /// let t = told.clone();
    /// assert!(q.set_on_room(move || t.store(true, Ordering::Relaxed)));
    /// assert!(!q.set_on_room(|| {})); // set once
    /// q.push(1);
    /// q.push(2);
    /// assert!(q.want_room());
    /// q.drain(usize::MAX);
    /// assert!(told.load(Ordering::Relaxed));
    /// ```
    pub fn set_on_room(&self, room: impl Fn() + Send + Sync + 'static) -> bool {
        self.on_room.set(Box::new(room)).is_ok()
    }

    /// For a producer that honours the high-water mark: `false` when there is room (produce on);
    /// `true` when the queue is full, in which case the [room function](Self::set_on_room) is
    /// called once the consumer has taken the queue down to half of its mark. A consumer that
    /// pops concurrently is never missed: either this call sees its pops, or the consumer sees
    /// the request. Any number of producers may ask at once: a request is withdrawn only by the
    /// consumer, which then calls the room function (at worst once more than needed, which a
    /// producer must take as "look again"). Always `false` for a bounded, drop-oldest queue (it
    /// never makes anyone wait).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// let q = procsnap::EventQueue::lossless(4);
    /// let resumed = Arc::new(AtomicBool::new(false));
    /// let r = resumed.clone();
    /// q.set_on_room(move || r.store(true, Ordering::Relaxed));
    /// (0..4).for_each(|i| q.push(i));
    /// assert!(q.want_room()); // full: pause
    /// q.pop();
    /// assert!(!resumed.load(Ordering::Relaxed)); // 3 left: not yet down to half
    /// q.pop();
    /// assert!(resumed.load(Ordering::Relaxed)); // 2 left: produce again
    /// assert!(!q.want_room());
    /// ```
    #[must_use = "`true` means: pause until the room function runs"]
    pub fn want_room(&self) -> bool {
        if !self.is_lossless() || !self.is_full() {
            return false;
        }
        // Relaxed: the fence orders it. The store, this fence, then the read of the length;
        // the consumer's pop, the fence in `after_pop`, then its read of the flag: one of the
        // two fences comes first in their single total order, so at least one side sees the
        // other's write, whatever orderings the queue uses inside.
        self.room_wanted.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        // Left set even if the queue emptied meanwhile: clearing it here could erase another
        // producer's request, whose room function would then never run.
        self.is_full()
    }

    /// The protocol with the lost wake-up, for the loom model that must catch it: a producer
    /// that finds room after all withdraws its request, and with it another producer's.
    #[cfg(feature = "internals")]
    #[doc(hidden)]
    pub fn want_room_withdrawing(&self) -> bool {
        if !self.is_lossless() || !self.is_full() {
            return false;
        }
        self.room_wanted.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.is_full() {
            return true;
        }
        self.room_wanted.store(false, Ordering::Relaxed);
        false
    }

    /// After items were taken from a lossless queue: tells a paused producer once the queue is
    /// down to half its mark.
    fn after_pop(&self) {
        let Store::Lossless { queue, high_water } = &self.store else {
            return;
        };
        // SeqCst: orders the pop before the read of `room_wanted` (pairs with the fence in
        // `want_room`).
        fence(Ordering::SeqCst);
        if self.room_wanted.load(Ordering::Relaxed)
            && queue.len() <= high_water / 2
            && self.room_wanted.swap(false, Ordering::AcqRel)
        {
            if let Some(room) = self.on_room.get() {
                room();
            }
        }
    }

    /// The consumer is gone: a producer that waits for room is told at once (it finds no
    /// full queue any more).
    fn give_up_room(&self) {
        // Acquire: pairs with the SeqCst store in `want_room` (the unlink orders it before us).
        if self.room_wanted.swap(false, Ordering::Acquire) {
            if let Some(room) = self.on_room.get() {
                let _ = catch_unwind(AssertUnwindSafe(room));
            }
        }
    }

    /// Sets the function that wakes this queue's consumer after it [`park`](Self::park)ed; it
    /// runs on the pushing thread, so it must be quick and must not block (a
    /// `tokio::sync::Notify::notify_one`, an eventfd write, `Thread::unpark`). Set once:
    /// returns `false` if a waker was already set.
    ///
    /// ```
    /// let q = procsnap::EventQueue::<u32>::new(4);
    /// assert!(q.set_waker(|| {}));
    /// assert!(!q.set_waker(|| {})); // set once
    /// ```
    pub fn set_waker(&self, wake: impl Fn() + Send + Sync + 'static) -> bool {
        self.waker.set(Box::new(wake)).is_ok()
    }

    /// Announces that the consumer is about to sleep until the next push, which then calls the
    /// [waker](Self::set_waker) once. Returns `false` if an item is already queued: take it
    /// first (the next push may then wake the consumer once more than needed). A push that races
    /// with `park` is never missed: either `park` sees its item, or the push sees the consumer
    /// parked and wakes it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let q = procsnap::EventQueue::new(8);
    /// let wakes = Arc::new(AtomicUsize::new(0));
    /// let w = wakes.clone();
    /// q.set_waker(move || {
    ///     w.fetch_add(1, Ordering::Relaxed);
    /// });
    /// q.push(1); // nobody parked: no wake-up
    /// assert!(!q.park()); // an item is waiting
    /// q.pop();
    /// assert!(q.park());
    /// q.push(2); // wakes the consumer, once
    /// q.push(3);
    /// assert_eq!(wakes.load(Ordering::Relaxed), 1);
    /// ```
    #[must_use = "`false` means an item is waiting: take it instead of sleeping"]
    pub fn park(&self) -> bool {
        // Relaxed: the fence orders it. The store, this fence, then the read of the queue; the
        // producer's push, the fence in `take_parked`, then its read of the flag: at least one
        // side sees the other's write (as in `want_room`).
        self.parked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        // Left set even if an item is waiting: clearing it could erase the park of another
        // consumer of this queue, which would then sleep through the next push.
        self.is_empty()
    }

    /// After a push: true when a consumer was parked, which the caller must now wake (once) with
    /// [`call_waker`](Self::call_waker).
    fn take_parked(&self) -> bool {
        if self.waker.get().is_none() {
            return false; // nobody can be parked without a way to be woken
        }
        // SeqCst: orders the push before the read of `parked` (pairs with the fence in `park`).
        fence(Ordering::SeqCst);
        // Relaxed load first: the swap (a locked RMW) only when a consumer is parked.
        self.parked.load(Ordering::Relaxed) && self.parked.swap(false, Ordering::AcqRel)
    }

    /// Runs the consumer's waker. A waker that panics does not unwind into the producer (the
    /// panic hook has reported it): a supervisor's threads must outlive a broken consumer.
    fn call_waker(&self) {
        if let Some(waker) = self.waker.get() {
            let _ = catch_unwind(AssertUnwindSafe(waker));
        }
    }

    /// Appends `item`; when the queue is full, removes the oldest item first and counts it as
    /// dropped. Never blocks.
    ///
    /// ```
    /// let q = procsnap::EventQueue::new(1);
    /// q.push(1);
    /// q.push(2);
    /// assert_eq!(q.pop(), Some(2));
    /// assert_eq!(q.dropped(), 1);
    /// ```
    pub fn push(&self, item: T) {
        let pushed = self.push_quiet(item);
        if pushed.wake {
            self.call_waker();
        }
    }

    /// [`push`](Self::push) without running the waker: hands back the item it dropped (if a
    /// bounded queue was full), so that the caller chooses where it is destroyed, and whether
    /// a parked consumer must be woken, so that the caller chooses when.
    fn push_quiet(&self, item: T) -> Pushed<T> {
        let displaced = match &self.store {
            Store::Ring(queue) => queue.force_push(item),
            Store::Lossless { queue, .. } => {
                queue.push(item);
                None
            }
        };
        if displaced.is_some() {
            // Relaxed: a statistic; it orders nothing else.
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        Pushed {
            displaced,
            wake: self.take_parked(),
        }
    }

    /// Removes and returns the oldest item, if any.
    ///
    /// ```
    /// let q = procsnap::EventQueue::new(4);
    /// q.push('x');
    /// assert_eq!(q.pop(), Some('x'));
    /// assert_eq!(q.pop(), None);
    /// ```
    pub fn pop(&self) -> Option<T> {
        let item = self.pop_quiet();
        if item.is_some() {
            self.after_pop();
        }
        item
    }

    /// The oldest item, without telling a paused producer about the room made.
    fn pop_quiet(&self) -> Option<T> {
        match &self.store {
            Store::Ring(queue) => queue.pop(),
            Store::Lossless { queue, .. } => queue.pop(),
        }
    }

    /// Removes and returns up to `max` items, oldest first.
    ///
    /// ```
    /// let q = procsnap::EventQueue::new(8);
    /// for i in 0..5 {
    ///     q.push(i);
    /// }
    /// assert_eq!(q.drain(3), [0, 1, 2]);
    /// assert_eq!(q.drain(usize::MAX), [3, 4]);
    /// ```
    pub fn drain(&self, max: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(max.min(self.len()));
        while out.len() < max {
            match self.pop_quiet() {
                Some(item) => out.push(item),
                None => break,
            }
        }
        if !out.is_empty() {
            self.after_pop();
        }
        out
    }

    /// How many items were dropped because the queue was full, since it was created (always 0
    /// for a lossless queue).
    ///
    /// ```
    /// let q = procsnap::EventQueue::new(1);
    /// (0..10).for_each(|i| q.push(i));
    /// assert_eq!(q.dropped(), 9);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// How many items are queued now.
    ///
    /// ```
    /// let q = procsnap::EventQueue::new(4);
    /// q.push(());
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        match &self.store {
            Store::Ring(queue) => queue.len(),
            Store::Lossless { queue, .. } => queue.len(),
        }
    }

    /// True when no item is queued.
    ///
    /// ```
    /// assert!(procsnap::EventQueue::<()>::new(4).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        match &self.store {
            Store::Ring(queue) => queue.is_empty(),
            Store::Lossless { queue, .. } => queue.is_empty(),
        }
    }

    /// The most items a bounded queue holds, or a lossless queue's high-water mark.
    ///
    /// ```
    /// assert_eq!(procsnap::EventQueue::<()>::new(3).capacity(), 3);
    /// assert_eq!(procsnap::EventQueue::<()>::lossless(5).capacity(), 5);
    /// ```
    pub fn capacity(&self) -> usize {
        match &self.store {
            Store::Ring(queue) => queue.capacity(),
            Store::Lossless { high_water, .. } => *high_water,
        }
    }
}

/// What [`EventQueue::push_quiet`] did.
struct Pushed<T> {
    /// The oldest item, pushed out of a full bounded queue.
    displaced: Option<T>,
    /// A consumer was parked: wake it.
    wake: bool,
}

impl<T> fmt::Debug for EventQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventQueue")
            .field("lossless", &self.is_lossless())
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// Under loom, the lossless queue's storage is a loom mutex around a `VecDeque`, so that loom
/// sees every push, pop and length read (crossbeam's `SegQueue` has no loom support: its
/// accesses would be invisible to loom, which would then not explore their interleavings with
/// the room protocol). The protocol does not depend on the storage's orderings (its fences
/// order it), so this checks the protocol itself; the queue's own memory orderings are
/// crossbeam's to check.
#[cfg(crossbeam_loom)]
mod model {
    use loom::sync::Mutex;
    use std::collections::VecDeque;

    pub(super) struct Unbounded<T>(Mutex<VecDeque<T>>);

    impl<T> Unbounded<T> {
        pub(super) fn new() -> Unbounded<T> {
            Unbounded(Mutex::new(VecDeque::new()))
        }
        pub(super) fn push(&self, item: T) {
            self.0.lock().unwrap().push_back(item);
        }
        pub(super) fn pop(&self) -> Option<T> {
            self.0.lock().unwrap().pop_front()
        }
        pub(super) fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }
        pub(super) fn is_empty(&self) -> bool {
            self.0.lock().unwrap().is_empty()
        }
    }
}

mod broadcast;

pub use broadcast::{Broadcast, Subscription};

#[cfg(test)]
mod tests;
