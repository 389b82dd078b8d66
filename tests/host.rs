//! A library user's process: a default `Supervisor` changes nothing process-wide (no raised
//! descriptor limit, no watchdog child), and fails clearly where it cannot work.
//! (Its own test binary: other tests raise the limit, which is once per program.)

use procsnap::{CommandSpec, Status, Supervisor, SupervisorConfig};

/// The soft "Max open files" limit, from /proc/self/limits.
fn soft_nofile() -> String {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().to_owned()
}

/// Direct children of this process (of any of its threads), from /proc.
fn children() -> Vec<String> {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    tasks
        .flatten()
        .flat_map(|t| {
            let list = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            list.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_default_supervisor_changes_nothing_process_wide() {
    let before = soft_nofile();
    let sup = Supervisor::new().unwrap();
    assert_eq!(sup.watchdog_pid(), None);
    assert_eq!(soft_nofile(), before, "the descriptor limit was raised");
    assert!(
        children().is_empty(),
        "a child besides ours: {:?}",
        children()
    );
    let p = sup.spawn("one", CommandSpec::new("true")).unwrap();
    assert_eq!(sup.wait(p.id()).unwrap().status, Status::Success);
    drop(sup);

    // Asked for, both happen.
    let sup = Supervisor::with_config(
        SupervisorConfig::default()
            .watchdog(true)
            .raise_nofile(true),
    )
    .unwrap();
    let watchdog = sup.watchdog_pid().expect("a watchdog");
    assert!(children().contains(&watchdog.to_string()));
    let hard = std::fs::read_to_string("/proc/self/limits").unwrap();
    let hard = hard
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap()
        .to_owned();
    assert_eq!(soft_nofile(), hard, "raised to the hard limit");
}
