//! Exactly once: a dependency that ran is never run again for a dependent.

use super::*;

/// A tiny xorshift: the same lives on every run of the test.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `migrate` and seven dependents gated on its success, the dependents declared first or
/// last.
fn one_shot_with_seven_dependents(dependents_first: bool) -> Vec<UnitConfig> {
    let dependents = (1..=7).map(|i| {
        UnitConfig::new(format!("d{i}")).depends_on("migrate", Condition::CompletedSuccessfully)
    });
    let migrate = UnitConfig::new("migrate");
    if dependents_first {
        dependents.chain([migrate]).collect()
    } else {
        [migrate].into_iter().chain(dependents).collect()
    }
}

/// Steps and carries out every start (each process runs at once), until nothing is left to
/// do; counts the starts of each unit.
fn act(f: &mut Fixture, t: f64, running: &mut Vec<UnitId>, starts: &mut [u32]) {
    loop {
        let actions = f.step(t);
        if actions.is_empty() {
            return;
        }
        for a in actions {
            if let Action::Start(u) = a {
                starts[u.index()] += 1;
                f.orch.started(u, f.at(t));
                running.push(u);
            }
        }
    }
}

/// One life: the names asked for one by one (in a random order) or in one request, the
/// processes ending with code 0 at random moments in between.
fn life(dependents_first: bool, one_request: bool, rng: &mut Rng) -> Fixture {
    let mut f = Fixture::new(one_shot_with_seven_dependents(dependents_first));
    // The dependents; one request may name migrate too (then it is asked for once).
    let migrate = f.id("migrate");
    let mut names: Vec<UnitId> = f
        .orch
        .plan()
        .ids()
        .filter(|&u| one_request || u != migrate)
        .collect();
    for i in (1..names.len()).rev() {
        names.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut starts = vec![0; f.orch.plan().len()];
    let mut running = Vec::new();
    let mut t = 0.0;
    let requests: Vec<Vec<UnitId>> = if one_request {
        vec![names]
    } else {
        names.into_iter().map(|u| vec![u]).collect()
    };
    for r in requests {
        f.orch.request_many(&r, f.at(t));
        act(&mut f, t, &mut running, &mut starts);
        t += 0.1;
        running.retain(|&u| {
            let end = rng.below(2) == 0;
            if end {
                f.orch
                    .exited(u, Status::Success, Some(Exit::Code(0)), f.at(t));
            }
            !end
        });
        act(&mut f, t, &mut running, &mut starts);
    }
    while !f.orch.is_settled() {
        t += 0.1;
        for u in running.drain(..) {
            f.orch
                .exited(u, Status::Success, Some(Exit::Code(0)), f.at(t));
        }
        act(&mut f, t, &mut running, &mut starts);
    }
    let names: Vec<String> = f
        .orch
        .plan()
        .ids()
        .map(|u| f.orch.plan().unit(u).name.clone())
        .collect();
    for (name, n) in names.iter().zip(&starts) {
        assert_eq!(
            *n, 1,
            "{name} started {n} times (dependents first: {dependents_first}, one request: {one_request})"
        );
    }
    f
}

#[test]
fn a_one_shot_with_seven_dependents_runs_exactly_once() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..200 {
        for dependents_first in [false, true] {
            for one_request in [false, true] {
                let f = life(dependents_first, one_request, &mut rng);
                assert!(!f.orch.any_failed());
            }
        }
    }
}

#[test]
fn asking_for_a_dependent_again_does_not_rerun_its_finished_dependency() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("gen"),
        on_failure("web", 1.0, 1).depends_on("gen", Condition::CompletedSuccessfully),
    ]);
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("gen", 0.0);
    f.exit("gen", 0, 0.1);
    f.step(0.1);
    f.started("web", 0.1);
    f.stopped("web", 0.5);
    assert!(f.orch.is_settled());
    assert!(!f.orch.request(f.id("web"), f.at(1.0)));
    assert_eq!(f.step(1.0), [f.start("web")], "gen succeeded once: enough");
    assert_eq!(f.phase("gen"), Phase::Done(Outcome::Succeeded));
    // Asked for by name, it runs again.
    f.stopped("web", 1.5);
    f.orch.request(f.id("gen"), f.at(2.0));
    assert_eq!(f.step(2.0), [f.start("gen")]);
}

#[test]
fn a_failed_or_stopped_dependency_is_not_rerun_for_a_dependent() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("gen"),
        UnitConfig::new("db"),
        UnitConfig::new("web").depends_on("gen", Condition::CompletedSuccessfully),
        UnitConfig::new("api").depends_on("db", Condition::Started),
    ]);
    let (gen_, db) = (f.id("gen"), f.id("db"));
    f.orch.request_many(&[gen_, db], f.t0);
    f.step(0.0);
    f.started("gen", 0.0);
    f.started("db", 0.0);
    f.exit("gen", 3, 0.1);
    f.stopped("db", 0.2);
    f.orch.request_many(&[f.id("web"), f.id("api")], f.at(1.0));
    // db's process_started held in this run: api starts, db is not restarted.
    assert_eq!(
        f.step(1.0),
        [f.start("api")],
        "neither gen nor db runs again"
    );
    assert_eq!(f.phase("db"), Phase::Done(Outcome::Stopped));
    assert_eq!(
        f.orch.unit(f.id("web")).reason(),
        Some("dependency \"gen\" failed (exit code 3) (process_completed_successfully)")
    );
}

#[test]
fn a_dependency_that_never_ran_is_started_for_a_dependent() {
    let mut f = Fixture::new(vec![
        UnitConfig::new("gen"),
        UnitConfig::new("web").depends_on("gen", Condition::CompletedSuccessfully),
        UnitConfig::new("e2e").depends_on("web", Condition::Started),
    ]);
    // web is blocked by gen's failure and never ran; gen is then rerun by name.
    f.orch.request_all(f.t0);
    f.step(0.0);
    f.started("gen", 0.0);
    f.exit("gen", 1, 0.1);
    f.step(0.1);
    assert_eq!(f.phase("web"), Phase::Done(Outcome::Blocked));
    f.orch.request(f.id("gen"), f.at(1.0));
    f.step(1.0);
    f.started("gen", 1.0);
    f.exit("gen", 0, 1.1);
    assert!(f.step(1.1).is_empty(), "web was not asked for again");
    f.orch.request(f.id("e2e"), f.at(2.0));
    assert_eq!(
        f.step(2.0),
        [f.start("web")],
        "web never ran: it starts for e2e"
    );
}
