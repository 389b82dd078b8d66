//! The registry: ids, reserve, removal, listings.

use std::collections::HashSet;
use std::thread;
use std::time::SystemTime;

use super::*;
use crate::state::{Event, Exit};

fn spec() -> CommandSpec {
    CommandSpec::new("true")
}

fn finish(p: &Process) {
    let at = SystemTime::now();
    p.cell()
        .update(|s| s.apply(Event::Started { pid: 1, at }))
        .unwrap();
    p.cell()
        .update(|s| {
            s.apply(Event::Exited {
                exit: Exit::Code(0),
                at,
            })
        })
        .unwrap();
}

#[test]
fn ids_are_unique_and_listed_in_order() {
    let r = Registry::new();
    let ids: Vec<_> = (0..5).map(|_| r.insert("same", spec(), 0).id()).collect();
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 5, "brummer's e4: ids collided");
    let guard = pin();
    let listed: Vec<_> = r.list(&guard).iter().map(|p| p.id()).collect();
    assert_eq!(listed, ids);
}

#[test]
fn concurrent_inserts_keep_id_order() {
    // Each insert copies the listing: keep Miri's run short.
    let per_thread: u64 = if cfg!(miri) { 20 } else { 200 };
    let r = Registry::new();
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..per_thread {
                    r.insert("p", spec(), 0);
                }
            });
        }
    });
    let guard = pin();
    let list = r.list(&guard);
    assert_eq!(list.len() as u64, 4 * per_thread);
    assert!(list.windows(2).all(|w| w[0].id() < w[1].id()));
    // Dense too: every id taken was published.
    assert_eq!(list.last().map(|p| p.id().get()), Some(4 * per_thread));
}

/// Ids appear in order: a reader that has seen id N never sees a smaller id appear later
/// (it did when ids were taken before the CAS that published them).
#[test]
fn ids_appear_in_order() {
    let r = Registry::new();
    let done = std::sync::atomic::AtomicBool::new(false);
    let late = thread::scope(|s| {
        let reader = s.spawn(|| {
            let (mut seen, mut late) = (HashSet::new(), 0);
            let mut max = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let guard = pin();
                let list = r.list(&guard);
                for p in list {
                    if seen.insert(p.id()) && p.id().get() < max {
                        late += 1;
                    }
                }
                max = list.last().map_or(0, |p| p.id().get());
            }
            late
        });
        let writers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    // Each insert copies the listing: keep Miri's run short.
                    for _ in 0..if cfg!(miri) { 30 } else { 1500 } {
                        r.insert("p", spec(), 0);
                    }
                })
            })
            .collect();
        let writes: Vec<_> = writers.into_iter().map(|w| w.join()).collect();
        // The reader is stopped before a writer's panic is passed on: the scope would
        // otherwise wait for it forever.
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writes {
            if let Err(panic) = w {
                std::panic::resume_unwind(panic);
            }
        }
        reader.join().unwrap()
    });
    assert_eq!(late, 0, "ids that appeared after a larger one");
}

#[test]
fn get_by_id_and_label() {
    let r = Registry::new();
    let a = r.insert("a", spec(), 0);
    let b = r.insert("b", spec(), 2);
    assert_eq!(r.get(b.id()).unwrap().name(), "b");
    assert_eq!(r.get(b.id()).unwrap().state().snapshot().restarts, 2);
    assert_eq!(ProcId::from_label(&a.label()), Some(a.id()));
    assert!(r.get(ProcId(999)).is_none());
}

#[test]
fn reserve_starts_once_until_finished() {
    let r = Registry::new();
    let first = r.reserve("dev", spec());
    let Reserve::Started(p) = first else {
        panic!("first reserve must start")
    };
    let Reserve::AlreadyRunning(q) = r.reserve("dev", spec()) else {
        panic!("duplicate")
    };
    assert_eq!(p.id(), q.id());
    assert!(matches!(r.reserve("other", spec()), Reserve::Started(_)));
    finish(&p);
    let Reserve::Started(again) = r.reserve("dev", spec()) else {
        panic!("finished")
    };
    assert_ne!(again.id(), p.id());
    assert_eq!(r.find_running("dev").unwrap().id(), again.id());
}

/// brummer's e5: check-then-act started 6 processes for 6 concurrent runs.
#[test]
fn duplicate_reserve_starts_one() {
    for _ in 0..if cfg!(miri) { 3 } else { 50 } {
        let r = Registry::new();
        let started: usize = thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| s.spawn(|| matches!(r.reserve("dev", spec()), Reserve::Started(_))))
                .collect();
            hs.into_iter().map(|h| usize::from(h.join().unwrap())).sum()
        });
        assert_eq!(started, 1);
        assert_eq!(r.len(), 1);
    }
}

#[test]
fn reserve_with_carries_restarts_and_marks_unique() {
    let r = Registry::new();
    assert!(!r.insert("a", spec(), 0).is_unique());
    let Reserve::Started(p) = r.reserve_with("b", spec(), 3) else {
        panic!("nothing else is named b")
    };
    assert!(p.is_unique());
    assert_eq!(p.state().snapshot().restarts, 3);
}

#[test]
fn remove_finished_keeps_the_live() {
    let r = Registry::new();
    let a = r.insert("a", spec(), 0);
    let b = r.insert("b", spec(), 0);
    finish(&a);
    let removed = r.remove_finished();
    assert_eq!(removed.iter().map(|p| p.id()).collect::<Vec<_>>(), [a.id()]);
    assert_eq!(r.len(), 1);
    assert_eq!(r.get(b.id()).unwrap().id(), b.id());
    assert!(r.find_running("a").is_none());
}

/// A removal with nothing to remove publishes nothing (no copy, no garbage, no flush).
#[test]
fn removing_nothing_leaves_the_listing_in_place() {
    let r = Registry::new();
    let a = r.insert("a", spec(), 0);
    r.insert("b", spec(), 0);
    finish(&a);
    let guard = pin();
    let before = r.list(&guard).as_ptr();
    assert!(r.prune_finished(1).is_empty());
    assert!(std::ptr::eq(before, r.list(&guard).as_ptr()));
    assert_eq!(r.remove_finished().len(), 1);
    let after = r.list(&guard).as_ptr();
    assert!(!std::ptr::eq(before, after));
    assert!(r.remove_finished().is_empty());
    assert!(std::ptr::eq(after, r.list(&guard).as_ptr()));
}

#[test]
fn prune_keeps_the_newest_finished_of_each_name_and_every_live_one() {
    let r = Registry::new();
    let mut ids = Vec::new();
    // a: finished, live, finished, finished; b: finished, finished.
    for (name, done) in [
        ("a", true),
        ("b", true),
        ("a", false),
        ("a", true),
        ("b", true),
        ("a", true),
    ] {
        let p = r.insert(name, spec(), 0);
        if done {
            finish(&p);
        }
        ids.push(p.id().get());
    }
    let removed: Vec<u64> = r.prune_finished(1).iter().map(|p| p.id().get()).collect();
    assert_eq!(removed, [1, 2, 4]);
    let guard = pin();
    let left: Vec<u64> = r.list(&guard).iter().map(|p| p.id().get()).collect();
    assert_eq!(left, [3, 5, 6]);
    assert_eq!(r.prune_finished(0).len(), 2);
    assert_eq!(r.len(), 1);
}

/// Only a label whose last `-`-separated part is all digits names an id: no sign, no empty
/// number, whatever the name holds.
#[test]
fn from_label_takes_only_a_trailing_number() {
    let id = |l| ProcId::from_label(l).map(ProcId::get);
    assert_eq!(id("a-b-12"), Some(12));
    assert_eq!(id("7"), Some(7));
    assert_eq!(id("-7"), Some(7));
    assert_eq!(id("x-"), None);
    assert_eq!(id(""), None);
    assert_eq!(
        id("x-+7"),
        None,
        "u64's parser takes a sign; a label does not"
    );
    assert_eq!(id("+7"), None);
    assert_eq!(id("x-7a"), None);
}

#[test]
fn len_and_is_empty_count_the_listed() {
    let r = Registry::new();
    assert_eq!((r.len(), r.is_empty()), (0, true));
    let a = r.insert("a", spec(), 0);
    assert_eq!((r.len(), r.is_empty()), (1, false));
    r.insert("b", spec(), 0);
    r.insert("c", spec(), 0);
    assert_eq!((r.len(), r.is_empty()), (3, false));
    finish(&a);
    r.remove_finished();
    assert_eq!((r.len(), r.is_empty()), (2, false));
}

/// `Debug` shows a process's identity and state, and a registry as the list of them.
#[test]
fn debug_shows_identity_and_state() {
    let r = Registry::new();
    let p = r.insert("web", CommandSpec::shell("npm start"), 2);
    let text = format!("{p:?}");
    for part in [
        format!("id: {:?}", p.id()),
        "name: \"web\"".to_string(),
        format!("spec: {:?}", p.spec()),
        "unique: false".to_string(),
        format!("state: {:?}", p.state()),
    ] {
        assert!(text.contains(&part), "{part} missing from {text}");
    }
    assert!(text.starts_with("Process {"), "{text}");
    assert_eq!(format!("{r:?}"), format!("[{text}]"));
    assert_eq!(format!("{:?}", Registry::new()), "[]");
}

/// A process of a default registry keeps [`DEFAULT_LOG_BYTES`] (1 MiB) of output; one of
/// `with_log_bytes(n)` keeps n.
#[test]
fn processes_keep_the_registrys_log_bound() {
    let r = Registry::new();
    let p = r.insert("a", spec(), 0);
    assert_eq!(p.logs().max_bytes(), DEFAULT_LOG_BYTES);
    let line = "x".repeat(1000);
    for _ in 0..500 {
        r.push_line(p.id(), crate::Stream::Stdout, &line, false)
            .unwrap();
    }
    assert_eq!(p.logs().dropped_lines(), 0, "half a MiB is kept whole");
    let p = Registry::with_log_bytes(4096).insert("b", spec(), 0);
    assert_eq!(p.logs().max_bytes(), 4096);
    assert_eq!(p.spec(), &spec());
}

/// The owner of a registry adds output to its processes through it: the line lands in that
/// process's ring under the number returned; an unknown id adds nothing anywhere.
#[test]
fn push_line_adds_to_the_named_process_only() {
    let r = Registry::new();
    let a = r.insert("a", spec(), 0);
    let b = r.insert("b", spec(), 0);
    let seq = r
        .push_line(b.id(), crate::Stream::Stderr, "boom", false)
        .unwrap();
    let line = b.logs().get(seq).expect("stored under the number returned");
    assert_eq!((&*line.text, line.stream), ("boom", crate::Stream::Stderr));
    assert!(a.logs().is_empty());
    let unknown = ProcId::from_label("c-99").unwrap();
    assert_eq!(
        r.push_line(unknown, crate::Stream::Stdout, "x", false),
        None
    );
    assert_eq!(a.logs().len() + b.logs().len(), 1);
}
