//! [`LineSplitter`]: raw pipe bytes in, terminal-like lines out.

use std::borrow::Cow;

/// The default longest line a [`LineSplitter`] keeps whole: 16 KiB.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024;

/// Splits the bytes of one output stream into lines, across arbitrary read boundaries.
///
/// - Lines end at `\n`; a `\r` right before it (CRLF) is removed.
/// - A carriage return followed by more text on the same line (`"10%\r20%\r30%\n"`, a progress
///   bar) keeps only the text after the last `\r`, which is what a terminal shows: `"30%"`. A
///   `\r` with nothing after it before the `\n` (or end of file) erases nothing.
/// - A line longer than the maximum ([`DEFAULT_MAX_LINE`] unless set with
///   [`with_max_line`](LineSplitter::with_max_line)) is emitted once, cut to at most that many
///   bytes (never inside a UTF-8 character) with `truncated = true`; the rest of that line, up to
///   and including the next `\n`, is discarded (a `\r` in the discarded part starts nothing new).
///   So one line of input is never more than one emitted line, and a flood of one endless line
///   costs no memory beyond the maximum.
/// - Bytes that are not UTF-8 are replaced with U+FFFD (lossy conversion, three bytes for each
///   bad byte); a line that this makes longer than the maximum is cut again, with
///   `truncated = true`, so no emitted text is ever longer than the maximum.
/// - At end of file, [`finish`](LineSplitter::finish) emits the last line even if it has no `\n`.
///
/// Any split of the input into `push` calls (inside a line, between `\r` and `\n`, inside a UTF-8
/// character) gives the same lines as one `push` of the whole input.
///
/// ```
/// use procsnap::LineSplitter;
///
/// let mut lines = Vec::new();
/// let mut emit = |text: &str, truncated: bool| lines.push((text.to_owned(), truncated));
/// let mut split = LineSplitter::with_max_line(8);
/// split.push(b"one\r", &mut emit);
/// split.push(b"\ntwo: 10%\r", &mut emit);
/// split.push(b"99%\na very long line\nend", &mut emit);
/// split.finish(&mut emit);
/// assert_eq!(
///     lines,
///     [
///         ("one".to_owned(), false),
///         ("99%".to_owned(), false),
///         ("a very l".to_owned(), true),
///         ("end".to_owned(), false),
///     ]
/// );
/// ```
#[derive(Clone, Debug)]
pub struct LineSplitter {
    max_line: usize,
    /// The current line (only the part after its last `\r` that was followed by text).
    buf: Vec<u8>,
    /// A `\r` was seen; the current line is erased if more text follows before the `\n`.
    cr: bool,
    /// The current line was already emitted truncated; skip up to the next `\n`.
    discarding: bool,
}

impl Default for LineSplitter {
    fn default() -> LineSplitter {
        LineSplitter::new()
    }
}

impl LineSplitter {
    /// A splitter that keeps lines of up to [`DEFAULT_MAX_LINE`] bytes whole.
    ///
    /// ```
    /// assert_eq!(procsnap::LineSplitter::new().max_line(), procsnap::DEFAULT_MAX_LINE);
    /// ```
    pub fn new() -> LineSplitter {
        LineSplitter::with_max_line(DEFAULT_MAX_LINE)
    }

    /// A splitter that cuts lines longer than `max_line` bytes (at least 1).
    ///
    /// ```
    /// assert_eq!(procsnap::LineSplitter::with_max_line(80).max_line(), 80);
    /// ```
    pub fn with_max_line(max_line: usize) -> LineSplitter {
        LineSplitter {
            max_line: max_line.max(1),
            buf: Vec::new(),
            cr: false,
            discarding: false,
        }
    }

    /// The longest line, in bytes, emitted whole.
    ///
    /// ```
    /// assert_eq!(procsnap::LineSplitter::with_max_line(0).max_line(), 1);
    /// ```
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Feeds the next bytes read from the stream; calls `emit(text, truncated)` for each line
    /// they complete (text without its terminator).
    ///
    /// ```
    /// let mut split = procsnap::LineSplitter::new();
    /// let mut lines = Vec::new();
    /// split.push(b"a\r\nb", |t: &str, _| lines.push(t.to_owned()));
    /// assert_eq!(lines, ["a"]); // "b" waits for its newline or for finish()
    /// ```
    pub fn push(&mut self, bytes: &[u8], mut emit: impl FnMut(&str, bool)) {
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.text(&rest[..i], &mut emit);
            if rest[i] == b'\n' {
                self.end_line(&mut emit);
            } else {
                self.cr = true;
            }
            rest = &rest[i + 1..];
        }
        self.text(rest, &mut emit);
    }

    /// Ends the stream: emits the last line if it had no `\n`, and resets the splitter.
    ///
    /// ```
    /// let mut split = procsnap::LineSplitter::new();
    /// let mut lines = Vec::new();
    /// split.push(b"Server ready", |t: &str, _| lines.push(t.to_owned()));
    /// split.finish(|t: &str, _| lines.push(t.to_owned()));
    /// assert_eq!(lines, ["Server ready"]);
    /// ```
    pub fn finish(&mut self, mut emit: impl FnMut(&str, bool)) {
        if !self.discarding && !self.buf.is_empty() {
            self.emit(self.buf.len(), false, &mut emit);
        }
        self.buf.clear();
        self.cr = false;
        self.discarding = false;
    }

    /// Adds text that contains neither `\n` nor `\r` to the current line.
    fn text(&mut self, seg: &[u8], emit: &mut impl FnMut(&str, bool)) {
        if seg.is_empty() || self.discarding {
            return;
        }
        if self.cr {
            self.buf.clear();
            self.cr = false;
        }
        let room = self.max_line - self.buf.len();
        if seg.len() <= room {
            self.buf.extend_from_slice(seg);
            return;
        }
        self.buf.extend_from_slice(&seg[..room]);
        self.emit(complete_utf8_prefix(&self.buf), true, emit);
        self.buf.clear();
        self.discarding = true;
    }

    /// Emits the first `len` bytes of the line, lossily decoded and cut to the maximum.
    fn emit(&self, len: usize, truncated: bool, emit: &mut impl FnMut(&str, bool)) {
        let text: Cow<'_, str> = String::from_utf8_lossy(&self.buf[..len]);
        if text.len() <= self.max_line {
            emit(&text, truncated);
        } else {
            // Replacement characters made it longer: cut at a character boundary
            // (`floor_char_boundary` is newer than our MSRV).
            let mut end = self.max_line;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            emit(&text[..end], true);
        }
    }

    /// Handles a `\n`.
    fn end_line(&mut self, emit: &mut impl FnMut(&str, bool)) {
        if !self.discarding {
            self.emit(self.buf.len(), false, emit);
        }
        self.buf.clear();
        self.cr = false;
        self.discarding = false;
    }
}

/// The length of `b` without a UTF-8 character that is cut off at its end.
fn complete_utf8_prefix(b: &[u8]) -> usize {
    let n = b.len();
    for back in 1..=n.min(4) {
        let byte = b[n - back];
        if byte & 0xC0 != 0x80 {
            // Not a continuation byte: ASCII, a lead byte, or invalid.
            let needed = match byte {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if needed > back { n - back } else { n };
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    type Lines = Vec<(String, bool)>;

    fn split_chunks(max: usize, chunks: &[&[u8]]) -> Lines {
        let mut out = Vec::new();
        let mut s = LineSplitter::with_max_line(max);
        let mut emit = |t: &str, tr: bool| out.push((t.to_owned(), tr));
        for c in chunks {
            s.push(c, &mut emit);
        }
        s.finish(&mut emit);
        out
    }

    fn split(max: usize, input: &[u8]) -> Lines {
        split_chunks(max, &[input])
    }

    fn l(t: &str) -> (String, bool) {
        (t.to_owned(), false)
    }

    /// Same output whatever the push boundaries: every two-way split and byte by byte.
    fn assert_boundary_independent(max: usize, input: &[u8]) -> Lines {
        let whole = split(max, input);
        for i in 0..=input.len() {
            assert_eq!(
                split_chunks(max, &[&input[..i], &input[i..]]),
                whole,
                "split at {i}"
            );
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(split_chunks(max, &bytes), whole, "byte by byte");
        whole
    }

    #[test]
    fn splits_on_newline_and_strips_crlf() {
        let out = assert_boundary_independent(100, b"a\nbb\r\n\nccc\r\n");
        assert_eq!(out, [l("a"), l("bb"), l(""), l("ccc")]);
    }

    /// Each bad byte becomes a three-byte U+FFFD; the line is cut again to the maximum.
    #[test]
    fn replacement_characters_never_exceed_the_maximum() {
        let r = "\u{FFFD}";
        // Cut by bytes first (5 > 4), then by the decoded length (4 × 3 > 4).
        let out = assert_boundary_independent(4, b"\xff\xff\xff\xff\xff\nok\n");
        assert_eq!(out, [(r.to_owned(), true), l("ok")]);
        // Within the byte budget, over it once decoded; at end of file too.
        assert_eq!(split(4, b"\xff\xff\n"), [(r.to_owned(), true)]);
        assert_eq!(split(4, b"a\xff"), [(format!("a{r}"), false)]);
        assert_eq!(split(4, b"ab\xff"), [("ab".to_owned(), true)]);
        for (text, _) in split(16 * 1024, &[0xff; 40_000]) {
            assert!(text.len() <= 16 * 1024, "{}", text.len());
        }
    }

    #[test]
    fn crlf_split_between_pushes() {
        assert_eq!(
            split_chunks(100, &[b"abc\r", b"\ndef\r", b"\n"]),
            [l("abc"), l("def")]
        );
    }

    #[test]
    fn carriage_return_keeps_last_segment() {
        let out = assert_boundary_independent(100, b"10%\r20%\r30%\nnext\n");
        assert_eq!(out, [l("30%"), l("next")]);
        // A trailing \r (or \r\r) before the newline erases nothing.
        assert_eq!(split(100, b"done\r\r\n"), [l("done")]);
        assert_eq!(split(100, b"10%\r20%\r\n"), [l("20%")]);
    }

    #[test]
    fn progress_bar_without_newline_stays_bounded() {
        let mut s = LineSplitter::with_max_line(64);
        let mut out = Vec::new();
        for i in 0..100_000 {
            s.push(format!("{i}%\r").as_bytes(), |t: &str, tr| {
                out.push((t.to_owned(), tr))
            });
            assert!(s.buf.len() <= 64);
        }
        assert!(out.is_empty());
        s.finish(|t: &str, tr| out.push((t.to_owned(), tr)));
        assert_eq!(out, [l("99999%")]);
    }

    #[test]
    fn partial_last_line_kept_at_finish() {
        assert_eq!(
            assert_boundary_independent(100, b"a\nlast"),
            [l("a"), l("last")]
        );
        assert_eq!(split(100, b"a\n"), [l("a")]);
        assert_eq!(split(100, b""), Lines::new());
        assert_eq!(split(100, b"50%\r"), [l("50%")]);
    }

    #[test]
    fn overlong_line_truncated_once_rest_discarded() {
        let out = assert_boundary_independent(4, b"abcdefgh\r12\nxy\nabcd\nabcde");
        assert_eq!(
            out,
            [
                ("abcd".into(), true),
                l("xy"),
                l("abcd"),
                ("abcd".into(), true)
            ]
        );
    }

    #[test]
    fn truncation_never_splits_a_character() {
        // "é" is two bytes; a cut at 4 bytes would split the second one.
        let out = assert_boundary_independent(4, "aéé\nok\n".as_bytes());
        assert_eq!(out, [("aé".into(), true), l("ok")]);
        assert_eq!(complete_utf8_prefix("a€".as_bytes()), 4);
        assert_eq!(complete_utf8_prefix(&"a€".as_bytes()[..3]), 1);
        assert_eq!(complete_utf8_prefix(&[0xff, 0xff]), 2);
    }

    #[test]
    fn invalid_utf8_is_lossy_even_across_pushes() {
        let out = assert_boundary_independent(100, b"ok \xff\xfe\n\xe2\x82\xac\n");
        assert_eq!(out, [l("ok \u{fffd}\u{fffd}"), l("€")]);
    }

    #[test]
    fn splitter_is_reusable_after_finish() {
        let mut s = LineSplitter::with_max_line(2);
        let mut out = Vec::new();
        s.push(b"abc", |t: &str, tr| out.push((t.to_owned(), tr)));
        s.finish(|t: &str, tr| out.push((t.to_owned(), tr)));
        s.push(b"x\n", |t: &str, tr| out.push((t.to_owned(), tr)));
        assert_eq!(out, [("ab".into(), true), l("x")]);
    }
}
