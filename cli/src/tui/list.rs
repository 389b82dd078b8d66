//! The process list pane: a header and one row per entry, with the columns that fit.

use procsnap::Status;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::app::{App, Focus};
use super::clock::{Clock, uptime};
use super::rows::{Row, Snapshot};
use super::theme::{Theme, status_mark};
use crate::style::signal_name;

/// Optional columns, most important first; each is `(header, width)` and is dropped, from the
/// last, when the pane is too narrow.
const COLUMNS: [(&str, usize); 5] = [
    ("uptime", 6),
    ("exit", 7),
    ("pid", 7),
    ("↻", 3),
    ("started", 8),
];

/// The marker column, the status column (icon, space, word) and their separators.
const FIXED: usize = 1 + 1 + 10;

/// The widest name shown (longer names are cut).
const MAX_NAME: usize = 24;

/// The name column's width for these rows.
pub fn name_width(snap: &Snapshot) -> usize {
    snap.rows
        .iter()
        .map(|r| r.name.width())
        .max()
        .unwrap_or(0)
        .clamp(4, MAX_NAME)
}

/// How wide the list wants to be with every column.
pub fn wanted_width(snap: &Snapshot) -> usize {
    name_width(snap) + FIXED + COLUMNS.iter().map(|(_, w)| w + 1).sum::<usize>() + 2
}

/// How many optional columns fit in `inner` columns.
fn columns_that_fit(inner: usize, name: usize) -> usize {
    let mut used = name + FIXED;
    let mut n = 0;
    for (_, w) in COLUMNS {
        if used + w + 1 > inner {
            break;
        }
        used += w + 1;
        n += 1;
    }
    n
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

fn optional_cells(row: &Row, clock: &Clock) -> [String; 5] {
    let Some(p) = &row.proc else {
        return Default::default();
    };
    let s = &p.state;
    let exit = match (s.status, s.exit) {
        (_, Some(e)) => match (e.code, e.signal) {
            (Some(c), _) => c.to_string(),
            (None, Some(sig)) => signal_name(sig),
            (None, None) => "?".into(),
        },
        (Status::Failed, None) => "spawn".into(),
        _ => String::new(),
    };
    [
        s.duration_at(clock.now).map(uptime).unwrap_or_default(),
        exit,
        s.pid.map(|p| p.to_string()).unwrap_or_default(),
        if s.restarts > 0 {
            format!("↻{}", s.restarts)
        } else {
            String::new()
        },
        s.started_at.map(|t| clock.hms(t)).unwrap_or_default(),
    ]
}

/// One line of the list.
fn row_line(
    row: Option<&Row>,
    snap: &Snapshot,
    app: &App,
    name: usize,
    cols: usize,
    (clock, theme): (&Clock, Theme),
) -> Line<'static> {
    let (label, status, marked, cells) = match row {
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
    let (icon, word) = status_mark(status);
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
        Span::raw(fit(label, name)),
        Span::raw(" "),
        Span::styled(format!("{icon} {}", fit(&word, 8)), theme.status(status)),
    ];
    for (i, cell) in cells.iter().enumerate().take(cols) {
        let w = COLUMNS[i].1;
        let text = if i == 1 || i == 3 {
            fit(cell, w)
        } else {
            format!("{cell:>w$}")
        };
        spans.push(Span::raw(" "));
        spans.push(Span::raw(text));
    }
    Line::from(spans)
}

fn header(name: usize, cols: usize, theme: Theme) -> Line<'static> {
    let mut text = format!(" {} {}", fit("name", name), fit("status", 10));
    for (i, (h, w)) in COLUMNS.iter().enumerate().take(cols) {
        let cell = if i == 1 || i == 3 {
            fit(h, *w)
        } else {
            format!("{h:>w$}")
        };
        text.push(' ');
        text.push_str(&cell);
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
    let block = Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            theme.focused()
        } else {
            theme.dim()
        })
        .title(format!(" {title} · sort: {} ", app.sort.label()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let name = name_width(snap);
    let cols = columns_that_fit(usize::from(inner.width), name);
    let rows_area = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    let len = snap.rows.len() + 1;
    let selected = app.index(snap);
    let height = usize::from(rows_area.height);
    let offset = scroll_offset(selected, len, height, app.geometry.list_offset);
    app.geometry.list_offset = offset;
    app.geometry.list_rows = Some(rows_area);
    let mut lines = vec![header(name, cols, theme)];
    for i in offset..len.min(offset + height) {
        let row = i.checked_sub(1).map(|j| &snap.rows[j]);
        let mut line = row_line(row, snap, app, name, cols, (clock, theme));
        if i == selected {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
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
        assert_eq!(columns_that_fit(200, 10), 5);
        assert_eq!(columns_that_fit(10 + FIXED + 7, 10), 1);
        assert_eq!(columns_that_fit(10 + FIXED + 6, 10), 0);
        assert_eq!(fit("abcdef", 3), "abc");
        assert_eq!(fit("ab", 4), "ab  ");
    }
}
