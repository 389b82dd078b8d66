//! The process list pane: a header and one row per entry, with the columns that fit.

use std::time::{Duration, SystemTime};

use procsnap::{Exit, ProcessState, Status};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::app::{App, Focus};
use super::clock::{Clock, shown_uptime, uptime};
use super::rows::{Row, Snapshot};
use super::text::put_lines;
use super::theme::{Theme, status_mark};
use crate::safe::escape;
use crate::style::signal_name;

/// Optional columns in screen order: `(header, width, left-aligned)`.
const COLUMNS: [(&str, usize, bool); 5] = [
    ("pid", 7, false),
    ("started", 8, false),
    ("uptime", 6, false),
    ("↻", 3, true),
    ("exit", 7, true),
];

/// Column indexes by importance: the last ones are dropped first when the pane is narrow.
const PRIORITY: [usize; 5] = [2, 4, 0, 3, 1];

/// The status word's width ("stopping", "3 running").
const WORD: usize = 9;

/// The marker column, the status column (icon, space, word) and their separators.
const FIXED: usize = 1 + 1 + 2 + WORD;

/// The widest name shown (longer names are cut).
const MAX_NAME: usize = 24;

/// The name column's width for these rows.
pub fn name_width(snap: &Snapshot) -> usize {
    snap.rows
        .iter()
        .map(|r| escape(&r.name).width())
        .max()
        .unwrap_or(0)
        .clamp(4, MAX_NAME)
}

/// How wide the list wants to be with every column.
pub fn wanted_width(snap: &Snapshot) -> usize {
    name_width(snap) + FIXED + COLUMNS.iter().map(|(_, w, _)| w + 1).sum::<usize>() + 2
}

/// Which optional columns fit in `inner` columns (by [`PRIORITY`]).
fn columns_that_fit(inner: usize, name: usize) -> [bool; 5] {
    let mut used = name + FIXED;
    let mut shown = [false; 5];
    for i in PRIORITY {
        let w = COLUMNS[i].1;
        if used + w + 1 > inner {
            break;
        }
        used += w + 1;
        shown[i] = true;
    }
    shown
}

/// `text` in a column `i` cell.
fn cell(i: usize, text: &str) -> String {
    let (_, w, left) = COLUMNS[i];
    if left {
        fit(text, w)
    } else {
        format!("{text:>w$}")
    }
}

/// `text` cut or padded to `width` columns.
fn fit(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.extend(std::iter::repeat_n(' ', width - used));
    out
}

/// A finished process's run time, or a live one's [`shown_uptime`].
pub fn shown_duration(s: &ProcessState, now: SystemTime) -> Option<Duration> {
    match (s.is_finished(), s.started_at) {
        (true, _) => s.duration_at(now),
        (false, Some(started)) => Some(shown_uptime(started, now)),
        (false, None) => None,
    }
}

fn optional_cells(row: &Row, clock: &Clock) -> [String; 5] {
    let Some(p) = &row.proc else {
        return Default::default();
    };
    let s = &p.state;
    let exit = match (s.status, s.exit) {
        (_, Some(e)) => match e {
            Exit::Code(c) => c.to_string(),
            Exit::Signal(sig) => signal_name(sig),
            // `Exit` may grow: an exit this version does not know reads as unknown.
            _ => "?".into(),
        },
        (Status::Failed, None) => "spawn".into(),
        _ => String::new(),
    };
    [
        s.pid.map(|p| p.to_string()).unwrap_or_default(),
        s.started_at.map(|t| clock.hms(t)).unwrap_or_default(),
        shown_duration(s, clock.now).map(uptime).unwrap_or_default(),
        if s.restarts > 0 {
            format!("↻{}", s.restarts)
        } else {
            String::new()
        },
        exit,
    ]
}

/// One line of the list.
fn row_line(
    row: Option<&Row>,
    snap: &Snapshot,
    app: &App,
    name: usize,
    cols: [bool; 5],
    (clock, theme): (&Clock, Theme),
) -> Line<'static> {
    let (label, mut status, marked, mut cells) = match row {
        None => {
            let running = snap.running().len();
            let summary = (running > 0).then_some(Status::Running);
            ("all", summary, false, Default::default())
        }
        Some(r) => (
            r.name.as_str(),
            r.proc.as_ref().map(|p| p.state.status),
            app.unseen(r),
            optional_cells(r, clock),
        ),
    };
    let (mut icon, mut word) = status_mark(status);
    // A configured process: its readiness, wait or backoff says more than its status.
    if let Some(m) = row.and_then(|r| snap.marks.get(&r.name)) {
        if let Some((i, w, c)) = m.look {
            (icon, word, status) = (i, w, Some(c));
        }
        if let Some(u) = &m.uptime {
            cells[2] = u.clone();
        }
        if m.restarts > 0 {
            // The board counts the policy's restarts and people's; a process started by the
            // session carries the same count, one started before it knew of a restart less.
            let carried = row
                .and_then(|r| r.proc.as_ref())
                .map_or(0, |p| p.state.restarts);
            cells[3] = format!("↻{}", m.restarts.max(carried));
        }
    }
    let word = match (row, status) {
        (None, Some(_)) => format!("{} running", snap.running().len()),
        (None, None) => String::new(),
        _ => word.to_owned(),
    };
    let icon = if row.is_none() && status.is_none() {
        " "
    } else {
        icon
    };
    let mut spans = vec![
        Span::styled(if marked { "•" } else { " " }, theme.bold()),
        Span::raw(fit(&escape(label), name)),
        Span::raw(" "),
        // The "all" row has no other cells: its summary may run past the word column.
        Span::styled(
            match row {
                None => format!("{icon} {word}"),
                Some(_) => format!("{icon} {}", fit(&word, WORD)),
            },
            theme.status(status),
        ),
    ];
    if row.is_none() {
        return Line::from(spans);
    }
    for (i, text) in cells.iter().enumerate().filter(|(i, _)| cols[*i]) {
        spans.push(Span::raw(" "));
        spans.push(Span::raw(cell(i, text)));
    }
    Line::from(spans)
}

fn header_line(name: usize, cols: [bool; 5], theme: Theme) -> Line<'static> {
    let mut text = format!(" {} {}", fit("name", name), fit("status", WORD + 2));
    for (i, (h, _, _)) in COLUMNS.iter().enumerate().filter(|(i, _)| cols[*i]) {
        text.push(' ');
        text.push_str(&cell(i, h));
    }
    Line::styled(
        text,
        theme.bold().add_modifier(ratatui::style::Modifier::DIM),
    )
}

/// The first row index to show so that `selected` is visible in `height` rows.
pub fn scroll_offset(selected: usize, len: usize, height: usize, previous: usize) -> usize {
    if height == 0 {
        return 0;
    }
    let mut off = previous.min(len.saturating_sub(height));
    if selected < off {
        off = selected;
    } else if selected >= off + height {
        off = selected + 1 - height;
    }
    off
}

/// Draws the list into `area`; records where its rows are in `app.geometry`.
pub fn draw(
    f: &mut Frame,
    area: Rect,
    app: &mut App,
    snap: &Snapshot,
    title: &str,
    (clock, theme): (&Clock, Theme),
) {
    let focused = app.focus == Focus::List && !app.zoom;
    let block = theme
        .pane(focused)
        .title(format!(" {title} · sort: {} ", app.sort.label()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let name = name_width(snap);
    let cols = columns_that_fit(usize::from(inner.width), name);
    // With room for one line only, it is the selected row, not the header.
    let header = u16::from(inner.height > 1);
    let rows_area = Rect {
        y: inner.y + header,
        height: inner.height - header,
        ..inner
    };
    let len = snap.rows.len() + 1;
    let selected = app.index(snap);
    let height = usize::from(rows_area.height);
    let offset = scroll_offset(selected, len, height, app.geometry.list_offset);
    app.geometry.list_offset = offset;
    app.geometry.list_rows = Some(rows_area);
    let mut lines = Vec::with_capacity(height + 1);
    if header == 1 {
        lines.push(header_line(name, cols, theme));
    }
    for i in offset..len.min(offset + height) {
        let row = i.checked_sub(1).map(|j| &snap.rows[j]);
        let mut line = row_line(row, snap, app, name, cols, (clock, theme));
        if i == selected {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    put_lines(f.buffer_mut(), inner, &lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_stays_visible() {
        assert_eq!(scroll_offset(0, 10, 4, 0), 0);
        assert_eq!(scroll_offset(5, 10, 4, 0), 2);
        assert_eq!(scroll_offset(3, 10, 4, 2), 2);
        assert_eq!(scroll_offset(1, 10, 4, 2), 1);
        // A grown pane shows more from the top.
        assert_eq!(scroll_offset(9, 10, 10, 5), 0);
        assert_eq!(scroll_offset(3, 10, 0, 2), 0);
    }

    #[test]
    fn columns_are_dropped_from_the_least_important() {
        assert_eq!(columns_that_fit(200, 10), [true; 5]);
        // Uptime first, then exit.
        assert_eq!(
            columns_that_fit(10 + FIXED + 7, 10),
            [false, false, true, false, false]
        );
        assert_eq!(
            columns_that_fit(10 + FIXED + 7 + 8, 10),
            [false, false, true, false, true]
        );
        assert_eq!(columns_that_fit(10 + FIXED + 6, 10), [false; 5]);
        assert_eq!(fit("abcdef", 3), "abc");
        assert_eq!(fit("ab", 4), "ab  ");
    }
}
