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
use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, OnceLock, PoisonError, RwLock, Weak};

/// What a parked consumer is woken with (see [`EventQueue::park`]).
type Waker = Box<dyn Fn() + Send + Sync>;

/// A bounded multi-producer multi-consumer FIFO that drops its oldest item when full.
///
/// A wrapper around [`crossbeam_queue::ArrayQueue`]: [`push`](EventQueue::push) never blocks
/// and never fails. Items pushed by one thread are popped in the order it pushed them; each item
/// is popped at most once.
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
    queue: ArrayQueue<T>,
    dropped: AtomicU64,
    /// Set by a consumer going to sleep ([`park`](EventQueue::park)); the next push clears it
    /// and calls `waker`.
    parked: AtomicBool,
    waker: OnceLock<Waker>,
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
        EventQueue {
            queue: ArrayQueue::new(capacity),
            dropped: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            waker: OnceLock::new(),
        }
    }

    /// Sets the function that wakes this queue's consumer after it [`park`](Self::park)ed; it
    /// runs on the pushing thread, so it must be quick and must not block (a
    /// `tokio::sync::Notify::notify_one`, an eventfd write, `Thread::unpark`). Set once:
    /// returns `false` if a waker was already set.
    pub fn set_waker(&self, wake: impl Fn() + Send + Sync + 'static) -> bool {
        self.waker.set(Box::new(wake)).is_ok()
    }

    /// Announces that the consumer is about to sleep until the next push, which then calls the
    /// [waker](Self::set_waker) once. Returns `false`, and does not park, if an item is already
    /// queued: take it first. A push that races with `park` is never missed: either `park`
    /// sees its item, or the push sees the consumer parked and wakes it.
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
    pub fn park(&self) -> bool {
        // SeqCst store, then a SeqCst read of the queue: with the fence in `push` (its item
        // before its read of `parked`), at least one side sees the other's write.
        self.parked.store(true, Ordering::SeqCst);
        if self.queue.is_empty() {
            return true;
        }
        self.parked.store(false, Ordering::Relaxed);
        false
    }

    /// After a push: wakes a parked consumer, once.
    fn wake(&self) {
        let Some(waker) = self.waker.get() else {
            return; // nobody can be parked without a way to be woken
        };
        // SeqCst: orders the push before the read of `parked` (see `park`).
        fence(Ordering::SeqCst);
        // Relaxed load first: the swap (a locked RMW) only when a consumer is parked.
        if self.parked.load(Ordering::Relaxed) && self.parked.swap(false, Ordering::AcqRel) {
            waker();
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
        drop(self.push_displacing(item));
    }

    /// [`push`](Self::push), handing back the item it dropped (if the queue was full) so that
    /// the caller chooses where it is destroyed.
    fn push_displacing(&self, item: T) -> Option<T> {
        let displaced = self.queue.force_push(item);
        if displaced.is_some() {
            // Relaxed: a statistic; it orders nothing else.
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.wake();
        displaced
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
        self.queue.pop()
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
        let mut out = Vec::with_capacity(max.min(self.queue.len()));
        while out.len() < max {
            match self.queue.pop() {
                Some(item) => out.push(item),
                None => break,
            }
        }
        out
    }

    /// How many items were dropped because the queue was full, since it was created.
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
        self.queue.len()
    }

    /// True when no item is queued.
    ///
    /// ```
    /// assert!(procsnap::EventQueue::<()>::new(4).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The most items the queue holds.
    ///
    /// ```
    /// assert_eq!(procsnap::EventQueue::<()>::new(3).capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.queue.capacity()
    }
}

impl<T> fmt::Debug for EventQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventQueue")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// The subscriber list shared by a [`Broadcast`] and its [`Subscription`]s.
struct Hub<T> {
    subscribers: RwLock<Vec<(u64, Arc<EventQueue<T>>)>>,
    next_id: AtomicU64,
}

/// Fans each published item out to every live [`Subscription`], each with its own bounded
/// drop-oldest [`EventQueue`].
///
/// [`publish`](Broadcast::publish) holds a read lock only while it clones the item into each
/// queue, and never waits for a subscriber: a subscriber that does not keep up loses its
/// oldest items (see [`EventQueue::dropped`]) and slows down no one. Subscribing and
/// unsubscribing take the write lock briefly. Each subscriber receives each item published
/// after it subscribed, and before it was dropped, exactly once unless it was dropped for lack
/// of room; items from one publishing thread arrive in publish order.
///
/// ```
/// use procsnap::Broadcast;
///
/// let bus = Broadcast::new();
/// let sub = bus.subscribe(16);
/// bus.publish("started");
/// assert_eq!(sub.pop(), Some("started"));
/// drop(sub); // unsubscribes
/// assert_eq!(bus.publish("ignored"), 0);
/// ```
pub struct Broadcast<T> {
    hub: Arc<Hub<T>>,
}

impl<T: Clone> Default for Broadcast<T> {
    fn default() -> Broadcast<T> {
        Broadcast::new()
    }
}

impl<T: Clone> Broadcast<T> {
    /// A broadcast with no subscribers.
    ///
    /// ```
    /// let bus = procsnap::Broadcast::<u64>::new();
    /// assert_eq!(bus.subscriber_count(), 0);
    /// ```
    pub fn new() -> Broadcast<T> {
        Broadcast {
            hub: Arc::new(Hub {
                subscribers: RwLock::new(Vec::new()),
                next_id: AtomicU64::new(0),
            }),
        }
    }

    /// A new subscriber that receives every item published from now on, keeping at most
    /// `capacity` undelivered items (the oldest are dropped first).
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    ///
    /// ```
    /// let bus = procsnap::Broadcast::new();
    /// bus.publish(1); // before the subscription: not received
    /// let sub = bus.subscribe(8);
    /// bus.publish(2);
    /// assert_eq!(sub.drain(10), [2]);
    /// ```
    pub fn subscribe(&self, capacity: usize) -> Subscription<T> {
        let queue = Arc::new(EventQueue::new(capacity));
        // Relaxed: only uniqueness matters; the list itself is guarded by the lock.
        let id = self.hub.next_id.fetch_add(1, Ordering::Relaxed);
        self.hub
            .subscribers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((id, Arc::clone(&queue)));
        Subscription {
            queue,
            id,
            hub: Arc::downgrade(&self.hub),
        }
    }

    /// Pushes a clone of `item` to every live subscriber and returns how many there were.
    /// Never blocks on a subscriber. Items pushed out of full queues are dropped after the
    /// subscriber list is released, so an item's `Drop` may even drop a [`Subscription`] of
    /// this same bus.
    ///
    /// ```
    /// let bus = procsnap::Broadcast::new();
    /// let (_a, _b) = (bus.subscribe(4), bus.subscribe(4));
    /// assert_eq!(bus.publish("tick"), 2);
    /// ```
    pub fn publish(&self, item: T) -> usize {
        let subscribers = self
            .hub
            .subscribers
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        // Allocates only when a queue was full.
        let mut displaced = Vec::new();
        if let Some(((_, last), rest)) = subscribers.split_last() {
            for (_, queue) in rest {
                displaced.extend(queue.push_displacing(item.clone()));
            }
            // The last one gets the original: one clone fewer.
            displaced.extend(last.push_displacing(item));
        }
        let n = subscribers.len();
        drop(subscribers);
        drop(displaced);
        n
    }

    /// How many subscriptions are live.
    ///
    /// ```
    /// let bus = procsnap::Broadcast::<()>::new();
    /// let sub = bus.subscribe(1);
    /// assert_eq!(bus.subscriber_count(), 1);
    /// drop(sub);
    /// assert_eq!(bus.subscriber_count(), 0);
    /// ```
    pub fn subscriber_count(&self) -> usize {
        self.hub
            .subscribers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl<T> fmt::Debug for Broadcast<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .hub
            .subscribers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Broadcast")
            .field("subscribers", &n)
            .finish()
    }
}

/// One subscriber of a [`Broadcast`]: derefs to its [`EventQueue`] (`pop`, `drain`, `dropped`,
/// `len`, …). Dropping it unsubscribes: once `drop` returns, nothing more is pushed to it.
///
/// ```
/// let bus = procsnap::Broadcast::new();
/// let sub = bus.subscribe(4);
/// bus.publish(7);
/// assert_eq!(sub.len(), 1);
/// assert_eq!(sub.pop(), Some(7));
/// ```
pub struct Subscription<T> {
    queue: Arc<EventQueue<T>>,
    id: u64,
    hub: Weak<Hub<T>>,
}

impl<T> Deref for Subscription<T> {
    type Target = EventQueue<T>;

    fn deref(&self) -> &EventQueue<T> {
        &self.queue
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.subscribers
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|(id, _)| *id != self.id);
        }
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("queue", &*self.queue)
            .finish()
    }
}

#[cfg(test)]
mod tests;
