//! Per-process output: a byte-bounded ring of lines and a splitter that turns pipe reads into lines.
//!
//! A [`LogRing`] keeps the most recent lines of one process within a fixed byte budget. Appending a
//! line and evicting the oldest are both O(1) (a `VecDeque`, never an O(n) shift — brummer's
//! defect e10). Each line carries a program-wide sequence number ([`LogLine::seq`]), taken from one
//! global counter, so a client can merge the output of many processes in order, and resume each
//! process's stream with [`LogView::since`] after the last number it saw **in that ring**. (One
//! cursor across rings would skip lines: after a reader has read ring A, a line can land in A
//! numbered below one it then reads from ring B.)
//!
//! A [`LineSplitter`] (one per stream of a process) cuts the raw bytes read from a pipe into lines
//! the way a terminal would show them: see its docs for `\r`, CRLF, over-long lines and the partial
//! last line at end of file.
//!
//! ```
//! use procsnap::{LineSplitter, LogRing, Stream};
//!
//! let ring = LogRing::new(64 * 1024);
//! let mut out = LineSplitter::new();
//! let mut emit = |text: &str, truncated: bool| {
//!     ring.push_line(Stream::Stdout, text, truncated);
//! };
//! out.push(b"compiling\n10%\r50%\r100%\ndone", &mut emit);
//! out.finish(&mut emit); // keeps "done", which has no newline
//! let texts: Vec<String> = ring.tail(10).iter().map(|l| l.text.to_string()).collect();
//! assert_eq!(texts, ["compiling", "100%", "done"]);
//! ```

mod ring;
mod splitter;

pub use ring::{LogRing, LogView};
pub use splitter::{DEFAULT_MAX_LINE, LineSplitter};

use std::sync::Arc;
use std::time::SystemTime;

/// Which output stream of a process a line came from.
///
/// ```
/// use procsnap::Stream;
/// assert!(Stream::Stderr.is_error());
/// assert_eq!(Stream::Stdout.as_str(), "stdout");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stream {
    /// The process's standard output.
    Stdout,
    /// The process's standard error.
    Stderr,
}

impl Stream {
    /// `"stdout"` or `"stderr"`.
    ///
    /// ```
    /// assert_eq!(procsnap::Stream::Stderr.as_str(), "stderr");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// True for [`Stream::Stderr`] (the `isError` flag of a log entry).
    ///
    /// ```
    /// assert!(!procsnap::Stream::Stdout.is_error());
    /// ```
    pub fn is_error(self) -> bool {
        self == Stream::Stderr
    }
}

/// One line of output, as stored in a [`LogRing`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogLine {
    /// Process-wide sequence number: unique across every ring of this process, strictly
    /// increasing within one ring. The first line ever pushed gets 1.
    pub seq: u64,
    /// When the line was pushed into the ring.
    pub at: SystemTime,
    /// The stream it came from.
    pub stream: Stream,
    /// The text, without its line terminator. Shared: copying a line out of the ring (which
    /// readers do under the ring's lock) is a reference-count increment, not an allocation.
    pub text: Arc<str>,
    /// True when the original line was longer than allowed and this is only its beginning.
    pub truncated: bool,
}

/// Bytes charged for each stored line on top of its text: the size of the [`LogLine`] itself
/// (its slot in the ring) and the two reference counts beside the text. Allocator overhead is
/// not counted.
pub const LINE_OVERHEAD: usize = std::mem::size_of::<LogLine>() + 2 * std::mem::size_of::<usize>();

#[cfg(test)]
mod tests;
