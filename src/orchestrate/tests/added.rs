//! Units added while the orchestrator runs.

use super::*;

#[test]
fn an_added_unit_runs_beside_the_plan_and_can_wait_for_a_configured_one() {
    let mut f = Fixture::new(vec![UnitConfig::new("db").ready_log_line(true)]);
    f.orch.request_all(f.t0);
    assert_eq!(f.step(0.0), [f.start("db")]);
    f.started("db", 0.0);
    let dev = f.orch.add_unit(UnitConfig::new("dev")).unwrap();
    let seed = f
        .orch
        .add_unit(UnitConfig::new("seed").depends_on("db", Condition::Healthy))
        .unwrap();
    assert_eq!(
        f.orch.unit(dev).phase(),
        Phase::Idle,
        "idle until asked for"
    );
    assert_eq!(f.orch.plan().dependents(f.id("db")), [seed]);
    f.orch.request_many(&[dev, seed], f.at(0.5));
    assert_eq!(f.step(0.5), [Action::Start(dev)], "seed waits for db");
    f.orch.log_ready(f.id("db"), f.at(1.0));
    assert_eq!(f.step(1.0), [Action::Start(seed)]);
    // restart: no, no dependents: it ends for good and stops nothing.
    f.started("dev", 1.0);
    f.exit("dev", 1, 2.0);
    assert_eq!(f.phase("dev"), Phase::Done(Outcome::Failed));
    // The shutdown stops db only once seed, which waits for it, is over.
    f.started("seed", 1.0);
    f.orch.shutdown(f.at(3.0));
    assert_eq!(f.step(3.0), [Action::Stop(seed)]);
}

#[test]
fn adding_a_duplicate_or_an_unknown_dependency_is_an_error_and_changes_nothing() {
    let mut f = Fixture::new(vec![UnitConfig::new("db")]);
    let dup = f.orch.add_unit(UnitConfig::new("db")).unwrap_err();
    assert_eq!(dup.to_string(), "\"db\" is configured twice");
    assert_eq!(dup.position(), (1, None));
    let unknown = f
        .orch
        .add_unit(UnitConfig::new("api").depends_on("cache", Condition::Started))
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "\"api\" depends on \"cache\", which is not a configured process"
    );
    let own = f
        .orch
        .add_unit(UnitConfig::new("loop").depends_on("loop", Condition::Started))
        .unwrap_err();
    assert!(matches!(own, PlanError::UnknownDependency { .. }), "{own}");
    let never = f
        .orch
        .add_unit(UnitConfig::new("api").depends_on("db", Condition::LogReady))
        .unwrap_err();
    assert!(matches!(never, PlanError::NeverReady { .. }), "{never}");
    assert_eq!(f.orch.plan().len(), 1);
    assert!(f.orch.plan().find("api").is_none());
    let api = f.orch.add_unit(UnitConfig::new("api")).unwrap();
    assert_eq!(api.index(), 1);
}
