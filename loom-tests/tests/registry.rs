//! loom models of procsnap's real [`Registry`]: duplicate detection decided in one CAS.
//!
//! Run with `scripts/loom.sh`. The registry allocates (a `Vec` and an `Arc<Process>` per attempt)
//! and pins inside every call, so these models keep to two threads and one or two operations each.
#![cfg(crossbeam_loom)]

mod common;

use std::time::{Duration, SystemTime};

use loom::sync::Arc;
use loom::thread;
use procsnap::{CommandSpec, Event, Exit, Registry, Reserve};

use common::{assert_child_fails, model, outlive_teardown};

fn spec() -> CommandSpec {
    CommandSpec::new("true")
}

/// Two concurrent `reserve`s of one name (brummer's e5 started one process per call): exactly
/// one gets `Started`, the other gets `AlreadyRunning` with that same process, and one process is
/// registered.
#[test]
fn concurrent_reserve_starts_one() {
    model(4, || two_reserves(|r, name| r.reserve(name, spec())));
}

/// brummer's e5 as it was built: look for a running process, then insert one. Two steps, two
/// CASes, and loom must find the interleaving in which both callers start a process.
fn check_then_act(registry: &Registry, name: &str) -> Reserve {
    match registry.find_running(name) {
        Some(running) => Reserve::AlreadyRunning(running),
        None => Reserve::Started(registry.insert(name, spec(), 0)),
    }
}

#[test]
#[ignore = "must fail: run by loom_catches_check_then_act_reserve"]
fn check_then_act_reserve_model() {
    model(4, || two_reserves(check_then_act));
}

#[test]
fn loom_catches_check_then_act_reserve() {
    assert_child_fails(
        "check_then_act_reserve_model",
        "expected exactly one Started",
    );
}

/// Two threads reserve "dev" at once through `reserve`; exactly one may start it.
fn two_reserves(reserve: fn(&Registry, &str) -> Reserve) {
    let registry = Arc::new(Registry::new());
    let other = {
        let registry = registry.clone();
        thread::spawn(move || reserve(&registry, "dev"))
    };
    let mine = reserve(&registry, "dev");
    let theirs = other.join().unwrap();

    let (started, running) = match (mine, theirs) {
        (Reserve::Started(s), Reserve::AlreadyRunning(r))
        | (Reserve::AlreadyRunning(r), Reserve::Started(s)) => (s, r),
        (a, b) => panic!("expected exactly one Started, got {a:?} and {b:?}"),
    };
    assert_eq!(started.id(), running.id());
    assert_eq!(registry.len(), 1);
    let guard = procsnap::pin();
    let listed: Vec<_> = registry.list(&guard).iter().map(|p| p.id()).collect();
    assert_eq!(listed, [started.id()]);
    outlive_teardown(registry.list(&guard));
}

/// A `reserve` racing with the end of the process that holds the name: it either sees the old
/// process still unfinished (`AlreadyRunning` it) or starts a new one after it finished — never
/// a second process while the first is unfinished.
#[test]
fn reserve_racing_an_exit() {
    model(4, || {
        let registry = Arc::new(Registry::new());
        let Reserve::Started(first) = registry.reserve("dev", spec()) else {
            panic!("an empty registry must start")
        };
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(5);
        registry
            .apply(first.id(), Event::Started { pid: 7, at })
            .unwrap();

        let reaper = {
            let (registry, id) = (registry.clone(), first.id());
            thread::spawn(move || {
                let exit = Exit::Code(0);
                registry.apply(id, Event::Exited { exit, at }).unwrap();
            })
        };
        let decided = registry.reserve("dev", spec());
        reaper.join().unwrap();

        match decided {
            Reserve::AlreadyRunning(p) => {
                assert_eq!(p.id(), first.id());
                assert_eq!(registry.len(), 1);
            }
            Reserve::Started(p) => {
                assert_ne!(p.id(), first.id());
                assert_eq!(registry.len(), 2);
            }
        }
        let guard = procsnap::pin();
        let unfinished = registry
            .list(&guard)
            .iter()
            .filter(|p| p.name() == "dev" && !p.state().load(&guard).is_finished())
            .count();
        assert!(
            unfinished <= 1,
            "{unfinished} unfinished processes named dev"
        );
        outlive_teardown(registry.list(&guard));
    });
}
