//! `Supervisor::stop_with`: the chosen signal goes to the whole group, SIGKILL after the grace.

use std::time::{Duration, Instant};

use procsnap::{CommandSpec, Exit, Status, Supervisor};

/// Waits until the script wrote `ready` (its traps are set).
fn wait_ready(p: &procsnap::Process) {
    let end = Instant::now() + Duration::from_secs(10);
    while !p.logs().tail(10).iter().any(|l| &*l.text == "ready") {
        assert!(Instant::now() < end, "the script never said ready");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn stop_with_sends_the_chosen_signal_to_the_whole_group() {
    let sup = Supervisor::new().unwrap();
    // SIGTERM is ignored; SIGHUP makes the leader and its background child write and exit.
    // (Not SIGINT: a shell's background jobs start with SIGINT ignored, for good.)
    let script = "trap '' TERM; trap 'echo leader-hup; exit 7' HUP; \
                  sh -c \"trap '' TERM; trap 'echo child-hup; exit 0' HUP; echo ready; while :; do sleep 0.05; done\" & \
                  wait; wait";
    let p = sup.spawn("hup", CommandSpec::shell(script)).unwrap();
    wait_ready(&p);
    let start = Instant::now();
    let end = sup
        .stop_with(p.id(), procsnap::Signal::HUP, Duration::from_secs(30))
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "no SIGKILL needed"
    );
    assert_eq!(
        (end.status, end.exit),
        (Status::Stopped, Some(Exit::Code(7)))
    );
    let lines: Vec<String> = p
        .logs()
        .tail(10)
        .iter()
        .map(|l| l.text.to_string())
        .collect();
    assert!(lines.contains(&"child-hup".to_owned()), "{lines:?}");
}

#[test]
fn stop_with_a_signal_that_is_ignored_still_kills_after_the_grace() {
    let sup = Supervisor::new().unwrap();
    let p = sup
        .spawn(
            "deaf",
            CommandSpec::shell("trap '' INT; echo ready; while :; do sleep 0.05; done"),
        )
        .unwrap();
    wait_ready(&p);
    let start = Instant::now();
    let end = sup
        .stop_with(p.id(), procsnap::Signal::INT, Duration::from_millis(300))
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(end.exit, Some(Exit::Signal(libc::SIGKILL)));
}
