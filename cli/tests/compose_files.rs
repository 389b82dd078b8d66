//! How a process-compose file is read, end to end (`procsnap up` on files written here):
//! environment precedence, `${NAME}` expansion, `extends`, the shell commands run in,
//! relative paths, and files too large or too clever.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// `procsnap up --color never --dir <p>` with `envs` added to its environment.
fn up_with(p: &TempProject, extra: &[&str], envs: &[(&str, &str)]) -> RunOutput {
    let mut args = vec![
        "up",
        "--color",
        "never",
        "--dir",
        p.path().to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    procsnap(&args, envs)
}

#[test]
fn the_environment_stacks_as_process_compose_stacks_it() {
    let p = TempProject::new();
    p.write(
        ".env",
        "FROM_DOTENV=dotenv\nSHELL_WINS=dotenv\nTOP=dotenv\nFILE=dotenv\nOWN=dotenv\n",
    );
    p.write("extra.env", "FILE=env_file\nOWN=env_file\n");
    p.write(
        "procsnap.yaml",
        "environment: [TOP=top, FILE=top, OWN=top]\nprocesses:\n  show:\n    command: echo $FROM_DOTENV $SHELL_WINS $TOP $FILE $OWN\n    env_file: extra.env\n    environment: [OWN=own]\n",
    );
    let out = up_with(&p, &[], &[("SHELL_WINS", "shell"), ("TOP", "shell")]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("show | dotenv shell top env_file own"),
        "{}",
        out.stdout
    );
}

/// `${NAME}` is replaced when the file is loaded (the shell's value first, then .env's), in a
/// ready line and in a port; `$$` is a `$` for the command's shell; a bare `$NAME` is the
/// shell's to expand.
#[test]
fn braces_expand_at_load_and_two_dollars_reach_the_shell() {
    let p = TempProject::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    p.write(".env", &format!("API_PORT={port}\nGREETING=from-dotenv\n"));
    p.write(
        "procsnap.yaml",
        "processes:
  api:
    command: echo listening on ${API_PORT}; timeout 4 python3 -m http.server ${API_PORT} --bind 127.0.0.1; true
    ready_log_line: \"listening on ${API_PORT}\"
    readiness_probe:
      http_get: {host: 127.0.0.1, port: ${API_PORT}}
      period_seconds: 0.2
  client:
    command: echo \"${GREETING} $$PROCESS_ONLY $${PROCESS_ONLY} $PROCESS_ONLY ${UNSET_ONE:-fallback}\"
    environment: [PROCESS_ONLY=own]
    depends_on:
      api: {condition: process_healthy}
",
    );
    let out = up_with(&p, &["client"], &[]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("client | from-dotenv own own own fallback"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("api    | ready"), "{}", out.stdout);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn an_unset_variable_is_a_warning_with_its_line_and_expands_to_nothing() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:\n  a:\n    command: echo \"[${PROCSNAP_TEST_SURELY_UNSET}]\"\n",
    );
    let out = up_with(&p, &[], &[]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("a | []"), "{}", out.stdout);
    assert!(
        out.stderr.contains(
            "procsnap.yaml:3:21: warning: ${PROCSNAP_TEST_SURELY_UNSET} is set neither in the environment nor in .env"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn disable_env_expansion_leaves_the_text_as_written() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "disable_env_expansion: true\nprocesses:\n  a:\n    command: echo \"${X:-shell default} $$ done\" | sed 's/[0-9]//g'\n",
    );
    let out = up_with(&p, &[], &[]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("a | shell default  done"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stderr.contains("warning"),
        "the key is read: {}",
        out.stderr
    );
}

#[test]
fn extends_inherits_every_setting_left_unset_through_a_chain() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:
  worker2:
    extends: worker
    environment: [ROLE=second]
  worker:
    extends: base
    environment: [ROLE=first]
  base:
    command: echo $ROLE $SHARED
    environment: [ROLE=base, SHARED=shared]
    disabled: true
",
    );
    let out = up_with(&p, &["worker", "worker2"], &[]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("worker  | first shared"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("worker2 | second shared"),
        "{}",
        out.stdout
    );

    let p = TempProject::new();
    p.write("procsnap.yaml", "processes:\n  a:\n    extends: nope\n");
    let out = up_with(&p, &[], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "procsnap.yaml:3:14: processes.a.extends: \"nope\" is not a configured process"
        ),
        "{}",
        out.stderr
    );
}

/// process-compose runs commands with `bash -c` (and honours a top-level `shell`): bash-only
/// commands work. A Procfile keeps `/bin/sh -c`.
#[test]
fn yaml_commands_run_in_bash_and_shell_overrides_it() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:\n  b:\n    command: \"trap '' SIGTERM; arr=(x y); [[ ${#arr[@]} == 2 ]] && echo bash ok\"\n",
    );
    // `${#arr[@]}` is bash's, not a substitution: written with `$$` it reaches bash.
    let text = std::fs::read_to_string(p.path().join("procsnap.yaml")).unwrap();
    p.write("procsnap.yaml", &text.replace("${#", "$${#"));
    let out = up_with(&p, &[], &[]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("b | bash ok"), "{}", out.stdout);

    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "shell:\n  shell_command: python3\n  shell_argument: -c\nprocesses:\n  py:\n    command: print('from', 'python')\n",
    );
    let out = up_with(&p, &[], &[]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("py | from python"), "{}", out.stdout);
    assert!(
        !out.stderr.contains("warning"),
        "`shell` is read: {}",
        out.stderr
    );

    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "shell: {shell_command: no-such-shell-here}\nprocesses:\n  a:\n    command: 'true'\n",
    );
    let out = up_with(&p, &[], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("procsnap.yaml:1:8: shell.shell_command \"no-such-shell-here\""),
        "{}",
        out.stderr
    );
}

/// A relative `working_dir` is relative to where procsnap runs (the project directory, not
/// the file's), and a relative `env_file` to the process's `working_dir`.
#[test]
fn relative_working_dir_and_env_file_resolve_as_process_compose_resolves_them() {
    let p = TempProject::new();
    let elsewhere = TempProject::new();
    std::fs::create_dir_all(p.path().join("svc")).unwrap();
    p.write("svc/svc.env", "WHERE=svc.env beside the working_dir\n");
    p.write("top.env", "TOP=top.env in the project\n");
    let config = elsewhere.path().join("stack.yaml");
    std::fs::write(
        &config,
        "processes:
  in_svc:
    command: echo $(basename \"$PWD\") $WHERE
    working_dir: svc
    env_file: svc.env
  at_top:
    command: echo $TOP
    env_file: top.env
",
    )
    .unwrap();
    let out = up_with(&p, &["--config", config.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("in_svc | svc svc.env beside the working_dir"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("at_top | top.env in the project"),
        "{}",
        out.stdout
    );
}

/// 6,000 processes and no alias: read, not called an alias bomb; a real alias bomb is still
/// refused at once. (The time bounds here are generous; BENCHMARKS.md has the figures.)
#[test]
fn a_large_file_loads_and_an_alias_bomb_is_still_refused() {
    let p = TempProject::new();
    let mut text = String::from("processes:\n  p0:\n    command: echo 0\n");
    for i in 1..6000 {
        text.push_str(&format!(
            "  p{i}:\n    command: echo {i}\n    environment: [A=1, B=2]\n    availability: {{restart: on_failure, max_restarts: 3}}\n    depends_on:\n      p0: {{condition: process_started}}\n"
        ));
    }
    p.write("procsnap.yaml", &text);
    let start = Instant::now();
    let out = procsnap(&["list", "--dir", p.path().to_str().unwrap()], &[]);
    let took = start.elapsed();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("p5999"), "{}", &out.stdout[..200]);
    assert!(took < Duration::from_secs(10), "{took:?}");

    let p = TempProject::new();
    let mut bomb = String::from("a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for w in ["a", "b", "c", "d", "e", "f", "g", "h", "i"].windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        bomb.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
    }
    bomb.push_str("processes:\n  x:\n    command: touch started\n");
    p.write("procsnap.yaml", &bomb);
    let out = procsnap(&["list", "--dir", p.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("alias bomb"), "{}", out.stderr);
}

#[test]
fn a_duplicate_key_is_an_error_without_the_parser_s_advice() {
    let p = TempProject::new();
    p.write(
        "procsnap.yaml",
        "processes:\n  a:\n    command: 'true'\n  a:\n    command: 'true'\n",
    );
    let out = up_with(&p, &[], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("procsnap.yaml:4:3: duplicate mapping key: a"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("DuplicateKeyPolicy"), "{}", out.stderr);
}
