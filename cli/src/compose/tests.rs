//! Loading configurations: the subset read, warnings for the rest, every error with its line.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use procsnap::orchestrate::{Condition, Restart};

use super::*;

/// A temporary project directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!(
            "procsnap-compose-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    fn write(&self, name: &str, text: &str) -> &Dir {
        fs::write(self.0.join(name), text).unwrap();
        self
    }

    fn load(&self) -> Result<Stack, ConfigError> {
        let project = Project::discover(&self.0).unwrap();
        Ok(load(&project, None)?.expect("a configuration"))
    }

    fn error(&self) -> ConfigError {
        self.load().expect_err("an error")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn env_of(stack: &Stack, name: &str, key: &str) -> Option<String> {
    stack
        .proc(name)
        .unwrap()
        .spec
        .get_env()
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.to_string_lossy().into_owned())
}

#[test]
fn the_subset_is_read() {
    let d = Dir::new("subset");
    d.write("package.json", r#"{"scripts":{"dev":"vite"}}"#);
    d.write(
        "procsnap.yaml",
        r#"version: "0.5"
processes:
  db:
    command: "sleep 1; echo ready"
    ready_log_line: "ready"
    shutdown:
      signal: SIGINT
      timeout_seconds: 3
  web:
    script: dev
    working_dir: sub
    depends_on:
      db:
        condition: process_log_ready
    readiness_probe:
      http_get: {host: localhost, port: 5173, path: health}
      period_seconds: 0.5
      failure_threshold: 5
    availability:
      restart: on_failure
      backoff_seconds: 2
      max_restarts: 4
  gen:
    command: ./gen.sh
    disabled: true
    readiness_probe:
      exec: {command: "test -f out"}
"#,
    );
    let s = d.load().unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let db = s.proc("db").unwrap();
    assert_eq!(db.command, "sleep 1; echo ready");
    assert!(db.ready_line.as_ref().unwrap().matches("db is ready now"));
    assert_eq!(db.shutdown.signal, libc::SIGINT);
    assert_eq!(db.shutdown.timeout, Some(Duration::from_secs(3)));
    let web = s.proc("web").unwrap();
    assert_eq!(web.command, "npm run dev");
    assert_eq!(
        web.spec.get_cwd(),
        Some(d.0.canonicalize().unwrap().join("sub").as_path())
    );
    let (check, timing) = web.probe.as_ref().unwrap();
    assert!(
        matches!(check, Check::Http { host, port: 5173, path } if host == "localhost" && path == "/health")
    );
    assert_eq!(timing.period, Duration::from_millis(500));
    assert_eq!(timing.failure_threshold, 5);
    let u = s.plan.unit(s.plan.find("web").unwrap());
    assert_eq!((u.restart, u.max_restarts), (Restart::OnFailure, 4));
    assert_eq!(u.backoff.base, Duration::from_secs(2));
    assert_eq!(u.depends_on[0].condition, Condition::LogReady);
    assert!(s.plan.unit(s.plan.find("gen").unwrap()).disabled);
    assert!(matches!(
        &s.proc("gen").unwrap().probe,
        Some((Check::Exec(_), _))
    ));
}

#[test]
fn every_unread_key_is_a_warning_with_its_line() {
    let d = Dir::new("warn");
    d.write(
        "process-compose.yaml",
        "log_level: debug\nprocesses:\n  a:\n    command: x\n    is_daemon: true\n    colour: red\n    availability:\n      restart: always\n      exit_on_end: true\n    depends_on: {}\n",
    );
    let s = d.load().unwrap();
    let w = s.warnings.join("\n");
    assert!(
        w.contains("process-compose.yaml:1:1: warning: `log_level` is a process-compose setting procsnap does not support"),
        "{w}"
    );
    assert!(
        w.contains(":5:5: warning: `processes.a.is_daemon` is a process-compose setting"),
        "{w}"
    );
    assert!(
        w.contains(":6:5: warning: unknown key `processes.a.colour`"),
        "{w}"
    );
    assert!(
        w.contains(":9:7: warning: `processes.a.availability.exit_on_end`"),
        "{w}"
    );
    assert_eq!(s.warnings.len(), 4, "{w}");
}

#[test]
fn procsnap_yaml_wins_over_process_compose_yaml_with_a_warning() {
    let d = Dir::new("both");
    d.write("procsnap.yaml", "processes:\n  a:\n    command: x\n");
    d.write("process-compose.yaml", "processes:\n  b:\n    command: y\n");
    let s = d.load().unwrap();
    assert!(s.proc("a").is_some() && s.proc("b").is_none());
    assert!(
        s.warnings[0].contains("process-compose.yaml: ignored"),
        "{:?}",
        s.warnings
    );
}

/// Each mistake is an error that names the file, the line and the column.
#[test]
fn mistakes_are_errors_with_file_line_and_column() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "processes:\n  a:\n    command: x\n    depends_on:\n      b: {condition: process_started}\n  b:\n    command: y\n    depends_on: [a]\n",
            "procsnap.yaml:8:18: dependency cycle: a → b → a",
            "cycle",
        ),
        (
            "processes:\n  a:\n    command: x\n    depends_on:\n      nope:\n",
            "procsnap.yaml:5:7: \"a\" depends on \"nope\", which is not a configured process",
            "unknown dependency",
        ),
        (
            "processes:\n  db:\n    command: x\n  a:\n    command: x\n    depends_on:\n      db: {condition: process_ready}\n",
            "procsnap.yaml:7:23: unknown condition \"process_ready\"",
            "unknown condition",
        ),
        (
            "processes:\n  a:\n    command: x\n    shutdown: {signal: SIGSTOP}\n",
            "procsnap.yaml:4:24: bad shutdown signal \"SIGSTOP\"",
            "bad signal",
        ),
        (
            "processes:\n  a:\n    command: x\n    shutdown:\n      signal: 99\n",
            "procsnap.yaml:5:15: bad shutdown signal 99",
            "bad signal number",
        ),
        (
            "processes:\n  a:\n    command: x\n    availability: {restart: sometimes}\n",
            "procsnap.yaml:4:29: unknown restart policy \"sometimes\"",
            "bad restart",
        ),
        (
            "processes:\n  a:\n    command: x\n    availability: {max_restarts: -1}\n",
            "procsnap.yaml:4:34: expected a whole number of at least 0",
            "negative count",
        ),
        (
            "processes:\n  a:\n    cmd: x\n",
            "procsnap.yaml:2:3: process \"a\" needs a `command`",
            "no command",
        ),
        (
            "processes:\n  a:\n    command: x\n    script: dev\n",
            "procsnap.yaml:4:13: give `command` or `script`, not both",
            "both",
        ),
        (
            "processes:\n  a:\n    script: nope\n",
            "procsnap.yaml:3:13: script \"nope\" is not declared",
            "unknown script",
        ),
        (
            "processes:\n  a:\n    command: x\n    readiness_probe:\n      http_get: {port: 80, scheme: https}\n",
            "procsnap.yaml:5:36: scheme \"https\" is not supported",
            "https",
        ),
        (
            "processes:\n  a:\n    command: x\n    readiness_probe: {period_seconds: 1}\n",
            "procsnap.yaml:4:22: readiness_probe needs `exec` or `http_get`",
            "probe without check",
        ),
        (
            "processes:\n  db:\n    command: x\n  a:\n    command: x\n    depends_on:\n      db: {condition: process_healthy}\n",
            "procsnap.yaml:7:7: \"a\" waits for \"db\" to be healthy (process_healthy), but \"db\" has no readiness_probe",
            "never healthy",
        ),
        (
            "processes:\n  a b:\n    command: x\n",
            "procsnap.yaml:2:3: process name \"a b\"",
            "bad name",
        ),
        (
            "processes:\n  a:\n    command: x\n   b: 1\n",
            "procsnap.yaml:4:",
            "syntax",
        ),
        (
            "version: 1\n",
            "procsnap.yaml:1:1: no `processes:` mapping",
            "no processes",
        ),
        ("", "procsnap.yaml:1:1: the file is empty", "empty"),
    ];
    for (text, want, what) in cases {
        let d = Dir::new("err");
        d.write("package.json", r#"{"scripts":{"dev":"vite"}}"#);
        d.write("procsnap.yaml", text);
        let e = d.error().to_string();
        let shown = e.find("procsnap.yaml:").map_or(e.as_str(), |at| &e[at..]);
        assert!(shown.starts_with(want), "{what}: {e}");
    }
}

#[test]
fn an_alias_bomb_is_an_error_fast() {
    let d = Dir::new("bomb");
    let mut text = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for w in ["a", "b", "c", "d", "e", "f", "g", "h"].windows(2) {
        text.push_str(&format!(
            "{}: &{} [{}]\n",
            w[1],
            w[1],
            vec![format!("*{}", w[0]); 10].join(",")
        ));
    }
    text.push_str("processes:\n  a:\n    command: x\n");
    d.write("procsnap.yaml", &text);
    let start = std::time::Instant::now();
    let e = d.error().to_string();
    assert!(e.contains("alias bomb"), "{e}");
    // A guard against a hang, not a measurement (BENCHMARKS.md has the figure): expanded, this
    // document is 100 million nodes.
    assert!(start.elapsed() < Duration::from_secs(60));
}

/// process-compose's order: .env < the shell < top-level environment < env_file < the
/// process's environment; a .env never overrides what the shell set.
#[test]
fn dotenv_shell_environment_env_file_and_process_environment_stack_in_that_order() {
    let d = Dir::new("env");
    d.write(
        ".env",
        "A=dotenv\nB=dotenv\nC=dotenv\nD=dotenv\nPATH=/from/dotenv\n",
    );
    d.write("extra.env", "export B=file\nC=file\n");
    d.write(
        "procsnap.yaml",
        "environment: [C=global]\nprocesses:\n  a:\n    command: x\n    env_file: extra.env\n    environment:\n      D: 4\n",
    );
    let s = d.load().unwrap();
    let got: Vec<_> = ["A", "B", "C", "D"]
        .iter()
        .map(|k| env_of(&s, "a", k).unwrap())
        .collect();
    assert_eq!(got, ["dotenv", "file", "file", "4"]);
    assert_eq!(
        env_of(&s, "a", "PATH"),
        None,
        "the shell's PATH is inherited, not .env's"
    );
}

#[test]
fn a_malformed_env_line_is_an_error_naming_the_env_file_and_line() {
    let d = Dir::new("badenv");
    d.write(".env", "OK=1\n\nnot a line\n");
    d.write("procsnap.yaml", "processes:\n  a:\n    command: x\n");
    let e = d.error();
    assert!(e.path.ends_with(".env"));
    assert_eq!(e.pos.map(|p| p.line), Some(3));
    assert!(
        e.to_string().contains(".env:3:1: expected KEY=VALUE"),
        "{e}"
    );
    let d = Dir::new("noenv");
    d.write(
        "procsnap.yaml",
        "processes:\n  a:\n    command: x\n    env_file: [missing.env]\n",
    );
    assert!(
        d.error()
            .to_string()
            .contains("procsnap.yaml:4:16: env_file"),
        "{}",
        d.error()
    );
}

#[test]
fn a_ready_line_matches_as_text_or_as_a_regex() {
    let text = ReadyLine::new("ready (pid 1)");
    assert!(text.matches("db: ready (pid 1)"));
    let regex = ReadyLine::new(r"listening on :\d+");
    assert!(regex.matches("server listening on :8080"));
    assert!(!regex.matches("server listening on :http"));
    let broken = ReadyLine::new("ready [");
    assert!(broken.matches("ready [ok]") && !broken.matches("ready"));
}
