use super::*;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn full_queue_drops_oldest_and_counts() {
    let q = EventQueue::new(4);
    for i in 0..10 {
        q.push(i);
        assert!(q.len() <= 4);
    }
    assert_eq!(q.dropped(), 6);
    assert_eq!(q.len(), 4);
    assert_eq!(q.drain(usize::MAX), [6, 7, 8, 9]);
    assert!(q.is_empty());
    assert_eq!(q.dropped(), 6);
}

#[test]
fn fifo_order_and_partial_drain() {
    let q = EventQueue::new(100);
    (0..100).for_each(|i| q.push(i));
    assert_eq!(q.dropped(), 0);
    assert!(q.drain(0).is_empty());
    assert_eq!(q.drain(10), (0..10).collect::<Vec<_>>());
    assert_eq!(q.pop(), Some(10));
    assert_eq!(q.drain(1000), (11..100).collect::<Vec<_>>());
    assert_eq!(q.pop(), None);
}

#[test]
#[should_panic(expected = "capacity")]
fn zero_capacity_panics() {
    let _ = EventQueue::<u8>::new(0);
}

const THREADS: u64 = 4;
const PER_THREAD: u64 = 50_000;

/// Pops from `pop` until every producer is done and the queue is empty, asserting that each
/// producer's numbers arrive strictly increasing (a reordered or duplicated item fails: e7, e8).
/// Returns how many items were received.
fn consume_in_order(done: &AtomicBool, mut pop: impl FnMut() -> Option<(u64, u64)>) -> u64 {
    let mut next_min = [0u64; THREADS as usize];
    let mut received = 0;
    loop {
        // Acquire: pairs with the Release store after the producers were joined.
        let finished = done.load(Ordering::Acquire);
        match pop() {
            Some((t, i)) => {
                let t = t as usize;
                assert!(
                    i >= next_min[t],
                    "thread {t}: got {i} after {}",
                    next_min[t]
                );
                next_min[t] = i + 1;
                received += 1;
            }
            None if finished => return received,
            None => thread::yield_now(),
        }
    }
}

fn produce(threads: u64, push: impl FnMut(u64, u64) + Clone + Send) {
    thread::scope(|s| {
        for t in 0..threads {
            let mut push = push.clone();
            s.spawn(move || (0..PER_THREAD).for_each(|i| push(t, i)));
        }
    });
}

#[test]
fn multi_producer_keeps_per_thread_order_without_duplicates() {
    for capacity in [64, (THREADS * PER_THREAD) as usize] {
        let q = EventQueue::new(capacity);
        let done = AtomicBool::new(false);
        let received = thread::scope(|s| {
            let consumer = s.spawn(|| consume_in_order(&done, || q.pop()));
            produce(THREADS, |t, i| q.push((t, i)));
            // Release: pairs with the consumer's Acquire load.
            done.store(true, Ordering::Release);
            consumer.join().unwrap()
        });
        // Nothing lost without a count, nothing delivered twice.
        assert_eq!(
            received + q.dropped(),
            THREADS * PER_THREAD,
            "capacity {capacity}"
        );
        if capacity as u64 >= THREADS * PER_THREAD {
            assert_eq!(q.dropped(), 0);
        }
    }
}

#[test]
fn broadcast_multi_publisher_keeps_order_per_subscriber() {
    let bus = Broadcast::new();
    let subs = [bus.subscribe(128), bus.subscribe(1 << 20)];
    let done = AtomicBool::new(false);
    let received: Vec<u64> = thread::scope(|s| {
        let consumers: Vec<_> = subs
            .iter()
            .map(|sub| s.spawn(|| consume_in_order(&done, || sub.pop())))
            .collect();
        produce(THREADS, |t, i| {
            assert_eq!(bus.publish((t, i)), 2);
        });
        done.store(true, Ordering::Release);
        consumers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for (sub, got) in subs.iter().zip(received) {
        assert_eq!(got + sub.dropped(), THREADS * PER_THREAD);
    }
    assert_eq!(subs[1].dropped(), 0);
}

#[test]
fn each_subscriber_gets_each_item_once_in_publish_order() {
    let bus = Broadcast::new();
    let subs: Vec<_> = (0..3).map(|_| bus.subscribe(1000)).collect();
    for i in 0..1000 {
        bus.publish(i);
    }
    for sub in &subs {
        assert_eq!(sub.drain(usize::MAX), (0..1000).collect::<Vec<_>>());
        assert_eq!(sub.dropped(), 0);
    }
}

#[test]
fn publish_clones_once_per_extra_subscriber() {
    static CLONES: AtomicU64 = AtomicU64::new(0);
    struct Counted;
    impl Clone for Counted {
        fn clone(&self) -> Counted {
            CLONES.fetch_add(1, Ordering::Relaxed);
            Counted
        }
    }
    let bus = Broadcast::new();
    assert_eq!(bus.publish(Counted), 0);
    let subs: Vec<_> = (0..3).map(|_| bus.subscribe(4)).collect();
    assert_eq!(bus.publish(Counted), 3);
    assert_eq!(CLONES.load(Ordering::Relaxed), 2);
    assert!(subs.iter().all(|s| s.len() == 1));
}

#[test]
fn dropping_a_subscription_stops_delivery() {
    let bus = Broadcast::new();
    let keep = bus.subscribe(16);
    let gone = bus.subscribe(16);
    bus.publish(1);
    assert_eq!(gone.pop(), Some(1));
    drop(gone);
    assert_eq!(bus.subscriber_count(), 1);
    assert_eq!(bus.publish(2), 1);
    assert_eq!(keep.drain(10), [1, 2]);
}

#[test]
fn subscribe_and_unsubscribe_while_publishing() {
    let bus = Broadcast::new();
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                bus.publish(i);
                i += 1;
            }
        });
        for _ in 0..2_000 {
            let sub = bus.subscribe(8);
            let got = sub.drain(8);
            assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(bus.subscriber_count(), 0);
}

#[test]
fn slow_subscriber_does_not_block_publisher() {
    let bus = Broadcast::new();
    let slow = bus.subscribe(4); // never read while publishing
    let fast = bus.subscribe(1 << 17);
    const N: u64 = 100_000;
    let start = Instant::now();
    for i in 0..N {
        bus.publish(i);
    }
    // Generous: 100k pushes take milliseconds; a blocked publisher would never get here.
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(slow.dropped(), N - 4);
    assert_eq!(slow.drain(usize::MAX), [N - 4, N - 3, N - 2, N - 1]);
    assert_eq!(fast.dropped(), 0);
    assert_eq!(fast.drain(usize::MAX), (0..N).collect::<Vec<_>>());
}

#[test]
fn subscription_outlives_broadcast() {
    let bus = Broadcast::new();
    let sub = bus.subscribe(4);
    bus.publish("last words");
    drop(bus);
    assert_eq!(sub.pop(), Some("last words"));
    drop(sub); // no hub left to unsubscribe from: must not panic
}

/// A consumer that parks whenever the queue is empty and sleeps until woken never misses an
/// item: every push that races with `park` either is seen by `park` or wakes the consumer.
/// Ping-pong, so that every push is the last one for a while: a lost wake-up leaves the
/// consumer asleep with the item queued, and the producer's wait times out.
#[test]
fn a_parked_consumer_is_always_woken() {
    let n: u64 = if cfg!(miri) { 50 } else { 20_000 };
    let q = Arc::new(EventQueue::new(4));
    let taken = Arc::new(AtomicU64::new(0));
    let consumer = {
        let (q, taken) = (q.clone(), taken.clone());
        thread::spawn(move || {
            let me = thread::current();
            assert!(q.set_waker(move || me.unpark()));
            assert!(!q.set_waker(|| {}), "a second waker is refused");
            let mut parks = 0u64;
            while taken.load(Ordering::Relaxed) < n {
                if q.pop().is_some() {
                    taken.fetch_add(1, Ordering::Relaxed);
                } else if q.park() {
                    parks += 1;
                    thread::park_timeout(Duration::from_secs(30));
                }
            }
            parks
        })
    };
    while q.waker.get().is_none() {
        thread::yield_now();
    }
    for i in 0..n {
        q.push(i);
        let pushed = Instant::now();
        while taken.load(Ordering::Relaxed) <= i {
            assert!(
                pushed.elapsed() < Duration::from_secs(5),
                "item {i} not taken: the consumer missed its wake-up"
            );
            thread::yield_now();
        }
    }
    let parks = consumer.join().unwrap();
    assert!(
        parks > n / 10,
        "the consumer parked {parks} times: the test proves little"
    );
}

/// An item whose `Drop` drops a subscription of the same bus: pushed out of a full queue by
/// `publish`, it is dropped after the subscriber list is released (dropping it under the read
/// lock would wait for the write lock on the same thread, forever).
#[test]
fn an_item_may_own_a_subscription_of_its_own_bus() {
    #[derive(Clone)]
    struct Item(
        #[expect(dead_code, reason = "held only to be dropped")]
        Arc<std::sync::Mutex<Option<Subscription<Item>>>>,
    );

    let (done_tx, done) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let bus = Broadcast::new();
        let watcher = bus.subscribe(1);
        let owned = bus.subscribe(1);
        bus.publish(Item(Arc::new(std::sync::Mutex::new(Some(owned)))));
        assert_eq!(bus.subscriber_count(), 2);
        // Both queues are full: this pushes the first item out of both, and its last
        // reference (holding `owned`) goes with them.
        bus.publish(Item(Arc::new(std::sync::Mutex::new(None))));
        assert_eq!(bus.subscriber_count(), 1);
        assert_eq!(watcher.dropped(), 1);
        done_tx.send(()).unwrap();
    });
    done.recv_timeout(Duration::from_secs(10))
        .expect("publish deadlocked dropping a displaced item");
}

#[test]
fn lossless_queue_keeps_everything_in_order() {
    let q = EventQueue::lossless(64);
    let done = AtomicBool::new(false);
    let received = thread::scope(|s| {
        let consumer = s.spawn(|| consume_in_order(&done, || q.pop()));
        produce(THREADS, |t, i| q.push((t, i)));
        done.store(true, Ordering::Release);
        consumer.join().unwrap()
    });
    assert_eq!(received, THREADS * PER_THREAD);
    assert_eq!(q.dropped(), 0);
}

/// A producer that pauses whenever `want_room` says so, and waits to be told there is room,
/// never waits forever: every pop that races with `want_room` is either seen by it or tells the
/// producer. The queue never grows past its mark, and nothing is lost.
#[test]
fn a_paused_producer_is_always_resumed() {
    let n: u64 = if cfg!(miri) { 100 } else { 200_000 };
    const MARK: usize = 8;
    let q = Arc::new(EventQueue::lossless(MARK));
    let producer = thread::current();
    assert!(q.set_on_room(move || producer.unpark()));
    assert!(!q.set_on_room(|| {}), "a second room function is refused");
    let consumer = {
        let q = q.clone();
        thread::spawn(move || {
            let mut next = 0;
            while next < n {
                match q.pop() {
                    Some(i) => {
                        assert_eq!(i, next);
                        next += 1;
                    }
                    None => thread::yield_now(),
                }
            }
        })
    };
    let mut pauses = 0u64;
    for i in 0..n {
        while q.want_room() {
            pauses += 1;
            let paused = Instant::now();
            thread::park_timeout(Duration::from_secs(5));
            assert!(
                paused.elapsed() < Duration::from_secs(5),
                "item {i}: the producer was never told about the room made"
            );
        }
        q.push(i);
        assert!(q.len() <= MARK + 1);
    }
    consumer.join().unwrap();
    assert!(
        pauses > 0,
        "the producer never paused: the test proves little"
    );
}

#[test]
fn want_room_is_false_for_bounded_queues_and_broadcasts_without_lossless_subscribers() {
    let q = EventQueue::new(1);
    q.push(1);
    q.push(2);
    assert!(q.is_full() && !q.want_room());
    let bus = Broadcast::new();
    let _lossy = bus.subscribe(1);
    bus.publish(1);
    bus.publish(2);
    assert!(!bus.want_room());
    let lossless = bus.subscribe_lossless(1);
    assert!(!bus.want_room());
    bus.publish(3);
    assert!(bus.want_room());
    assert_eq!(lossless.pop(), Some(3));
    assert!(!bus.want_room());
}

/// A producer paused for a full lossless subscription is told when that subscription is
/// dropped: it would otherwise wait for a consumer that is gone.
#[test]
fn dropping_a_full_lossless_subscription_resumes_its_producer() {
    let bus = Broadcast::new();
    let sub = bus.subscribe_lossless(2);
    let told = Arc::new(AtomicBool::new(false));
    let t = told.clone();
    sub.set_on_room(move || t.store(true, Ordering::Relaxed));
    for i in 0..2 {
        bus.publish(i);
    }
    assert!(bus.want_room());
    drop(sub);
    assert!(
        told.load(Ordering::Relaxed),
        "the paused producer was never told"
    );
    assert!(!bus.want_room());
    // A subscription nobody asked for room is dropped quietly.
    let quiet = bus.subscribe_lossless(2);
    let t = told.clone();
    told.store(false, Ordering::Relaxed);
    quiet.set_on_room(move || t.store(true, Ordering::Relaxed));
    drop(quiet);
    assert!(!told.load(Ordering::Relaxed));
}

/// A consumer's waker that panics does not unwind into the publisher (a supervisor's reaper
/// publishes: it must outlive a broken consumer).
#[test]
fn a_panicking_waker_does_not_reach_the_publisher() {
    let bus = Broadcast::new();
    let sub = bus.subscribe(4);
    sub.set_waker(|| panic!("broken consumer"));
    assert!(sub.park());
    assert_eq!(bus.publish(1), 1);
    assert_eq!(sub.pop(), Some(1));
}
