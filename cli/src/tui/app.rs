//! The UI's state and what each [`Action`] does to it. Pure: no terminal, no thread, no
//! clock. What must happen outside (start, stop, search a ring) comes back as [`Command`]s,
//! which the event loop hands to worker threads.

use std::collections::HashMap;

use procsnap::{CommandSpec, ProcId};
use ratatui::layout::{Position, Rect};
use regex::Regex;

use super::keys::{Action, Keymap};
use super::logview::{Pos, Sources};
use super::rows::{Catalog, Row, Snapshot, Sort};

/// Which row is selected: the "all" entry or a name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Sel {
    #[default]
    All,
    Name(String),
}

/// Which pane keys scroll.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Focus {
    #[default]
    List,
    Log,
}

/// What the bottom line is doing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Normal,
    /// Typing a search pattern.
    Search(String),
    /// "stop N processes and quit? (q/y to confirm)".
    Confirm { live: usize },
    /// Stopping everything before leaving; `killing` once a kill was asked for.
    Quitting { killing: bool },
}

/// One pane's position and how much of it was cleared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct View {
    pub pos: Pos,
    /// Lines numbered up to this are hidden (`c`).
    pub floor: u64,
    /// `c` was pressed: an empty pane says so.
    pub cleared: bool,
}

/// The active search.
#[derive(Clone, Debug)]
pub struct Search {
    pub pattern: String,
    pub re: Regex,
    /// The match jumped to last.
    pub current: Option<u64>,
}

/// Work for the event loop.
#[derive(Clone, Debug)]
pub enum Command {
    Start {
        name: String,
        spec: CommandSpec,
    },
    Restart(ProcId),
    Stop(ProcId),
    Kill(ProcId),
    RestartAll(Vec<ProcId>),
    StopAll,
    KillAll,
    /// Nothing runs: leave now.
    Exit,
    /// Find the nearest match of `re` in `view`, older than `from` or newer.
    Search {
        view: Sel,
        re: Regex,
        older: bool,
        from: u64,
        floor: u64,
    },
}

/// Where things were drawn last (for the mouse and for page sizes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Geometry {
    /// The list's data rows (below its header), if the list is shown.
    pub list_rows: Option<Rect>,
    /// The first row index shown at the top of the list (0 = "all").
    pub list_offset: usize,
    /// The whole list pane (border included).
    pub list: Option<Rect>,
    /// The whole log pane.
    pub log: Rect,
    /// Text rows of the log pane.
    pub log_rows: usize,
}

/// Everything the screen shows that is not process data.
#[derive(Clone, Debug)]
pub struct App {
    pub selected: Sel,
    pub focus: Focus,
    pub mode: Mode,
    pub sort: Sort,
    pub wrap: bool,
    pub timestamps: bool,
    pub zoom: bool,
    pub help: bool,
    pub hints: bool,
    pub views: HashMap<Sel, View>,
    pub search: Option<Search>,
    /// A one-line message until the next key (or until its [`Cause`] is gone).
    pub notice: Option<String>,
    /// What `notice` is about, if it is about something that can change by itself.
    pub notice_cause: Option<Cause>,
    /// Output lines counted per process when its pane was last on screen.
    pub seen: HashMap<ProcId, u64>,
    pub geometry: Geometry,
}

impl Default for App {
    fn default() -> App {
        App {
            selected: Sel::All,
            focus: Focus::List,
            mode: Mode::Normal,
            sort: Sort::Declared,
            wrap: false,
            timestamps: false,
            zoom: false,
            help: false,
            hints: true,
            views: HashMap::new(),
            search: None,
            notice: None,
            notice_cause: None,
            seen: HashMap::new(),
            geometry: Geometry::default(),
        }
    }
}

/// What an action may look at.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub catalog: &'a Catalog,
    /// The rings of the selected pane.
    pub src: &'a Sources<'a>,
}

impl App {
    /// The keymap for the current mode.
    pub fn keymap(&self) -> Keymap {
        match self.mode {
            Mode::Search(_) => Keymap::Search,
            Mode::Confirm { .. } => Keymap::Confirm,
            Mode::Normal | Mode::Quitting { .. } => Keymap::Normal,
        }
    }

    /// The selected pane's view.
    pub fn view(&self) -> View {
        self.views.get(&self.selected).copied().unwrap_or_default()
    }

    fn view_mut(&mut self) -> &mut View {
        self.views.entry(self.selected.clone()).or_default()
    }

    /// The selected row's index: 0 is "all", `i + 1` is `snap.rows[i]`.
    pub fn index(&self, snap: &Snapshot) -> usize {
        match &self.selected {
            Sel::All => 0,
            Sel::Name(n) => snap
                .rows
                .iter()
                .position(|r| &r.name == n)
                .map_or(0, |i| i + 1),
        }
    }

    fn select(&mut self, snap: &Snapshot, index: usize) {
        let index = index.min(snap.rows.len());
        self.selected = match index {
            0 => Sel::All,
            i => Sel::Name(snap.rows[i - 1].name.clone()),
        };
    }

    /// The selected row (`None` for "all").
    pub fn row<'s>(&self, snap: &'s Snapshot) -> Option<&'s Row> {
        match &self.selected {
            Sel::All => None,
            Sel::Name(n) => snap.row(n),
        }
    }

    /// Applies `action`; returns what the event loop must do.
    pub fn apply(&mut self, action: Action, ctx: &Ctx<'_>) -> Vec<Command> {
        if action != Action::Resize {
            self.notice = None;
            self.notice_cause = None;
        }
        match self.mode.clone() {
            Mode::Search(text) => self.on_search_line(action, text, ctx),
            Mode::Confirm { .. } => self.on_confirm(action),
            Mode::Quitting { killing } => self.on_quitting(action, killing),
            Mode::Normal => self.on_normal(action, ctx),
        }
    }

    fn on_confirm(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Confirm | Action::QuitNow => {
                self.mode = Mode::Quitting { killing: false };
                vec![Command::StopAll]
            }
            _ => {
                self.mode = Mode::Normal;
                Vec::new()
            }
        }
    }

    fn on_quitting(&mut self, action: Action, killing: bool) -> Vec<Command> {
        match action {
            Action::QuitNow | Action::Interrupt | Action::Kill if !killing => {
                self.mode = Mode::Quitting { killing: true };
                vec![Command::KillAll]
            }
            _ => Vec::new(),
        }
    }

    /// `q`, `Q` and Ctrl-C from the normal mode.
    fn quit(&mut self, ask: bool, ctx: &Ctx<'_>) -> Vec<Command> {
        let live = ctx.snap.live;
        if live == 0 {
            self.mode = Mode::Quitting { killing: false };
            vec![Command::Exit]
        } else if ask {
            self.mode = Mode::Confirm { live };
            Vec::new()
        } else {
            self.mode = Mode::Quitting { killing: false };
            vec![Command::StopAll]
        }
    }

    fn on_normal(&mut self, action: Action, ctx: &Ctx<'_>) -> Vec<Command> {
        if self.help && action != Action::Resize {
            self.help = false;
            if matches!(action, Action::Help | Action::FocusList | Action::Quit) {
                return Vec::new();
            }
        }
        match action {
            Action::Quit | Action::Interrupt => return self.quit(true, ctx),
            Action::QuitNow => return self.quit(false, ctx),
            Action::Start => return self.start(ctx),
            Action::Stop | Action::Kill => return self.stop(action == Action::Kill, ctx),
            Action::RestartAll => {
                let ids = ctx.snap.running();
                if ids.is_empty() {
                    self.say_about("nothing is running", Cause::NothingRunning);
                    return Vec::new();
                }
                return vec![Command::RestartAll(ids)];
            }
            Action::SearchStart => self.mode = Mode::Search(String::new()),
            Action::SearchNext | Action::SearchPrev => {
                return self.search_step(action == Action::SearchNext, ctx);
            }
            Action::Help => self.help = true,
            Action::Hints => self.hints = !self.hints,
            Action::Sort => self.sort = self.sort.next(),
            Action::Wrap => self.wrap = !self.wrap,
            Action::Timestamps => self.timestamps = !self.timestamps,
            Action::Zoom => self.zoom = !self.zoom,
            Action::Follow => self.view_mut().pos = Pos::Follow,
            Action::Clear => {
                let newest = ctx.src.window(None, 1, 0).first().map_or(0, |l| l.seq);
                *self.view_mut() = View {
                    pos: Pos::Follow,
                    floor: newest,
                    cleared: true,
                };
            }
            Action::FocusLog => self.focus = Focus::Log,
            Action::FocusList => self.focus = Focus::List,
            Action::Click { col, row } => self.click(col, row, ctx),
            Action::Wheel { up, col, row } => self.wheel(up, col, row, ctx),
            _ => self.navigate(action, ctx),
        }
        Vec::new()
    }

    /// Up, down, first, last, page up and down: the list or the log, by focus.
    fn navigate(&mut self, action: Action, ctx: &Ctx<'_>) {
        let page = self.geometry.log_rows.max(1);
        let on_log = self.focus == Focus::Log || self.zoom;
        let last = ctx.snap.rows.len();
        let at = self.index(ctx.snap);
        match action {
            Action::PageUp => self.scroll(true, page.saturating_sub(1).max(1), ctx),
            Action::PageDown => self.scroll(false, page.saturating_sub(1).max(1), ctx),
            Action::Up if on_log => self.scroll(true, 1, ctx),
            Action::Down if on_log => self.scroll(false, 1, ctx),
            Action::First if on_log => {
                let floor = self.view().floor;
                self.view_mut().pos = ctx.src.top(page, floor);
            }
            Action::Last if on_log => self.view_mut().pos = Pos::Follow,
            Action::Up => self.select(ctx.snap, at.saturating_sub(1)),
            Action::Down => self.select(ctx.snap, (at + 1).min(last)),
            Action::First => self.select(ctx.snap, 0),
            Action::Last => self.select(ctx.snap, last),
            _ => {}
        }
    }

    fn scroll(&mut self, up: bool, k: usize, ctx: &Ctx<'_>) {
        let page = self.geometry.log_rows.max(1);
        let view = self.view();
        let pos = if up {
            ctx.src.scroll_up(view.pos, k, page, view.floor)
        } else {
            ctx.src.scroll_down(view.pos, k)
        };
        self.view_mut().pos = pos;
    }

    fn click(&mut self, col: u16, row: u16, ctx: &Ctx<'_>) {
        let at = Position::new(col, row);
        let g = self.geometry;
        if let Some(rows) = g.list_rows.filter(|r| r.contains(at)) {
            let i = g.list_offset + usize::from(row - rows.y);
            if i <= ctx.snap.rows.len() {
                self.select(ctx.snap, i);
            }
            self.focus = Focus::List;
        } else if g.list.is_some_and(|r| r.contains(at)) {
            self.focus = Focus::List;
        } else if g.log.contains(at) {
            self.focus = Focus::Log;
        }
    }

    fn wheel(&mut self, up: bool, col: u16, row: u16, ctx: &Ctx<'_>) {
        let at = Position::new(col, row);
        if self.geometry.list.is_some_and(|r| r.contains(at)) {
            let i = self.index(ctx.snap);
            let i = if up { i.saturating_sub(1) } else { i + 1 };
            self.select(ctx.snap, i);
        } else if self.geometry.log.contains(at) {
            self.scroll(up, 3, ctx);
        }
    }

    /// under "all".
    pub fn mark_seen(&mut self, snap: &Snapshot) {
        let rows: Vec<&Row> = match &self.selected {
            Sel::All => snap.rows.iter().collect(),
            Sel::Name(n) => snap.rows.iter().filter(|r| &r.name == n).collect(),
        };
        for p in rows.into_iter().filter_map(|r| r.proc.as_ref()) {
            let ring = p.process.logs();
            self.seen
                .insert(p.process.id(), ring.len() as u64 + ring.dropped_lines());
        }
        // Only the processes on screen are remembered: a crash loop adds none for good.
        if self.seen.len() > snap.rows.len() {
            let shown: std::collections::HashSet<_> = snap
                .rows
                .iter()
                .filter_map(|r| r.proc.as_ref().map(|p| p.process.id()))
                .collect();
            self.seen.retain(|id, _| shown.contains(id));
        }
    }

    /// True when `row`'s process has output not yet on screen.
    pub fn unseen(&self, row: &Row) -> bool {
        row.proc.as_ref().is_some_and(|p| {
            let ring = p.process.logs();
            ring.len() as u64 + ring.dropped_lines()
                > self.seen.get(&p.process.id()).copied().unwrap_or(0)
        })
    }
}

mod notice;
mod procs;
mod search;

pub use notice::Cause;
#[cfg(test)]
mod tests;
