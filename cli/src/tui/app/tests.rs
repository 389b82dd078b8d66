//! Key → action → state, with no terminal and no process: a registry whose states are set by
//! hand stands in for the supervisor.

use std::sync::Arc;
use std::time::SystemTime;

use procsnap::{CommandSpec, Event, Exit, Process, Registry, Stream};
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::*;
use crate::tui::keys;
use crate::tui::rows::{Entry, snapshot};
use crate::tui::view::pane_procs;

struct T {
    reg: Registry,
    cat: Catalog,
    app: App,
}

impl T {
    fn new(names: &[&str]) -> T {
        let cat = Catalog::from_entries(
            names
                .iter()
                .map(|n| Entry {
                    name: n.to_string(),
                    spec: if n.starts_with('-') {
                        Err(format!("script {n:?} cannot be run"))
                    } else {
                        Ok(CommandSpec::shell(format!("echo {n}")))
                    },
                })
                .collect(),
        );
        let mut app = App::default();
        app.geometry.log_rows = 5;
        T {
            reg: Registry::new(),
            cat,
            app,
        }
    }

    fn start(&self, name: &str) -> Arc<Process> {
        let p = self.reg.insert(name, CommandSpec::shell("true"), 0);
        let at = SystemTime::now();
        self.reg
            .apply(p.id(), Event::Started { pid: 4242, at })
            .unwrap();
        p
    }

    fn act(&mut self, a: Action) -> Vec<Command> {
        let snap = snapshot(&self.reg, &self.cat, self.app.sort);
        let procs = pane_procs(&self.app, &snap);
        let src = Sources::of(&procs, |_| 0);
        let ctx = Ctx {
            snap: &snap,
            catalog: &self.cat,
            src: &src,
        };
        self.app.apply(a, &ctx)
    }

    fn ev(&mut self, ev: TermEvent) -> Vec<Command> {
        match keys::action(&ev, self.app.keymap()) {
            Some(a) => self.act(a),
            None => Vec::new(),
        }
    }

    /// Types `keys` (one char each); returns the commands of the last one.
    fn keys(&mut self, keys: &str) -> Vec<Command> {
        let mut last = Vec::new();
        for c in keys.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\x1b' => KeyCode::Esc,
                c => KeyCode::Char(c),
            };
            last = self.ev(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        }
        last
    }

    fn ctrl_c(&mut self) -> Vec<Command> {
        self.ev(TermEvent::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        )))
    }
}

fn name(s: &str) -> Sel {
    Sel::Name(s.into())
}

#[test]
fn selection_moves_and_clamps() {
    let mut t = T::new(&["web", "api", "db"]);
    assert_eq!(t.app.selected, Sel::All, "the \"all\" entry is first");
    t.keys("j");
    assert_eq!(t.app.selected, name("web"));
    t.keys("jjjj");
    assert_eq!(t.app.selected, name("db"), "stops at the last row");
    t.keys("k");
    assert_eq!(t.app.selected, name("api"));
    t.keys("g");
    assert_eq!(t.app.selected, Sel::All);
    t.keys("kG");
    assert_eq!(t.app.selected, name("db"));
    t.ev(TermEvent::Key(KeyEvent::new(
        KeyCode::Up,
        KeyModifiers::NONE,
    )));
    assert_eq!(t.app.selected, name("api"));
    // The selection follows the name when the order changes.
    t.keys("o");
    assert_eq!(t.app.sort, Sort::Name);
    let snap = snapshot(&t.reg, &t.cat, t.app.sort);
    assert_eq!(t.app.index(&snap), 1, "api is first by name");
}

#[test]
fn focus_moves_between_panes() {
    let mut t = T::new(&["web"]);
    t.keys("\n");
    assert_eq!(t.app.focus, Focus::Log);
    t.keys("\x1b");
    assert_eq!(t.app.focus, Focus::List);
    t.ev(TermEvent::Key(KeyEvent::new(
        KeyCode::Tab,
        KeyModifiers::NONE,
    )));
    assert_eq!(t.app.focus, Focus::Log);
    // In the log pane, j/k scroll instead of selecting.
    t.keys("j");
    assert_eq!(t.app.selected, Sel::All);
}

#[test]
fn r_starts_a_script_or_restarts_its_process() {
    let mut t = T::new(&["web", "-v"]);
    assert!(t.keys("r").is_empty(), "nothing to start on \"all\"");
    assert!(t.app.notice.as_deref().unwrap().contains("select a script"));
    let cmds = t.keys("jr");
    let [Command::Start { name, spec }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        (name.as_str(), spec.to_string()),
        ("web", "echo web".into())
    );
    assert_eq!(t.app.notice, None, "a key clears the notice");
    let p = t.start("web");
    let cmds = t.keys("r");
    assert!(matches!(&cmds[..], [Command::Restart(id)] if *id == p.id()));
    // A script that cannot be run says why.
    assert!(t.keys("jr").is_empty());
    assert!(t.app.notice.as_deref().unwrap().contains("cannot be run"));
}

#[test]
fn s_stops_and_x_kills_the_selected_process() {
    let mut t = T::new(&["web"]);
    assert!(t.keys("js").is_empty());
    assert_eq!(t.app.notice.as_deref(), Some("web is not running"));
    let p = t.start("web");
    assert!(matches!(&t.keys("s")[..], [Command::Stop(id)] if *id == p.id()));
    assert!(matches!(&t.keys("x")[..], [Command::Kill(id)] if *id == p.id()));
    t.reg.apply(p.id(), Event::StopRequested).unwrap();
    assert!(t.keys("s").is_empty(), "already stopping");
    assert!(t.app.notice.as_deref().unwrap().contains("x kills"));
    assert!(
        matches!(&t.keys("x")[..], [Command::Kill(_)]),
        "x still kills"
    );
    let at = SystemTime::now();
    let exit = Exit::Signal(15);
    t.reg.apply(p.id(), Event::Exited { exit, at }).unwrap();
    assert!(t.keys("x").is_empty());
}

#[test]
fn capital_r_restarts_every_running_process() {
    let mut t = T::new(&["a", "b", "c"]);
    assert!(t.keys("R").is_empty());
    assert_eq!(t.app.notice.as_deref(), Some("nothing is running"));
    let a = t.start("a");
    let c = t.start("c");
    let cmds = t.keys("R");
    let [Command::RestartAll(ids)] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(ids, &[a.id(), c.id()]);
}

#[test]
fn q_asks_while_something_runs() {
    let mut t = T::new(&["web"]);
    t.start("web");
    assert!(t.keys("q").is_empty());
    assert_eq!(t.app.mode, Mode::Confirm { live: 1 });
    // Any other key cancels.
    assert!(t.keys("j").is_empty());
    assert_eq!(t.app.mode, Mode::Normal);
    assert_eq!(
        t.app.selected,
        Sel::All,
        "the cancelling key does nothing else"
    );
    t.keys("q");
    assert!(matches!(&t.keys("y")[..], [Command::StopAll]));
    assert_eq!(t.app.mode, Mode::Quitting { killing: false });
    // While stopping, Q kills at once, once.
    assert!(matches!(&t.keys("Q")[..], [Command::KillAll]));
    assert!(t.keys("Q").is_empty());
}

#[test]
fn quit_confirmations_and_shortcuts() {
    let mut t = T::new(&["web"]);
    t.start("web");
    t.keys("q");
    assert!(matches!(&t.keys("q")[..], [Command::StopAll]), "q q");
    let mut t = T::new(&["web"]);
    t.start("web");
    assert!(
        matches!(&t.keys("Q")[..], [Command::StopAll]),
        "Q does not ask"
    );
    let mut t = T::new(&["web"]);
    t.start("web");
    assert!(t.ctrl_c().is_empty());
    assert!(
        matches!(&t.ctrl_c()[..], [Command::StopAll]),
        "Ctrl-C twice"
    );
    assert!(
        matches!(&t.ctrl_c()[..], [Command::KillAll]),
        "a third kills"
    );
    // Nothing running: q leaves at once.
    let mut t = T::new(&["web"]);
    assert!(matches!(&t.keys("q")[..], [Command::Exit]));
}

#[test]
fn toggles_and_help() {
    let mut t = T::new(&["web"]);
    t.keys("wtzH");
    assert!(t.app.wrap && t.app.timestamps && t.app.zoom && !t.app.hints);
    t.keys("wtzH");
    assert!(!t.app.wrap && !t.app.timestamps && !t.app.zoom && t.app.hints);
    t.keys("?");
    assert!(t.app.help);
    t.keys("?");
    assert!(!t.app.help, "? closes the help");
    t.keys("?");
    assert!(t.keys("q").is_empty(), "q closes the help, does not quit");
    assert!(!t.app.help);
    t.keys("?j");
    assert!(!t.app.help);
    assert_eq!(
        t.app.selected,
        name("web"),
        "another key closes it and acts"
    );
}

#[test]
fn scrolling_the_log_pauses_and_f_follows() {
    let mut t = T::new(&["web"]);
    let p = t.start("web");
    for i in 0..20 {
        t.reg
            .push_line(p.id(), Stream::Stdout, &format!("line {i}"), false)
            .unwrap();
    }
    t.keys("j\nk");
    let Pos::Paused { bottom, total } = t.app.view().pos else {
        panic!("k in the log pane pauses")
    };
    assert_eq!(total, 20);
    assert_eq!(&*p.logs().get(bottom).unwrap().text, "line 18");
    t.keys("g");
    let Pos::Paused { bottom, .. } = t.app.view().pos else {
        panic!()
    };
    assert_eq!(&*p.logs().get(bottom).unwrap().text, "line 4", "first page");
    t.keys("F");
    assert_eq!(t.app.view().pos, Pos::Follow);
    t.ev(TermEvent::Key(KeyEvent::new(
        KeyCode::PageUp,
        KeyModifiers::NONE,
    )));
    assert!(matches!(t.app.view().pos, Pos::Paused { .. }));
    t.ev(TermEvent::Key(KeyEvent::new(
        KeyCode::End,
        KeyModifiers::NONE,
    )));
    assert_eq!(t.app.view().pos, Pos::Follow);
    // Panes keep their own position.
    t.keys("k\x1bk");
    assert_eq!(t.app.view().pos, Pos::Follow, "\"all\" still follows");
}

#[test]
fn c_clears_the_view_not_the_ring() {
    let mut t = T::new(&["web"]);
    let p = t.start("web");
    t.reg
        .push_line(p.id(), Stream::Stdout, "old", false)
        .unwrap();
    let last = t
        .reg
        .push_line(p.id(), Stream::Stdout, "old too", false)
        .unwrap();
    t.keys("jc");
    assert_eq!(t.app.view().floor, last);
    assert_eq!(p.logs().len(), 2, "the ring keeps its lines");
    t.keys("k");
    assert_eq!(t.app.view().floor, 0, "\"all\" was not cleared");
}

#[test]
fn search_asks_for_matches_and_shows_them() {
    let mut t = T::new(&["web"]);
    let p = t.start("web");
    let first = t
        .reg
        .push_line(p.id(), Stream::Stdout, "GET /a", false)
        .unwrap();
    for i in 0..10 {
        t.reg
            .push_line(p.id(), Stream::Stdout, &format!("x{i}"), false)
            .unwrap();
    }
    t.keys("j/ge");
    assert_eq!(t.app.mode, Mode::Search("ge".into()));
    t.ev(TermEvent::Key(KeyEvent::new(
        KeyCode::Backspace,
        KeyModifiers::NONE,
    )));
    let cmds = t.keys("et\n");
    let [
        Command::Search {
            view,
            re,
            older: true,
            from: u64::MAX,
            floor: 0,
        },
    ] = &cmds[..]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(view, &name("web"));
    assert!(re.is_match("GET /a"), "lower case ignores case");
    let snap = snapshot(&t.reg, &t.cat, t.app.sort);
    let procs = pane_procs(&t.app, &snap);
    let src = Sources::of(&procs, |_| 0);
    t.app.found(&name("web"), true, Some(first), &src);
    assert_eq!(t.app.search.as_ref().unwrap().current, Some(first));
    assert!(matches!(t.app.view().pos, Pos::Paused { .. }));
    let cmds = t.keys("N");
    assert!(matches!(&cmds[..], [Command::Search { older: false, from, .. }] if *from == first));
    t.app.found(&name("web"), false, None, &src);
    assert_eq!(t.app.notice.as_deref(), Some("no newer match for /get/"));
    // An answer for another pane is dropped.
    t.app.found(&Sel::All, true, Some(1), &src);
    assert_eq!(t.app.search.as_ref().unwrap().current, Some(first));
    // Capitals make it case-sensitive; a bad pattern says so.
    t.keys("/Get\n");
    assert!(!t.app.search.as_ref().unwrap().re.is_match("GET"));
    assert!(t.keys("/(\n").is_empty());
    assert!(
        t.app
            .notice
            .as_deref()
            .unwrap()
            .starts_with("invalid regex /(/")
    );
    let mut t = T::new(&["web"]);
    assert!(t.keys("n").is_empty());
    assert!(t.app.notice.as_deref().unwrap().contains("/ to search"));
}

#[test]
fn mouse_selects_focuses_and_scrolls() {
    let mut t = T::new(&["web", "api"]);
    t.app.geometry = Geometry {
        list: Some(Rect::new(0, 0, 80, 6)),
        list_rows: Some(Rect::new(1, 2, 78, 3)),
        list_offset: 0,
        log: Rect::new(0, 6, 80, 17),
        log_rows: 15,
    };
    t.act(Action::Click { col: 5, row: 4 });
    assert_eq!(t.app.selected, name("api"));
    t.act(Action::Click { col: 5, row: 10 });
    assert_eq!(t.app.focus, Focus::Log);
    t.act(Action::Click { col: 5, row: 2 });
    assert_eq!(
        (t.app.selected.clone(), t.app.focus),
        (Sel::All, Focus::List)
    );
    t.act(Action::Wheel {
        up: false,
        col: 5,
        row: 3,
    });
    assert_eq!(t.app.selected, name("web"));
    // The wheel over the log pane scrolls it: paused.
    let p = t.start("web");
    for i in 0..30 {
        t.reg
            .push_line(p.id(), Stream::Stdout, &format!("l{i}"), false)
            .unwrap();
    }
    t.act(Action::Wheel {
        up: true,
        col: 5,
        row: 12,
    });
    let Pos::Paused { bottom, .. } = t.app.view().pos else {
        panic!("the wheel pauses: {:?}", t.app.view())
    };
    assert_eq!(&*p.logs().get(bottom).unwrap().text, "l26");
}

#[test]
fn unseen_output_is_marked_until_shown() {
    let mut t = T::new(&["web", "api"]);
    let web = t.start("web");
    t.reg
        .push_line(web.id(), Stream::Stdout, "hi", false)
        .unwrap();
    let snap = snapshot(&t.reg, &t.cat, t.app.sort);
    assert!(t.app.unseen(&snap.rows[0]));
    t.keys("jj"); // api is shown: web's line is still unseen
    t.app.mark_seen(&snap);
    assert!(t.app.unseen(&snap.rows[0]));
    t.keys("k");
    t.app.mark_seen(&snap);
    assert!(!t.app.unseen(&snap.rows[0]));
    t.reg
        .push_line(web.id(), Stream::Stdout, "more", false)
        .unwrap();
    assert!(t.app.unseen(&snap.rows[0]));
}
