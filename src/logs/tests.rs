use super::*;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::ring::SEARCH_CHUNK;

/// A small deterministic PRNG (xorshift64*), so the tests need no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn texts(lines: &[LogLine]) -> Vec<&str> {
    lines.iter().map(|l| &*l.text).collect()
}

fn assert_strictly_increasing(lines: &[LogLine]) {
    for w in lines.windows(2) {
        assert!(w[0].seq < w[1].seq, "{} then {}", w[0].seq, w[1].seq);
    }
}

#[test]
fn accounting_counts_text_plus_overhead() {
    let ring = LogRing::new(10_000);
    ring.push_line(Stream::Stdout, "abc", false);
    ring.push_line(Stream::Stderr, "", false);
    assert_eq!(ring.len(), 2);
    assert_eq!(ring.bytes(), 3 + 2 * LINE_OVERHEAD);
    let lines = ring.tail(2);
    assert_eq!(lines[1].stream, Stream::Stderr);
    assert!(!lines[0].truncated);
}

#[test]
fn eviction_keeps_bytes_within_bound_for_random_sizes() {
    let max = 8 * 1024;
    let ring = LogRing::new(max);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut pushed = Vec::new();
    let mut pushed_text = 0;
    for _ in 0..20_000 {
        let len = match rng.below(10) {
            0 => rng.below(3 * max), // sometimes longer than the whole ring
            1..=3 => 0,
            _ => rng.below(300),
        };
        let text = "x".repeat(len);
        let seq = ring.push_line(Stream::Stdout, &text, false);
        pushed.push(seq);
        pushed_text += len.min(max - LINE_OVERHEAD);
        let bytes = ring.bytes();
        assert!(bytes <= max, "{bytes} > {max}");
        // The stored lines are exactly the newest ones pushed, and the accounting is exact.
        let all = ring.tail(usize::MAX);
        let cost: usize = all.iter().map(|l| l.text.len() + LINE_OVERHEAD).sum();
        assert_eq!(cost, bytes);
        let seqs: Vec<u64> = all.iter().map(|l| l.seq).collect();
        assert_eq!(seqs, pushed[pushed.len() - all.len()..]);
        assert_eq!(ring.dropped_lines() as usize + all.len(), pushed.len());
        let kept_text: usize = all.iter().map(|l| l.text.len()).sum();
        assert_eq!(ring.dropped_bytes() as usize + kept_text, pushed_text);
    }
}

#[test]
fn before_walks_the_ring_backwards_in_chunks() {
    let ring = LogRing::new(64 * 1024);
    for i in 0..100 {
        ring.push_line(Stream::Stdout, &i.to_string(), false);
    }
    let mut walked = Vec::new();
    let mut upper = u64::MAX;
    loop {
        let chunk = ring.before(upper, 7);
        let Some(first) = chunk.first() else { break };
        upper = first.seq;
        walked.splice(0..0, chunk);
    }
    assert_eq!(walked, ring.tail(usize::MAX));
    assert_eq!(walked.len(), 100);
    assert!(ring.before(u64::MAX, 0).is_empty());
}

#[test]
fn line_larger_than_ring_is_cut_to_fill_it_alone() {
    let max = LINE_OVERHEAD + 10;
    let ring = LogRing::new(max);
    ring.push_line(Stream::Stdout, "a", false);
    ring.push_line(Stream::Stdout, &"y".repeat(1000), false);
    let lines = ring.tail(10);
    assert_eq!(texts(&lines), ["y".repeat(10)]);
    assert!(lines[0].truncated);
    assert_eq!(ring.bytes(), max);
    assert_eq!(ring.dropped_lines(), 1);
    // The cut never splits a character: "é" is 2 bytes, 10 is not reached exactly.
    ring.push_line(
        Stream::Stdout,
        &"é".repeat(100).replacen('é', "a", 1),
        false,
    );
    let line = &ring.tail(1)[0];
    assert_eq!(&*line.text, "aéééé");
    assert!(line.truncated && ring.bytes() <= max);
}

#[test]
fn tiny_bound_is_raised_to_fit_an_empty_line() {
    let ring = LogRing::new(1);
    ring.push_line(Stream::Stdout, "", false);
    ring.push_line(Stream::Stdout, "hello", false);
    assert_eq!(ring.len(), 1);
    let line = &ring.tail(1)[0];
    assert_eq!((&*line.text, line.truncated), ("", true));
    assert!(ring.bytes() <= ring.max_bytes());
}

#[test]
fn seq_is_global_across_rings_and_increasing_within_one() {
    let a = LogRing::new(1 << 16);
    let b = LogRing::new(1 << 16);
    let mut all = Vec::new();
    for i in 0..100 {
        all.push(a.push_line(Stream::Stdout, "a", false));
        if i % 3 == 0 {
            all.push(b.push_line(Stream::Stderr, "b", false));
        }
    }
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert_strictly_increasing(&a.tail(1000));
    assert_strictly_increasing(&b.tail(1000));
    assert_eq!(b.last_seq(), all[all.len() - 1]);
    assert_eq!(a.last_seq(), all[all.len() - 2]);
}

#[test]
fn concurrent_writers_to_one_ring_keep_seq_order() {
    let ring = Arc::new(LogRing::new(1 << 20));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                for i in 0..2_000 {
                    ring.push_line(Stream::Stdout, &format!("{t}:{i}"), false);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let lines = ring.tail(usize::MAX);
    assert_eq!(lines.len(), 8_000);
    assert_strictly_increasing(&lines);
}

#[test]
fn tail_returns_last_n_oldest_first() {
    let ring = LogRing::new(1 << 16);
    assert!(ring.tail(5).is_empty());
    for i in 0..10 {
        ring.push_line(Stream::Stdout, &i.to_string(), false);
    }
    assert_eq!(texts(&ring.tail(3)), ["7", "8", "9"]);
    assert!(ring.tail(0).is_empty());
    assert_eq!(ring.tail(100).len(), 10);
}

#[test]
fn since_resumes_after_a_seq() {
    let ring = LogRing::new(5 * (LINE_OVERHEAD + 1));
    assert!(ring.since(0).is_empty());
    let seqs: Vec<u64> = (0..3)
        .map(|i| ring.push_line(Stream::Stdout, &i.to_string(), false))
        .collect();
    assert_eq!(texts(&ring.since(0)), ["0", "1", "2"]);
    assert_eq!(texts(&ring.since(seqs[0])), ["1", "2"]);
    assert!(ring.since(seqs[2]).is_empty());
    assert!(ring.since(u64::MAX).is_empty());
    // A seq between two of ours (taken by another ring) works too.
    LogRing::new(100).push_line(Stream::Stdout, "elsewhere", false);
    let next = ring.push_line(Stream::Stdout, "3", false);
    assert_eq!(ring.since(next - 1).len(), 1);
    // After eviction, since() of an evicted seq returns what is left.
    for i in 4..10 {
        ring.push_line(Stream::Stdout, &i.to_string(), false);
    }
    assert_eq!(texts(&ring.since(seqs[0])), ["5", "6", "7", "8", "9"]);
    assert_eq!(ring.get(seqs[0]), None);
}

#[test]
fn search_keeps_last_matches_across_chunks() {
    let ring = LogRing::new(1 << 20);
    for i in 0..1_000 {
        let stream = if i % 7 == 0 {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        ring.push_line(stream, &format!("line {i}"), false);
    }
    let errs = ring.search(usize::MAX, |l| l.stream.is_error());
    let expected: Vec<String> = (0..1_000).step_by(7).map(|i| format!("line {i}")).collect();
    assert_eq!(texts(&errs), expected);
    assert_strictly_increasing(&errs);

    let last3 = ring.search(3, |l| l.stream.is_error());
    assert_eq!(texts(&last3), ["line 980", "line 987", "line 994"]);
    assert!(ring.search(0, |_| true).is_empty());
    assert!(ring.search(5, |_| false).is_empty());
    assert_eq!(
        texts(&ring.search(1, |l| l.text.ends_with(" 0"))),
        ["line 0"]
    );
    // SEARCH_CHUNK boundary: exactly a chunk, and one past it.
    for n in [SEARCH_CHUNK - 1, SEARCH_CHUNK, SEARCH_CHUNK + 1] {
        assert_eq!(ring.search(n, |_| true).len(), n);
    }
}

#[test]
fn search_stops_early_and_ignores_later_pushes() {
    let ring = LogRing::new(1 << 20);
    for i in 0..(3 * SEARCH_CHUNK) {
        ring.push_line(Stream::Stdout, &i.to_string(), false);
    }
    let mut calls = 0;
    let found = ring.search(2, |_| {
        calls += 1;
        true
    });
    assert_eq!(calls, 2);
    assert_eq!(found.len(), 2);
}

/// A search predicate runs without the ring's lock: a slow one (here: one that waits for
/// another thread's push into the same ring) never holds up the ring's writer, and it may read
/// the ring itself.
#[test]
fn a_slow_search_predicate_never_holds_up_the_writer() {
    let ring = Arc::new(LogRing::new(1 << 20));
    ring.push_line(Stream::Stdout, "old", false);
    let (pushed_tx, pushed) = std::sync::mpsc::channel();
    let mut writer = None;
    let found = ring.search(1, |line| {
        let r = ring.clone();
        let tx = pushed_tx.clone();
        // Not a scoped thread: a push that blocks forever fails the test instead of hanging it.
        writer = Some(thread::spawn(move || {
            r.push_line(Stream::Stdout, "new", false);
            let _ = tx.send(());
        }));
        let pushed = pushed.recv_timeout(Duration::from_secs(10)).is_ok();
        assert!(pushed, "the writer waited for the search predicate");
        assert_eq!(ring.len(), 2, "the predicate reads the ring");
        &*line.text == "old"
    });
    assert_eq!(texts(&found), ["old"]);
    writer.unwrap().join().unwrap();
}

#[test]
fn panic_in_predicate_does_not_break_the_ring() {
    let ring = LogRing::new(4096);
    ring.push_line(Stream::Stdout, "x", false);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ring.search(1, |_| panic!("predicate failed"))
    }));
    assert!(r.is_err());
    ring.push_line(Stream::Stdout, "y", false);
    assert_eq!(texts(&ring.tail(2)), ["x", "y"]);
}

#[test]
fn readers_see_consistent_prefixes_while_a_writer_floods() {
    let max = 64 * 1024;
    let ring = Arc::new(LogRing::new(max));
    let writer = {
        let ring = Arc::clone(&ring);
        thread::spawn(move || {
            for i in 0..50_000u32 {
                ring.push_line(Stream::Stdout, &"z".repeat(i as usize % 500), false);
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                let mut last = 0;
                for _ in 0..2_000 {
                    let fresh = ring.since(last);
                    assert_strictly_increasing(&fresh);
                    if let Some(first) = fresh.first() {
                        assert!(first.seq > last);
                    }
                    if let Some(l) = fresh.last() {
                        last = l.seq;
                    }
                    assert!(ring.bytes() <= max);
                    assert_strictly_increasing(&ring.tail(50));
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
}

/// 50 MB of mixed output (short lines, CRLF, progress bars, lines far over the splitter's
/// maximum, invalid UTF-8) in odd-sized reads: the ring never exceeds its bound.
#[test]
fn flood_through_splitter_and_ring_stays_bounded() {
    const TOTAL: usize = 50 * 1024 * 1024;
    let max = 1 << 20;
    let ring = LogRing::new(max);
    let mut split = LineSplitter::new();
    let mut rng = Rng(42);
    let mut chunk = Vec::with_capacity(1 << 17);
    let (mut fed, mut lines, mut truncated) = (0, 0u64, 0u64);
    let mut emit = |text: &str, tr: bool| {
        ring.push_line(Stream::Stderr, text, tr);
        lines += 1;
        truncated += u64::from(tr);
        assert!(ring.bytes() <= max);
    };
    while fed < TOTAL {
        chunk.clear();
        while chunk.len() < 64 * 1024 {
            match rng.below(200) {
                // Continues over 16 KiB; bad bytes decode to three bytes each.
                0 => chunk.resize(chunk.len() + 40_000, b'L'),
                199 => chunk.resize(chunk.len() + 40_000, 0xff),
                1..=8 => chunk.extend_from_slice(b"12%\r57%\r"),
                9..=16 => chunk.extend_from_slice(b"bad \xff\xc3\r\n"),
                _ => {
                    let len = rng.below(200);
                    chunk.resize(chunk.len() + len, b'a' + (len % 26) as u8);
                    chunk.push(b'\n');
                }
            }
        }
        // Odd read sizes, as a pipe gives them.
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            let n = (1 + rng.below(8192)).min(rest.len());
            split.push(&rest[..n], &mut emit);
            rest = &rest[n..];
        }
        fed += chunk.len();
    }
    split.finish(&mut emit);
    assert!(lines > 90_000, "{lines}");
    assert!(truncated > 0);
    assert!(ring.bytes() <= max);
    assert!(ring.dropped_lines() > 0);
    assert!(
        ring.tail(usize::MAX)
            .iter()
            .all(|l| l.text.len() <= DEFAULT_MAX_LINE)
    );
}
