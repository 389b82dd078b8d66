//! process-compose's semantics the policy keeps: completion waits for pending restarts, a
//! readiness probe that keeps failing restarts its process, exit_on_failure's exit code,
//! and every "not ready" says why.

use super::*;

fn probed(name: &str, restart: Restart) -> UnitConfig {
    let timing = ProbeTiming {
        initial_delay: Duration::ZERO,
        period: secs(1.0),
        timeout: secs(0.5),
        success_threshold: 1,
        failure_threshold: 2,
    };
    UnitConfig::new(name)
        .probe(timing)
        .restart(restart)
        .backoff(Backoff::new(secs(1.0)))
        .max_restarts(2)
}

/// Issues the due probe at `t` and answers it.
fn probe(f: &mut Fixture, name: &str, t: f64, result: Result<(), &str>) -> Vec<Action> {
    let u = f.id(name);
    assert_eq!(f.step(t), [Action::Probe(u)], "a probe is due at {t}");
    f.orch
        .probe_result(u, result.map_err(str::to_owned), f.at(t));
    f.step_all(t)
}

#[test]
fn process_completed_waits_until_no_restart_is_pending() {
    let mut f = Fixture::new(vec![
        on_failure("flaky", 1.0, 2),
        UnitConfig::new("after").depends_on("flaky", Condition::Completed),
        UnitConfig::new("after_ok").depends_on("flaky", Condition::CompletedSuccessfully),
    ]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("flaky", 0.0);
    f.exit("flaky", 1, 0.5);
    assert!(
        f.step(0.5).is_empty(),
        "a restart is pending: not completed yet"
    );
    assert_eq!(f.phase("after"), Phase::Waiting);
    assert_eq!(f.step(1.5), [f.start("flaky")]);
    f.started("flaky", 1.5);
    f.exit("flaky", 0, 2.0);
    assert_eq!(f.step(2.0), [f.start("after"), f.start("after_ok")]);
}

#[test]
fn completed_successfully_looks_at_the_last_exit_once_restarts_are_used_up() {
    let mut f = Fixture::new(vec![
        on_failure("flaky", 1.0, 1),
        UnitConfig::new("after").depends_on("flaky", Condition::Completed),
        UnitConfig::new("after_ok").depends_on("flaky", Condition::CompletedSuccessfully),
    ]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("flaky", 0.0);
    f.exit("flaky", 1, 0.5);
    f.step(1.5);
    f.started("flaky", 1.5);
    f.exit("flaky", 1, 2.0);
    assert_eq!(f.phase("flaky"), Phase::Done(Outcome::GaveUp));
    assert_eq!(f.step(2.0), [f.start("after")]);
    assert_eq!(
        f.orch.unit(f.id("after_ok")).reason(),
        Some(
            "dependency \"flaky\" failed (exit code 1); gave up after 1 restarts (max_restarts) \
             (process_completed_successfully)"
        )
    );
}

#[test]
fn a_readiness_probe_that_keeps_failing_restarts_under_on_failure_and_says_why() {
    let mut f = Fixture::new(vec![probed("web", Restart::OnFailure)]);
    let web = f.id("web");
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("web", 0.0);
    assert_eq!(f.orch.unit(web).health(), Health::Unknown, "no probe yet");
    assert!(probe(&mut f, "web", 0.0, Err("connection refused")).is_empty());
    assert_eq!(f.orch.unit(web).health(), Health::NotReady);
    assert_eq!(
        f.orch.unit(web).reason(),
        Some("readiness probe failed 1 time in a row (connection refused)")
    );
    let why = "readiness probe failed 2 times in a row (connection refused)";
    assert_eq!(
        probe(&mut f, "web", 1.0, Err("connection refused")),
        [
            Action::Report(web, Report::NotReady(why.to_owned())),
            Action::Stop(web)
        ]
    );
    assert_eq!(f.phase("web"), Phase::Stopping);
    // The stop's exit is a failure its policy restarts.
    f.stopped("web", 1.2);
    let all = f.step_all(1.2);
    assert!(
        matches!(
            &all[..],
            [Action::Report(_, Report::Restarting { restart: 1, .. })]
        ),
        "{all:?}"
    );
    assert_eq!(
        f.orch.unit(web).reason(),
        Some("stopped: not ready: readiness probe failed 2 times in a row (connection refused)")
    );
    assert_eq!(f.step(2.2), [Action::Start(web)]);
    f.started("web", 2.2);
    assert_eq!(
        probe(&mut f, "web", 2.2, Ok(())),
        [Action::Report(web, Report::Ready)]
    );
    assert_eq!(f.orch.unit(web).health(), Health::Ready);
}

#[test]
fn a_probe_that_keeps_failing_gives_up_after_max_restarts_with_its_reason() {
    let mut f = Fixture::new(vec![probed("web", Restart::Always)]);
    let web = f.id("web");
    f.orch.request_all(f.t0);
    f.step(0.0);
    let mut t = 0.0;
    for _ in 0..3 {
        f.started("web", t);
        probe(&mut f, "web", t, Err("exit code 7"));
        probe(&mut f, "web", t + 1.0, Err("exit code 7"));
        f.stopped("web", t + 1.1);
        f.step_all(t + 1.1);
        t += 10.0;
        f.step(t);
    }
    assert_eq!(f.phase("web"), Phase::Done(Outcome::GaveUp));
    assert_eq!(
        f.orch.unit(web).reason(),
        Some(
            "stopped: not ready: readiness probe failed 2 times in a row (exit code 7); gave up \
             after 2 restarts (max_restarts)"
        )
    );
}

#[test]
fn under_restart_no_a_failing_probe_leaves_the_process_running_not_ready() {
    let mut f = Fixture::new(vec![probed("web", Restart::No)]);
    let web = f.id("web");
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("web", 0.0);
    probe(&mut f, "web", 0.0, Err("HTTP 503"));
    let all = probe(&mut f, "web", 1.0, Err("HTTP 503"));
    assert_eq!(
        all,
        [Action::Report(
            web,
            Report::NotReady("readiness probe failed 2 times in a row (HTTP 503)".to_owned())
        )]
    );
    assert_eq!(f.phase("web"), Phase::Running);
    assert_eq!(f.orch.unit(web).health(), Health::NotReady);
}

#[test]
fn a_shutdown_during_a_probe_stop_is_a_stop_not_a_failure() {
    let mut f = Fixture::new(vec![probed("web", Restart::OnFailure)]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("web", 0.0);
    probe(&mut f, "web", 0.0, Err("timed out after 0.5s"));
    probe(&mut f, "web", 1.0, Err("timed out after 0.5s"));
    f.orch.shutdown(f.at(1.1));
    f.stopped("web", 1.2);
    assert_eq!(f.phase("web"), Phase::Done(Outcome::Stopped));
    assert!(f.orch.is_settled() && !f.orch.any_failed());
}

#[test]
fn exit_on_failure_exits_with_the_failed_process_s_own_code() {
    for (exit, code) in [
        (Some(Exit::Code(42)), 42),
        (Some(Exit::Signal(9)), 137),
        (None, 1),
    ] {
        let mut f = Fixture::new(vec![UnitConfig::new("job").restart(Restart::ExitOnFailure)]);
        let job = f.id("job");
        f.orch.request_all(f.t0);
        f.step(0.0);
        f.started("job", 0.0);
        f.orch.exited(job, Status::Failed, exit, f.at(1.0));
        assert_eq!(f.orch.exit_code(), Some(code), "{exit:?}");
    }
    let f = Fixture::new(vec![UnitConfig::new("job")]);
    assert_eq!(f.orch.exit_code(), None);
}
