//! A cloned repository names its scripts and processes: `"a\nb"`, `"x\u001b]0;PWN\u0007y"`
//! (sets the terminal's title), `"c\u001b[2Jd"` (clears the screen). Whatever procsnap itself
//! writes about them — `list`, `run` and `up` prefixes, status lines, notices, warnings and
//! errors — shows them escaped (`a\nb`, `x\x1b]0;PWN\x07y`) and writes no control byte but
//! the newline that ends each line.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

/// The names as a package.json or procsnap.yaml writes them (JSON / YAML escapes).
const NAMES_ESCAPED: [&str; 3] = [r"a\nb", r"x\u001b]0;PWN\u0007y", r"c\u001b[2Jd"];
/// The names as they are.
const NAMES: [&str; 3] = ["a\nb", "x\u{1b}]0;PWN\u{7}y", "c\u{1b}[2Jd"];
/// The names as procsnap shows them.
const SHOWN: [&str; 3] = [r"a\nb", r"x\x1b]0;PWN\x07y", r"c\x1b[2Jd"];

/// Every control byte in `text` other than the newline ending a line.
fn control_bytes(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && (c.is_control()))
        .collect()
}

fn assert_clean(what: &str, out: &RunOutput) {
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let bad = control_bytes(text);
        assert!(
            bad.is_empty(),
            "{what}: {stream} holds raw control characters {bad:?}:\n{}",
            text.escape_debug()
        );
    }
}

/// A package.json declaring the hostile names (each command also carries an escape
/// sequence), and an `npm` on PATH that prints one harmless line: the package manager's own
/// output is the script's output, which `run` passes through as a shell would.
fn hostile_package() -> (TempProject, String) {
    let p = TempProject::new();
    let scripts: Vec<String> = NAMES_ESCAPED
        .iter()
        .map(|n| format!(r#""{n}": "echo \u001b[2J cleared""#))
        .collect();
    p.write(
        "package.json",
        &format!(r#"{{"name": "h", "scripts": {{{}}}}}"#, scripts.join(", ")),
    );
    let bin = p.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let npm = bin.join("npm");
    std::fs::write(&npm, "#!/bin/sh\necho harmless\n").unwrap();
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    (p, path)
}

#[test]
fn list_shows_hostile_names_and_commands_escaped() {
    let (p, _) = hostile_package();
    let out = procsnap(&["list", "--dir", p.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert_clean("list", &out);
    for name in SHOWN {
        assert!(out.stdout.contains(name), "{name} in:\n{}", out.stdout);
    }
    assert!(
        out.stdout.contains(r"echo \x1b[2J cleared"),
        "{}",
        out.stdout
    );
    // One line per script.
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
}

#[test]
fn run_prefixes_and_status_lines_show_hostile_names_escaped() {
    let (p, path) = hostile_package();
    let mut args = vec![
        "run",
        "--dir",
        p.path().to_str().unwrap(),
        "--color",
        "never",
    ];
    args.extend(NAMES);
    let out = procsnap(&args, &[("PATH", &path)]);
    assert_eq!(out.status.code(), Some(0), "{}{}", out.stdout, out.stderr);
    assert_clean("run", &out);
    for name in SHOWN {
        let pad = SHOWN[1].chars().count() - name.chars().count();
        let prefix = format!("{name}{:pad$} | ", "");
        assert!(
            out.stdout.contains(&format!("{prefix}harmless")),
            "{prefix:?} in:\n{}",
            out.stdout
        );
        assert!(
            out.stdout.contains(&format!("{prefix}exited with code 0")),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn errors_and_warnings_echo_hostile_names_escaped() {
    let (p, path) = hostile_package();
    // A name nobody declared: the error lists the declared ones.
    let out = procsnap(
        &["run", "--dir", p.path().to_str().unwrap(), "z\u{1b}[2Jz"],
        &[("PATH", &path)],
    );
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert_clean("run of an unknown name", &out);
    assert!(out.stderr.contains(SHOWN[0]), "{}", out.stderr);
    // A script name that starts with '-' is warned about.
    p.write(
        "package.json",
        r#"{"scripts": {"-\u001b]0;PWN\u0007": "x", "ok": "y"}}"#,
    );
    let out = procsnap(&["list", "--dir", p.path().to_str().unwrap()], &[]);
    assert_clean("list with a warning", &out);
    assert!(out.stderr.contains("warning"), "{}", out.stderr);
}

/// `up` never gets to show such a name: a configured process name is letters, digits and
/// `_ - . :`, and the error that says so quotes the name as Rust's `{:?}` does
/// (`"x\u{1b}]0;PWN\u{7}y"`). (Passes on code older than the escaping too; kept so that it
/// stays so.)
#[test]
fn up_refuses_hostile_process_names_and_quotes_them_escaped() {
    for (escaped, name) in NAMES_ESCAPED.iter().zip(NAMES) {
        let p = TempProject::new();
        p.write(
            "procsnap.yaml",
            &format!("processes:\n  \"{escaped}\":\n    command: echo hi\n"),
        );
        let out = procsnap(&["up", "--dir", p.path().to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
        assert_clean("up", &out);
        assert!(
            out.stderr.contains(&format!("process name {name:?}")),
            "{}",
            out.stderr
        );
    }
}
