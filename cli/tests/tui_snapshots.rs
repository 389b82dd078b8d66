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
