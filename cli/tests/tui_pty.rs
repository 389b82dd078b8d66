//! `procsnap tui` end to end: the real binary in a pseudo-terminal, driven by keys, its screen
//! rebuilt by `vt100`, its process groups checked in `/proc`.
#![forbid(unsafe_code)]

#[path = "common/mod.rs"]
mod common;
#[path = "tui_pty/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use common::{TempProject, eventually, group_members, kill};
use harness::{LIMIT, Tui, all_gone};

/// A script that says hello, then ticks; and one that sleeps.
fn project() -> TempProject {
    TempProject::procfile(&[
        (
            "web",
            "echo hello-web; i=0; while true; do i=$((i+1)); echo \"tick $i\"; sleep 0.2; done",
        ),
        ("idle", "sleep 300"),
    ])
}

/// The terminal is back to normal: main screen, cursor shown, no mouse reporting, cooked mode.
fn assert_restored(t: &Tui) {
    let state = || {
        t.with_screen(|s| {
            (
                s.alternate_screen(),
                s.hide_cursor(),
                s.mouse_protocol_mode(),
            )
        })
    };
    // The last bytes may still be on their way from the pty to the screen.
    eventually(Duration::from_secs(5), || {
        state() == (false, false, vt100::MouseProtocolMode::None)
    });
    let (alt, hidden, mouse) = state();
    assert!(!alt, "still on the alternate screen");
    assert!(!hidden, "cursor still hidden");
    assert_eq!(
        mouse,
        vt100::MouseProtocolMode::None,
        "mouse still captured"
    );
    let stty = t.stty();
    assert!(
        !stty.contains("-icanon") && !stty.contains("-echo "),
        "still in raw mode: {stty}"
    );
}

#[test]
fn start_see_search_and_stop_a_script() {
    let p = project();
    let mut t = Tui::start(p.path(), &["--grace", "2"], (100, 30), &[]);
    t.wait_row("web", "idle");
    t.wait_row("idle", "idle");
    t.send("j"); // from "all" to web
    t.send("r");
    let pid = t.pid_of("web");
    t.wait_for("hello-web");
    t.wait_for("tick 3");
    assert!(!group_members(pid).is_empty());

    // Search: the pane jumps to the newest match and highlights it.
    t.send("/tick 2\r");
    t.wait_for("/tick 2/");
    let highlighted = t.with_screen(|s| {
        let (rows, cols) = s.size();
        (0..rows).any(|r| {
            (0..cols).any(|c| {
                s.cell(r, c).is_some_and(|cell| {
                    cell.contents() == "t" && cell.bgcolor() != vt100::Color::Default
                })
            })
        })
    });
    assert!(highlighted, "no highlighted match:\n{}", t.screen());
    t.wait_for("paused");

    // Stop: TERM to the whole group; nothing of it is left.
    t.send("s");
    t.wait_row("web", "stopped");
    assert!(
        eventually(LIMIT, || group_members(pid).is_empty()),
        "group {pid} left: {:?}",
        group_members(pid)
    );

    // Start it again: a new process.
    t.send("r");
    let pid2 = t.pid_of("web");
    assert_ne!(pid, pid2);
}

#[test]
fn x_kills_a_group_that_ignores_sigterm_at_once() {
    let p = TempProject::procfile(&[("stubborn", "trap '' TERM; while true; do sleep 0.1; done")]);
    // With a 60 s grace, `s` would wait a minute; `x` does not wait.
    let mut t = Tui::start(p.path(), &["--grace", "60", "stubborn"], (100, 30), &[]);
    let pid = t.pid_of("stubborn");
    t.send("j");
    let start = Instant::now();
    t.send("x");
    t.wait_row("stubborn", "SIGKILL");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(eventually(LIMIT, || group_members(pid).is_empty()));
}

#[test]
fn q_y_quits_with_code_0_and_stops_every_group() {
    let p = project();
    let mut t = Tui::start(p.path(), &["--grace", "2", "web", "idle"], (80, 24), &[]);
    let groups = [t.pid_of("web"), t.pid_of("idle")];
    t.send("q");
    t.wait_for("stop 2 processes and quit? (q/y to confirm)");
    t.send("y");
    let status = t.wait_exit(LIMIT).expect("exits after q y");
    assert_eq!(status.exit_code(), 0);
    for g in groups {
        assert!(group_members(g).is_empty(), "group {g} left after quitting");
    }
    assert_restored(&t);
}

#[test]
fn nothing_running_q_quits_at_once() {
    let p = project();
    let mut t = Tui::start(p.path(), &[], (80, 24), &[]);
    t.wait_row("web", "idle");
    t.send("q");
    let status = t.wait_exit(LIMIT).expect("exits after q");
    assert_eq!(status.exit_code(), 0);
    assert_restored(&t);
}

#[test]
fn sigkill_of_the_tui_leaves_no_process_behind() {
    let p = project();
    let tree = "tree=sh -c 'sleep 300 & sleep 300 & wait'";
    let mut t = Tui::start(p.path(), &["web", "idle", tree], (140, 40), &[]);
    for name in ["web", "idle", "tree"] {
        t.pid_of(name);
    }
    let groups = t.child_groups();
    assert!(t.groups.is_subset(&groups), "{:?} vs {groups:?}", t.groups);
    let members: usize = t.groups.iter().map(|&g| group_members(g).len()).sum();
    assert!(members >= 5, "grandchildren are running: {members}");
    kill("KILL", i64::from(t.pid));
    assert!(t.wait_exit(LIMIT).is_some());
    assert!(
        eventually(LIMIT, || all_gone(&groups)),
        "left after SIGKILL: {:?}",
        groups
            .iter()
            .map(|&g| (g, group_members(g)))
            .collect::<Vec<_>>()
    );
}

#[test]
fn sigterm_and_sighup_stop_everything_and_restore_the_terminal() {
    for (sig, code) in [("TERM", 143), ("HUP", 129)] {
        let p = project();
        let mut t = Tui::start(p.path(), &["--grace", "2", "web"], (80, 24), &[]);
        let g = t.pid_of("web");
        kill(sig, i64::from(t.pid));
        let status = t.wait_exit(LIMIT).expect("exits on the signal");
        assert_eq!(status.exit_code(), code, "SIG{sig}");
        assert!(group_members(g).is_empty(), "SIG{sig}: group left");
        assert_restored(&t);
    }
}

#[test]
fn resize_redraws_and_80x24_works() {
    let p = project();
    let mut t = Tui::start(p.path(), &["web"], (140, 40), &[]);
    t.wait_for("hello-web");
    // Wide: the list's header and the log's first line share a screen line.
    let side_by_side = |s: &str| {
        s.lines()
            .any(|l| l.contains("name") && l.contains("hello-web"))
    };
    t.wait_until("side by side", LIMIT, side_by_side);
    t.resize(80, 24);
    t.wait_until("the list on top", LIMIT, |s| {
        s.contains("name") && s.contains("hello-web") && !side_by_side(s)
    });
    t.send("Q");
    assert!(t.wait_exit(LIMIT).is_some());
}

/// The bundled demo through npm, all four scripts at once: the screen in cli/README.md
/// (`cargo test -p procsnap-cli --test tui_pty -- demo --nocapture` prints it).
#[test]
fn demo_screen() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo");
    let mut t = Tui::start(
        &demo,
        &["--grace", "2", "dev", "build", "test", "lint"],
        (120, 22),
        &[],
    );
    t.wait_row("build", "success");
    t.wait_row("test", "failed");
    t.wait_row("lint", "success");
    t.pid_of("dev");
    t.wait_for("tick 2");
    println!("{}", t.screen());
    t.send("q");
    t.wait_for("stop 1 process and quit? (q/y to confirm)");
    t.send("y");
    assert_eq!(t.wait_exit(LIMIT).map(|s| s.exit_code()), Some(0));
}

/// Not a test on its own: run by `a_panic_restores_the_terminal` in a pty. Enters the UI's
/// terminal mode, drops the guard that would restore it, and panics, so only the panic hook
/// can give the terminal back.
#[test]
#[ignore = "run in a pty by a_panic_restores_the_terminal"]
fn panicking_child() {
    if std::env::var_os("PROCSNAP_PANIC_CHILD").is_none() {
        return;
    }
    let (tty, guard) = procsnap_cli::tui::term::enter().unwrap();
    std::mem::forget(guard);
    std::mem::forget(tty);
    panic!("deliberate panic in raw mode");
}

#[test]
fn a_panic_restores_the_terminal() {
    let me = std::env::current_exe().unwrap();
    let args: Vec<String> = ["--exact", "panicking_child", "--ignored", "--nocapture"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let mut t = Tui::spawn(
        me.to_str().unwrap(),
        &args,
        (100, 30),
        &[("PROCSNAP_PANIC_CHILD", "1")],
    );
    let status = t.wait_exit(LIMIT).expect("the child ends");
    assert!(!status.success(), "the child panicked");
    t.wait_for("deliberate panic in raw mode");
    assert_restored(&t);
}

#[test]
fn bare_procsnap_opens_the_ui_on_a_terminal() {
    let p = project();
    let args = vec!["--dir".to_owned(), p.path().to_str().unwrap().to_owned()];
    let mut t = Tui::spawn(common::BIN, &args, (80, 24), &[]);
    t.wait_row("web", "idle");
    t.send("q");
    assert_eq!(t.wait_exit(LIMIT).map(|s| s.exit_code()), Some(0));
}

#[test]
fn bare_procsnap_without_a_terminal_prints_the_help() {
    let out = common::procsnap(&[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.contains("Usage: procsnap"), "{}", out.stderr);
    assert!(out.stderr.contains("tui"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

/// The screen line holding `text`, 0-based.
fn line_of(screen: &str, text: &str) -> Option<usize> {
    screen.lines().position(|l| l.contains(text))
}

/// A left click at screen cell (`col`, `row`), 0-based, as SGR mouse reports.
fn click(t: &mut Tui, col: usize, row: usize) {
    t.send(&format!(
        "\x1b[<0;{};{}M\x1b[<0;{};{}m",
        col + 1,
        row + 1,
        col + 1,
        row + 1
    ));
}

#[test]
fn restart_all_sort_timestamps_zoom_help_clear_and_mouse() {
    let p = project();
    let mut t = Tui::start(p.path(), &["--grace", "2", "web", "idle"], (140, 40), &[]);
    let (web, idle) = (t.pid_of("web"), t.pid_of("idle"));
    t.wait_for("hello-web");

    // R: both restarted, as new processes with a restart count.
    t.send("R");
    let row = t.wait_row("web", "↻1");
    assert!(!row.contains(&web.to_string()), "a new process: {row}");
    let row = t.wait_row("idle", "↻1");
    assert!(!row.contains(&idle.to_string()), "a new process: {row}");
    t.pid_of("web");
    t.pid_of("idle");

    // o: by name (idle before web), then status, started, back to declared.
    t.send("o");
    let s = t.wait_for("sort: name");
    assert!(line_of(&s, " idle ").unwrap() < line_of(&s, " web ").unwrap());
    t.send("ooo");
    let s = t.wait_for("sort: declared");
    assert!(line_of(&s, " web ").unwrap() < line_of(&s, " idle ").unwrap());

    // t: a time before every line.
    t.send("t");
    let stamped = regex::Regex::new(r"\d\d:\d\d:\d\d\.\d\d\d web +\| tick").unwrap();
    t.wait_until("timestamps", LIMIT, |s| stamped.is_match(s));
    t.send("t");
    t.wait_until("no timestamps", LIMIT, |s| !stamped.is_match(s));

    // z zooms the log pane; ? shows the keys, any key closes them.
    t.send("z");
    t.wait_until("zoomed", LIMIT, |s| !s.contains("sort:"));
    t.send("z");
    t.wait_for("sort:");
    t.send("?");
    t.wait_for("any key closes");
    t.send("?");
    t.wait_until("help closed", LIMIT, |s| !s.contains("any key closes"));

    // A click on web's row selects it; c clears its pane (the new process said hello-web).
    let s = t.wait_for("hello-web");
    let y = line_of(&s, " web ").unwrap();
    click(&mut t, 3, y);
    t.wait_for("web · web-");
    t.send("c");
    t.wait_until("cleared", LIMIT, |s| !s.contains("hello-web"));
    // The wheel over the log pane scrolls it up: paused (once there is a line to scroll).
    t.wait_for("tick");
    t.send(&format!("\x1b[<64;{};{}M", 100, 10));
    t.wait_for("paused");
    t.send("F");
    t.wait_for("follow");
    t.send("Q");
    assert!(t.wait_exit(LIMIT).is_some());
}

#[test]
fn control_sequences_in_output_cannot_touch_the_screen() {
    let p = TempProject::procfile(&[(
        "esc",
        "printf 'garbage\\033[2J\\033[H\\033[?1049l\\033]0;title never ends'; echo; echo after-esc; sleep 300",
    )]);
    let mut t = Tui::start(p.path(), &["--grace", "1", "esc"], (100, 30), &[]);
    t.pid_of("esc");
    let s = t.wait_for("after-esc");
    assert!(s.contains("esc | garbage"), "{s}");
    assert!(!s.contains("title never ends"), "{s}");
    assert!(
        s.contains("sort: declared"),
        "the list is still drawn:\n{s}"
    );
    assert!(
        t.with_screen(|s| s.alternate_screen()),
        "still on the UI's screen"
    );
    t.send("Q");
    assert!(t.wait_exit(LIMIT).is_some());
}

#[test]
fn ctrl_c_twice_quits_and_stops_every_group() {
    let p = project();
    let mut t = Tui::start(p.path(), &["--grace", "2", "web"], (80, 24), &[]);
    let g = t.pid_of("web");
    t.send("\x03");
    t.wait_for("stop 1 process and quit? (q/y to confirm)");
    t.send("\x03");
    assert_eq!(t.wait_exit(LIMIT).map(|s| s.exit_code()), Some(0));
    assert!(group_members(g).is_empty());
    assert_restored(&t);
}

#[test]
fn children_get_force_color_unless_no_color() {
    let p = TempProject::procfile(&[("env", "echo \"FC=[$FORCE_COLOR] NC=[$NO_COLOR]\"")]);
    let t = Tui::start(p.path(), &["env"], (80, 24), &[]);
    t.wait_for("FC=[1] NC=[]");
    drop(t);
    let t = Tui::start(p.path(), &["env"], (80, 24), &[("NO_COLOR", "1")]);
    t.wait_for("FC=[] NC=[1]");
}

/// mprocs #225: an escape sequence that never ends must not grow memory or eat the screen.
#[test]
fn an_unterminated_escape_sequence_of_50_mb_is_harmless() {
    let p = TempProject::procfile(&[(
        "esc",
        "printf '\\033]0;'; head -c 50000000 /dev/zero | tr '\\0' x; echo; echo survived; sleep 300",
    )]);
    let mut t = Tui::start(p.path(), &["--grace", "1", "esc"], (100, 30), &[]);
    t.pid_of("esc");
    t.wait_for("esc | survived");
    let s = t.screen();
    assert!(s.contains("[line truncated]"), "{s}");
    assert!(
        !s.contains("xxxx"),
        "the sequence's body is not shown:\n{s}"
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", t.pid)).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(rss_kib < 64 * 1024, "RSS {rss_kib} KiB");
    t.send("Q");
    assert!(t.wait_exit(LIMIT).is_some());
}
