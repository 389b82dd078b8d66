//! The read-only MCP answers, built from the supervisor's processes alone: listing, status and logs.
//!
//! Kept apart from the server so they can be tested (and benchmarked) without spawning
//! anything. Status reads every process under one pin (one consistent, ordered view, no lock
//! and no per-process pin); errors are messages that say what is available. The log queries,
//! bounded in bytes, are in [`logs_stream`] and [`logs_search`].

mod logs;
pub mod units;

pub use logs::{DEFAULT_LIMIT, MAX_LIMIT, MAX_REPLY_BYTES, log_id, logs_search, logs_stream};

use std::sync::Arc;
use std::time::SystemTime;

use procsnap::{ProcId, Process, Processes};

use crate::compose::Stack;
use crate::project::Project;
use crate::safe::clip;
use crate::wire::{ProcessInfo, ScriptsList, ScriptsStatus};

/// `scripts_list`: the declared scripts and the configured processes (a configured process
/// shadows a script of the same name).
pub fn scripts_list(project: &Project, stack: Option<&Stack>) -> ScriptsList {
    let mut scripts: std::collections::BTreeMap<String, String> = project
        .scripts
        .iter()
        .map(|s| (s.name.clone(), s.command.clone()))
        .collect();
    let processes = stack.map(units::configured).unwrap_or_default();
    for (name, p) in &processes {
        scripts.insert(name.clone(), p.command.clone());
    }
    ScriptsList {
        scripts,
        package_manager: project.package_manager.as_str().to_owned(),
        processes,
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
    // A reader for this reply only: the server's thread waits for requests in between, and a
    // pin held meanwhile would hold back reclamation.
    let mut reader = procsnap::Reader::new();
    let processes = reader
        .list(registry)
        .filter(|(p, _)| name.is_none_or(|n| p.name() == n))
        .map(|(p, state)| ProcessInfo {
            dropped_lines: p.logs().dropped_lines(),
            dropped_bytes: p.logs().dropped_bytes(),
            ..ProcessInfo::new(p.label(), p.name(), state, now)
        })
        .collect();
    ScriptsStatus {
        processes,
        orchestrated: Vec::new(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::wire::{SearchParams, StreamParams};
    use procsnap::{CommandSpec, Event, Exit, Stream};
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
    pub(crate) fn registry() -> (Processes, Arc<Process>, Arc<Process>) {
        let r = procsnap::Registry::new();
        let at = SystemTime::now();
        let dev = r.insert("dev", CommandSpec::shell("vite"), 0);
        r.apply(dev.id(), Event::Started { pid: 10, at }).unwrap();
        let build = r.insert("build", CommandSpec::shell("tsc"), 0);
        r.apply(build.id(), Event::Started { pid: 11, at }).unwrap();
        r.push_line(
            dev.id(),
            Stream::Stdout,
            "listening on http://localhost:5173",
            false,
        )
        .unwrap();
        r.push_line(build.id(), Stream::Stdout, "compiling 12 files", false)
            .unwrap();
        r.push_line(
            build.id(),
            Stream::Stderr,
            "error TS2304: Cannot find name 'x'",
            false,
        )
        .unwrap();
        r.push_line(dev.id(), Stream::Stdout, "GET / 200", false)
            .unwrap();
        r.push_line(dev.id(), Stream::Stderr, "warning: slow request", false)
            .unwrap();
        r.apply(
            build.id(),
            Event::Exited {
                exit: Exit::Code(2),
                at: at + Duration::from_millis(300),
            },
        )
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

    /// A ring's evictions show in the status of its process, read without the ring's lock.
    #[test]
    fn status_reports_what_each_ring_evicted() {
        let r = procsnap::Registry::with_log_bytes(procsnap::LINE_OVERHEAD + 10);
        let p = r.insert("chatty", CommandSpec::new("true"), 0);
        let q = r.insert("quiet", CommandSpec::new("true"), 0);
        for line in ["0123456789", "abc", "de"] {
            r.push_line(p.id(), Stream::Stdout, line, false).unwrap();
        }
        r.push_line(q.id(), Stream::Stdout, "ok", false).unwrap();
        let r = Processes::from(r);
        let st = status_view(&r, None, SystemTime::now());
        let counts: Vec<_> = st
            .processes
            .iter()
            .map(|i| (i.dropped_lines, i.dropped_bytes))
            .collect();
        assert_eq!(counts, [(2, 13), (0, 0)]);
        let v = serde_json::to_value(&st).unwrap();
        assert_eq!(v["processes"][0]["droppedLines"], 2);
        assert_eq!(v["processes"][1]["droppedBytes"], 0);
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

    pub(crate) fn search(
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

    /// A client's 15 MB name used to come back whole in the error message.
    #[test]
    fn errors_echo_client_input_clipped() {
        let (r, dev, _) = registry();
        let huge = "x".repeat(15 << 20);
        let clipped = format!("\"{}…\"", "x".repeat(crate::safe::CLIP_CHARS));
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

    #[test]
    fn list_has_every_declared_script() {
        let l = scripts_list(&project(), None);
        assert_eq!(l.scripts["dev"], "vite");
        assert_eq!(l.package_manager, "npm");
    }
}
