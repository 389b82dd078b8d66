//! Lossless subscriptions with real children: the back-pressure they put on the processes ends
//! with them.

mod common;

use common::Fixture;
use procsnap::{CommandSpec, Status};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// A full lossless subscription pauses every pipe; dropping it must resume them. Without that,
/// the children stay blocked in `write` and `wait` hangs until something unrelated wakes the
/// reaper (whose `epoll_wait` has no timeout when no timer is pending).
#[test]
fn dropping_a_full_lossless_subscription_resumes_the_output() {
    let sup = Arc::new(Fixture::new());
    let events = sup.subscribe_lossless(16);
    let p = sup
        .spawn("count", CommandSpec::new("seq").args(["1", "300000"]))
        .unwrap();
    // Paused: the subscription is at its mark and nobody drains it.
    assert!(common::eventually(Duration::from_secs(10), || events.len() >= 16));
    std::thread::sleep(Duration::from_millis(100));
    assert!(!p.state().snapshot().is_finished(), "not paused at all");
    let dropped = std::time::Instant::now();
    drop(events);
    let (tx, rx) = mpsc::channel();
    let (waiter, id) = (sup.clone(), p.id());
    // Not a scoped thread: if the wait never returns, the test fails instead of hanging.
    std::thread::spawn(move || {
        let _ = tx.send(waiter.wait(id));
    });
    let end = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the output stayed paused after the subscription was dropped");
    eprintln!("finished {:?} after the drop", dropped.elapsed());
    assert_eq!(end.unwrap().status, Status::Success);
    assert_eq!(&*p.logs().tail(1)[0].text, "300000");
}

/// A lossless subscription holds at most its mark of events, however many lines one read of a
/// pipe brings (one 64 KiB read of `seq` is over 10,000 lines); the rest waits and comes out
/// in order, none lost, as the subscriber drains. (When the process ends, what its pipe still
/// holds is published at once, past the mark: that is documented.)
#[test]
fn a_lossless_subscription_holds_no_more_than_its_mark() {
    const MARK: usize = 16;
    let sup = Fixture::new();
    let events = sup.subscribe_lossless(MARK);
    let p = sup
        .spawn("count", CommandSpec::new("seq").args(["1", "100000"]))
        .unwrap();
    // Paused: nobody drains. Its first batch is in the queue and no more comes.
    assert!(common::eventually(Duration::from_secs(10), || events.len() >= MARK));
    std::thread::sleep(Duration::from_millis(300));
    let held = events.len();
    assert!(
        held <= MARK,
        "{held} events held by a subscription with a mark of {MARK}"
    );
    let mut next = 1;
    while next <= 100_000 {
        match events.pop() {
            Some(procsnap::SupervisorEvent::Line { line, .. }) => {
                assert_eq!(&*line.text, next.to_string());
                next += 1;
            }
            Some(_) => {}
            None => std::thread::yield_now(),
        }
    }
    assert_eq!(sup.wait(p.id()).unwrap().status, Status::Success);
}
