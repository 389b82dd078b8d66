//! From a captured line to what the log pane shows: control sequences defused, colours kept
//! (SGR only), search matches highlighted, long lines wrapped.
//!
//! A script's output reaches the terminal only through ratatui cells, never as raw bytes: every
//! escape sequence except SGR (colours and attributes) is removed, tabs become spaces, and other
//! control characters are dropped, so no output can move the cursor, change the title, switch
//! screens or swallow the rest of the screen (an unterminated sequence ends with its line: lines
//! are at most 16 KiB, cut by the supervisor). Only the lines on screen go through here.

use std::ops::Range;

use ansi_to_tui::IntoText;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

pub use crate::safe::{plain, sanitize};

/// The first `limit` bytes of `text` (cut at a character boundary).
pub fn clip(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut i = limit;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    &text[..i]
}

/// One captured line as a styled [`Line`]: its SGR colours when `color`, else plain text.
pub fn styled(text: &str, color: bool) -> Line<'static> {
    if color && text.contains('\x1b') {
        let clean = sanitize(text, true);
        if let Ok(parsed) = clean.as_bytes().into_text() {
            let spans: Vec<Span<'static>> = parsed
                .lines
                .into_iter()
                .flat_map(|l| {
                    let base = l.style;
                    l.spans
                        .into_iter()
                        .map(move |s| Span::styled(s.content, base.patch(s.style)))
                })
                .collect();
            return Line::from(spans);
        }
    }
    Line::raw(plain(text).into_owned())
}

/// The text of `line` (its spans joined), which search ranges refer to.
pub fn content(line: &Line<'_>) -> String {
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

/// `line` with `style` patched onto the byte ranges `ranges` of its [`content`] (sorted,
/// non-overlapping), splitting spans where a range starts or ends inside one.
pub fn highlight(line: Line<'static>, ranges: &[Range<usize>], style: Style) -> Line<'static> {
    if ranges.is_empty() {
        return line;
    }
    let mut out: Vec<Span<'static>> = Vec::with_capacity(line.spans.len() + 2 * ranges.len());
    let mut at = 0usize; // byte offset of the current span in the content
    for span in line.spans {
        let text = span.content.as_ref();
        let end = at + text.len();
        let mut cut = 0usize; // bytes of this span already emitted
        for r in ranges.iter().filter(|r| r.start < end && r.end > at) {
            let s = r.start.max(at) - at;
            let e = r.end.min(end) - at;
            if s > cut {
                out.push(Span::styled(text[cut..s].to_owned(), span.style));
            }
            out.push(Span::styled(text[s..e].to_owned(), span.style.patch(style)));
            cut = e;
        }
        if cut == 0 {
            out.push(span);
        } else if cut < text.len() {
            out.push(Span::styled(text[cut..].to_owned(), span.style));
        }
        at = end;
    }
    Line::from(out).style(line.style)
}

/// Draws `lines` one per row from the top of `area`, each cut at its right edge; a line's own
/// style covers its whole row. (Cheaper than a `Paragraph`, which reflows every line.)
pub fn put_lines(
    buf: &mut ratatui::buffer::Buffer,
    area: ratatui::layout::Rect,
    lines: &[Line<'_>],
) {
    for (y, line) in (area.y..area.bottom()).zip(lines) {
        let row = ratatui::layout::Rect {
            y,
            height: 1,
            ..area
        };
        buf.set_style(row, line.style);
        buf.set_line(area.x, y, line, area.width);
    }
}

/// `line` cut into rows of at most `width` columns (at least one row, even when empty).
pub fn wrap(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut rows: Vec<Line<'static>> = Vec::new();
    let mut row: Vec<Span<'static>> = Vec::new();
    let mut used = 0usize;
    for span in line.spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width && used > 0 {
                if !piece.is_empty() {
                    row.push(Span::styled(std::mem::take(&mut piece), span.style));
                }
                rows.push(Line::from(std::mem::take(&mut row)));
                used = 0;
            }
            piece.push(c);
            used += w;
        }
        if !piece.is_empty() {
            row.push(Span::styled(piece, span.style));
        }
    }
    rows.push(Line::from(row));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Modifier};

    #[test]
    fn tabs_expand_the_same_with_or_without_colours() {
        assert_eq!(
            content(&styled("\x1b[1ma\x1b[0m\tb", true)),
            plain("\x1b[1ma\x1b[0m\tb")
        );
    }

    #[test]
    fn styled_lines_carry_the_colours_unless_disabled() {
        let l = styled("\x1b[31merror\x1b[0m: boom", true);
        assert_eq!(content(&l), "error: boom");
        assert_eq!(l.spans[0].style.fg, Some(Color::Red));
        let l = styled("\x1b[31merror\x1b[0m: boom", false);
        assert_eq!(content(&l), "error: boom");
        assert!(l.spans.iter().all(|s| s.style.fg.is_none()));
    }

    #[test]
    fn highlights_split_spans_at_match_edges() {
        let red = Style::default().fg(Color::Red);
        let line = Line::from(vec![Span::styled("error", red), Span::raw(": disk error")]);
        let hl = Style::default().add_modifier(Modifier::REVERSED);
        let out = highlight(line, &[1..3, 12..17], hl);
        let parts: Vec<(&str, bool)> = out
            .spans
            .iter()
            .map(|s| {
                (
                    s.content.as_ref(),
                    s.style.add_modifier.contains(Modifier::REVERSED),
                )
            })
            .collect();
        assert_eq!(
            parts,
            [
                ("e", false),
                ("rr", true),
                ("or", false),
                (": disk ", false),
                ("error", true)
            ]
        );
        assert_eq!(out.spans[1].style.fg, Some(Color::Red), "colour kept");
    }

    #[test]
    fn wrapping_cuts_by_columns() {
        let rows = wrap(Line::raw("abcdefg"), 3);
        let texts: Vec<String> = rows.iter().map(content).collect();
        assert_eq!(texts, ["abc", "def", "g"]);
        assert_eq!(wrap(Line::raw(""), 3).len(), 1);
        // Wide characters are two columns.
        let texts: Vec<String> = wrap(Line::raw("日本語"), 4).iter().map(content).collect();
        assert_eq!(texts, ["日本", "語"]);
        assert_eq!(clip("日本", 4), "日");
    }
}
