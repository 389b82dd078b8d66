//! The supervisor without pidfds (forced with `SupervisorConfig::pidfds(false)`, as on a kernel
//! before 5.4 or under a seccomp profile that refuses them): SIGCHLD and a `waitpid` per child
//! of its own.

mod common;

use common::{eventually, live_members, pgid_of, wait_children};
use procsnap::{CommandSpec, Exit, Signal, SignalError, Status, Supervisor};
use std::time::Duration;

/// A supervisor in the fallback mode, with the watchdog on as the binary runs it.
fn fallback() -> common::Fixture {
    let cfg = common::config()
        .grace(Duration::from_millis(500))
        .pidfds(false);
    let sup = Supervisor::with_config(cfg).unwrap();
    assert!(!sup.uses_pidfds());
    common::Fixture { sup }
}

#[test]
fn exits_are_seen_with_their_codes_and_signals() {
    let sup = fallback();
    let cases = [
        ("code", CommandSpec::shell("exit 3"), Exit::Code(3)),
        ("ok", CommandSpec::new("true"), Exit::Code(0)),
        (
            "segv",
            CommandSpec::shell("kill -SEGV $$"),
            Exit::Signal(libc::SIGSEGV),
        ),
        (
            "late",
            CommandSpec::shell("sleep 0.2; exit 5"),
            Exit::Code(5),
        ),
    ];
    let ps: Vec<_> = cases
        .iter()
        .map(|(name, spec, _)| sup.spawn(name, spec.clone()).unwrap())
        .collect();
    for (p, (_, _, exit)) in ps.iter().zip(&cases) {
        assert_eq!(sup.wait(p.id()).unwrap().exit, Some(*exit), "{}", p.name());
    }
}

/// Many children exiting at once raise fewer SIGCHLDs than exits (signals coalesce): every
/// exit is seen all the same.
#[test]
fn many_exits_at_once_are_all_seen() {
    let sup = fallback();
    let ps: Vec<_> = (0..200)
        .map(|i| {
            sup.spawn(
                &format!("p{i}"),
                CommandSpec::shell(format!("exit {}", i % 7)),
            )
            .unwrap()
        })
        .collect();
    for (i, p) in ps.iter().enumerate() {
        assert_eq!(
            sup.wait(p.id()).unwrap().exit,
            Some(Exit::Code(i as i32 % 7))
        );
    }
}

/// The host's own children are never reaped by the supervisor (no `waitpid(-1)`): a
/// `std::process::Command` running beside it gets its own status every time.
#[test]
fn the_hosts_own_children_are_left_to_the_host() {
    let sup = fallback();
    let churn = std::thread::spawn(|| {
        for _ in 0..100 {
            let st = std::process::Command::new("true").status();
            assert!(st.as_ref().is_ok_and(|s| s.success()), "{st:?}");
        }
    });
    for i in 0..50 {
        let p = sup
            .spawn(&format!("p{i}"), CommandSpec::new("true"))
            .unwrap();
        assert_eq!(sup.wait(p.id()).unwrap().status, Status::Success);
    }
    churn.join().unwrap();
}

#[test]
fn stops_take_the_group_and_kill_after_the_grace() {
    let sup = fallback();
    let polite = sup
        .spawn("polite", CommandSpec::shell("sleep 300 & wait"))
        .unwrap();
    let stubborn = sup
        .spawn(
            "stubborn",
            CommandSpec::shell("trap '' TERM; sleep 300 & wait; wait"),
        )
        .unwrap();
    for p in [&polite, &stubborn] {
        assert!(wait_children(pgid_of(p), 1));
    }
    let groups = [pgid_of(&polite), pgid_of(&stubborn)];
    assert_eq!(
        sup.stop(polite.id(), Duration::from_secs(5))
            .unwrap()
            .status,
        Status::Stopped
    );
    let end = sup.stop(stubborn.id(), Duration::from_millis(300)).unwrap();
    assert_eq!(end.exit, Some(Exit::Signal(libc::SIGKILL)));
    for g in groups {
        assert!(
            live_members(g.as_raw()).is_empty(),
            "group {g:?} left behind"
        );
    }
}

#[test]
fn signal_reaches_the_leader_only_while_it_is_unreaped() {
    let sup = fallback();
    let p = sup
        .spawn("worker", CommandSpec::new("sleep").arg("300"))
        .unwrap();
    sup.signal(p.id(), Signal::USR1).unwrap();
    assert_eq!(
        sup.wait(p.id()).unwrap().exit,
        Some(Exit::Signal(libc::SIGUSR1))
    );
    assert!(matches!(
        sup.signal(p.id(), Signal::TERM),
        Err(SignalError::NotRunning(_))
    ));
}

/// A stop also takes a descendant that left the group (by pid, after checking its tag).
#[test]
fn a_stop_takes_an_escapee() {
    let sup = fallback();
    let p = sup
        .spawn(
            "escaper",
            CommandSpec::shell("setsid sleep 300 & echo $! ; wait"),
        )
        .unwrap();
    assert!(eventually(Duration::from_secs(10), || !p.logs().is_empty()));
    let escapee: i32 = p.logs().tail(1)[0].text.parse().unwrap();
    let alive = || std::path::Path::new(&format!("/proc/{escapee}")).exists();
    assert!(alive());
    sup.stop(p.id(), Duration::from_secs(2)).unwrap();
    assert!(
        eventually(Duration::from_secs(10), || !alive()),
        "the escapee outlived the stop"
    );
}
