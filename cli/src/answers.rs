//! The read-only MCP answers, built from the [`Registry`] alone: listing, status and logs.
//!
//! Kept apart from the server so they can be tested (and benchmarked) without spawning
//! anything. Status reads every process under one pin (one consistent, ordered view, no lock
//! and no per-process pin); errors are messages that say what is available.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use procsnap::{LogLine, ProcId, Process, Processes, Stream};
use regex::RegexBuilder;

use crate::project::Project;
use crate::timefmt::parse_rfc3339;
use crate::wire::{
    Level, LogEntry, LogsSearch, LogsStream, ProcessInfo, ScriptsList, ScriptsStatus, SearchParams,
    StreamParams,
};

/// Default and maximum number of log lines a query returns.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;
/// Compiled-size cap for a client's regex (the regex crate's default is 10 MiB).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// How many characters of a client-supplied string an error message echoes.
pub(crate) const CLIP_CHARS: usize = 200;

/// `text` cut to its first [`CLIP_CHARS`] characters, with `…` appended when it was cut: for
/// echoing client input in error messages, so a 15 MB name does not come back whole. Cuts on
/// a character boundary; borrows when nothing is cut.
pub(crate) fn clip(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(CLIP_CHARS) {
        None => Cow::Borrowed(text),
        Some((at, _)) => Cow::Owned(format!("{}…", &text[..at])),
    }
}

/// `scripts_list`.
pub fn scripts_list(project: &Project) -> ScriptsList {
    ScriptsList {
        scripts: project
            .scripts
            .iter()
            .map(|s| (s.name.clone(), s.command.clone()))
            .collect(),
        package_manager: project.package_manager.as_str().to_owned(),
    }
}

/// The process a client named by `processId`, or an error listing the known ones.
pub fn resolve(registry: &Processes, process_id: &str) -> Result<Arc<Process>, String> {
    ProcId::from_label(process_id)
        .and_then(|id| registry.get(id))
        .filter(|p| p.label() == process_id)
        .ok_or_else(|| {
            format!(
                "unknown processId {:?}; known processes: {}",
                clip(process_id),
                known_processes(registry)
            )
        })
}

/// `dev-1 (running), build-2 (success)`, or a note that nothing was started.
pub fn known_processes(registry: &Processes) -> String {
    let guard = procsnap::pin();
    let list = registry.list(&guard);
    if list.is_empty() {
        return "none (start one with scripts_run)".to_owned();
    }
    // The most recent ones, so a long session does not produce a huge error message.
    let skip = list.len().saturating_sub(MAX_LISTED);
    let mut all: Vec<String> = list[skip..]
        .iter()
        .map(|p| format!("{} ({})", p.label(), p.state().load(&guard).status))
        .collect();
    if skip > 0 {
        all.insert(0, format!("{skip} older"));
    }
    all.join(", ")
}

/// How many processes an error message lists.
const MAX_LISTED: usize = 50;

/// `scripts_status`: every process (or those of script `name`) from one pinned view.
/// `project` is consulted only when `name` matches no process, to tell a declared script that
/// never ran (an empty answer) from an unknown name (an error listing the scripts).
pub fn scripts_status(
    registry: &Processes,
    name: Option<&str>,
    project: impl FnOnce() -> Result<Project, String>,
) -> Result<ScriptsStatus, String> {
    let answer = status_view(registry, name, SystemTime::now());
    if let Some(n) = name
        && answer.processes.is_empty()
    {
        let project = project()?;
        if project.script(n).is_none() {
            return Err(format!(
                "unknown script {:?}; available scripts: {}",
                clip(n),
                project.names()
            ));
        }
    }
    Ok(answer)
}

/// Builds the status of every process (optionally filtered by name) under one pin, at one
/// instant `now`: the registry listing and every state are read without locks or copies of
/// identity beyond the answer itself.
pub fn status_view(registry: &Processes, name: Option<&str>, now: SystemTime) -> ScriptsStatus {
    let guard = procsnap::pin();
    let processes = registry
        .list(&guard)
        .iter()
        .filter(|p| name.is_none_or(|n| p.name() == n))
        .map(|p| ProcessInfo::new(p.label(), p.name(), p.state().load(&guard), now))
        .collect();
    ScriptsStatus { processes }
}

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

/// Merges per-process results (each already oldest-first) into the `limit` most recent
/// entries, oldest first. Sequence numbers are unique and increasing across every ring, so
/// they give the true capture order.
fn merge(per_process: Vec<(Arc<Process>, Vec<LogLine>)>, limit: usize) -> Vec<LogEntry> {
    let mut all: Vec<(u64, LogEntry)> = Vec::new();
    for (p, lines) in per_process {
        let label = p.label();
        all.extend(lines.into_iter().map(|l| (l.seq, entry(&p, &label, l))));
    }
    all.sort_unstable_by_key(|(seq, _)| *seq);
    let skip = all.len().saturating_sub(limit);
    all.into_iter().skip(skip).map(|(_, e)| e).collect()
}

/// `logs_stream`: the last `limit` lines, across processes or of one, optionally one stream.
pub fn logs_stream(registry: &Processes, params: &StreamParams) -> Result<LogsStream, String> {
    let level = params.level.unwrap_or_default();
    let limit = limit(params.limit);
    let procs = targets(registry, params.process_id.as_deref())?;
    let per: Vec<_> = procs
        .into_iter()
        .map(|p| {
            let lines = if level == Level::All {
                p.logs().tail(limit)
            } else {
                p.logs().search(limit, |l| level_matches(level, l.stream))
            };
            (p, lines)
        })
        .collect();
    Ok(LogsStream {
        logs: merge(per, limit),
    })
}

/// `logs_search`: lines matching a substring or regex, with process, stream and time filters.
pub fn logs_search(registry: &Processes, params: &SearchParams) -> Result<LogsSearch, String> {
    let level = params.level.unwrap_or_default();
    let limit = limit(params.limit);
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
    let per: Vec<_> = procs
        .into_iter()
        .map(|p| {
            let lines = p.logs().search(limit, |l| {
                level_matches(level, l.stream)
                    && since.is_none_or(|t| l.at >= t)
                    && match &regex {
                        Some(r) => r.is_match(&l.text),
                        None => l.text.contains(query),
                    }
            });
            (p, lines)
        })
        .collect();
    Ok(LogsSearch {
        results: merge(per, limit),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use procsnap::{CommandSpec, Event, Exit};
    use std::path::PathBuf;
    use std::time::Duration;

    fn project() -> Project {
        Project {
            dir: PathBuf::from("/tmp"),
            package_manager: crate::project::PackageManager::Npm,
            scripts: vec![crate::project::Script {
                name: "dev".into(),
                command: "vite".into(),
                source: crate::project::Source::PackageJson,
            }],
            warnings: vec![],
        }
    }

    /// dev (running) and build (failed, code 2), with interleaved output.
    fn registry() -> (Processes, Arc<Process>, Arc<Process>) {
        let r = procsnap::Registry::new();
        let at = SystemTime::now();
        let dev = r.insert("dev", CommandSpec::shell("vite"), 0);
        dev.state()
            .update(|s| s.apply(Event::Started { pid: 10, at }))
            .unwrap();
        let build = r.insert("build", CommandSpec::shell("tsc"), 0);
        build
            .state()
            .update(|s| s.apply(Event::Started { pid: 11, at }))
            .unwrap();
        dev.logs()
            .push_line(Stream::Stdout, "listening on http://localhost:5173", false);
        build
            .logs()
            .push_line(Stream::Stdout, "compiling 12 files", false);
        build
            .logs()
            .push_line(Stream::Stderr, "error TS2304: Cannot find name 'x'", false);
        dev.logs().push_line(Stream::Stdout, "GET / 200", false);
        dev.logs()
            .push_line(Stream::Stderr, "warning: slow request", false);
        build
            .state()
            .update(|s| {
                s.apply(Event::Exited {
                    exit: Exit::Code(2),
                    at: at + Duration::from_millis(300),
                })
            })
            .unwrap();
        (Processes::from(r), dev, build)
    }

    #[test]
    fn status_lists_in_id_order_and_filters_by_name() {
        let (r, dev, build) = registry();
        let all = scripts_status(&r, None, || Ok(project())).unwrap();
        let ids: Vec<_> = all.processes.iter().map(|p| p.process_id.clone()).collect();
        assert_eq!(ids, [dev.label(), build.label()]);
        assert_eq!(all.processes[1].exit_code, Some(2));
        assert_eq!(all.processes[1].status, "failed");
        let b = scripts_status(&r, Some("build"), || Ok(project())).unwrap();
        assert_eq!(b.processes.len(), 1);
        // Declared but never run: empty, not an error.
        let empty = scripts_status(&Processes::default(), Some("dev"), || Ok(project())).unwrap();
        assert!(empty.processes.is_empty());
        let e = scripts_status(&r, Some("nope"), || Ok(project())).unwrap_err();
        assert!(
            e.contains("unknown script \"nope\"") && e.contains("dev"),
            "{e}"
        );
    }

    #[test]
    fn resolve_needs_the_exact_label() {
        let (r, dev, build) = registry();
        assert_eq!(resolve(&r, &dev.label()).unwrap().id(), dev.id());
        let wrong_name = format!("build-{}", dev.id());
        let e = resolve(&r, &wrong_name).unwrap_err();
        assert!(
            e.contains(&dev.label()) && e.contains(&build.label()),
            "{e}"
        );
        assert!(e.contains("(running)") && e.contains("(failed)"), "{e}");
        assert!(resolve(&r, "dev-999").is_err());
        assert!(resolve(&r, "").is_err());
        assert!(
            resolve(&Processes::default(), "dev-1")
                .unwrap_err()
                .contains("none")
        );
    }

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

    fn search(
        r: &Processes,
        query: &str,
        f: impl FnOnce(&mut SearchParams),
    ) -> Result<Vec<String>, String> {
        let mut p = SearchParams {
            query: query.into(),
            ..Default::default()
        };
        f(&mut p);
        Ok(logs_search(r, &p)?
            .results
            .into_iter()
            .map(|e| e.content)
            .collect())
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

    /// A client's 15 MB name used to come back whole in the error message.
    #[test]
    fn errors_echo_client_input_clipped() {
        let (r, dev, _) = registry();
        let huge = "x".repeat(15 << 20);
        let clipped = format!("\"{}…\"", "x".repeat(CLIP_CHARS));
        let e = resolve(&r, &huge).unwrap_err();
        assert!(e.len() < 1000 && e.contains(&clipped), "{e}");
        assert!(e.contains(&dev.label()), "still says what exists: {e}");
        let e = scripts_status(&r, Some(&huge), || Ok(project())).unwrap_err();
        assert!(e.len() < 1000 && e.contains(&clipped), "{e}");
        assert!(e.contains("available scripts: dev"), "{e}");
        let e = logs_stream(
            &r,
            &StreamParams {
                process_id: Some(huge.clone()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.len() < 1000, "{e}");
        let e = search(&r, "", |p| p.process_id = Some(huge.clone())).unwrap_err();
        assert!(e.len() < 1000, "{e}");
        let e = search(&r, "", |p| p.since = Some(huge.clone())).unwrap_err();
        assert!(e.len() < 1000 && e.contains("RFC 3339"), "{e}");
        // The regex crate quotes the whole pattern; a long one keeps only the reason.
        let bad = format!("({}", "x".repeat(100_000));
        let e = search(&r, &bad, |p| p.regex = Some(true)).unwrap_err();
        assert!(e.len() < 1000 && e.contains("unclosed group"), "{e}");
        assert!(e.starts_with(&format!("invalid regex \"({}…\"", "x".repeat(199))));
        // Short input is echoed whole, with the regex crate's pointer to the fault.
        let e = search(&r, "a(b", |p| p.regex = Some(true)).unwrap_err();
        assert!(
            e.starts_with("invalid regex \"a(b\": ") && e.contains('^'),
            "{e}"
        );
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

    #[test]
    fn list_has_every_declared_script() {
        let l = scripts_list(&project());
        assert_eq!(l.scripts["dev"], "vite");
        assert_eq!(l.package_manager, "npm");
    }
}
