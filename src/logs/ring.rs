//! [`LogRing`], the writable ring, and [`LogView`], the read-only view of it that a
//! [`Process`](crate::Process) hands out.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use super::{LINE_OVERHEAD, LogLine, Stream};

/// How many lines [`LogView::search`] copies out per lock acquisition.
pub(super) const SEARCH_CHUNK: usize = 256;

/// The global line counter; 0 is never handed out, so `since(0)` means "everything".
static NEXT_SEQ: AtomicU64 = AtomicU64::new(1);

/// A byte-bounded ring of output lines, shared by one writer and any number of readers: a
/// [`LogView`] (every read) plus [`push`](LogRing::push) and [`push_line`](LogRing::push_line).
///
/// Every stored line costs `text.len() + `[`LINE_OVERHEAD`] bytes; [`bytes`](LogView::bytes) is
/// the sum and never exceeds [`max_bytes`](LogView::max_bytes). Pushing a line evicts the oldest
/// lines until the new one fits (O(1) each). A line that could not fit even in an empty ring is
/// cut at a character boundary so that it alone fills the ring, and is marked `truncated`.
///
/// The ring is a `Mutex` around a `VecDeque`; every method takes `&self`, so share it with an
/// `Arc`. Critical sections are short: a push is a few field updates, and reads copy out what
/// they return (a reference-count increment per line) and run no caller code under the lock.
///
/// Memory: the texts and the accounted slots stay within `max_bytes`; the `VecDeque`'s spare
/// capacity (it never shrinks) can add up to the slots of the most lines ever held at once.
///
/// ```
/// use procsnap::{LogRing, Stream, LINE_OVERHEAD};
///
/// let ring = LogRing::new(3 * (LINE_OVERHEAD + 5));
/// for word in ["alpha", "bravo", "charl", "delta"] {
///     ring.push_line(Stream::Stdout, word, false);
/// }
/// assert_eq!(ring.len(), 3); // "alpha" was evicted
/// assert_eq!(ring.dropped_lines(), 1);
/// assert!(ring.bytes() <= ring.max_bytes());
/// ```
///
/// What was evicted is counted ([`dropped_lines`](LogView::dropped_lines),
/// [`dropped_bytes`](LogView::dropped_bytes)), and the counts are read without the lock, so a
/// status listing can say, for every process, how much of its output is gone.
#[derive(Debug)]
pub struct LogRing {
    view: LogView,
}

/// The read side of a [`LogRing`]: what [`Process::logs`](crate::Process::logs) returns, so
/// that only the process's supervisor (or the owner of its [`Registry`](crate::Registry),
/// through [`Registry::push_line`](crate::Registry::push_line)) adds lines to it. A holder of
/// the view cannot forge a line:
///
/// ```compile_fail
/// use procsnap::{CommandSpec, Stream, Supervisor};
/// let sup = Supervisor::new().unwrap();
/// let p = sup.spawn("quiet", CommandSpec::new("true")).unwrap();
/// p.logs().push_line(Stream::Stdout, "forged", false);
/// ```
///
/// A `&LogRing` is a `&LogView` too (it derefs to one).
#[derive(Debug)]
pub struct LogView {
    max_bytes: usize,
    inner: Mutex<Inner>,
    /// Lines evicted so far; written under `inner`'s lock, read without it.
    dropped_lines: AtomicU64,
    /// Text bytes of those lines (their [`LINE_OVERHEAD`] not included).
    dropped_bytes: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    lines: VecDeque<LogLine>,
    bytes: usize,
}

impl LogRing {
    /// that an empty line always fits).
    ///
    /// ```
    /// let ring = procsnap::LogRing::new(1 << 20);
    /// assert!(ring.is_empty());
    /// assert_eq!(ring.max_bytes(), 1 << 20);
    /// ```
    pub fn new(max_bytes: usize) -> LogRing {
        LogRing {
            view: LogView {
                max_bytes: max_bytes.max(LINE_OVERHEAD),
                inner: Mutex::new(Inner::default()),
                dropped_lines: AtomicU64::new(0),
                dropped_bytes: AtomicU64::new(0),
            },
        }
    }

    /// Appends one line (its terminator already removed) and returns its sequence number.
    ///
    /// Evicts the oldest lines until the new one fits. Text longer than the whole ring allows is
    /// cut to fit and the line is marked `truncated`.
    ///
    /// ```
    /// use procsnap::{LogRing, Stream};
    /// let ring = LogRing::new(4096);
    /// let a = ring.push_line(Stream::Stdout, "listening on :3000", false);
    /// let b = ring.push_line(Stream::Stderr, "warning: slow", false);
    /// assert!(b > a);
    /// assert_eq!(ring.last_seq(), b);
    /// ```
    pub fn push_line(&self, stream: Stream, text: &str, truncated: bool) -> u64 {
        self.push(stream, text, truncated).seq
    }

    /// [`push_line`](Self::push_line), returning the line as stored (its text shared with the
    /// ring: a reference-count increment, no copy).
    ///
    /// ```
    /// use procsnap::{LogRing, Stream};
    /// let ring = LogRing::new(4096);
    /// let line = ring.push(Stream::Stderr, "boom", false);
    /// assert_eq!(ring.get(line.seq), Some(line));
    /// ```
    pub fn push(&self, stream: Stream, text: &str, truncated: bool) -> LogLine {
        // Built outside the lock: the allocation and the clock read need no exclusion.
        self.view.push(stream, text, truncated)
    }
}

impl Deref for LogRing {
    type Target = LogView;

    fn deref(&self) -> &LogView {
        &self.view
    }
}

impl LogView {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
    /// [`LogRing::push`], for the crate's own writers (the supervisor, a registry's owner).
    pub(crate) fn push(&self, stream: Stream, text: &str, truncated: bool) -> LogLine {
        // Built outside the lock: the allocation and the clock read need no exclusion.
        let (text, truncated) = self.fit(text, truncated);
        let at = SystemTime::now();
        self.store(&mut self.lock(), stream, at, text, truncated)
    }

    /// `text` as the ring stores it: shared, and cut at a character boundary (and marked
    /// truncated) if it could not fit even in an empty ring.
    pub(crate) fn fit(&self, text: &str, truncated: bool) -> (Arc<str>, bool) {
        let room = self.max_bytes - LINE_OVERHEAD;
        if text.len() > room {
            (text[..floor_char_boundary(text, room)].into(), true)
        } else {
            (text.into(), truncated)
        }
    }

    /// Appends lines of one stream that arrived together (one read of a pipe), each made by
    /// [`fit`](Self::fit), under one lock and with one timestamp; appends each line as stored
    /// to `stored`.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))] // the supervisor's
    pub(crate) fn push_fitted(
        &self,
        stream: Stream,
        at: SystemTime,
        lines: impl IntoIterator<Item = (Arc<str>, bool)>,
        stored: &mut Vec<LogLine>,
    ) {
        let mut inner = self.lock();
        for (text, truncated) in lines {
            stored.push(self.store(&mut inner, stream, at, text, truncated));
        }
    }

    /// Appends one fitted line under the lock, evicting the oldest until it fits.
    fn store(
        &self,
        inner: &mut Inner,
        stream: Stream,
        at: SystemTime,
        text: Arc<str>,
        truncated: bool,
    ) -> LogLine {
        let cost = text.len() + LINE_OVERHEAD;
        let (mut lines, mut bytes) = (0, 0);
        while inner.bytes + cost > self.max_bytes {
            let Some(old) = inner.lines.pop_front() else {
                break; // unreachable: cost <= max_bytes, so an empty ring always has room
            };
            inner.bytes -= old.text.len() + LINE_OVERHEAD;
            lines += 1;
            bytes += old.text.len() as u64;
        }
        if lines > 0 {
            // Relaxed: plain counters; the ring's lock orders the writers, and a reader only
            // needs some recent value (one that took the lock after us sees ours).
            self.dropped_lines.fetch_add(lines, Ordering::Relaxed);
            self.dropped_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        // Taken under the ring's lock, so numbers increase strictly in ring order. Relaxed: the
        // counter only has to hand out unique numbers; the mutex orders the ring itself.
        let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
        inner.bytes += cost;
        let line = LogLine {
            seq,
            at,
            stream,
            text,
            truncated,
        };
        inner.lines.push_back(line.clone());
        line
    }

    /// The last `n` lines, oldest first.
    ///
    /// ```
    /// use procsnap::{LogRing, Stream};
    /// let ring = LogRing::new(4096);
    /// for i in 0..5 {
    ///     ring.push_line(Stream::Stdout, &i.to_string(), false);
    /// }
    /// let last: Vec<_> = ring.tail(2).into_iter().map(|l| l.text).collect();
    /// assert_eq!(last, ["3".into(), "4".into()]);
    /// ```
    pub fn tail(&self, n: usize) -> Vec<LogLine> {
        let inner = self.lock();
        let start = inner.lines.len().saturating_sub(n);
        inner.lines.range(start..).cloned().collect()
    }

    /// Every stored line with a sequence number greater than `seq`, oldest first: pass the last
    /// number you saw in this ring to resume its stream. Numbers are program-wide, so gaps
    /// between them are normal (other rings took them); lines evicted meanwhile are gone, which
    /// [`dropped_lines`](LogView::dropped_lines) counts.
    ///
    /// ```
    /// use procsnap::{LogRing, Stream};
    /// let ring = LogRing::new(4096);
    /// let seen = ring.push_line(Stream::Stdout, "old", false);
    /// ring.push_line(Stream::Stdout, "new", false);
    /// let fresh = ring.since(seen);
    /// assert_eq!(fresh.len(), 1);
    /// assert_eq!(&*fresh[0].text, "new");
    /// assert_eq!(ring.since(0).len(), 2);
    /// ```
    pub fn since(&self, seq: u64) -> Vec<LogLine> {
        let inner = self.lock();
        let start = inner.lines.partition_point(|l| l.seq <= seq);
        inner.lines.range(start..).cloned().collect()
    }

    /// The last `n` lines numbered below `seq`, oldest first: `before(u64::MAX, n)` is
    /// [`tail(n)`](LogView::tail), and passing the oldest number each call returned walks the
    /// ring backwards a chunk at a time, holding the lock for one chunk only. Lines evicted
    /// between two calls are skipped (they are gone).
    ///
    /// ```
    /// use procsnap::{LogRing, Stream};
    /// let ring = LogRing::new(4096);
    /// for i in 0..5 {
    ///     ring.push_line(Stream::Stdout, &i.to_string(), false);
    /// }
    /// let newest = ring.before(u64::MAX, 2);
    /// let older = ring.before(newest[0].seq, 2);
    /// let texts: Vec<_> = older.iter().chain(&newest).map(|l| l.text.to_string()).collect();
    /// assert_eq!(texts, ["1", "2", "3", "4"]);
    /// assert_eq!(ring.before(ring.tail(5)[0].seq, 2).len(), 0);
    /// ```
    pub fn before(&self, seq: u64, n: usize) -> Vec<LogLine> {
        let inner = self.lock();
        let end = inner.lines.partition_point(|l| l.seq < seq);
        inner
            .lines
            .range(end.saturating_sub(n)..end)
            .cloned()
            .collect()
    }

    /// The stored line numbered `seq`, if it is still in the ring.
    ///
    /// ```
    /// use procsnap::{LogRing, Stream};
    /// let ring = LogRing::new(4096);
    /// let seq = ring.push_line(Stream::Stderr, "boom", false);
    /// assert_eq!(&*ring.get(seq).unwrap().text, "boom");
    /// assert!(ring.get(seq + 1000).is_none());
    /// ```
    pub fn get(&self, seq: u64) -> Option<LogLine> {
        let inner = self.lock();
        let i = inner.lines.partition_point(|l| l.seq < seq);
        inner.lines.get(i).filter(|l| l.seq == seq).cloned()
    }

    /// The last `limit` lines for which `matches` is true, oldest first.
    ///
    /// Scans from the newest line backwards and stops after `limit` matches. The lines are
    /// copied out a few hundred at a time (a reference-count increment each) and `matches` runs
    /// on the copies, without the ring's lock: a slow predicate never holds up the writer (a
    /// supervisor storing its process's output), and it may read this ring itself. Lines pushed
    /// after the call started are not considered; lines evicted while it runs may be missed.
    ///
    /// ```
    /// use procsnap::{LogRing, Stream};
    /// let ring = LogRing::new(4096);
    /// for msg in ["GET /a 200", "GET /b 500", "GET /c 200", "GET /d 500"] {
    ///     ring.push_line(Stream::Stdout, msg, false);
    /// }
    /// let errors = ring.search(10, |l| l.text.ends_with("500"));
    /// assert_eq!(errors.len(), 2);
    /// let last = ring.search(1, |l| l.text.ends_with("200"));
    /// assert_eq!(&*last[0].text, "GET /c 200");
    /// ```
    pub fn search(&self, limit: usize, mut matches: impl FnMut(&LogLine) -> bool) -> Vec<LogLine> {
        let mut found = Vec::new();
        let mut chunk = Vec::new();
        // Lines with seq < upper are still to be examined.
        let mut upper = u64::MAX;
        while found.len() < limit {
            let older_left = {
                let inner = self.lock();
                let end = inner.lines.partition_point(|l| l.seq < upper);
                let start = end.saturating_sub(SEARCH_CHUNK);
                chunk.extend(inner.lines.range(start..end).cloned());
                start > 0
            };
            if let Some(first) = chunk.first() {
                upper = first.seq;
            }
            for line in chunk.drain(..).rev() {
                if matches(&line) {
                    found.push(line);
                    if found.len() == limit {
                        break;
                    }
                }
            }
            if !older_left {
                break;
            }
        }
        found.reverse();
        found
    }

    /// How many lines are stored.
    ///
    /// ```
    /// let ring = procsnap::LogRing::new(4096);
    /// ring.push_line(procsnap::Stream::Stdout, "x", false);
    /// assert_eq!(ring.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().lines.len()
    }

    /// True when no line is stored.
    ///
    /// ```
    /// assert!(procsnap::LogRing::new(4096).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.lock().lines.is_empty()
    }

    /// Bytes charged for the stored lines: their text plus [`LINE_OVERHEAD`] each.
    ///
    /// ```
    /// use procsnap::{LogRing, Stream, LINE_OVERHEAD};
    /// let ring = LogRing::new(4096);
    /// ring.push_line(Stream::Stdout, "hello", false);
    /// assert_eq!(ring.bytes(), 5 + LINE_OVERHEAD);
    /// ```
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The bound that [`bytes`](LogView::bytes) never exceeds.
    ///
    /// ```
    /// assert_eq!(procsnap::LogRing::new(0).max_bytes(), procsnap::LINE_OVERHEAD);
    /// ```
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// How many lines were evicted to make room since the ring was created. Read without
    /// taking the ring's lock.
    ///
    /// ```
    /// use procsnap::{LogRing, Stream, LINE_OVERHEAD};
    /// let ring = LogRing::new(LINE_OVERHEAD + 1);
    /// ring.push_line(Stream::Stdout, "a", false);
    /// ring.push_line(Stream::Stdout, "b", false);
    /// assert_eq!(ring.dropped_lines(), 1);
    /// ```
    pub fn dropped_lines(&self) -> u64 {
        // Relaxed: see `push_line`.
        self.dropped_lines.load(Ordering::Relaxed)
    }

    /// The text bytes of the evicted lines (without their [`LINE_OVERHEAD`]): how much output
    /// is gone. Read without taking the ring's lock.
    ///
    /// ```
    /// use procsnap::{LogRing, Stream, LINE_OVERHEAD};
    /// let ring = LogRing::new(LINE_OVERHEAD + 5);
    /// ring.push_line(Stream::Stdout, "hello", false);
    /// ring.push_line(Stream::Stdout, "world", false);
    /// assert_eq!((ring.dropped_lines(), ring.dropped_bytes()), (1, 5));
    /// ```
    pub fn dropped_bytes(&self) -> u64 {
        // Relaxed: see `push_line`.
        self.dropped_bytes.load(Ordering::Relaxed)
    }

    /// The sequence number of the newest line, or 0 when the ring is empty.
    ///
    /// ```
    /// use procsnap::{LogRing, Stream};
    /// let ring = LogRing::new(4096);
    /// assert_eq!(ring.last_seq(), 0);
    /// let seq = ring.push_line(Stream::Stdout, "x", false);
    /// assert_eq!(ring.last_seq(), seq);
    /// ```
    pub fn last_seq(&self) -> u64 {
        self.lock().lines.back().map_or(0, |l| l.seq)
    }
}

/// The largest char boundary of `s` not above `i` (`str::floor_char_boundary` is newer than our MSRV).
fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
