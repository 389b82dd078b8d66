//! The log pane: the selected process's lines (or every process's, prefixed, under "all"),
//! following or paused, wrapped or cut, with timestamps and search matches. Only the lines on
//! screen are read from the rings and styled.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::app::{App, Focus, Sel};
use super::clock::Clock;
use super::logview::{Pos, Sources, VLine};
use super::rows::Snapshot;
use super::text::{clip, content, highlight, put_lines, styled, wrap};
use super::theme::{Theme, status_mark};
use crate::safe::escape;

/// Bytes of a line styled when lines are cut at the pane's edge (a line is at most 16 KiB).
const CUT_BYTES: usize = 4096;

/// The title: which pane, its process and status, and for a configured process why it
/// waits, is not ready, ended or gave up (the words `up` and MCP show).
fn title(app: &App, snap: &Snapshot) -> String {
    let Some(r) = app.row(snap) else {
        return " all ".to_owned();
    };
    let mut t = match &r.proc {
        None => format!(" {} · {} ", escape(&r.name), status_mark(None).1),
        Some(p) => format!(
            " {} · {} · {} ",
            escape(&r.name),
            escape(&p.process.label()),
            status_mark(Some(p.state.status)).1
        ),
    };
    if let Some(why) = snap.marks.get(&r.name).and_then(|m| m.reason.as_deref()) {
        // Its words may carry a command's name: shown escaped, as every name is.
        t.push_str(&format!("· {} ", escape(why)));
    }
    t
}

/// The right-hand title: follow or paused, and the toggles that are on.
fn flags(app: &App, src: &Sources<'_>) -> String {
    let mut out = match app.view().pos {
        Pos::Follow => "follow".to_owned(),
        Pos::Paused { total, .. } => {
            let new = src.total().saturating_sub(total);
            format!("paused · {new} new · End/F follows")
        }
    };
    for (on, word) in [(app.wrap, "wrap"), (app.timestamps, "time")] {
        if on {
            out.push_str(" · ");
            out.push_str(word);
        }
    }
    format!(" {out} ")
}

/// What an empty pane says.
fn empty_hint(app: &App, snap: &Snapshot) -> &'static str {
    if app.view().cleared {
        return "cleared (c): new output shows here";
    }
    match app.row(snap) {
        None if snap.rows.is_empty() => {
            "no package.json scripts or Procfile here: procsnap tui NAME=COMMAND runs one"
        }
        None => "no output yet: select a script and press r to start it",
        Some(r) if r.proc.is_none() => "not started: r starts it",
        Some(_) => "no output yet",
    }
}

/// The styled rows for `lines`, at most `rows` of them (the last ones), `width` columns wide.
fn render_lines(
    lines: &[VLine],
    src: &Sources<'_>,
    app: &App,
    (rows, width): (usize, usize),
    (clock, theme): (&Clock, Theme),
) -> Vec<Line<'static>> {
    let all = app.selected == Sel::All;
    let name_w = src
        .srcs
        .iter()
        .map(|s| escape(s.name).width())
        .max()
        .unwrap_or(0)
        .min(24);
    let limit = if app.wrap {
        usize::MAX
    } else {
        CUT_BYTES.max(width * 8)
    };
    let mut out: Vec<Line<'static>> = Vec::with_capacity(rows);
    for l in lines {
        let mut line = styled(clip(&l.text, limit), theme.color);
        if let Some(search) = &app.search {
            let text = content(&line);
            let ranges: Vec<_> = search.re.find_iter(&text).map(|m| m.range()).collect();
            let current = search.current == Some(l.seq);
            line = highlight(line, &ranges, theme.found(current));
        }
        let mut spans = Vec::with_capacity(line.spans.len() + 3);
        if app.timestamps {
            spans.push(Span::styled(
                format!("{} ", clock.hms_millis(l.at)),
                theme.dim(),
            ));
        }
        if all {
            let s = &src.srcs[l.src];
            let name = escape(s.name);
            let pad = name_w.saturating_sub(name.width());
            spans.push(Span::styled(
                format!("{name}{:pad$} | ", ""),
                theme.prefix(s.slot),
            ));
        }
        spans.extend(line.spans);
        if l.truncated {
            spans.push(Span::styled(" [line truncated]", theme.dim()));
        }
        let line = Line::from(spans);
        if app.wrap {
            out.extend(wrap(line, width));
        } else {
            out.push(line);
        }
    }
    let skip = out.len().saturating_sub(rows);
    out.drain(..skip);
    out
}

/// Draws the log pane of the selected row into `area`.
pub fn draw(
    f: &mut Frame,
    area: Rect,
    app: &mut App,
    snap: &Snapshot,
    src: &Sources<'_>,
    (clock, theme): (&Clock, Theme),
) {
    let focused = app.focus == Focus::Log || app.zoom;
    let mut block = theme
        .pane(focused)
        .title(title(app, snap))
        .title_top(Line::from(flags(app, src)).right_aligned());
    if let Some(s) = &app.search {
        block = block.title_bottom(Line::from(format!(
            " /{}/ · n older · N newer ",
            escape(&s.pattern)
        )));
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    let (rows, width) = (usize::from(inner.height), usize::from(inner.width));
    app.geometry.log = area;
    app.geometry.log_rows = rows;
    let view = app.view();
    let lines = src.page(view.pos, rows, view.floor);
    if lines.is_empty() {
        let hint = Line::styled(empty_hint(app, snap), theme.dim());
        f.render_widget(Paragraph::new(hint), inner);
        return;
    }
    let shown = render_lines(&lines, src, app, (rows, width), (clock, theme));
    put_lines(f.buffer_mut(), inner, &shown);
}
