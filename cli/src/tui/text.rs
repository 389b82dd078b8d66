//! From a captured line to what the log pane shows: control sequences defused, colours kept
//! (SGR only), search matches highlighted, long lines wrapped.
//!
//! A script's output reaches the terminal only through ratatui cells, never as raw bytes: every
//! escape sequence except SGR (colours and attributes) is removed, tabs become spaces, and other
//! control characters are dropped, so no output can move the cursor, change the title, switch
//! screens or swallow the rest of the screen (an unterminated sequence ends with its line: lines
//! are at most 16 KiB, cut by the supervisor). Only the lines on screen go through here.

use std::borrow::Cow;
use std::ops::Range;

use ansi_to_tui::IntoText;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Tab stops every 8 columns, as terminals have them.
const TAB: usize = 8;

/// True for a character that is never shown as is: C0 controls, DEL and C1 controls.
fn is_control(c: char) -> bool {
    c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// `text` with every control sequence removed, SGR sequences kept when `keep_sgr`, and tabs
/// expanded to spaces. Borrowed when there is nothing to change.
pub fn sanitize(text: &str, keep_sgr: bool) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut col = 0usize;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\x1b' => {
                let end = escape_end(text, i);
                let seq = &text[i..end];
                if keep_sgr && is_sgr(seq) {
                    out.push_str(seq);
                }
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
            }
            '\t' => {
                let n = TAB - col % TAB;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            c if is_control(c) => {}
            c => {
                out.push(c);
                col += c.width().unwrap_or(0);
            }
        }
    }
    Cow::Owned(out)
}

/// The text a user reads: [`sanitize`] without any SGR (what search matches against).
pub fn plain(text: &str) -> Cow<'_, str> {
    sanitize(text, false)
}

/// Where the escape sequence starting at byte `start` (an ESC) ends (exclusive). An
/// unterminated sequence runs to the end of the line.
fn escape_end(text: &str, start: usize) -> usize {
    let b = text.as_bytes();
    let Some(&kind) = b.get(start + 1) else {
        return b.len();
    };
    match kind {
        // CSI: parameters and intermediates, then one final byte 0x40..=0x7e.
        b'[' => b[start + 2..]
            .iter()
            .position(|x| (0x40..=0x7e).contains(x))
            .map_or(b.len(), |p| start + 2 + p + 1),
        // OSC, DCS, SOS, PM, APC: a string ended by BEL or ESC \.
        b']' | b'P' | b'X' | b'^' | b'_' => {
            let body = start + 2;
            let mut j = body;
            while j < b.len() {
                if b[j] == 0x07 {
                    return j + 1;
                }
                if b[j] == 0x1b && b.get(j + 1) == Some(&b'\\') {
                    return j + 2;
                }
                j += 1;
            }
            b.len()
        }
        // Two-byte sequences (ESC 7, ESC c, ...); a multi-byte char after ESC is kept.
        k if k.is_ascii() => start + 2,
        _ => start + 1,
    }
}

/// True for `ESC [ <digits ; :> m`.
fn is_sgr(seq: &str) -> bool {
    seq.len() >= 3
        && seq.starts_with("\x1b[")
        && seq.ends_with('m')
        && seq[2..seq.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b';' || b == b':')
}

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
    fn control_sequences_are_removed_and_colours_kept() {
        assert!(matches!(sanitize("plain text", true), Cow::Borrowed(_)));
        assert_eq!(sanitize("\x1b[31mred\x1b[0m", true), "\x1b[31mred\x1b[0m");
        assert_eq!(sanitize("\x1b[31mred\x1b[0m", false), "red");
        // Cursor moves, screen clears, titles, alternate screen: all gone.
        assert_eq!(
            sanitize("a\x1b[2J\x1b[Hb\x1b]0;title\x07c\x1b[?1049hd", true),
            "abcd"
        );
        assert_eq!(sanitize("x\x1b]8;;http://e\x1b\\link", true), "xlink");
        assert_eq!(
            sanitize("bell\x07 cr\r back\x08 del\x7f", true),
            "bell cr back del"
        );
        // An unterminated sequence ends with the line (no runaway state).
        assert_eq!(sanitize("ok\x1b]0;never ends", true), "ok");
        assert_eq!(sanitize("ok\x1b[12", true), "ok");
        assert_eq!(sanitize("ok\x1b", true), "ok");
    }

    #[test]
    fn tabs_go_to_the_next_stop_ignoring_colours() {
        assert_eq!(plain("a\tb"), "a       b");
        assert_eq!(plain("abcdefgh\tz"), "abcdefgh        z");
        assert_eq!(sanitize("\x1b[1ma\x1b[0m\tb", false), "a       b");
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
