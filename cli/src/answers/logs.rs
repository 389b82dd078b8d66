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

use super::resolve;
use crate::safe::clip;
use crate::timefmt::parse_rfc3339;
use crate::wire::{Level, LogEntry, LogsSearch, LogsStream, SearchParams, StreamParams};

/// Default number of log lines a query returns.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` a query may ask for.
pub const MAX_LIMIT: usize = 10_000;
/// The most a log reply is as sent: the whole JSON-RPC line, at most 4 MiB whatever `limit`
/// says (for request ids under 1 KiB). rmcp sends a tool's result twice, as
/// `structuredContent` and as the same JSON in a text content block, so an entry counts its JSON
/// once as is and once escaped (`sent_len`). The most recent entries that fit are kept; the
/// reply says how many older ones were left out.
pub const MAX_REPLY_BYTES: usize = 4 << 20;
/// Room kept for what is not an entry: the JSON-RPC envelope with the request's id, the
/// content block, `truncated` and `omitted`, in both copies (`droppedLines` is counted per
/// process, [`entry_budget`]).
const ENVELOPE: usize = 2048;
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

/// Counts what is written to it, and the bytes a JSON string escapes (`"` and `\`).
#[derive(Default)]
struct SentCount {
    bytes: usize,
    escaped: usize,
}

impl io::Write for SentCount {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes += buf.len();
        self.escaped += buf.iter().filter(|&&b| b == b'"' || b == b'\\').count();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What `value` adds to a tool reply as sent: its JSON in `structuredContent`, and the same
/// JSON inside the text content's string, where each `"` and `\` gains a backslash (compact
/// JSON holds no raw control character and non-ASCII text is not escaped, so nothing else
/// grows).
pub fn sent_len(value: &impl serde::Serialize) -> usize {
    let mut n = SentCount::default();
    // Writing to a counter cannot fail; what cannot serialize is counted as too big.
    match serde_json::to_writer(&mut n, value) {
        Ok(()) => 2 * n.bytes + n.escaped,
        Err(_) => usize::MAX,
    }
}

/// Room for entries in a reply that covers `processes`: [`MAX_REPLY_BYTES`] less the
/// [`ENVELOPE`] and a `droppedLines` member for each process (its label and the largest count).
fn entry_budget(processes: &[Arc<Process>]) -> usize {
    let dropped: usize = processes
        .iter()
        .map(|p| sent_len(&p.label()).saturating_add(2 * ":18446744073709551615,".len()))
        .fold(0, usize::saturating_add);
    MAX_REPLY_BYTES.saturating_sub(ENVELOPE.saturating_add(dropped))
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
/// entries while they fit in `budget` bytes as sent ([`sent_len`]); the rest up to `limit`
/// only counted. The
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
            // And the comma that separates it from the next, in each copy.
            let size = sent_len(&e).saturating_add(2);
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
    let budget = entry_budget(&procs);
    let got = gather(procs, limit(params.limit), budget, |l| {
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
    let budget = entry_budget(&procs);
    let got = gather(procs, limit(params.limit), budget, |l| {
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

    /// The JSON-RPC line rmcp sends for `answer` as a tool's result (`Json<T>`: structured
    /// content and the same JSON as text), to request id 1.
    fn sent_line(answer: &impl serde::Serialize) -> String {
        use rmcp::model::{CallToolResult, JsonRpcMessage, RequestId, ServerResult};
        let result = CallToolResult::structured(serde_json::to_value(answer).unwrap());
        let line: rmcp::service::TxJsonRpcMessage<rmcp::RoleServer> =
            JsonRpcMessage::response(ServerResult::CallToolResult(result), RequestId::Number(1));
        serde_json::to_string(&line).unwrap()
    }

    /// `sent_len` is what a value adds to the line: its JSON, and its JSON as a string's
    /// contents (quotes, backslashes, control characters and non-ASCII text in it).
    #[test]
    fn sent_len_is_the_length_as_sent() {
        for text in [
            "plain",
            "a \"quoted\" \\path\\",
            "\u{1}\u{1f}\n\t",
            "héllo ✓ 🎉",
            "",
        ] {
            let e = LogEntry {
                id: "web-1-7".into(),
                process_id: "web-1".into(),
                process_name: "web".into(),
                content: text.into(),
                timestamp: "2026-05-01T12:34:56.000Z".into(),
                is_error: false,
                truncated: true,
            };
            let json = serde_json::to_string(&e).unwrap();
            let as_text = serde_json::to_string(&json).unwrap();
            assert_eq!(sent_len(&e), json.len() + as_text.len() - 2, "{text:?}");
        }
    }

    /// `limit: 10000` over long lines gave one reply as big as the lines (322 MB for 30
    /// scripts' 16 kB lines); then a reply whose entries were bounded at 4 MiB but sent twice,
    /// 8 MiB on the wire. The line as sent stays within 4 MiB, keeps the most recent entries and
    /// says how many it left out.
    #[test]
    fn a_reply_as_sent_keeps_the_most_recent_entries_within_4_mib() {
        let (r, _) = big(6000, 1000);
        let reply = stream(&r, 10_000);
        let line = sent_line(&reply);
        assert!(line.len() <= MAX_REPLY_BYTES, "{} bytes", line.len());
        let kept = reply.logs.len();
        assert!(kept > 1500 && kept < 6000, "{kept}");
        assert!(reply.truncated);
        assert_eq!(reply.omitted as usize, 6000 - kept);
        // The most recent ones, contiguous and in capture order.
        let numbers: Vec<usize> = reply
            .logs
            .iter()
            .map(|e| e.content[..6].parse().unwrap())
            .collect();
        assert_eq!(numbers, (6000 - kept..6000).collect::<Vec<_>>());
        // The bound is used: less than two more entries would have fitted.
        let one = sent_len(&reply.logs[0]) + 2;
        assert!(
            line.len() + ENVELOPE + 2 * one > MAX_REPLY_BYTES,
            "{} bytes",
            line.len()
        );
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
        let entry_len = |e: &LogEntry| sent_len(e) + 2;
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

    /// The bound is on the line as sent, escapes included: a control character is six bytes
    /// in the structured copy and seven in the text copy; a quote two and four.
    #[test]
    fn the_bound_counts_json_escapes_in_both_copies() {
        for (text, at_most) in [("\u{1}".repeat(1000), 330), ("\"\\".repeat(500), 720)] {
            let r = procsnap::Registry::with_log_bytes(64 << 20);
            let p = r.insert("raw", procsnap::CommandSpec::new("true"), 0);
            for _ in 0..1000 {
                r.push_line(p.id(), Stream::Stdout, &text, false).unwrap();
            }
            let r = Processes::from(r);
            let reply = stream(&r, 10_000);
            let line = sent_line(&reply);
            assert!(line.len() <= MAX_REPLY_BYTES, "{} bytes", line.len());
            assert!(
                reply.truncated && reply.logs.len() < at_most,
                "{}",
                reply.logs.len()
            );
            assert_eq!(reply.omitted as usize + reply.logs.len(), 1000);
        }
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
        let line = sent_line(&reply);
        assert!(line.len() <= MAX_REPLY_BYTES, "{} bytes", line.len());
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
