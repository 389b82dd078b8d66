//! One frame: where the panes go, and the bottom line and help overlay. Drawing reads only
//! what it is given (a [`Snapshot`], the rings through [`Sources`], a [`Clock`]), so a
//! `TestBackend` renders exactly what a terminal shows.

use std::sync::Arc;

use procsnap::Process;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Mode, Sel};
use super::clock::{Clock, uptime_changes_in};
use super::help::{self, HINTS, SHORT_HINTS};
use super::logview::Sources;
use super::rows::{Catalog, Snapshot};
use super::theme::Theme;
use super::{list, pane};
use crate::safe::escape;

/// From this many columns on, the list sits left of the log pane; below, above it.
pub const WIDE: u16 = 120;

/// The shortest list pane on top: its borders, the header and one row.
const MIN_LIST: u16 = 4;

/// Where the parts of the screen go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub list: Option<Rect>,
    pub log: Rect,
    pub bottom: Option<Rect>,
}

/// Lays out `area` for `app` with `rows` list entries (the "all" entry included).
pub fn areas(area: Rect, app: &App, rows: usize, list_width: usize) -> Areas {
    let bottom_used = app.hints || app.mode != Mode::Normal || app.notice.is_some();
    let (rest, bottom) = if bottom_used && area.height > 1 {
        let [rest, bottom] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
        (rest, Some(bottom))
    } else {
        (area, None)
    };
    if app.zoom {
        return Areas {
            list: None,
            log: rest,
            bottom,
        };
    }
    let (list, log) = if area.width >= WIDE {
        let w = (list_width as u16).clamp(30, rest.width / 2);
        let [list, log] =
            Layout::horizontal([Constraint::Length(w), Constraint::Min(0)]).areas(rest);
        (list, log)
    } else {
        // Header, borders and rows; at most a third of the height, but always room for one
        // row (the selected one) under the header when the terminal has it.
        let want = rows as u16 + 3;
        let h = want.min((rest.height / 3).max(MIN_LIST.min(rest.height)));
        let [list, log] = Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(rest);
        (list, log)
    };
    Areas {
        list: Some(list),
        log,
        bottom,
    }
}

/// The processes the selected pane reads: the newest one of the selected row, or every
/// registered process under "all".
pub fn pane_procs(app: &App, snap: &Snapshot) -> Vec<Arc<Process>> {
    match &app.selected {
        Sel::All => snap.all.clone(),
        Sel::Name(_) => app
            .row(snap)
            .and_then(|r| r.proc.as_ref())
            .map(|p| vec![p.process.clone()])
            .unwrap_or_default(),
    }
}

/// The colour slot of `name`: its declared position.
pub fn slot(catalog: &Catalog, name: &str) -> usize {
    catalog.position(name).unwrap_or(0)
}

/// What a frame is drawn from.
pub struct Scene<'a> {
    pub snap: &'a Snapshot,
    pub catalog: &'a Catalog,
    /// Shown in the list's title (the project directory's name).
    pub title: &'a str,
    pub clock: Clock,
    pub theme: Theme,
}

/// Draws the whole screen; records the panes' places in `app.geometry`. Returns how long
/// until an uptime on screen changes (`None`: nothing on screen changes by itself).
pub fn draw(f: &mut Frame, app: &mut App, scene: &Scene<'_>) -> Option<std::time::Duration> {
    let snap = scene.snap;
    app.expire_notice(snap);
    let a = areas(f.area(), app, snap.rows.len() + 1, list::wanted_width(snap));
    let procs = pane_procs(app, snap);
    let src = Sources::of(&procs, |n| slot(scene.catalog, n));
    let style = (&scene.clock, scene.theme);
    app.geometry.list = a.list;
    app.geometry.list_rows = None;
    if let Some(area) = a.list {
        list::draw(f, area, app, snap, scene.title, style);
    }
    pane::draw(f, a.log, app, snap, &src, style);
    if let Some(area) = a.bottom {
        let line = bottom_line(app, scene.theme, area.width >= WIDE);
        f.render_widget(Paragraph::new(line), area);
    }
    if app.help {
        help::draw(f, scene.theme);
    }
    a.list.and_then(|_| next_tick(snap, &scene.clock))
}

/// The soonest change of a running process's uptime (all change together: at the start of a
/// second).
fn next_tick(snap: &Snapshot, clock: &Clock) -> Option<std::time::Duration> {
    let countdowns = snap.marks.values().filter_map(|m| m.changes_in);
    snap.rows
        .iter()
        .filter_map(|r| r.proc.as_ref())
        .filter(|p| !p.state.is_finished())
        .filter_map(|p| list::shown_duration(&p.state, clock.now))
        .map(|d| uptime_changes_in(d, clock.now))
        .chain(countdowns)
        .min()
}

fn bottom_line(app: &App, theme: Theme, wide: bool) -> Line<'static> {
    match &app.mode {
        Mode::Search(text) => Line::from(vec![
            Span::styled("/", theme.prompt()),
            Span::raw(escape(text).into_owned()),
            Span::styled("█", theme.dim()),
            Span::styled("   Enter searches · Esc cancels", theme.dim()),
        ]),
        Mode::Confirm { live } => Line::styled(
            format!("stop {} and quit? (q/y to confirm)", processes(*live)),
            theme.prompt(),
        ),
        Mode::Quitting { killing: false } => Line::styled(
            "stopping every process group… (Q kills at once)",
            theme.prompt(),
        ),
        Mode::Quitting { killing: true } => {
            Line::styled("killing every process group…", theme.prompt())
        }
        Mode::Normal => match &app.notice {
            Some(n) => Line::styled(escape(n).into_owned(), theme.bold()),
            None => Line::styled(if wide { HINTS } else { SHORT_HINTS }, theme.dim()),
        },
    }
}

/// `1 process`, `2 processes`.
pub fn processes(n: usize) -> String {
    match n {
        1 => "1 process".to_owned(),
        n => format!("{n} processes"),
    }
}
