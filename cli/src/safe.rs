//! Text that comes from outside — script and process names, commands, the project directory's
//! name, a client's strings, the scripts' output — made safe to show.
//!
//! A cloned repository chooses its script names: `"x\u001b]0;PWN\u0007y"` written raw to a
//! terminal sets its title, `"c\u001b[2Jd"` clears the screen, `"a\nb"` forges a line. The
//! rules, one place for every face (`list`, `run`, `up`, the terminal UI, error messages):
//!
//! - **Names, commands, messages** go through [`escape`]: every control character (C0, DEL,
//!   C1) and every bidirectional-text control (which can make text read in another order than
//!   it runs) is shown escaped: `\n`, `\r`, `\t`, the other ASCII controls and DEL as `\x1b`,
//!   `\x07`, `\x7f`, the others as `\u{9b}`, `\u{202e}`. So `"x\u001b]0;PWN\u0007y"` shows as
//!   `x\x1b]0;PWN\x07y`. Everything else, a backslash included, is shown as is. A name never
//!   moves the cursor, never changes the terminal's state, never spans two lines, and the
//!   escape sequence it carries can be read.
//! - **A script's output in the terminal UI** goes through [`sanitize`]: escape sequences are
//!   removed (colours, `ESC [ … m`, kept when asked for), tabs become spaces, other control
//!   characters are dropped, since output is shown for its text. (`run` and `up` pass output
//!   through untouched: it is the script's own terminal output, as in a shell.)
//! - **A client's string echoed in an error** is cut by [`clip`] to [`CLIP_CHARS`] characters.
//!
//! A leaf module: it uses nothing else of this crate, so any module may use it.

use std::borrow::Cow;

/// How many characters of a client-supplied string an error message echoes.
pub const CLIP_CHARS: usize = 200;

/// Tab stops every 8 columns, as terminals have them.
const TAB: usize = 8;

/// True for a character that is never shown as is: C0 controls, DEL and C1 controls.
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// True for the Unicode controls that reorder how text is displayed (the "Trojan Source"
/// characters: embeddings, overrides, isolates, marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn needs_escape(c: char) -> bool {
    is_control(c) || is_bidi_control(c)
}

/// `text` safe for a terminal: every control character and bidirectional control shown
/// escaped (`\n`, `\r`, `\t`; other ASCII controls and DEL as `\x1b`; the rest as `\u{9b}`,
/// `\u{202e}`), everything else as is. Borrowed when there is nothing to escape.
///
/// ```
/// use procsnap_cli::safe::escape;
/// assert_eq!(escape("dev"), "dev");
/// assert_eq!(escape("a\nb"), r"a\nb");
/// assert_eq!(escape("x\u{1b}]0;PWN\u{7}y"), r"x\x1b]0;PWN\x07y");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    use std::fmt::Write;
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` cut to its first [`CLIP_CHARS`] characters, with `…` appended when it was cut: for
/// echoing client input in error messages, so a 15 MB name does not come back whole. Cuts on
/// a character boundary; borrows when nothing is cut.
///
/// ```
/// use procsnap_cli::safe::{CLIP_CHARS, clip};
/// assert_eq!(clip("dev"), "dev");
/// assert_eq!(clip(&"x".repeat(1000)).chars().count(), CLIP_CHARS + 1);
/// ```
pub fn clip(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(CLIP_CHARS) {
        None => Cow::Borrowed(text),
        Some((at, _)) => Cow::Owned(format!("{}…", &text[..at])),
    }
}

/// A line of a script's output as the terminal UI shows it: every escape sequence removed
/// (SGR sequences — colours and attributes — kept when `keep_sgr`), tabs expanded to spaces,
/// other control characters dropped. An unterminated sequence runs to the end of the line.
/// Borrowed when there is nothing to change.
///
/// ```
/// use procsnap_cli::safe::sanitize;
/// assert_eq!(sanitize("a\x1b[2Jb\x1b[31mc", true), "ab\x1b[31mc");
/// assert_eq!(sanitize("a\x1b[2Jb\x1b[31mc", false), "abc");
/// ```
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
                col += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            }
        }
    }
    Cow::Owned(out)
}

/// The text a user reads: [`sanitize`] without any SGR (what a search matches against).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of issue 17's hostile package.json: shown escaped, on one line, with no
    /// control byte left.
    #[test]
    fn hostile_names_are_shown_escaped() {
        assert!(matches!(escape("dev:watch"), Cow::Borrowed(_)));
        assert_eq!(escape("a\nb"), r"a\nb");
        assert_eq!(escape("x\u{1b}]0;PWN\u{7}y"), r"x\x1b]0;PWN\x07y");
        assert_eq!(escape("c\u{1b}[2Jd"), r"c\x1b[2Jd");
        assert_eq!(escape("tab\there\r\0"), r"tab\there\r\x00");
        // DEL and C1 (a one-character CSI in some terminals).
        assert_eq!(escape("\u{7f}\u{9b}2J"), r"\x7f\u{9b}2J");
        // Bidirectional overrides and isolates.
        assert_eq!(escape("ab\u{202e}cd\u{2066}"), r"ab\u{202e}cd\u{2066}");
        // Everything else is kept: backslashes, quotes, wide and combining characters.
        assert_eq!(escape(r#"a\b "q" 日本 é"#), r#"a\b "q" 日本 é"#);
        for name in ["a\nb", "x\u{1b}]0;PWN\u{7}y", "c\u{1b}[2Jd", "\u{9b}"] {
            assert!(!escape(name).chars().any(needs_escape), "{name:?}");
        }
    }

    /// Escaping is idempotent (an escaped name has nothing left to escape), so a face that
    /// escapes a name it hands to another (a prefix) shows it once, not twice.
    #[test]
    fn escaping_twice_is_escaping_once() {
        for name in ["a\nb", "x\u{1b}]0;PWN\u{7}y", "\u{202e}x", "a\\b"] {
            let once = escape(name).into_owned();
            assert_eq!(escape(&once), once);
        }
    }

    #[test]
    fn clip_cuts_long_text_on_a_char_boundary() {
        assert!(matches!(clip("dev"), Cow::Borrowed("dev")));
        let exact = "x".repeat(CLIP_CHARS);
        assert!(matches!(clip(&exact), Cow::Borrowed(_)));
        let long = "é".repeat(CLIP_CHARS + 1);
        let c = clip(&long);
        assert_eq!(c.chars().count(), CLIP_CHARS + 1);
        assert_eq!(c, format!("{}…", "é".repeat(CLIP_CHARS)));
    }

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
    }
}
