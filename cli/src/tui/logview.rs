//! The log pane's content, read straight from the processes' rings: which lines are visible,
//! scrolling, and search.
//!
//! Nothing is copied out of a ring ahead of time: a frame reads the visible lines (the last
//! `n` at or before the pane's bottom line) from each ring it shows and merges them by their
//! global sequence number, so a dropped event never loses a line on screen. While following,
//! the bottom is the newest line; a paused pane is anchored to the sequence number of its
//! bottom line, so output arriving meanwhile does not move it.

use std::sync::Arc;
use std::time::SystemTime;

use procsnap::{LogLine, LogView, Process};
use regex::Regex;

use super::text::plain;

/// One ring the pane shows, with the name and colour slot of its process.
#[derive(Clone, Copy, Debug)]
pub struct Src<'a> {
    pub ring: &'a LogView,
    pub name: &'a str,
    pub slot: usize,
}

/// One visible line and which [`Src`] it came from.
#[derive(Clone, Debug)]
pub struct VLine {
    pub seq: u64,
    pub at: SystemTime,
    pub text: Arc<str>,
    pub truncated: bool,
    pub src: usize,
}

impl VLine {
    fn new(l: LogLine, src: usize) -> VLine {
        VLine {
            seq: l.seq,
            at: l.at,
            text: l.text,
            truncated: l.truncated,
            src,
        }
    }
}

/// Where a pane is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pos {
    /// Showing the newest lines as they arrive.
    #[default]
    Follow,
    /// Anchored: the bottom line is `bottom`; `total` counted the lines when it paused.
    Paused { bottom: u64, total: u64 },
}

/// The rings of one pane: one process, or every process for the "all" entry.
#[derive(Clone, Debug, Default)]
pub struct Sources<'a> {
    pub srcs: Vec<Src<'a>>,
}

impl<'a> Sources<'a> {
    /// The rings of `procs`, each with its colour slot from `slot`.
    pub fn of(procs: &'a [Arc<Process>], slot: impl Fn(&str) -> usize) -> Sources<'a> {
        Sources {
            srcs: procs
                .iter()
                .map(|p| Src {
                    ring: p.logs(),
                    name: p.name(),
                    slot: slot(p.name()),
                })
                .collect(),
        }
    }

    /// Lines ever pushed to these rings (evicted ones included): the pane's line counter.
    pub fn total(&self) -> u64 {
        self.srcs
            .iter()
            .map(|s| s.ring.len() as u64 + s.ring.dropped_lines())
            .sum()
    }

    /// The last `n` lines numbered above `floor` and at most `bottom` (`None`: the newest),
    /// oldest first.
    pub fn window(&self, bottom: Option<u64>, n: usize, floor: u64) -> Vec<VLine> {
        if n == 0 {
            return Vec::new();
        }
        let Some(b) = bottom else {
            return self.tail(n, floor);
        };
        let mut lines: Vec<VLine> = Vec::new();
        for (i, s) in self.srcs.iter().enumerate() {
            let got = s.ring.search(n, |l| l.seq <= b);
            lines.extend(
                got.into_iter()
                    .filter(|l| l.seq > floor)
                    .map(|l| VLine::new(l, i)),
            );
        }
        newest(lines, n)
    }

    /// The newest `n` lines above `floor`. Rings are read newest first, and a ring whose
    /// newest line is older than the `n` lines gathered so far is not read at all: with many
    /// processes, only the few that spoke last are copied from.
    fn tail(&self, n: usize, floor: u64) -> Vec<VLine> {
        let mut order: Vec<(u64, usize)> = self
            .srcs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.ring.last_seq(), i))
            .filter(|&(last, _)| last > floor)
            .collect();
        order.sort_unstable_by_key(|&(last, _)| std::cmp::Reverse(last));
        let mut lines: Vec<VLine> = Vec::new();
        for (last, i) in order {
            if lines.len() >= n && last < lines[0].seq {
                break; // this ring and every later one are older than all we keep
            }
            let got = self.srcs[i].ring.tail(n);
            lines.extend(
                got.into_iter()
                    .filter(|l| l.seq > floor)
                    .map(|l| VLine::new(l, i)),
            );
            lines = newest(lines, n);
        }
        lines
    }

    /// The lines a pane of `n` rows shows at `pos` (above `floor`): the last `n` up to its
    /// bottom line. A paused pane whose lines were evicted from their ring meanwhile (a flood
    /// moves a 1 MiB ring on in a fraction of a second) shows the oldest lines still stored
    /// instead of going blank.
    pub fn page(&self, pos: Pos, n: usize, floor: u64) -> Vec<VLine> {
        match pos {
            Pos::Follow => self.window(None, n, floor),
            Pos::Paused { bottom, .. } => {
                let lines = self.window(Some(bottom), n, floor);
                if lines.last().map(|l| l.seq) == Some(bottom) {
                    lines
                } else {
                    self.after(floor, n)
                }
            }
        }
    }

    /// The first `n` lines numbered above `seq`, oldest first.
    pub fn after(&self, seq: u64, n: usize) -> Vec<VLine> {
        let mut lines: Vec<VLine> = Vec::new();
        for (i, s) in self.srcs.iter().enumerate() {
            lines.extend(
                s.ring
                    .since(seq)
                    .into_iter()
                    .take(n)
                    .map(|l| VLine::new(l, i)),
            );
        }
        lines.sort_unstable_by_key(|l| l.seq);
        lines.truncate(n);
        lines
    }

    /// The newest line numbered above `floor` and below `before` whose text matches `re`.
    pub fn find_older(&self, re: &Regex, before: u64, floor: u64) -> Option<u64> {
        self.srcs
            .iter()
            .filter_map(|s| {
                let hit = s.ring.search(1, |l| {
                    l.seq < before && l.seq > floor && re.is_match(&plain(&l.text))
                });
                hit.first().map(|l| l.seq)
            })
            .max()
    }

    /// The oldest line numbered above `after` whose text matches `re`.
    pub fn find_newer(&self, re: &Regex, after: u64) -> Option<u64> {
        self.srcs
            .iter()
            .filter_map(|s| {
                s.ring
                    .since(after)
                    .into_iter()
                    .find(|l| re.is_match(&plain(&l.text)))
                    .map(|l| l.seq)
            })
            .min()
    }

    /// The newest line's number, if any line is above `floor`.
    fn newest_seq(&self, floor: u64) -> Option<u64> {
        self.window(None, 1, floor).first().map(|l| l.seq)
    }

    /// `pos` after scrolling `k` lines up in a pane of `page` rows: pauses a following pane,
    /// and stops when the first line is at the top.
    pub fn scroll_up(&self, pos: Pos, k: usize, page: usize, floor: u64) -> Pos {
        let (bottom, total) = match pos {
            Pos::Follow => match self.newest_seq(floor) {
                Some(b) => (b, self.total()),
                None => return Pos::Follow,
            },
            Pos::Paused { bottom, total } => (bottom, total),
        };
        let page = page.max(1);
        let w = self.window(Some(bottom), page + k, floor);
        let new_bottom = if w.len() == page + k {
            w[page - 1].seq
        } else {
            // Fewer lines than that above: the first page.
            w[w.len().min(page) - 1].seq
        };
        Pos::Paused {
            bottom: new_bottom,
            total,
        }
    }

    /// `pos` after scrolling `k` lines down; reaching the newest line resumes following.
    pub fn scroll_down(&self, pos: Pos, k: usize) -> Pos {
        let Pos::Paused { bottom, total } = pos else {
            return Pos::Follow;
        };
        let next = self.after(bottom, k + 1);
        if next.len() <= k {
            return Pos::Follow;
        }
        Pos::Paused {
            bottom: next[k - 1].seq,
            total,
        }
    }

    /// The first page (`g` in the log pane).
    pub fn top(&self, page: usize, floor: u64) -> Pos {
        self.scroll_up(Pos::Follow, usize::MAX / 4, page, floor)
    }

    /// A paused position that shows line `seq` with about half a page below it.
    pub fn around(&self, seq: u64, page: usize) -> Pos {
        let below = self.after(seq, page / 2);
        Pos::Paused {
            bottom: below.last().map_or(seq, |l| l.seq),
            total: self.total(),
        }
    }
}

/// The `n` highest-numbered of `lines`, oldest first.
fn newest(mut lines: Vec<VLine>, n: usize) -> Vec<VLine> {
    if lines.len() > n {
        let cut = lines.len() - n;
        lines.select_nth_unstable_by_key(cut, |l| l.seq);
        lines.drain(..cut);
    }
    lines.sort_unstable_by_key(|l| l.seq);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use procsnap::{LogRing, Stream};

    fn ring(lines: &[&str]) -> LogRing {
        let r = LogRing::new(1 << 20);
        for l in lines {
            r.push_line(Stream::Stdout, l, false);
        }
        r
    }

    fn texts(v: &[VLine]) -> Vec<&str> {
        v.iter().map(|l| &*l.text).collect()
    }

    fn one(r: &LogRing) -> Sources<'_> {
        Sources {
            srcs: vec![Src {
                ring: r,
                name: "p",
                slot: 0,
            }],
        }
    }

    #[test]
    fn the_all_view_merges_rings_in_capture_order() {
        let a = LogRing::new(4096);
        let b = LogRing::new(4096);
        a.push_line(Stream::Stdout, "a1", false);
        b.push_line(Stream::Stdout, "b1", false);
        a.push_line(Stream::Stdout, "a2", false);
        b.push_line(Stream::Stdout, "b2", false);
        let s = Sources {
            srcs: vec![
                Src {
                    ring: &a,
                    name: "a",
                    slot: 0,
                },
                Src {
                    ring: &b,
                    name: "b",
                    slot: 1,
                },
            ],
        };
        assert_eq!(texts(&s.window(None, 3, 0)), ["b1", "a2", "b2"]);
        assert_eq!(s.window(None, 3, 0)[0].src, 1);
        assert_eq!(s.total(), 4);
        // Cleared up to a2: only b2 is left.
        let a2 = s.window(None, 2, 0)[0].seq;
        assert_eq!(texts(&s.window(None, 10, a2)), ["b2"]);
    }

    #[test]
    fn the_merged_tail_skips_only_rings_that_cannot_contribute() {
        let rings: Vec<LogRing> = (0..10).map(|_| LogRing::new(1 << 16)).collect();
        // Interleaved, uneven writers: ring i writes on steps divisible by i + 1.
        for step in 0..200usize {
            for (i, r) in rings.iter().enumerate() {
                if step % (i + 1) == 0 {
                    r.push_line(Stream::Stdout, &format!("{i}:{step}"), false);
                }
            }
        }
        let s = Sources {
            srcs: rings
                .iter()
                .map(|ring| Src {
                    ring,
                    name: "p",
                    slot: 0,
                })
                .collect(),
        };
        for (n, floor) in [(1, 0), (7, 0), (50, 0), (5000, 0), (30, 900)] {
            let mut all: Vec<u64> = rings
                .iter()
                .flat_map(|r| r.tail(usize::MAX))
                .map(|l| l.seq)
                .filter(|&q| q > floor)
                .collect();
            all.sort_unstable();
            let want = &all[all.len().saturating_sub(n)..];
            let got: Vec<u64> = s.window(None, n, floor).iter().map(|l| l.seq).collect();
            assert_eq!(got, want, "n {n}, floor {floor}");
        }
    }

    #[test]
    fn scrolling_pauses_anchors_and_resumes() {
        let names: Vec<String> = (0..20).map(|i| format!("l{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let r = ring(&refs);
        let s = one(&r);
        let pos = s.scroll_up(Pos::Follow, 3, 5, 0);
        let Pos::Paused { bottom, total } = pos else {
            panic!("scrolling up pauses")
        };
        assert_eq!(total, 20);
        assert_eq!(
            texts(&s.window(Some(bottom), 5, 0)),
            ["l12", "l13", "l14", "l15", "l16"]
        );
        // New output does not move a paused pane.
        r.push_line(Stream::Stdout, "l20", false);
        assert_eq!(&*s.window(Some(bottom), 1, 0)[0].text, "l16");
        // Up past the top stops at the first page.
        let Pos::Paused { bottom, .. } = s.scroll_up(pos, 100, 5, 0) else {
            panic!()
        };
        assert_eq!(
            texts(&s.window(Some(bottom), 5, 0)),
            ["l0", "l1", "l2", "l3", "l4"]
        );
        let top_bottom = bottom;
        assert!(matches!(s.top(5, 0), Pos::Paused { bottom: b, total: 21 } if b == top_bottom));
        // Down two, then down to the end: following again.
        let down = s.scroll_down(pos, 2);
        let Pos::Paused { bottom, .. } = down else {
            panic!()
        };
        assert_eq!(&*s.window(Some(bottom), 1, 0)[0].text, "l18");
        assert_eq!(s.scroll_down(down, 2), Pos::Follow);
        // An empty pane stays following.
        let empty = LogRing::new(4096);
        assert_eq!(one(&empty).scroll_up(Pos::Follow, 1, 5, 0), Pos::Follow);
    }

    #[test]
    fn a_paused_pane_whose_lines_were_evicted_shows_the_oldest_left() {
        let r = LogRing::new(5 * (procsnap::LINE_OVERHEAD + 2));
        for i in 0..5 {
            r.push_line(Stream::Stdout, &format!("a{i}"), false);
        }
        let s = one(&r);
        let pos = s.scroll_up(Pos::Follow, 2, 2, 0);
        assert_eq!(texts(&s.page(pos, 2, 0)), ["a1", "a2"]);
        // A flood evicts everything that was on screen.
        for i in 0..5 {
            r.push_line(Stream::Stdout, &format!("b{i}"), false);
        }
        assert!(
            s.window(
                Some(match pos {
                    Pos::Paused { bottom, .. } => bottom,
                    Pos::Follow => unreachable!(),
                }),
                2,
                0
            )
            .is_empty()
        );
        assert_eq!(texts(&s.page(pos, 2, 0)), ["b0", "b1"]);
        assert_eq!(texts(&s.page(Pos::Follow, 2, 0)), ["b3", "b4"]);
    }

    #[test]
    fn search_finds_older_and_newer_matches() {
        let r = ring(&["start", "error: a", "ok", "\x1b[31merror\x1b[0m: b", "ok"]);
        let s = one(&r);
        let re = Regex::new("^error").unwrap();
        let newest = s.find_older(&re, u64::MAX, 0).unwrap();
        assert_eq!(&*r.get(newest).unwrap().text, "\x1b[31merror\x1b[0m: b");
        let older = s.find_older(&re, newest, 0).unwrap();
        assert_eq!(&*r.get(older).unwrap().text, "error: a");
        assert_eq!(s.find_older(&re, older, 0), None);
        assert_eq!(s.find_newer(&re, older), Some(newest));
        assert_eq!(s.find_newer(&re, newest), None);
        // Cleared lines are not searched.
        assert_eq!(s.find_older(&re, newest, older), None);
        let Pos::Paused { bottom, .. } = s.around(older, 4) else {
            panic!()
        };
        assert_eq!(&*r.get(bottom).unwrap().text, "\x1b[31merror\x1b[0m: b");
    }
}
