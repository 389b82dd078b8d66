//! `procsnap tui`: the interactive terminal UI.
//!
//! Threads and who does what:
//!
//! - **UI thread** (this module's event loop): waits on one channel of [`Msg`]s with no timeout
//!   while idle; on a message it updates [`app::App`] and marks the screen dirty, and draws
//!   at most once per [`FRAME`] (≤ 30 fps during floods). A frame reads every process state under
//!   one pin ([`rows::snapshot`]) and only the visible lines from the rings. The only timer is
//!   the next change of an uptime on screen (once a second under an hour).
//! - **input**: blocks in crossterm's `read` and forwards keys, mouse and resizes.
//! - **ingest** ([`ingest`]): drains a bounded observer of the session and wakes the UI at
//!   most once per frame.
//! - **signals**: SIGTERM and SIGHUP stop every group and quit; SIGINT is Ctrl-C; SIGTSTP
//!   (and the Ctrl-Z key, which raw mode delivers as a key) suspends the UI: the terminal is
//!   given back to the shell and the process stops; on `fg` it takes the terminal again and
//!   redraws everything ([`term::suspend`]). The scripts keep running meanwhile.
//! - **control** ([`control`]): a short-lived thread per blocking command (stop, restart,
//!   stop-all, search).
//!
//! The session is the only thing that starts and stops, with the same rules as every other
//! face. Quitting stops every group like `procsnap run` does (TERM, grace, KILL; a second
//! Ctrl-C or `Q` kills at once); if the UI is SIGKILLed, the supervisor's watchdog kills every
//! group it started.

pub mod app;
pub mod clock;
pub mod control;
pub mod help;
pub mod ingest;
pub mod keys;
pub mod list;
pub mod logview;
pub mod orch;
pub mod pace;
pub mod pane;
pub mod remote;
pub mod rows;
pub mod term;
pub mod text;
pub mod theme;
pub mod view;

use std::collections::HashSet;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant, SystemTime};

use ratatui::crossterm::event::Event;

use crate::compose::Stack;
use crate::project::Project;
use crate::run::Launch;
use app::{App, Command, Ctx, Mode, Sel};
use clock::Clock;
use control::{Backend, Control};
use ingest::Ingest;
use logview::Sources;
use pace::Pacer;
use procsnap_session::{Filter, Pace};
use rows::{Catalog, Snapshot};
use theme::Theme;

/// The shortest time between two frames (30 fps).
pub const FRAME: Duration = Duration::from_millis(33);

/// Undelivered supervisor events kept for the ingest thread; older ones are dropped (they
/// only wake the UI; the content is read from the rings).
const EVENT_CAPACITY: usize = 1024;

/// What the UI thread waits for.
#[derive(Debug)]
pub enum Msg {
    /// A key, a mouse event, a resize.
    Input(Event),
    /// The terminal can no longer be read.
    InputEnded,
    /// Processes changed state or wrote output.
    Changed,
    /// SIGTERM, SIGHUP, SIGINT or SIGTSTP.
    Signal(i32),
    /// A message for the bottom line.
    Notice(String),
    /// The answer to a search.
    Found {
        view: Sel,
        older: bool,
        seq: Option<u64>,
    },
    /// A stop-all finished.
    Stopped,
    /// The session this UI is attached to has ended: why.
    SessionEnded(String),
}

/// True when `NO_COLOR` is unset or empty.
pub fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Runs the UI on this terminal until the user quits; returns the exit code. With no live
/// session for the project, this process owns one (and listens on its control socket): the
/// processes configured in `stack` are listed first, `launch` says what to start at once, and
/// quitting stops everything. While another process owns one, the UI attaches to it.
pub fn run(
    project: Project,
    stack: Option<Arc<Stack>>,
    launch: Launch,
    grace: Duration,
) -> ExitCode {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!("procsnap tui: stdin and stdout must be a terminal");
        return ExitCode::from(2);
    }
    let color = color_allowed();
    let catalog = Catalog::with_stack(&project, stack.as_deref(), &launch.targets, color);
    let mut cfg = procsnap_session::SessionConfig::default().grace(grace);
    if color {
        // The UI shows colours: scripts that colour only on a terminal are asked to.
        cfg = cfg.env("FORCE_COLOR", "1");
    }
    match crate::hosting::own_or_join(&project, stack.as_deref(), cfg, "tui") {
        Ok(crate::hosting::Live::Owner(host)) => own(&project, host, catalog, launch, grace),
        Ok(crate::hosting::Live::Joined(client)) => attach_with(&project, client, catalog),
        Err(e) => {
            eprintln!("procsnap: cannot start the session: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `procsnap attach`: the UI on the project's live session; exit code 3 if there is none.
pub fn attach(project: &Project) -> ExitCode {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!("procsnap attach: stdin and stdout must be a terminal");
        return ExitCode::from(2);
    }
    let client = match crate::remote::connect(&project.dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // What the owner can run, listed as in its own UI: its configuration first (the file it
    // loaded, whatever `--config` it was given). One that cannot be read now is left out:
    // the owner's processes are listed all the same.
    let config = client.owner.as_ref().and_then(|o| o.config.clone());
    let stack = config.and_then(|c| {
        crate::compose::load(project, Some(std::path::Path::new(&c)))
            .ok()
            .flatten()
    });
    let catalog = Catalog::with_stack(project, stack.as_ref(), &[], color_allowed());
    attach_with(project, client, catalog)
}

/// The project's directory name, as a title (escaped: whoever named it is not trusted).
fn title_of(project: &Project) -> String {
    let title = project.dir.file_name().map_or_else(
        || project.dir.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    crate::safe::escape(&title).into_owned()
}

/// The UI on the session this process owns.
fn own(
    project: &Project,
    host: crate::hosting::Host,
    catalog: Catalog,
    launch: Launch,
    grace: Duration,
) -> ExitCode {
    let session = host.session.clone();
    for t in &launch.targets {
        if let Err(e) = crate::hosting::define_target(&session, t) {
            eprintln!("procsnap tui: {e}");
            return ExitCode::FAILURE;
        }
    }
    let (tx, rx) = channel();
    let events = session.observe(Filter::All, Pace::Bounded(EVENT_CAPACITY));
    let ingest = match Ingest::spawn(events, tx.clone()) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("procsnap tui: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let control = Control {
        backend: Backend::Local(session.clone()),
        tx: tx.clone(),
    };
    let mut first: Vec<&str> = launch.configured.iter().map(String::as_str).collect();
    first.extend(launch.targets.iter().map(|t| t.name.as_str()));
    if !first.is_empty()
        && let Err(e) = session.start(&first, procsnap_session::Owner::Detached)
    {
        let _ = tx.send(Msg::Notice(e));
    }
    let (code, _) = show(control, Some(ingest), catalog, title_of(project), (tx, rx));
    // Every path out has stopped the groups already; this catches a start still in flight.
    session.shutdown(true);
    session.wait_idle(grace + Duration::from_secs(5));
    drop(host);
    code
}

/// The UI on a session another process owns, through `client` (and a second connection for
/// the mirror).
fn attach_with(
    project: &Project,
    client: crate::control::client::Client,
    catalog: Catalog,
) -> ExitCode {
    let place = match crate::control::place::Place::for_project(&project.dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("procsnap: {e}");
            return ExitCode::from(2);
        }
    };
    let follower = match crate::control::client::Client::connect(&place) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("procsnap: cannot reach the session: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (tx, rx) = channel();
    let (changed, ended) = (tx.clone(), tx.clone());
    let mirror = crate::remote::mirror::start(
        follower,
        move || {
            let _ = changed.send(Msg::Changed);
        },
        move |why| {
            let _ = ended.send(Msg::SessionEnded(why));
        },
    );
    let mirror = match mirror {
        Ok(m) => m,
        Err(e) => {
            eprintln!("procsnap: cannot follow the session: {e}");
            return ExitCode::FAILURE;
        }
    };
    let attached = Arc::new(remote::Attached::new(mirror, client));
    let title = match &attached.owner {
        Some(o) => format!("{} · attached to {}", title_of(project), o.describe()),
        None => format!("{} · attached", title_of(project)),
    };
    let control = Control {
        backend: Backend::Remote(attached),
        tx: tx.clone(),
    };
    let (code, ended) = show(control, None, catalog, title, (tx, rx));
    if let Some(why) = ended {
        eprintln!("procsnap: {why}");
    }
    code
}

/// Runs the event loop on the terminal; the exit code, and why the session ended under an
/// attached UI.
fn show(
    control: Control,
    ingest: Option<Ingest>,
    catalog: Catalog,
    title: String,
    (tx, rx): (Sender<Msg>, Receiver<Msg>),
) -> (ExitCode, Option<String>) {
    let entered = spawn_signals(tx.clone()).and_then(|()| term::enter());
    let (mut tty, restore) = match entered {
        Ok(t) => t,
        Err(e) => {
            term::restore();
            eprintln!("procsnap tui: cannot start: {e}");
            return (ExitCode::FAILURE, None);
        }
    };
    spawn_input(tx);
    let mut ui = Ui {
        app: App::default(),
        catalog,
        title,
        theme: Theme {
            color: color_allowed(),
        },
        offset_secs: Clock::system().offset_secs,
        control,
        ingest,
        pacer: Pacer::new(FRAME),
        exit: None,
        code: 0,
        term_ok: true,
        suspend: false,
        ended: None,
        tty: crate::tty::Watch::default(),
        waiting_tty: HashSet::new(),
    };
    ui.event_loop(&mut tty, &rx);
    drop(tty);
    drop(restore);
    let code = ui.exit.unwrap_or(1);
    if let Some(ingest) = ui.ingest.take() {
        ingest.stop();
    }
    (ExitCode::from(code), ui.ended.take())
}

/// Forwards terminal input to the UI thread until the terminal or the UI is gone.
fn spawn_input(tx: Sender<Msg>) {
    let _ = std::thread::Builder::new()
        .name("procsnap-input".into())
        .spawn(move || {
            loop {
                let msg = match ratatui::crossterm::event::read() {
                    Ok(ev) => Msg::Input(ev),
                    Err(_) => Msg::InputEnded,
                };
                let ended = matches!(msg, Msg::InputEnded);
                if tx.send(msg).is_err() || ended {
                    return;
                }
            }
        });
}

/// Forwards SIGTERM, SIGHUP, SIGINT and SIGTSTP to the UI thread.
fn spawn_signals(tx: Sender<Msg>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGTSTP};
    crate::signals::forward(&[SIGTERM, SIGHUP, SIGINT, SIGTSTP], move |s| {
        tx.send(Msg::Signal(s)).is_ok()
    })
}

/// The event loop's state.
struct Ui {
    app: App,
    catalog: Catalog,
    title: String,
    theme: Theme,
    offset_secs: i32,
    control: Control,
    /// The local session's events (an attached UI is woken by its mirror instead).
    ingest: Option<Ingest>,
    pacer: Pacer,
    /// Set when the loop must end, with the exit code.
    exit: Option<u8>,
    /// The exit code once every group is stopped: 0, or 128 + the signal that ended us.
    code: u8,
    /// False once the terminal is gone (SIGHUP, a write error): no more drawing.
    term_ok: bool,
    /// Ctrl-Z or SIGTSTP: suspend before the next draw.
    suspend: bool,
    /// Why the session this UI is attached to ended.
    ended: Option<String>,
    /// Which processes wait for the terminal, looked at when drawing, and their pids.
    tty: crate::tty::Watch,
    waiting_tty: HashSet<u32>,
}

impl Ui {
    fn event_loop(&mut self, tty: &mut term::Tty, rx: &Receiver<Msg>) {
        while self.exit.is_none() {
            let first = match self.pacer.wake_at() {
                None => match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => return,
                },
                Some(t) => match rx.recv_timeout(t.saturating_duration_since(Instant::now())) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
            };
            if let Some(m) = first {
                self.handle(m);
                while let Ok(m) = rx.try_recv() {
                    self.handle(m);
                }
            }
            if std::mem::take(&mut self.suspend) && self.term_ok && self.exit.is_none() {
                self.suspend(tty);
            }
            if self.exit.is_none() && self.pacer.due(Instant::now()) {
                self.draw(tty);
            }
        }
    }

    fn snapshot(&self) -> Snapshot {
        let mut snap = self.snapshot_of_session();
        if !self.waiting_tty.is_empty() {
            for row in &snap.rows {
                let Some(p) = &row.proc else { continue };
                if !p.state.is_finished()
                    && p.state
                        .pid
                        .is_some_and(|pid| self.waiting_tty.contains(&pid))
                {
                    let mark = orch::waiting_for_terminal(snap.marks.get(&row.name));
                    snap.marks.insert(row.name.clone(), mark);
                }
            }
        }
        snap
    }

    /// Looks, when a look is due, for the processes that wait for the terminal.
    fn watch_terminal(&mut self) {
        let now = Instant::now();
        if !self.tty.due(now) {
            return;
        }
        let snap = self.snapshot_of_session();
        let live = snap
            .all
            .iter()
            .map(|p| p.state().snapshot())
            .filter(|s| !s.is_finished())
            .filter_map(|s| s.pid);
        if let Some(waiting) = self.tty.look(live, now) {
            self.waiting_tty = waiting.into_iter().map(|(pid, _)| pid).collect();
        }
    }

    fn snapshot_of_session(&self) -> Snapshot {
        match &self.control.backend {
            Backend::Local(session) => {
                let mut snap = rows::snapshot(session.processes(), &self.catalog, self.app.sort);
                snap.marks = orch::board_marks(&session.board(), Instant::now());
                snap
            }
            Backend::Remote(r) => {
                let mut snap = rows::snapshot(r.mirror.registry(), &self.catalog, self.app.sort);
                snap.marks = r.mirror.with_units(|units| {
                    orch::marks(units.iter().map(orch::UnitLook::from), Instant::now())
                });
                snap
            }
        }
    }

    fn attached(&self) -> bool {
        matches!(self.control.backend, Backend::Remote(_))
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            // Keys that mean nothing (and mouse moves) do not redraw.
            Msg::Input(ev) => match keys::action(&ev, self.app.keymap()) {
                Some(keys::Action::Suspend) => self.suspend = true,
                Some(action) => self.act(action),
                None => return,
            },
            Msg::InputEnded => self.lost_terminal(1),
            Msg::Changed => {
                if let Some(i) = &mut self.ingest {
                    i.changed();
                }
            }
            Msg::SessionEnded(why) => {
                self.ended = Some(why);
                self.exit = Some(1);
            }
            Msg::Notice(n) => self.app.say(n),
            Msg::Signal(signal_hook::consts::SIGINT) => self.act(keys::Action::Interrupt),
            Msg::Signal(signal_hook::consts::SIGHUP) => self.lost_terminal(129),
            Msg::Signal(signal_hook::consts::SIGTSTP) => self.suspend = true,
            Msg::Signal(sig) => self.quit_by_signal(128 + sig as u8),
            Msg::Found { view, older, seq } => {
                let snap = self.snapshot();
                let procs = view::pane_procs(&self.app, &snap);
                let src = Sources::of(&procs, |n| view::slot(&self.catalog, n));
                self.app.found(&view, older, seq, &src);
            }
            Msg::Stopped => {
                let snap = self.snapshot();
                if snap.live == 0 {
                    self.exit = Some(self.code);
                } else {
                    let again = match self.app.mode {
                        Mode::Quitting { killing: true } => Command::KillAll,
                        _ => Command::StopAll,
                    };
                    self.control.run(again, Vec::new());
                }
            }
        }
        self.pacer.changed();
    }

    /// Applies a user action and carries out what it asks for.
    fn act(&mut self, action: keys::Action) {
        if self.attached()
            && matches!(
                action,
                keys::Action::Quit | keys::Action::QuitNow | keys::Action::Interrupt
            )
        {
            // Quitting an attached UI detaches: the session's processes keep running.
            self.exit = Some(self.code);
            return;
        }
        let snap = self.snapshot();
        let procs = view::pane_procs(&self.app, &snap);
        let src = Sources::of(&procs, |n| view::slot(&self.catalog, n));
        let ctx = Ctx {
            snap: &snap,
            catalog: &self.catalog,
            src: &src,
        };
        for cmd in self.app.apply(action, &ctx) {
            match cmd {
                Command::Exit => self.exit = Some(self.code),
                cmd @ Command::Search { .. } => self.control.run(cmd, procs.clone()),
                cmd => self.control.run(cmd, Vec::new()),
            }
        }
    }

    /// SIGTERM: stop every group (a second one kills), then quit with `code`.
    fn quit_by_signal(&mut self, code: u8) {
        self.code = code;
        match self.app.mode {
            Mode::Quitting { killing: false } => self.act(keys::Action::QuitNow),
            Mode::Quitting { killing: true } => {}
            _ => {
                self.app.mode = Mode::Normal;
                self.act(keys::Action::QuitNow);
            }
        }
    }

    /// Hands the terminal to the shell and stops until continued; then everything is redrawn.
    fn suspend(&mut self, tty: &mut term::Tty) {
        if term::suspend(tty).is_err() {
            self.lost_terminal(1);
        }
        self.pacer.changed();
    }

    /// The terminal is gone: stop drawing, stop every group, quit with `code`.
    fn lost_terminal(&mut self, code: u8) {
        self.term_ok = false;
        self.quit_by_signal(code);
    }

    fn draw(&mut self, tty: &mut term::Tty) {
        let mut tick = None;
        if self.term_ok {
            self.watch_terminal();
            let snap = self.snapshot();
            self.app.mark_seen(&snap);
            let scene = view::Scene {
                snap: &snap,
                catalog: &self.catalog,
                title: &self.title,
                clock: Clock {
                    now: SystemTime::now(),
                    offset_secs: self.offset_secs,
                },
                theme: self.theme,
            };
            let app = &mut self.app;
            if tty.draw(|f| tick = view::draw(f, app, &scene)).is_err() {
                self.lost_terminal(1);
            }
        }
        self.pacer.drawn(Instant::now(), tick);
        if let Some(i) = &mut self.ingest {
            i.drawn();
        }
    }
}
