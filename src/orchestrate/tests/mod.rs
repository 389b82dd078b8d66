//! The policy on a made-up clock: every decision is checked at chosen instants.

use std::time::{Duration, Instant};

use super::*;
use crate::{Exit, Status};

mod added;
mod compat;
mod once;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A plan, its orchestrator and a clock origin; names resolve to ids.
struct Fixture {
    orch: Orchestrator,
    t0: Instant,
}

impl Fixture {
    fn new(units: Vec<UnitConfig>) -> Fixture {
        Fixture {
            orch: Orchestrator::new(Plan::new(units).unwrap()),
            t0: Instant::now(),
        }
    }

    fn id(&self, name: &str) -> UnitId {
        self.orch.plan().find(name).unwrap()
    }

    fn at(&self, s: f64) -> Instant {
        self.t0 + secs(s)
    }

    /// The actions at `s` seconds, reports left out.
    fn step(&mut self, s: f64) -> Vec<Action> {
        let now = self.at(s);
        self.orch
            .step(now)
            .into_iter()
            .filter(|a| !matches!(a, Action::Report(..)))
            .collect()
    }

    /// Every action at `s` seconds, reports included.
    fn step_all(&mut self, s: f64) -> Vec<Action> {
        let now = self.at(s);
        self.orch.step(now)
    }

    fn start(&self, name: &str) -> Action {
        Action::Start(self.id(name))
    }

    fn started(&mut self, name: &str, s: f64) {
        let (u, now) = (self.id(name), self.at(s));
        self.orch.started(u, now);
    }

    fn exit(&mut self, name: &str, code: i32, s: f64) {
        let (u, now) = (self.id(name), self.at(s));
        let status = if code == 0 {
            Status::Success
        } else {
            Status::Failed
        };
        self.orch.exited(u, status, Some(Exit::Code(code)), now);
    }

    fn stopped(&mut self, name: &str, s: f64) {
        let (u, now) = (self.id(name), self.at(s));
        self.orch
            .exited(u, Status::Stopped, Some(Exit::Signal(15)), now);
    }

    fn phase(&self, name: &str) -> Phase {
        self.orch.unit(self.id(name)).phase()
    }
}

fn on_failure(name: &str, base: f64, max: u32) -> UnitConfig {
    UnitConfig::new(name)
        .restart(Restart::OnFailure)
        .backoff(Backoff::new(secs(base)))
        .max_restarts(max)
}

#[test]
fn a_dependent_starts_only_once_its_dependency_printed_its_ready_line() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("db").ready_log_line(true),
        UnitConfig::new("api").depends_on("db", Condition::LogReady),
    ]);
    f.orch.request_all(f.t0);
    let all = f.step_all(0.0);
    assert_eq!(
        all,
        [
            f.start("db"),
            Action::Report(
                f.id("api"),
                Report::Waiting(vec![("db".into(), "process_log_ready")])
            )
        ]
    );
    f.started("db", 0.0);
    assert!(f.step_all(0.5).is_empty(), "still waiting, said once");
    assert_eq!(f.phase("api"), Phase::Waiting);
    f.orch.log_ready(f.id("db"), f.at(1.0));
    let all = f.step_all(1.0);
    assert_eq!(
        all,
        [Action::Report(f.id("db"), Report::Ready), f.start("api")]
    );
}

#[test]
fn the_default_condition_is_ready_with_a_check_and_started_without() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("db").ready_log_line(true),
        UnitConfig::new("cache"),
        UnitConfig::new("api")
            .depends_on("db", Condition::Default)
            .depends_on("cache", Condition::Default),
    ]);
    f.orch.request_all(f.t0);
    assert_eq!(f.step(0.0), [f.start("db"), f.start("cache")]);
    f.started("db", 0.0);
    f.started("cache", 0.0);
    assert!(
        f.step(0.0).is_empty(),
        "db has a ready line: started is not enough"
    );
    assert_eq!(
        f.orch.waiting_for(f.id("api")),
        [("db".to_owned(), "ready")]
    );
    f.orch.log_ready(f.id("db"), f.at(0.2));
    assert_eq!(f.step(0.2), [f.start("api")]);
}

#[test]
fn a_code_generator_gates_its_dependents_on_success() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("gen"),
        UnitConfig::new("web").depends_on("gen", Condition::CompletedSuccessfully),
    ]);
    f.orch.request_all(f.t0);
    assert_eq!(f.step(0.0), [f.start("gen")]);
    f.started("gen", 0.0);
    assert!(f.step(0.5).is_empty(), "web waits while gen runs");
    f.exit("gen", 0, 1.0);
    assert_eq!(f.step(1.0), [f.start("web")]);
    assert_eq!(f.phase("gen"), Phase::Done(Outcome::Succeeded));
}

#[test]
fn a_failed_generator_blocks_its_dependents_with_its_name() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("gen"),
        UnitConfig::new("web").depends_on("gen", Condition::CompletedSuccessfully),
        UnitConfig::new("e2e").depends_on("web", Condition::Started),
    ]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("gen", 0.0);
    f.exit("gen", 2, 0.3);
    let all = f.step_all(0.3);
    let web = f.orch.unit(f.id("web"));
    assert_eq!(web.phase(), Phase::Done(Outcome::Blocked));
    assert_eq!(
        web.reason(),
        Some("dependency \"gen\" failed (exit code 2) (process_completed_successfully)")
    );
    // The block cascades within the same step, and names the next link.
    let e2e = f.orch.unit(f.id("e2e")).reason().unwrap().to_owned();
    assert!(
        e2e.starts_with("dependency \"web\" was not started: dependency \"gen\""),
        "{e2e}"
    );
    assert!(
        all.iter()
            .any(|a| matches!(a, Action::Report(u, Report::Blocked(_)) if *u == f.id("e2e")))
    );
    assert!(f.orch.is_settled());
    assert!(f.orch.any_failed());
}

#[test]
fn a_dependency_that_exits_before_it_is_ready_fails_its_dependents_fast() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("db").ready_log_line(true),
        UnitConfig::new("api").depends_on("db", Condition::Healthy),
    ]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("db", 0.0);
    f.exit("db", 1, 0.2);
    f.step(0.2);
    assert_eq!(
        f.orch.unit(f.id("api")).reason(),
        Some("dependency \"db\" failed (exit code 1) before it was ready (process_healthy)")
    );
}

#[test]
fn a_dependency_that_restarts_keeps_its_dependents_waiting() {
    let mut f = Fixture::new(vec![
        on_failure("db", 1.0, 0).ready_log_line(true),
        UnitConfig::new("api").depends_on("db", Condition::LogReady),
    ]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("db", 0.0);
    f.exit("db", 1, 0.2);
    assert!(f.step(0.2).is_empty());
    assert_eq!(f.phase("api"), Phase::Waiting, "db may still become ready");
    assert_eq!(f.step(1.2), [f.start("db")]);
    f.started("db", 1.2);
    f.orch.log_ready(f.id("db"), f.at(1.5));
    assert_eq!(f.step(1.5), [f.start("api")]);
}

/// Delays 1, 2, 4 s, then max_restarts is used up: failed for good.
#[test]
fn on_failure_backs_off_exponentially_until_max_restarts() {
    let mut f = Fixture::new(vec![on_failure("w", 1.0, 3)]);
    let w = f.id("w");
    f.orch.request_all(f.t0);
    assert_eq!(f.step(0.0), [f.start("w")]);
    let mut t = 0.0;
    let mut delays = Vec::new();
    for restart in 1..=3 {
        f.started("w", t);
        f.exit("w", 1, t + 0.1);
        let all = f.step_all(t + 0.1);
        let Some(Action::Report(_, Report::Restarting { delay, restart: n })) = all.first() else {
            panic!("{all:?}");
        };
        assert_eq!(*n, restart);
        delays.push(delay.as_secs_f64());
        let due = t + 0.1 + delay.as_secs_f64();
        assert!(f.step(due - 0.01).is_empty(), "not before its delay");
        assert_eq!(f.step(due), [Action::Start(w)]);
        assert_eq!(f.orch.unit(w).restarts(), restart);
        t = due;
    }
    assert_eq!(delays, [1.0, 2.0, 4.0]);
    f.started("w", t);
    f.exit("w", 1, t + 0.1);
    let all = f.step_all(t + 0.1);
    assert!(matches!(&all[..], [Action::Report(_, Report::GaveUp(why))]
        if why == "failed (exit code 1); gave up after 3 restarts (max_restarts)"));
    assert_eq!(f.phase("w"), Phase::Done(Outcome::GaveUp));
    assert!(f.step(1000.0).is_empty());
}

#[test]
fn a_stable_run_resets_the_backoff() {
    let b = Backoff::new(secs(1.0)).reset_after(secs(5.0));
    let mut f = Fixture::new(vec![on_failure("w", 1.0, 0).backoff(b)]);
    let w = f.id("w");
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("w", 0.0);
    f.exit("w", 1, 0.1); // quick: 1 s
    f.step(1.1);
    f.started("w", 1.1);
    f.exit("w", 1, 1.2); // quick: 2 s
    assert_eq!(f.orch.unit(w).last_delay(), Some(secs(2.0)));
    f.step(3.2);
    f.started("w", 3.2);
    f.exit("w", 1, 9.0); // ran 5.8 s: stable, back to 1 s
    assert_eq!(f.orch.unit(w).last_delay(), Some(secs(1.0)));
    assert_eq!(f.orch.unit(w).next_restart(), Some(f.at(10.0)));
    f.step(10.0);
    f.started("w", 10.0);
    f.exit("w", 1, 10.5); // quick again: 2 s
    assert_eq!(f.orch.unit(w).last_delay(), Some(secs(2.0)));
}

#[test]
fn a_manual_stop_is_never_followed_by_a_restart() {
    let mut f = Fixture::new(vec![UnitConfig::new("w").restart(Restart::Always)]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("w", 0.0);
    f.stopped("w", 1.0);
    assert_eq!(f.phase("w"), Phase::Done(Outcome::Stopped));
    assert!(f.step(100.0).is_empty());
    assert_eq!(f.orch.next_wake(), None);
}

#[test]
fn a_stop_during_the_backoff_cancels_the_restart() {
    let mut f = Fixture::new(vec![on_failure("w", 1.0, 0)]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("w", 0.0);
    f.exit("w", 1, 0.1);
    assert!(matches!(f.phase("w"), Phase::Backoff { .. }));
    f.orch.cancel(f.id("w"));
    assert_eq!(f.phase("w"), Phase::Done(Outcome::Stopped));
    assert!(f.step(10.0).is_empty());
}

#[test]
fn a_one_shot_success_stops_nothing_else() {
    let mut f = Fixture::new(vec![on_failure("once", 1.0, 0), UnitConfig::new("server")]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("once", 0.0);
    f.started("server", 0.0);
    f.exit("once", 0, 0.5);
    assert!(f.step(0.5).is_empty());
    assert_eq!(f.phase("once"), Phase::Done(Outcome::Succeeded));
    assert_eq!(f.phase("server"), Phase::Running);
    assert!(!f.orch.is_shutting_down());
}

#[test]
fn always_restarts_after_a_success_too() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("tick")
            .restart(Restart::Always)
            .backoff(Backoff::new(Duration::ZERO)),
    ]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("tick", 0.0);
    f.exit("tick", 0, 0.1);
    assert_eq!(f.step(0.1), [f.start("tick")], "zero backoff: at once");
}

#[test]
fn exit_on_failure_stops_everything_in_reverse_order() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("db"),
        UnitConfig::new("api").depends_on("db", Condition::Started),
        UnitConfig::new("job").restart(Restart::ExitOnFailure),
    ]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("db", 0.0);
    f.started("job", 0.0);
    f.step(0.0);
    f.started("api", 0.0);
    f.exit("job", 3, 1.0);
    assert!(f.orch.exit_requested() && f.orch.is_shutting_down());
    let all = f.step_all(1.0);
    assert_eq!(
        all,
        [
            Action::Report(f.id("job"), Report::ExitRequested),
            Action::Stop(f.id("api")),
        ]
    );
    f.stopped("api", 1.5);
    assert_eq!(f.step(1.5), [Action::Stop(f.id("db"))]);
    f.stopped("db", 2.0);
    assert!(f.orch.is_settled() && f.orch.any_failed());
}

#[test]
fn shutdown_stops_a_chain_from_the_top_and_cancels_waits_and_backoffs() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("db"),
        UnitConfig::new("api").depends_on("db", Condition::Started),
        UnitConfig::new("web").depends_on("api", Condition::Started),
        UnitConfig::new("late").depends_on("db", Condition::Completed),
        on_failure("flaky", 5.0, 0),
    ]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("db", 0.0);
    f.started("flaky", 0.0);
    f.step(0.0);
    f.started("api", 0.0);
    f.step(0.0);
    f.started("web", 0.0);
    f.exit("flaky", 1, 0.5);
    f.orch.shutdown(f.at(1.0));
    assert_eq!(f.phase("late"), Phase::Done(Outcome::Cancelled));
    assert_eq!(f.phase("flaky"), Phase::Done(Outcome::Cancelled));
    assert_eq!(f.step(1.0), [Action::Stop(f.id("web"))]);
    assert!(f.step(1.1).is_empty(), "api waits for web to end");
    f.stopped("web", 1.2);
    assert_eq!(f.step(1.2), [Action::Stop(f.id("api"))]);
    f.stopped("api", 1.3);
    assert_eq!(f.step(1.3), [Action::Stop(f.id("db"))]);
    // An exit on its own during the shutdown is not restarted either.
    f.exit("db", 1, 1.4);
    assert_eq!(f.phase("db"), Phase::Done(Outcome::Failed));
    assert!(f.orch.is_settled());
    assert!(f.step(100.0).is_empty());
}

/// A crash loop interrupted by a shutdown: the run that fails before its stop reaches it is
/// one its policy would restart, so it is not a failure for good (`run`'s exit code after
/// Ctrl-C hung on which of the two came first). One that used its restarts has given up; a
/// success is a success.
#[test]
fn a_failure_whose_restart_the_shutdown_cancels_is_not_a_failure() {
    let mut f = Fixture::new(vec![
        on_failure("loop", 0.0, 0),
        on_failure("spent", 0.0, 1),
        UnitConfig::new("once"),
        UnitConfig::new("done")
            .restart(Restart::Always)
            .backoff(Backoff::new(secs(0.0)))
            .max_restarts(1),
    ]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    for name in ["loop", "spent", "once", "done"] {
        f.started(name, 0.0);
    }
    f.exit("spent", 1, 0.1);
    f.exit("done", 0, 0.1);
    assert_eq!(f.step(0.1), [f.start("spent"), f.start("done")]);
    f.started("spent", 0.1);
    f.started("done", 0.1);
    f.orch.shutdown(f.at(1.0));
    for name in ["loop", "spent", "once"] {
        f.exit(name, 1, 1.0);
    }
    f.exit("done", 0, 1.0);
    assert_eq!(f.phase("done"), Phase::Done(Outcome::Succeeded));
    assert_eq!(f.phase("loop"), Phase::Done(Outcome::Cancelled));
    let reason = f.orch.unit(f.id("loop")).reason().unwrap();
    assert!(reason.contains("failed (exit code 1)"), "{reason}");
    assert!(reason.contains("shutdown"), "{reason}");
    assert_eq!(f.phase("spent"), Phase::Done(Outcome::GaveUp));
    assert_eq!(f.phase("once"), Phase::Done(Outcome::Failed));
    assert!(f.orch.is_settled());
}

#[test]
fn probes_run_on_their_timing_and_decide_readiness_by_thresholds() {
    let timing = ProbeTiming {
        initial_delay: secs(2.0),
        period: secs(1.0),
        timeout: secs(0.5),
        success_threshold: 2,
        failure_threshold: 2,
    };
    let mut f = Fixture::new(vec![
        UnitConfig::new("web").probe(timing),
        UnitConfig::new("e2e").depends_on("web", Condition::Healthy),
    ]);
    let web = f.id("web");
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("web", 0.0);
    assert!(f.step(1.9).is_empty(), "initial delay");
    assert_eq!(f.orch.next_wake(), Some(f.at(2.0)));
    assert_eq!(f.step(2.0), [Action::Probe(web)]);
    assert!(f.step(2.5).is_empty(), "one probe at a time");
    assert_eq!(f.orch.next_wake(), None);
    f.orch.probe_result(web, Ok(()), f.at(2.1));
    assert_eq!(
        f.orch.unit(web).health(),
        Health::Unknown,
        "1 of 2 successes"
    );
    assert_eq!(
        f.step(3.1),
        [Action::Probe(web)],
        "period after the last result"
    );
    f.orch.probe_result(web, Ok(()), f.at(3.2));
    assert_eq!(f.orch.unit(web).health(), Health::Ready);
    assert_eq!(f.step(3.2), [f.start("e2e")]);
    // Two failures in a row: not ready any more.
    f.step(4.2);
    f.orch
        .probe_result(web, Err("exit code 1".into()), f.at(4.3));
    assert_eq!(f.orch.unit(web).health(), Health::Ready);
    f.step(5.3);
    f.orch
        .probe_result(web, Err("exit code 1".into()), f.at(5.4));
    assert_eq!(f.orch.unit(web).health(), Health::NotReady);
    assert!(!f.orch.unit(web).is_ready());
    // A result nobody asked for (a stale probe of an old process) changes nothing.
    f.orch.probe_result(web, Ok(()), f.at(5.5));
    assert_eq!(f.orch.unit(web).health(), Health::NotReady);
}

/// process-compose #189: readiness is per process: a restart is not ready until it says so
/// again, and is reported ready again.
#[test]
fn readiness_is_checked_afresh_after_a_restart() {
    let mut f = Fixture::new(vec![on_failure("db", 1.0, 0).ready_log_line(true)]);
    let db = f.id("db");
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("db", 0.0);
    f.orch.log_ready(db, f.at(0.5));
    assert!(f.orch.unit(db).is_ready());
    f.exit("db", 1, 1.0);
    assert!(!f.orch.unit(db).is_ready());
    f.step_all(1.0);
    f.step(2.0);
    f.started("db", 2.0);
    assert_eq!(f.orch.unit(db).health(), Health::Unknown);
    f.orch.log_ready(db, f.at(2.5));
    assert_eq!(f.step_all(2.5), [Action::Report(db, Report::Ready)]);
}

#[test]
fn a_manual_start_during_the_backoff_is_adopted_not_doubled() {
    let mut f = Fixture::new(vec![on_failure("w", 4.0, 0)]);
    let w = f.id("w");
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("w", 0.0);
    f.exit("w", 1, 0.1);
    f.step_all(0.1);
    f.started("w", 1.0); // somebody ran it by hand
    assert_eq!(f.phase("w"), Phase::Running);
    assert!(f.step(10.0).is_empty(), "the backoff's start is not issued");
    assert_eq!(
        f.orch.unit(w).restarts(),
        0,
        "a manual start is a fresh run"
    );
}

#[test]
fn a_spawn_failure_counts_as_a_failed_run() {
    let mut f = Fixture::new(vec![on_failure("w", 1.0, 1)]);
    let w = f.id("w");
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.orch.spawn_failed(w, f.at(0.0));
    assert_eq!(f.orch.unit(w).reason(), Some("failed to start"));
    assert_eq!(f.step(1.0), [Action::Start(w)]);
    f.orch.spawn_failed(w, f.at(1.0));
    assert_eq!(f.phase("w"), Phase::Done(Outcome::GaveUp));
}

#[test]
fn disabled_processes_start_only_when_named_or_needed() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("db").disabled(true),
        UnitConfig::new("api").depends_on("db", Condition::Started),
        UnitConfig::new("docs").disabled(true),
    ]);
    f.orch.request_all(f.t0);
    assert_eq!(f.step(0.0), [f.start("db")]);
    assert_eq!(f.phase("docs"), Phase::Idle);
}

#[test]
fn plan_errors_name_the_process_and_the_dependency() {
    let e = |units| Plan::new(units).unwrap_err();
    let cycle = e(vec![
        UnitConfig::new("a").depends_on("b", Condition::Started),
        UnitConfig::new("b").depends_on("c", Condition::Started),
        UnitConfig::new("c").depends_on("a", Condition::Started),
    ]);
    assert_eq!(cycle.to_string(), "dependency cycle: a → b → c → a");
    assert_eq!(cycle.position(), (2, Some(0)));
    let own = e(vec![
        UnitConfig::new("x"),
        UnitConfig::new("a")
            .depends_on("x", Condition::Started)
            .depends_on("a", Condition::Started),
    ]);
    assert_eq!(own.to_string(), "dependency cycle: a → a");
    assert_eq!(own.position(), (1, Some(1)));
    let dup = e(vec![UnitConfig::new("a"), UnitConfig::new("a")]);
    assert_eq!(dup.position(), (1, None));
    let never = e(vec![
        UnitConfig::new("db"),
        UnitConfig::new("api").depends_on("db", Condition::LogReady),
    ]);
    assert!(
        never.to_string().contains("\"db\" has no ready_log_line"),
        "{never}"
    );
    let unhealthy = e(vec![
        UnitConfig::new("db"),
        UnitConfig::new("api").depends_on("db", Condition::Healthy),
    ]);
    assert!(
        unhealthy.to_string().contains("can never become healthy"),
        "{unhealthy}"
    );
}

#[test]
fn start_order_puts_dependencies_first_and_keeps_declaration_order_otherwise() {
    let plan = Plan::new(vec![
        UnitConfig::new("web").depends_on("api", Condition::Started),
        UnitConfig::new("docs"),
        UnitConfig::new("api").depends_on("db", Condition::Started),
        UnitConfig::new("db"),
    ])
    .unwrap();
    let names: Vec<&str> = plan
        .start_order()
        .iter()
        .map(|&u| plan.unit(u).name.as_str())
        .collect();
    assert_eq!(names, ["db", "api", "web", "docs"]);
}

/// A long random life of a small plan: the invariants hold whatever order things happen in.
#[test]
fn random_lives_keep_the_invariants() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..200 {
        let mut f = Fixture::new(vec![
            on_failure("db", 0.5, 3).ready_log_line(true),
            UnitConfig::new("api")
                .restart(Restart::Always)
                .max_restarts(2)
                .depends_on("db", Condition::Default),
            UnitConfig::new("gen"),
            UnitConfig::new("web").depends_on("gen", Condition::CompletedSuccessfully),
        ]);
        f.orch.request_all(f.t0);
        let names = ["db", "api", "gen", "web"];
        let mut t = 0.0;
        for _ in 0..60 {
            t += next(10) as f64 * 0.1;
            for a in f.step(t) {
                if let Action::Start(u) = a {
                    // A start is issued only when every dependency holds.
                    assert!(f.orch.waiting_for(u).is_empty());
                    f.orch.started(u, f.at(t));
                }
            }
            let name = names[next(4) as usize];
            let u = f.id(name);
            match next(4) {
                0 => f.exit(name, next(2) as i32, t),
                1 => f.orch.log_ready(u, f.at(t)),
                2 if next(8) == 0 => f.stopped(name, t),
                _ => {}
            }
            for id in f.orch.plan().ids() {
                let s = f.orch.unit(id);
                let cfg = f.orch.plan().unit(id);
                if cfg.max_restarts > 0 {
                    assert!(s.restarts() <= cfg.max_restarts);
                }
                if s.is_ready() {
                    assert_eq!(s.phase(), Phase::Running);
                }
            }
        }
        f.orch.shutdown(f.at(t));
        for _ in 0..10 {
            for a in f.step(t) {
                if let Action::Stop(u) = a {
                    let n = f.orch.plan().unit(u).name.clone();
                    f.stopped(&n, t);
                }
            }
        }
        assert!(f.orch.is_settled(), "a shutdown always settles");
    }
}

/// Every phase, outcome and health reads back from its word (a variant added without its
/// word in `parse` fails here).
#[test]
fn words_read_back() {
    let now = Instant::now();
    let outcomes = [
        Outcome::Succeeded,
        Outcome::Failed,
        Outcome::GaveUp,
        Outcome::Stopped,
        Outcome::Blocked,
        Outcome::Cancelled,
    ];
    let mut phases = vec![
        Phase::Idle,
        Phase::Waiting,
        Phase::Starting,
        Phase::Running,
        Phase::Stopping,
        Phase::Backoff { until: now },
    ];
    phases.extend(outcomes.map(Phase::Done));
    for p in phases {
        assert_eq!(Phase::parse(p.as_str(), now), Some(p));
    }
    for o in outcomes {
        assert_eq!(Outcome::parse(o.as_str()), Some(o));
    }
    for h in [
        Health::NoCheck,
        Health::Unknown,
        Health::Ready,
        Health::NotReady,
    ] {
        assert_eq!(Health::parse(h.as_str()), Some(h));
    }
}
