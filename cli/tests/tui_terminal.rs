//! `procsnap tui` as users of terminal programs expect it to behave, end to end in a
//! pseudo-terminal: Ctrl-Z and `fg`, small terminals, hostile script names, and the words it
//! says.
#![forbid(unsafe_code)]

#[path = "common/mod.rs"]
mod common;
#[path = "tui_pty/harness.rs"]
mod harness;

use common::{TempProject, eventually, group_members, kill, state};
use harness::{LIMIT, Tui};

fn ticking() -> TempProject {
    TempProject::procfile(&[(
        "web",
        "echo hello-web; i=0; while true; do i=$((i+1)); echo \"tick $i\"; sleep 0.2; done",
    )])
}

/// The terminal as the shell wants it: main screen, cursor shown, no mouse, cooked mode.
fn handed_back(t: &Tui) -> bool {
    let screen = t.with_screen(|s| {
        (
            s.alternate_screen(),
            s.hide_cursor(),
            s.mouse_protocol_mode(),
        )
    });
    let stty = t.stty();
    screen == (false, false, vt100::MouseProtocolMode::None)
        && !stty.contains("-icanon")
        && !stty.contains("-echo ")
}

/// The UI's terminal: alternate screen, raw mode.
fn taken(t: &Tui) -> bool {
    t.with_screen(|s| s.alternate_screen()) && t.stty().contains("-icanon")
}

/// Suspends the UI (by `how`), checks the terminal was handed back and the scripts run on,
/// continues it as `fg` does, and checks it took the terminal again, redrew all of it, and
/// reads keys at once.
fn suspend_and_continue(how: &str) {
    let p = ticking();
    let mut t = Tui::start(p.path(), &["--grace", "2", "web"], (100, 30), &[]);
    let web = t.pid_of("web");
    t.wait_for("tick 2");
    assert!(taken(&t));
    match how {
        "key" => t.send("\x1a"),
        _ => kill("TSTP", i64::from(t.pid)),
    }
    assert!(
        eventually(LIMIT, || state(t.pid) == Some('T')),
        "{how}: the UI did not stop; screen:\n{}",
        t.screen()
    );
    assert!(
        eventually(LIMIT, || handed_back(&t)),
        "{how}: the terminal was not handed back: {}",
        t.stty()
    );
    assert!(
        !t.screen().contains("sort:"),
        "the UI left on screen:\n{}",
        t.screen()
    );
    // The scripts are not the UI: they keep running.
    assert!(group_members(web).iter().all(|&m| state(m) != Some('T')));

    kill("CONT", i64::from(t.pid)); // what `fg` sends
    assert!(
        eventually(LIMIT, || taken(&t)),
        "{how}: not raw again: {}",
        t.stty()
    );
    // Everything redrawn: the alternate screen was blank when taken again.
    t.wait_until("a full redraw", LIMIT, |s| {
        s.contains("sort: declared") && s.contains("name") && s.contains("follow")
    });
    t.wait_row("web", "running");
    t.send("?");
    t.wait_for("any key closes");
    t.send("?");
    t.wait_until("help closed", LIMIT, |s| !s.contains("any key closes"));
    t.send("q");
    t.wait_for("stop 1 process and quit?");
    t.send("y");
    assert_eq!(t.wait_exit(LIMIT).map(|s| s.exit_code()), Some(0));
}

#[test]
fn ctrl_z_hands_the_terminal_back_and_fg_takes_it_again_redrawn() {
    suspend_and_continue("key");
}

#[test]
fn sigtstp_hands_the_terminal_back_and_sigcont_takes_it_again_redrawn() {
    suspend_and_continue("signal");
}

/// At 40×10 the list showed its borders and header but no process row, at 20×5 only the
/// header: the selection could not be seen. Now the selected row is on screen at both, and
/// follows the selection.
#[test]
fn small_terminals_show_the_selected_row() {
    let p = TempProject::procfile(&[
        ("alpha", "sleep 300"),
        ("bravo", "sleep 300"),
        ("charlie", "sleep 300"),
        ("delta", "sleep 300"),
    ]);
    for size in [(40, 10), (20, 5)] {
        let mut t = Tui::start(p.path(), &[], size, &[]);
        t.wait_row("all", "");
        t.send("G"); // the last row
        t.wait_row("delta", "idle");
        t.send("k");
        t.wait_row("charlie", "idle");
        t.send("q");
        assert!(t.wait_exit(LIMIT).is_some(), "{size:?}");
    }
}

/// `s` on a script whose shell ends on SIGTERM but whose background job ignores it: the job
/// is SIGKILLed after the grace, and the row ends with SIGKILL, what ended the process (it
/// said SIGTERM).
#[test]
fn a_row_ends_with_the_signal_that_ended_the_process() {
    let p = TempProject::procfile(&[(
        "half",
        "(trap '' TERM; echo armed; while true; do sleep 0.1; done) & wait",
    )]);
    let mut t = Tui::start(p.path(), &["--grace", "1", "half"], (100, 30), &[]);
    let pid = t.pid_of("half");
    t.wait_for("armed"); // a TERM before the job's trap is set would end it too
    t.send("j");
    t.send("s");
    let row = t.wait_row("half", "stopped");
    assert!(row.contains("SIGKILL"), "{row}");
    assert!(!row.contains("SIGTERM"), "{row}");
    assert!(eventually(LIMIT, || group_members(pid).is_empty()));
    t.send("q");
    assert!(t.wait_exit(LIMIT).is_some());
}

/// A package.json with hostile script names, run in the real UI: every name is shown escaped
/// (ratatui dropped the control characters, showing `ab` for `"a\nb"`).
#[test]
fn hostile_names_are_shown_escaped() {
    use std::os::unix::fs::PermissionsExt;
    let p = TempProject::new();
    p.write(
        "package.json",
        r#"{"scripts": {"a\nb": "x", "x\u001b]0;PWN\u0007y": "x", "c\u001b[2Jd": "x"}}"#,
    );
    let bin = p.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let npm = bin.join("npm");
    std::fs::write(&npm, "#!/bin/sh\necho harmless; exec sleep 300\n").unwrap();
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let names = ["a\nb", "x\u{1b}]0;PWN\u{7}y", "c\u{1b}[2Jd"];
    let mut args = vec!["--grace", "1"];
    args.extend(names);
    let mut t = Tui::start(p.path(), &args, (100, 30), &[("PATH", &path)]);
    for shown in [r"a\nb", r"x\x1b]0;PWN\x07y", r"c\x1b[2Jd"] {
        t.wait_row(shown, "running");
        t.wait_until("its output", LIMIT, |s| {
            s.lines()
                .any(|l| l.contains(shown) && l.contains("| harmless"))
        });
    }
    assert!(t.with_screen(|s| s.alternate_screen()));
    t.send("Q");
    assert!(t.wait_exit(LIMIT).is_some());
}

/// A script that reads the terminal (`read x < /dev/tty`) is stopped by the kernel (the UI
/// keeps the terminal); its row says that it waits for the terminal, not that it runs, and
/// its log pane's title says what to do.
#[test]
fn a_script_waiting_for_the_terminal_is_shown_so() {
    let p = TempProject::procfile(&[
        ("ask", "echo asking; read x < /dev/tty; echo got $x"),
        ("other", "exec sleep 300"),
    ]);
    let mut t = Tui::start(p.path(), &["--grace", "1", "ask", "other"], (120, 30), &[]);
    t.wait_for("asking");
    let row = t.wait_row("ask", "needs tty");
    assert!(!row.contains("running"), "{row}");
    assert!(t.row("other").is_some_and(|r| r.contains("running")));
    t.send("gj"); // the first row: ask
    t.wait_for("run it in a shell");
    t.send("q");
    t.send("y");
    assert!(t.wait_exit(LIMIT).is_some());
}
