//! Whole screens of `procsnap tui`, drawn by the real view code into ratatui's `TestBackend`
//! at fixed sizes with a fixed clock, and compared with the committed snapshots
//! (`tests/snapshots/`). Review a change with `cargo insta review` (or `INSTA_UPDATE=always`).
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use procsnap::{CommandSpec, Event, Exit, Process, Registry, Stream};
use procsnap_cli::tui::app::{App, Focus, Mode, Search, Sel};
use procsnap_cli::tui::clock::Clock;
use procsnap_cli::tui::logview::Pos;
use procsnap_cli::tui::rows::{Catalog, Entry, snapshot};
use procsnap_cli::tui::theme::Theme;
use procsnap_cli::tui::view::{Scene, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

/// 2023-11-14 22:13:20 UTC: every start time is relative to it.
fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn catalog(names: &[&str]) -> Catalog {
    Catalog::from_entries(
        names
            .iter()
            .map(|n| Entry {
                name: n.to_string(),
                spec: Ok(CommandSpec::shell("true")),
            })
            .collect(),
    )
}

struct Fixture {
    reg: Registry,
    cat: Catalog,
    app: App,
    theme: Theme,
}

impl Fixture {
    fn new(names: &[&str]) -> Fixture {
        Fixture {
            reg: Registry::new(),
            cat: catalog(names),
            app: App::default(),
            theme: Theme { color: true },
        }
    }

    fn start(&self, name: &str, pid: u32, at: u64, restarts: u32) -> Arc<Process> {
        let p = self.reg.insert(name, CommandSpec::shell("true"), restarts);
        self.reg
            .apply(p.id(), Event::Started { pid, at: t(at) })
            .unwrap();
        p
    }

    fn end(&self, p: &Process, exit: Exit, at: u64, stopped: bool) {
        if stopped {
            self.reg.apply(p.id(), Event::StopRequested).unwrap();
        }
        self.reg
            .apply(p.id(), Event::Exited { exit, at: t(at) })
            .unwrap();
    }

    fn say(&self, p: &Process, lines: &[&str]) {
        for l in lines {
            self.reg
                .push_line(p.id(), Stream::Stdout, l, false)
                .unwrap();
        }
    }

    /// Draws one frame at `w`×`h`, 65 s after the first start, as the event loop does.
    fn draw(&mut self, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let snap = snapshot(&self.reg, &self.cat, self.app.sort);
        self.app.mark_seen(&snap);
        let scene = Scene {
            snap: &snap,
            catalog: &self.cat,
            title: "demo",
            clock: Clock::fixed(t(65)),
            theme: self.theme,
        };
        term.draw(|f| {
            draw(f, &mut self.app, &scene);
        })
        .unwrap();
        term
    }

    /// Applies a key's action as the event loop does.
    fn act(&mut self, action: procsnap_cli::tui::keys::Action) {
        let snap = snapshot(&self.reg, &self.cat, self.app.sort);
        let procs = procsnap_cli::tui::view::pane_procs(&self.app, &snap);
        let src = procsnap_cli::tui::logview::Sources::of(&procs, |_| 0);
        let ctx = procsnap_cli::tui::app::Ctx {
            snap: &snap,
            catalog: &self.cat,
            src: &src,
        };
        self.app.apply(action, &ctx);
    }

    /// A project with a process in each state.
    fn busy() -> Fixture {
        let f = Fixture::new(&["web", "api", "worker", "build", "lint"]);
        let web = f.start("web", 4242, 0, 0);
        f.say(
            &web,
            &[
                "\x1b[32mready\x1b[0m on http://localhost:3000",
                "GET / 200 3ms",
                "GET /favicon.ico 404 1ms",
            ],
        );
        let api = f.start("api", 4250, 5, 2);
        f.say(&api, &["connecting to db", "error: connection refused"]);
        f.end(&api, Exit::Code(1), 9, false);
        let worker = f.start("worker", 4260, 10, 0);
        f.say(&worker, &["waiting for jobs"]);
        f.end(&worker, Exit::Signal(15), 40, true);
        let build = f.start("build", 4270, 20, 0);
        f.say(&build, &["compiled 12 files", "done"]);
        f.end(&build, Exit::Code(0), 22, false);
        f.say(&web, &["GET /api/users 502 30ms"]);
        f
    }
}

fn sel(name: &str) -> Sel {
    Sel::Name(name.into())
}

#[test]
fn empty_project() {
    let mut f = Fixture::new(&[]);
    insta::assert_snapshot!(f.draw(80, 24).backend());
}

#[test]
fn processes_wide() {
    let mut f = Fixture::busy();
    insta::assert_snapshot!(f.draw(140, 40).backend());
}

#[test]
fn processes_narrow_with_a_process_selected() {
    let mut f = Fixture::busy();
    f.app.selected = sel("web");
    f.app.focus = Focus::Log;
    let term = f.draw(80, 24);
    // api's output was never on screen: marked.
    insta::assert_snapshot!(term.backend());
    // Colours of the script's output are kept: "ready" is green.
    let buf = term.backend().buffer();
    let ready = (0..80)
        .find(|&x| buf[(x, 8)].symbol() == "r" && buf[(x + 1, 8)].symbol() == "e")
        .expect("the ready line");
    assert_eq!(buf[(ready, 8)].fg, Color::Green);
}

#[test]
fn finished_and_failed_processes() {
    let mut f = Fixture::busy();
    f.app.selected = sel("api");
    insta::assert_snapshot!(f.draw(140, 40).backend());
}

#[test]
fn search_highlights() {
    let mut f = Fixture::busy();
    let re = regex::Regex::new("(?i)get").unwrap();
    let newest = f.reg.list(&procsnap::pin())[0].logs().last_seq();
    f.app.search = Some(Search {
        pattern: "get".into(),
        re,
        current: Some(newest),
    });
    let term = f.draw(140, 40);
    insta::assert_snapshot!(term.backend());
    let buf = term.backend().buffer();
    let mut found = 0;
    let mut current = 0;
    for y in 0..40 {
        for x in 0..140 {
            let c = &buf[(x, y)];
            if c.bg == Color::Yellow {
                found += 1;
            }
            if c.bg == Color::LightRed {
                current += 1;
            }
        }
    }
    // "GET" on two lines, and the current match on the newest.
    assert_eq!((found, current), (6, 3));
}

#[test]
fn help_overlay() {
    let mut f = Fixture::busy();
    f.app.help = true;
    insta::assert_snapshot!(f.draw(80, 24).backend());
}

#[test]
fn confirm_quit_line() {
    let mut f = Fixture::busy();
    f.app.mode = Mode::Confirm { live: 1 };
    insta::assert_snapshot!(f.draw(80, 24).backend());
}

#[test]
fn paused_zoomed_wrapped_pane() {
    let mut f = Fixture::busy();
    f.app.selected = sel("web");
    f.app.zoom = true;
    f.app.wrap = true;
    let web = f.reg.list(&procsnap::pin())[0].clone();
    let long = format!("GET /{} 200", "x".repeat(100));
    let anchor = f
        .reg
        .push_line(web.id(), Stream::Stdout, &long, false)
        .unwrap();
    f.say(&web, &["later 1", "later 2"]);
    f.app.views.insert(
        sel("web"),
        procsnap_cli::tui::app::View {
            pos: Pos::Paused {
                bottom: anchor,
                total: 5,
            },
            floor: 0,
            cleared: false,
        },
    );
    insta::assert_snapshot!(f.draw(80, 24).backend());
}

#[test]
fn no_color_uses_no_colour() {
    let mut f = Fixture::busy();
    f.theme = Theme { color: false };
    f.app.search = Some(Search {
        pattern: "get".into(),
        re: regex::Regex::new("(?i)get").unwrap(),
        current: None,
    });
    let term = f.draw(140, 40);
    for c in term.backend().buffer().content() {
        assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset), "{c:?}");
    }
    // The status words are there all the same.
    let text = term.backend().to_string();
    for word in ["running", "failed", "stopped", "success", "idle"] {
        assert!(text.contains(word), "{word}");
    }
}

#[test]
fn any_size_draws_without_panicking() {
    let mut f = Fixture::busy();
    f.app.search = Some(Search {
        pattern: "get".into(),
        re: regex::Regex::new("(?i)get").unwrap(),
        current: None,
    });
    for (w, h) in [
        (1, 1),
        (2, 2),
        (10, 3),
        (20, 5),
        (40, 8),
        (119, 10),
        (120, 10),
        (300, 4),
    ] {
        for (zoom, wrap, help, timestamps) in
            [(false, false, false, false), (true, true, true, true)]
        {
            f.app.zoom = zoom;
            f.app.wrap = wrap;
            f.app.help = help;
            f.app.timestamps = timestamps;
            for selected in [Sel::All, sel("web"), sel("lint")] {
                f.app.selected = selected;
                f.draw(w, h);
            }
        }
    }
}

/// Script names from a hostile package.json are shown escaped wherever a name is drawn: the
/// list, the pane's title, the "all" pane's prefixes, a notice.
#[test]
fn hostile_names_are_shown_escaped() {
    let names = ["a\nb", "x\u{1b}]0;PWN\u{7}y", "c\u{1b}[2Jd"];
    let mut f = Fixture::new(&names);
    for (i, n) in names.iter().enumerate() {
        let p = f.start(n, 100 + i as u32, 0, 0);
        f.say(&p, &["harmless"]);
    }
    f.app.notice = Some(format!("{} is stopping", names[2]));
    let text = f.draw(100, 24).backend().to_string();
    for shown in [r"a\nb", r"x\x1b]0;PWN\x07y", r"c\x1b[2Jd"] {
        assert!(text.contains(&format!("{shown} ")), "{shown} in:\n{text}");
        let prefixed = text.lines().any(|l| {
            l.split_once(shown)
                .is_some_and(|(_, rest)| rest.trim_start().starts_with("| harmless"))
        });
        assert!(prefixed, "{shown} | harmless in:\n{text}");
    }
    assert!(text.contains(r"c\x1b[2Jd is stopping"), "{text}");
    f.app.selected = sel(names[1]);
    let text = f.draw(100, 24).backend().to_string();
    assert!(text.contains(r" x\x1b]0;PWN\x07y · "), "{text}");
}

/// The screen row holding `text` and the style of its first cell.
fn find_row(term: &Terminal<TestBackend>, text: &str) -> Option<(u16, ratatui::style::Modifier)> {
    let buf = term.backend().buffer();
    let area = buf.area;
    (0..area.height).find_map(|y| {
        let line: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
        let x = line.find(text)?;
        let col = line[..x].chars().count() as u16;
        Some((y, buf[(col, y)].modifier))
    })
}

/// Small terminals keep the selection in sight: at 40×10 the list showed its borders and
/// header but no row, at 20×5 only the header. The last row is selected (the hardest to keep).
#[test]
fn small_terminals_show_the_selected_row() {
    for (w, h) in [(40, 10), (20, 5), (80, 24)] {
        let mut f = Fixture::busy();
        f.app.selected = sel("lint");
        let term = f.draw(w, h);
        insta::assert_snapshot!(format!("small_terminal_{w}x{h}"), term.backend());
        let (_, style) = find_row(&term, "lint")
            .unwrap_or_else(|| panic!("no lint row at {w}x{h}:\n{}", term.backend()));
        assert!(
            style.contains(ratatui::style::Modifier::REVERSED),
            "the lint row is not shown selected at {w}x{h}:\n{}",
            term.backend()
        );
    }
    // Only one line for the list: the selected row, not the header.
    let mut f = Fixture::busy();
    f.app.selected = sel("worker");
    let term = f.draw(30, 4);
    assert!(find_row(&term, "worker").is_some(), "{}", term.backend());
}

/// After `c` the pane said "no output yet", as if nothing had ever been written.
#[test]
fn a_cleared_pane_says_it_was_cleared() {
    use procsnap_cli::tui::keys::Action;
    let mut f = Fixture::busy();
    f.app.selected = sel("build");
    assert!(
        f.draw(80, 24)
            .backend()
            .to_string()
            .contains("compiled 12 files")
    );
    f.act(Action::Clear);
    let text = f.draw(80, 24).backend().to_string();
    assert!(!text.contains("compiled 12 files"), "{text}");
    assert!(text.contains("cleared (c)"), "{text}");
    assert!(!text.contains("no output yet"), "{text}");
}

/// `s` on a stopping process says "web is already stopping (x kills)"; that message stayed on
/// the bottom line after the stop had ended. A notice about a process goes when its state
/// changes.
#[test]
fn no_notice_outlives_its_cause() {
    use procsnap_cli::tui::keys::Action;
    let mut f = Fixture::new(&["web", "api"]);
    let web = f.start("web", 4242, 0, 0);
    f.reg.apply(web.id(), Event::StopRequested).unwrap();
    f.app.selected = sel("web");
    f.act(Action::Stop);
    assert!(
        f.draw(80, 24)
            .backend()
            .to_string()
            .contains("web is already stopping")
    );
    // Still stopping: still said.
    assert!(
        f.draw(80, 24)
            .backend()
            .to_string()
            .contains("web is already stopping")
    );
    f.end(&web, Exit::Signal(15), 3, false);
    let text = f.draw(80, 24).backend().to_string();
    assert!(!text.contains("already stopping"), "stale:\n{text}");
    // "api is not running" goes once api runs.
    f.app.selected = sel("api");
    f.act(Action::Stop);
    assert!(
        f.draw(80, 24)
            .backend()
            .to_string()
            .contains("api is not running")
    );
    f.start("api", 4243, 5, 0);
    let text = f.draw(80, 24).backend().to_string();
    assert!(!text.contains("api is not running"), "stale:\n{text}");
    // "nothing is running" goes once something runs.
    let api = f.reg.list(&procsnap::pin())[1].clone();
    f.end(&api, Exit::Code(0), 6, false);
    f.act(Action::RestartAll);
    assert!(
        f.draw(80, 24)
            .backend()
            .to_string()
            .contains("nothing is running")
    );
    f.start("web", 4244, 7, 1);
    let text = f.draw(80, 24).backend().to_string();
    assert!(!text.contains("nothing is running"), "stale:\n{text}");
}
