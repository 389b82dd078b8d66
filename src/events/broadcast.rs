//! [`Broadcast`]: each published item to every live [`Subscription`], each with its own
//! [`EventQueue`].

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};

use super::EventQueue;

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
    #[must_use = "dropping the subscription unsubscribes at once"]
    pub fn subscribe(&self, capacity: usize) -> Subscription<T> {
        self.add(EventQueue::new(capacity))
    }

    fn add(&self, queue: EventQueue<T>) -> Subscription<T> {
        let queue = Arc::new(queue);
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
        let (n, wakes) = self.publish_quiet(item);
        wakes.run();
        n
    }

    /// [`publish`](Self::publish) without running any subscriber's waker: the caller runs them
    /// with [`Wakes::run`] when it holds no lock a waker might need.
    pub(crate) fn publish_quiet(&self, item: T) -> (usize, Wakes<T>) {
        self.publish_all_quiet(std::iter::once(item))
    }

    /// Publishes several items in order under one acquisition of the subscriber list (items
    /// that arrived together, such as the lines of one read of a pipe); returns how many
    /// subscribers there were.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))] // the supervisor's
    pub(crate) fn publish_all(&self, items: impl IntoIterator<Item = T>) -> usize {
        let (n, wakes) = self.publish_all_quiet(items);
        wakes.run();
        n
    }

    fn publish_all_quiet(&self, items: impl IntoIterator<Item = T>) -> (usize, Wakes<T>) {
        let subscribers = self
            .hub
            .subscribers
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        // Both allocate only when a queue was full or a consumer parked.
        let mut displaced = Vec::new();
        let mut wakes = Wakes(Vec::new());
        let mut push = |queue: &Arc<EventQueue<T>>, item: T| {
            let pushed = queue.push_quiet(item);
            displaced.extend(pushed.displaced);
            // Once per queue: a parked consumer is unparked by the first push.
            if pushed.wake {
                wakes.0.push(Arc::clone(queue));
            }
        };
        if let Some(((_, last), rest)) = subscribers.split_last() {
            for item in items {
                for (_, queue) in rest {
                    push(queue, item.clone());
                }
                // The last one gets the original: one clone fewer.
                push(last, item);
            }
        }
        let n = subscribers.len();
        drop(subscribers);
        drop(displaced);
        (n, wakes)
    }

    /// A new subscriber that never loses an item: see [`EventQueue::lossless`]. Producers that
    /// honour its `high_water` mark check [`want_room`](Self::want_room) before producing; the
    /// subscriber's [room function](EventQueue::set_on_room) is theirs to set.
    ///
    /// # Panics
    ///
    /// If `high_water` is 0.
    ///
    /// ```
    /// let bus = procsnap::Broadcast::new();
    /// let sub = bus.subscribe_lossless(2);
    /// for i in 0..3 {
    ///     bus.publish(i);
    /// }
    /// assert!(bus.want_room()); // a producer that honours the mark pauses now
    /// assert_eq!(sub.drain(usize::MAX), [0, 1, 2]);
    /// assert!(!bus.want_room());
    /// ```
    #[must_use = "dropping the subscription unsubscribes at once"]
    pub fn subscribe_lossless(&self, high_water: usize) -> Subscription<T> {
        self.add(EventQueue::lossless(high_water))
    }

    /// True when some lossless subscriber is at its high-water mark: a producer that honours
    /// backpressure pauses, and each such subscriber's room function runs once it has caught up
    /// (see [`EventQueue::want_room`]).
    ///
    /// ```
    /// let bus = procsnap::Broadcast::new();
    /// let _lossy = bus.subscribe(1);
    /// bus.publish(1);
    /// bus.publish(2);
    /// assert!(!bus.want_room()); // a drop-oldest subscriber never makes anyone wait
    /// ```
    #[must_use = "`true` means: pause until a room function runs"]
    pub fn want_room(&self) -> bool {
        let subscribers = self
            .hub
            .subscribers
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        // Every full one is asked (not just the first), so each tells when it has room.
        subscribers
            .iter()
            .fold(false, |full, (_, queue)| queue.want_room() | full)
    }

    /// How many more items the fullest lossless subscriber takes before its high-water mark
    /// (`usize::MAX` with no lossless subscriber): a producer that honours backpressure
    /// publishes at most this many before it asks [`want_room`](Self::want_room).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))] // the supervisor's
    pub(crate) fn room_left(&self) -> usize {
        let subscribers = self
            .hub
            .subscribers
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers
            .iter()
            .filter(|(_, queue)| queue.is_lossless())
            .map(|(_, queue)| queue.capacity().saturating_sub(queue.len()))
            .min()
            .unwrap_or(usize::MAX)
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

/// Consumers to wake after a [`Broadcast::publish_quiet`].
#[must_use = "parked consumers stay asleep unless the wakes are run"]
pub(crate) struct Wakes<T>(Vec<Arc<EventQueue<T>>>);

impl<T> Wakes<T> {
    /// Wakes each parked consumer, once.
    pub(crate) fn run(self) {
        for queue in self.0 {
            queue.call_waker();
        }
    }
}

/// One subscriber of a [`Broadcast`]: derefs to its [`EventQueue`] (`pop`, `drain`, `dropped`,
/// `len`, …). Dropping it unsubscribes: once `drop` returns, nothing more is pushed to it.
/// Dropping a full lossless subscription runs its room function, so a producer paused for it
/// goes on.
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
        // A producer paused for this queue would otherwise wait for a consumer that is gone.
        // After the unlink: a producer that asked it for room did so under the list's read
        // lock, before our write lock (so its request is seen here); one that asks later does
        // not find it.
        self.queue.give_up_room();
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
