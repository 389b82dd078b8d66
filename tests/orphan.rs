//! Orphan-proof: a supervisor that is SIGKILLed leaves no process of any group it started.
//!
//! The test re-executes its own binary as the "helper" (the ignored test `orphan_helper`, with
//! an environment variable set): the helper starts groups with grandchildren, prints their
//! group ids and waits to be killed.

mod common;

use common::{Groups, live_members};
use procsnap::{CommandSpec, Supervisor, sys};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

const HELPER_ENV: &str = "PROCSNAP_ORPHAN_HELPER";

#[test]
fn sigkilled_supervisor_leaves_no_group_behind() {
    let mut helper = common::this_test_binary()
        .args([
            "--exact",
            "orphan_helper",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut groups = Groups::default();
    let mut out = BufReader::new(helper.stdout.take().unwrap());
    let mut watchdog = None;
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "helper ended early");
        // libtest prints "test orphan_helper ... " without a newline before our first line.
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words
            .iter()
            .position(|w| ["PGID", "WATCHDOG", "READY"].contains(w))
            .unwrap_or(words.len());
        match &words[at..] {
            ["PGID", n] => {
                groups.add(n.parse::<i32>().unwrap());
            }
            ["WATCHDOG", n] => watchdog = Some(n.parse::<i32>().unwrap()),
            ["READY"] => break,
            _ => {}
        }
    }
    assert_eq!(groups.0.len(), 10);
    let members: usize = groups
        .0
        .iter()
        .map(|g| live_members(g.as_raw()).len())
        .sum();
    assert_eq!(members, 5 * 3 + 5, "every group running before the kill");

    let t = Instant::now();
    helper.kill().unwrap(); // SIGKILL: no destructor, no atexit, nothing of ours runs
    helper.wait().unwrap();
    let mut all_dead = None;
    while t.elapsed() < Duration::from_secs(5) {
        if groups.0.iter().all(|g| live_members(g.as_raw()).is_empty()) {
            all_dead = Some(t.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let left: Vec<_> = groups.0.iter().map(|g| live_members(g.as_raw())).collect();
    let took = all_dead.unwrap_or_else(|| panic!("survivors after 5 s: {left:?}"));
    eprintln!("every process of 10 groups dead {took:?} after the SIGKILL");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // The watchdog has done its job and exited.
    if let Some(w) = watchdog {
        assert!(common::eventually(Duration::from_secs(2), || live_members(
            w
        )
        .is_empty()));
    }
    // Once the (reparented) zombies are reaped, the kernel sees the groups empty too.
    assert!(common::eventually(Duration::from_secs(10), || groups
        .0
        .iter()
        .all(|g| !sys::group_alive(*g))));
}

/// Not a test: the helper process of the test above.
#[test]
#[ignore = "helper process, run by sigkilled_supervisor_leaves_no_group_behind"]
fn orphan_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let sup = Supervisor::with_config(common::config()).unwrap();
    let mut out = std::io::stdout().lock();
    let mut pgids = Vec::new();
    for i in 0..10 {
        let spec = if i % 2 == 0 {
            CommandSpec::shell("sleep 300 & sleep 300 & wait")
        } else {
            CommandSpec::new("sleep").arg("300")
        };
        let p = sup.spawn("g", spec).unwrap();
        let pg = common::pgid_of(&p);
        if i % 2 == 0 {
            assert!(common::wait_children(pg, 2));
        }
        pgids.push(pg);
        writeln!(out, "PGID {pg}").unwrap();
    }
    writeln!(out, "WATCHDOG {}", sup.watchdog_pid().unwrap()).unwrap();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    std::thread::sleep(Duration::from_secs(300));
}
