//! `logs_stream` and `logs_search`: the most recent matching lines of one or every process,
//! bounded in count (`limit`) and in bytes ([`MAX_REPLY_BYTES`]).
//!
//! The rings are read newest first, a chunk at a time, merged across processes by sequence
//! number (program-wide, so it is the capture order). An entry is built only while it still
//! fits in the reply: the work and the memory of a query are bounded by the reply's size and a
//! chunk per process, whatever `limit` says, and the lines that `limit` allowed but the bound
//! left out are only counted.

use std::borrow::Cow;
use std::collections::{BTreeMap, BinaryHeap};
use std::io;
use std::sync::Arc;

use procsnap::{LogLine, Process, Processes, Stream};
use regex::RegexBuilder;

use super::{clip, resolve};
use crate::timefmt::parse_rfc3339;
use crate::wire::{Level, LogEntry, LogsSearch, LogsStream, SearchParams, StreamParams};

/// Default number of log lines a query returns.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` a query may ask for.
pub const MAX_LIMIT: usize = 10_000;
/// The most a log reply carries: the JSON of its entries (as serialized, escapes and the
/// separating commas included) stays within 4 MiB, whatever `limit` says. The most recent
/// entries that fit are kept; the reply says how many older ones were left out.
pub const MAX_REPLY_BYTES: usize = 4 << 20;
/// Compiled-size cap for a client's regex (the regex crate's default is 10 MiB).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Lines read from one ring per lock acquisition.
const CHUNK: usize = 256;

/// `invalid regex "(": …`. The regex crate's message quotes the whole pattern (with a caret
/// under the fault); for a pattern too long to echo, only its last line (the reason) is kept.
fn regex_error(query: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    match clip(query) {
        Cow::Borrowed(q) => format!("invalid regex {q:?}: {text}"),
        Cow::Owned(q) => {
            let reason = text.lines().last().unwrap_or_default();
            format!("invalid regex {q:?}: {}", clip(reason))
        }
    }
}

fn limit(requested: Option<u32>) -> usize {
    requested.map_or(DEFAULT_LIMIT, |n| (n as usize).min(MAX_LIMIT))
}

fn level_matches(level: Level, stream: Stream) -> bool {
    match level {
        Level::All => true,
        Level::Error => stream == Stream::Stderr,
        Level::Info => stream == Stream::Stdout,
    }
}

/// The processes a log query covers.
fn targets(registry: &Processes, process_id: Option<&str>) -> Result<Vec<Arc<Process>>, String> {
    match process_id {
        Some(id) => Ok(vec![resolve(registry, id)?]),
        None => {
            let guard = procsnap::pin();
            Ok(registry.list(&guard).to_vec())
        }
    }
}

/// A log entry's `id`: `<processId>-<seq>` (see [`LogEntry::id`]).
pub fn log_id(process_id: &str, seq: u64) -> String {
    format!("{process_id}-{seq}")
}

fn entry(p: &Process, label: &str, line: LogLine) -> LogEntry {
    LogEntry {
        id: log_id(label, line.seq),
        process_id: label.to_owned(),
        process_name: p.name().to_owned(),
        content: line.text.to_string(),
        timestamp: crate::timefmt::rfc3339(line.at),
        is_error: line.stream.is_error(),
        truncated: line.truncated,
    }
}

/// Counts what is written to it.
struct ByteCount(usize);

impl io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The length of `entry`'s JSON, as the reply will carry it.
fn json_len(entry: &LogEntry) -> usize {
    let mut n = ByteCount(0);
    // Writing to a counter cannot fail, and a `LogEntry` always serializes.
    serde_json::to_writer(&mut n, entry).map_or(usize::MAX, |()| n.0)
}

/// One process's lines, read newest first a chunk at a time.
struct Cursor {
    process: Arc<Process>,
    label: String,
    /// Oldest first: the next line is the last one.
    chunk: Vec<LogLine>,
    /// The ring held nothing older than the lines read so far.
    done: bool,
}

impl Cursor {
    fn new(process: Arc<Process>) -> Cursor {
        let chunk = process.logs().before(u64::MAX, CHUNK);
        Cursor {
            label: process.label(),
            done: chunk.len() < CHUNK,
            process,
            chunk,
        }
    }

    fn next_seq(&self) -> Option<u64> {
        self.chunk.last().map(|l| l.seq)
    }

    fn pop(&mut self) -> Option<LogLine> {
        let line = self.chunk.pop()?;
        if self.chunk.is_empty() && !self.done {
            self.chunk = self.process.logs().before(line.seq, CHUNK);
            self.done = self.chunk.len() < CHUNK;
        }
        Some(line)
    }
}

/// The lines of several processes, newest first in capture order: a merge of their cursors on
/// the sequence number (unique and increasing across every ring). Lines captured after a
/// process's first read are not included, so the walk ends.
struct NewestFirst {
    cursors: Vec<Cursor>,
    /// (next sequence number, cursor index) for every cursor with a line left.
    heads: BinaryHeap<(u64, usize)>,
}

impl NewestFirst {
    fn new(processes: Vec<Arc<Process>>) -> NewestFirst {
        let cursors: Vec<Cursor> = processes.into_iter().map(Cursor::new).collect();
        let heads = cursors
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((c.next_seq()?, i)))
            .collect();
        NewestFirst { cursors, heads }
    }

    /// The next line (older than every one returned so far) and the index of its cursor.
    fn next(&mut self) -> Option<(usize, LogLine)> {
        let (_, i) = self.heads.pop()?;
        let cursor = &mut self.cursors[i];
        let line = cursor.pop()?;
        if let Some(seq) = cursor.next_seq() {
            self.heads.push((seq, i));
        }
        Some((i, line))
    }
}

/// What a log query gathered.
#[derive(Debug)]
struct Gathered {
    /// The most recent wanted lines that fit, oldest first.
    entries: Vec<LogEntry>,
    /// Wanted lines within `limit` left out because the reply was full.
    omitted: u64,
    /// Lines each covered process's ring evicted, by processId (only those that lost some).
    dropped: BTreeMap<String, u64>,
}

/// The `limit` most recent lines of `processes` for which `wanted` is true, newest first, as
/// entries while their JSON fits in `budget` bytes; the rest up to `limit` only counted. The
/// reply is the contiguous run of the most recent ones: after the first entry that does not
/// fit, no older one is taken, even a shorter one.
fn gather(
    processes: Vec<Arc<Process>>,
    limit: usize,
    budget: usize,
    mut wanted: impl FnMut(&LogLine) -> bool,
) -> Gathered {
    let mut lines = NewestFirst::new(processes);
    let mut entries = Vec::new();
    let mut omitted = 0u64;
    let mut left = budget;
    while entries.len() + (omitted as usize) < limit {
        let Some((i, line)) = lines.next() else { break };
        if !wanted(&line) {
            continue;
        }
        if omitted == 0 {
            let cursor = &lines.cursors[i];
            let e = entry(&cursor.process, &cursor.label, line);
            // The comma that separates it from the next.
            let size = json_len(&e).saturating_add(1);
            if size <= left {
                left -= size;
                entries.push(e);
                continue;
            }
        }
        omitted += 1;
    }
    entries.reverse();
    let dropped = lines
        .cursors
        .iter()
        .map(|c| (c, c.process.logs().dropped_lines()))
        .filter(|&(_, n)| n > 0)
        .map(|(c, n)| (c.label.clone(), n))
        .collect();
    Gathered {
        entries,
        omitted,
        dropped,
    }
}

/// `logs_stream`: the last `limit` lines, across processes or of one, optionally one stream,
/// within [`MAX_REPLY_BYTES`].
pub fn logs_stream(registry: &Processes, params: &StreamParams) -> Result<LogsStream, String> {
    let level = params.level.unwrap_or_default();
    let procs = targets(registry, params.process_id.as_deref())?;
    let got = gather(procs, limit(params.limit), MAX_REPLY_BYTES, |l| {
        level_matches(level, l.stream)
    });
    Ok(LogsStream {
        logs: got.entries,
        truncated: got.omitted > 0,
        omitted: got.omitted,
        dropped_lines: got.dropped,
    })
}

/// `logs_search`: lines matching a substring or regex, with process, stream and time filters,
/// within [`MAX_REPLY_BYTES`].
pub fn logs_search(registry: &Processes, params: &SearchParams) -> Result<LogsSearch, String> {
    let level = params.level.unwrap_or_default();
    let since = match params.since.as_deref() {
        // The parser's message quotes its input: for a long input, take the message it gives
        // for the clipped text (which is no time either).
        Some(s) => Some(parse_rfc3339(s).map_err(|e| {
            let e = match clip(s) {
                Cow::Owned(short) => parse_rfc3339(&short).err().unwrap_or(e),
                Cow::Borrowed(_) => e,
            };
            format!("since: {e}")
        })?),
        None => None,
    };
    let regex = if params.regex.unwrap_or(false) {
        Some(
            RegexBuilder::new(&params.query)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| regex_error(&params.query, &e))?,
        )
    } else {
        None
    };
    let procs = targets(registry, params.process_id.as_deref())?;
    let query = params.query.as_str();
    let got = gather(procs, limit(params.limit), MAX_REPLY_BYTES, |l| {
        level_matches(level, l.stream)
            && since.is_none_or(|t| l.at >= t)
            && match &regex {
                Some(r) => r.is_match(&l.text),
                None => l.text.contains(query),
            }
    });
    Ok(LogsSearch {
        results: got.entries,
        truncated: got.omitted > 0,
        omitted: got.omitted,
        dropped_lines: got.dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::tests::{registry, search};
    use crate::wire::{SearchParams, StreamParams};
    use std::time::{Duration, SystemTime};

    #[test]
    fn stream_merges_in_capture_order_and_level_error_is_stderr_only() {
        let (r, dev, _) = registry();
        let all = logs_stream(&r, &StreamParams::default()).unwrap().logs;
        let texts: Vec<_> = all.iter().map(|e| e.content.as_str()).collect();
        assert_eq!(
            texts,
            [
                "listening on http://localhost:5173",
                "compiling 12 files",
                "error TS2304: Cannot find name 'x'",
                "GET / 200",
                "warning: slow request"
            ]
        );
        let errs = logs_stream(
            &r,
            &StreamParams {
                level: Some(Level::Error),
                ..Default::default()
            },
        )
        .unwrap()
        .logs;
        assert_eq!(errs.len(), 2);
        assert!(errs.iter().all(|e| e.is_error));
        let last_dev = logs_stream(
            &r,
            &StreamParams {
                process_id: Some(dev.label()),
                level: Some(Level::Info),
                limit: Some(1),
            },
        )
        .unwrap()
        .logs;
        assert_eq!(last_dev.len(), 1);
        assert_eq!(last_dev[0].content, "GET / 200");
        assert_eq!(last_dev[0].process_name, "dev");
        assert!(
            logs_stream(
                &r,
                &StreamParams {
                    process_id: Some("dev-77".into()),
                    ..Default::default()
                }
            )
            .unwrap_err()
            .contains("unknown processId")
        );
    }

    #[test]
    fn search_substring_vs_regex_is_honoured() {
        let (r, _, _) = registry();
        // As a substring, "GET.*200" matches nothing; as a regex it matches.
        assert!(search(&r, "GET.*200", |_| {}).unwrap().is_empty());
        assert_eq!(
            search(&r, "GET.*200", |p| p.regex = Some(true)).unwrap(),
            ["GET / 200"]
        );
        assert_eq!(
            search(&r, "(?i)^ERROR|warning", |p| p.regex = Some(true)).unwrap(),
            [
                "error TS2304: Cannot find name 'x'",
                "warning: slow request"
            ]
        );
        let e = search(&r, "([", |p| p.regex = Some(true)).unwrap_err();
        assert!(e.starts_with("invalid regex \"([\""), "{e}");
    }

    #[test]
    fn search_level_process_since_and_limit_filters() {
        let (r, dev, _) = registry();
        assert_eq!(
            search(&r, "", |p| p.level = Some(Level::Error)).unwrap(),
            [
                "error TS2304: Cannot find name 'x'",
                "warning: slow request"
            ]
        );
        assert_eq!(
            search(&r, "", |p| {
                p.process_id = Some(dev.label());
                p.limit = Some(2);
            })
            .unwrap(),
            ["GET / 200", "warning: slow request"]
        );
        assert_eq!(search(&r, "", |p| p.limit = Some(0)).unwrap().len(), 0);
        let future = crate::timefmt::rfc3339(SystemTime::now() + Duration::from_secs(60));
        assert!(
            search(&r, "", |p| p.since = Some(future))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            search(&r, "", |p| p.since = Some("2000-01-01T00:00:00Z".into()))
                .unwrap()
                .len(),
            5
        );
        let e = search(&r, "", |p| p.since = Some("yesterday".into())).unwrap_err();
        assert!(e.starts_with("since: "), "{e}");
    }

    /// The id was the bare sequence number while the docs and the output schema promised one
    /// that names the process.
    #[test]
    fn log_entry_ids_are_the_process_id_and_the_capture_sequence() {
        let (r, dev, build) = registry();
        let logs = logs_stream(&r, &StreamParams::default()).unwrap().logs;
        let mut last: Option<u64> = None;
        for e in &logs {
            let seq =
                e.id.strip_prefix(&format!("{}-", e.process_id))
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or_else(|| panic!("{:?} is not <processId>-<seq>", e.id));
            assert!(
                last.is_none_or(|l| seq > l),
                "ids follow capture order: {logs:?}"
            );
            last = Some(seq);
        }
        let first_dev = dev.logs().tail(10)[0].seq;
        assert_eq!(logs[0].id, format!("{}-{first_dev}", dev.label()));
        assert_eq!(
            logs[1].id,
            log_id(&build.label(), build.logs().tail(10)[0].seq)
        );
        // Search results carry the same ids as the stream.
        let found = logs_search(
            &r,
            &SearchParams {
                query: "GET".into(),
                ..Default::default()
            },
        )
        .unwrap()
        .results;
        assert_eq!(found[0].id, logs[3].id);
    }

    /// `n` lines of `len` bytes each, alternating between two processes whose rings hold
    /// everything; the line texts start with their number.
    fn big(n: usize, len: usize) -> (Processes, Vec<Arc<Process>>) {
        let r = procsnap::Registry::with_log_bytes(64 << 20);
        let procs = vec![
            r.insert("web", procsnap::CommandSpec::new("true"), 0),
            r.insert("api", procsnap::CommandSpec::new("true"), 0),
        ];
        for i in 0..n {
            let text = format!("{i:06} {}", "x".repeat(len - 7));
            r.push_line(procs[i % 2].id(), Stream::Stdout, &text, false)
                .unwrap();
        }
        (Processes::from(r), procs)
    }

    fn stream(r: &Processes, limit: u32) -> LogsStream {
        let params = StreamParams {
            limit: Some(limit),
            ..Default::default()
        };
        logs_stream(r, &params).unwrap()
    }

    /// `limit: 10000` over long lines gave one reply as big as the lines (322 MB for 30
    /// scripts' 16 kB lines): the reply keeps the most recent entries within 4 MiB and says how
    /// many it left out.
    #[test]
    fn a_reply_keeps_the_most_recent_entries_within_4_mib() {
        let (r, _) = big(6000, 1000);
        let reply = stream(&r, 10_000);
        let json = serde_json::to_string(&reply.logs).unwrap();
        assert!(json.len() <= MAX_REPLY_BYTES + 1, "{} bytes", json.len());
        let kept = reply.logs.len();
        assert!(kept > 3000 && kept < 6000, "{kept}");
        assert!(reply.truncated);
        assert_eq!(reply.omitted as usize, 6000 - kept);
        // The most recent ones, contiguous and in capture order.
        let numbers: Vec<usize> = reply
            .logs
            .iter()
            .map(|e| e.content[..6].parse().unwrap())
            .collect();
        assert_eq!(numbers, (6000 - kept..6000).collect::<Vec<_>>());
        // Room for one more would have been over the bound.
        let one_more = json.len() + json.len() / kept;
        assert!(one_more > MAX_REPLY_BYTES, "{one_more}");
    }

    #[test]
    fn a_reply_within_the_bound_is_whole_and_says_so() {
        let (r, _) = big(6000, 1000);
        let reply = stream(&r, 100);
        assert_eq!(reply.logs.len(), 100);
        assert!(!reply.truncated);
        assert_eq!(reply.omitted, 0);
        assert!(reply.dropped_lines.is_empty(), "{:?}", reply.dropped_lines);
        let v = serde_json::to_value(&reply).unwrap();
        assert_eq!(v["truncated"], false);
        assert_eq!(v["omitted"], 0);
        assert_eq!(v["droppedLines"], serde_json::json!({}));
    }

    /// `omitted` counts only what `limit` would have given: matches, at most `limit` in all.
    #[test]
    fn omitted_counts_matches_up_to_the_limit() {
        let (r, procs) = big(100, 100);
        let all: Vec<_> = procs.to_vec();
        let entry_len = |e: &LogEntry| json_len(e) + 1;
        let one = entry_len(&stream(&r, 1).logs[0]);
        // Room for exactly three entries; ten asked for, of the 50 lines of `web`.
        let got = gather(all.clone(), 10, 3 * one, |l| {
            l.text[..6].parse::<usize>().unwrap() % 2 == 0
        });
        let numbers: Vec<&str> = got.entries.iter().map(|e| &e.content[..6]).collect();
        assert_eq!(numbers, ["000094", "000096", "000098"]);
        assert_eq!(got.omitted, 7);
        // Fewer matches than the limit: only those are counted.
        let got = gather(all.clone(), 10_000, 3 * one, |l| {
            l.text.starts_with("00000")
        });
        assert_eq!((got.entries.len(), got.omitted), (3, 7));
        // An entry that does not fit ends the reply, even if an older one would fit.
        let got = gather(all, 10, 2 * one, |_| true);
        assert_eq!(got.entries.len(), 2);
        assert_eq!(got.omitted, 8);
    }

    /// The bound is on the JSON, escapes included: a line of control characters is six times
    /// its length on the wire.
    #[test]
    fn the_bound_counts_json_escapes() {
        let r = procsnap::Registry::with_log_bytes(64 << 20);
        let p = r.insert("raw", procsnap::CommandSpec::new("true"), 0);
        for _ in 0..1000 {
            r.push_line(p.id(), Stream::Stdout, &"\u{1}".repeat(1000), false)
                .unwrap();
        }
        let r = Processes::from(r);
        let reply = stream(&r, 10_000);
        let json = serde_json::to_string(&reply.logs).unwrap();
        assert!(json.len() <= MAX_REPLY_BYTES + 1, "{} bytes", json.len());
        assert!(
            reply.truncated && reply.logs.len() < 700,
            "{}",
            reply.logs.len()
        );
        assert_eq!(reply.omitted as usize + reply.logs.len(), 1000);
    }

    #[test]
    fn search_replies_are_bounded_too() {
        let (r, _) = big(6000, 1000);
        let params = SearchParams {
            query: "xxx".into(),
            limit: Some(10_000),
            ..Default::default()
        };
        let reply = logs_search(&r, &params).unwrap();
        let json = serde_json::to_string(&reply.results).unwrap();
        assert!(json.len() <= MAX_REPLY_BYTES + 1, "{} bytes", json.len());
        assert!(reply.truncated);
        assert_eq!(reply.omitted as usize + reply.results.len(), 6000);
        assert_eq!(&reply.results.last().unwrap().content[..6], "005999");
    }

    /// What a ring evicted is reported per process by both log tools.
    #[test]
    fn evicted_lines_are_reported_per_process() {
        let r = procsnap::Registry::with_log_bytes(4096);
        let small = r.insert("small", procsnap::CommandSpec::new("true"), 0);
        let quiet = r.insert("quiet", procsnap::CommandSpec::new("true"), 0);
        for i in 0..100 {
            r.push_line(small.id(), Stream::Stdout, &format!("line {i}"), false)
                .unwrap();
        }
        r.push_line(quiet.id(), Stream::Stdout, "hi", false)
            .unwrap();
        let r = Processes::from(r);
        let dropped = small.logs().dropped_lines();
        assert!(dropped > 0);
        let reply = stream(&r, 10_000);
        assert_eq!(
            reply.dropped_lines,
            BTreeMap::from([(small.label(), dropped)])
        );
        assert_eq!(reply.logs.len() as u64 + dropped, 101);
        let found = logs_search(
            &r,
            &SearchParams {
                query: "line".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(found.dropped_lines, reply.dropped_lines);
        let v = serde_json::to_value(&found).unwrap();
        assert_eq!(v["droppedLines"][small.label()], dropped);
    }
}
