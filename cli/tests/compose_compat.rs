//! process-compose files, written from its documented fields (`tests/fixtures/process-compose/`),
//! are read as they are: the supported subset without a single warning, the rest with one
//! warning per key naming its line, and a file of the subset runs.

mod common;

use std::path::PathBuf;

use common::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/process-compose")
        .join(name)
}

fn list(file: &str) -> RunOutput {
    let p = TempProject::new();
    let config = fixture(file);
    procsnap(
        &[
            "list",
            "--dir",
            p.path().to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    )
}

#[test]
fn the_supported_subset_reads_without_a_warning() {
    for (file, names) in [
        (
            "lifecycle.yaml",
            &["process1", "process2", "process3", "parallel"][..],
        ),
        ("health.yaml", &["nginx", "checker", "logger", "client"][..]),
        (
            "availability.yaml",
            &[
                "always",
                "flaky",
                "critical",
                "once",
                "graceful",
                "by_name",
                "optional",
                "started_after",
            ][..],
        ),
    ] {
        let out = list(file);
        assert!(out.status.success(), "{file}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{file}: no warning");
        for n in names {
            assert!(
                out.stdout.lines().any(|l| l.starts_with(n)),
                "{file}: {n} missing\n{}",
                out.stdout
            );
        }
        assert!(out.stdout.contains(&format!("[{file}]")), "{}", out.stdout);
    }
}

#[test]
fn every_unsupported_key_is_one_warning_with_its_line() {
    let out = list("unsupported.yaml");
    assert!(out.status.success(), "{}", out.stderr);
    let expected = [
        (4, "log_level"),
        (5, "log_location"),
        (6, "is_strict"),
        (10, "processes.web.description"),
        (11, "processes.web.is_daemon"),
        (12, "processes.web.namespace"),
        (13, "processes.web.replicas"),
        (14, "processes.web.liveness_probe"),
        (17, "processes.web.log_location"),
        (20, "processes.web.availability.exit_on_end"),
        (22, "processes.web.shutdown.command"),
    ];
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(warnings.len(), expected.len(), "{}", out.stderr);
    for (line, key) in expected {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("unsupported.yaml:{line}:"))
                    && w.contains(&format!("`{key}` is a process-compose setting"))),
            "{key} (line {line}) in\n{}",
            out.stderr
        );
    }
    assert!(out.stdout.contains("web"), "{}", out.stdout);
}

#[test]
fn a_process_compose_file_runs_as_it_is() {
    let p = TempProject::new();
    let config = fixture("lifecycle.yaml");
    let out = procsnap(
        &[
            "up",
            "--color",
            "never",
            "--dir",
            p.path().to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let pos = |s: &str| {
        lines
            .iter()
            .position(|l| l.ends_with(s))
            .unwrap_or_else(|| panic!("{s:?} missing in\n{}", out.stdout))
    };
    // Serial through process_completed_successfully: 3, then 2, then 1.
    assert!(pos("| process3") < pos("| process2"));
    assert!(pos("| process2") < pos("| hello from process1"));
    assert!(out.stdout.contains("| in parallel"));
}

/// One `migrate`-like one-shot that 7 processes need with `process_completed_successfully`
/// runs once per `up`: 10 such stacks in one file (half with the dependents declared first),
/// brought up 10 times, each one-shot appending a line to its own file: 100 of 100 runs once.
#[test]
fn a_one_shot_with_seven_dependents_runs_exactly_once() {
    const STACKS: usize = 10;
    const UPS: usize = 10;
    let p = TempProject::new();
    let mut yaml = String::from("processes:\n");
    for s in 0..STACKS {
        let migrate = format!("  migrate{s}:\n    command: \"echo ran >> m{s}.runs\"\n");
        let dependents: String = (0..7)
            .map(|d| {
                format!(
                    "  s{s}d{d}:\n    command: \"true\"\n    depends_on:\n      migrate{s}:\n        condition: process_completed_successfully\n"
                )
            })
            .collect();
        if s % 2 == 0 {
            yaml.push_str(&migrate);
            yaml.push_str(&dependents);
        } else {
            yaml.push_str(&dependents);
            yaml.push_str(&migrate);
        }
    }
    p.write("procsnap.yaml", &yaml);
    for run in 1..=UPS {
        let out = procsnap(
            &[
                "up",
                "--color",
                "never",
                "--dir",
                p.path().to_str().unwrap(),
            ],
            &[],
        );
        assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
        for s in 0..STACKS {
            let runs = std::fs::read_to_string(p.path().join(format!("m{s}.runs"))).unwrap();
            assert_eq!(
                runs.lines().count(),
                run,
                "migrate{s} after {run} ups\n{}",
                out.stdout
            );
        }
    }
}

/// `procsnap up --color never --dir <p>`, run to its end.
fn up(p: &TempProject) -> RunOutput {
    procsnap(
        &[
            "up",
            "--color",
            "never",
            "--dir",
            p.path().to_str().unwrap(),
        ],
        &[],
    )
}

#[test]
fn exit_on_failure_exits_with_the_failed_process_s_own_code() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:\n  server:\n    command: exec sleep 60\n  job:\n    command: sleep 0.2; exit 42\n    availability: {restart: exit_on_failure}\n",
    );
    let out = up(&p);
    assert_eq!(out.status.code(), Some(42), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("server | stopped"), "{}", out.stdout);
}

/// A readiness probe that keeps failing stops its process, which `on_failure` restarts; every
/// line says why, and the restarts are counted against max_restarts.
#[test]
fn a_readiness_probe_that_keeps_failing_restarts_its_process_and_says_why() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:\n  web:\n    command: echo run >> runs; exec sleep 60\n    readiness_probe:\n      exec: {command: exit 3}\n      period_seconds: 0.1\n      failure_threshold: 2\n    availability: {restart: on_failure, backoff_seconds: 0.1, max_restarts: 1}\n",
    );
    let out = up(&p);
    assert_eq!(out.status.code(), Some(1), "{}{}", out.stdout, out.stderr);
    let runs = std::fs::read_to_string(p.path().join("runs")).unwrap();
    assert_eq!(runs.lines().count(), 2, "1 run + 1 restart\n{}", out.stdout);
    for line in [
        "web | not ready: readiness probe failed 2 times in a row (exit code 3)",
        "web | restarting in 100ms (restart 1 of 1)",
        "web | stopped: not ready: readiness probe failed 2 times in a row (exit code 3); gave up after 1 restarts (max_restarts)",
    ] {
        assert!(out.stdout.contains(line), "{line}\n{}", out.stdout);
    }
}

/// process_completed waits until no restart is pending: the dependent sees the last run.
#[test]
fn process_completed_waits_for_the_restarts_to_be_over() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:\n  flaky:\n    command: n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; test $n -ge 3\n    availability: {restart: on_failure, backoff_seconds: 0.1}\n  after:\n    command: echo saw run $(cat n)\n    depends_on:\n      flaky: {condition: process_completed}\n",
    );
    let out = up(&p);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("after | saw run 3"), "{}", out.stdout);
}
