//! The JSON the MCP tools return: brummer's tool names and fields (listed in cli/README.md),
//! built from core snapshots without touching the supervisor.
//!
//! Every result is an object (MCP `structuredContent` must be one), so brummer's bare arrays
//! are wrapped: `scripts_status` → `{processes}`, `logs_stream` → `{logs}`, `logs_search` →
//! `{results}`. Times are RFC 3339 UTC with milliseconds; durations are short human strings.

use std::collections::BTreeMap;
use std::time::SystemTime;

use procsnap::{Exit, ProcessState};
use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use crate::timefmt::{human, rfc3339};

/// `scripts_list` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScriptsList {
    /// Script name → the command it runs, as declared.
    pub scripts: BTreeMap<String, String>,
    /// The package manager package.json scripts run with (`npm`, `yarn`, `pnpm`, `bun`).
    pub package_manager: String,
    /// The processes configured in procsnap.yaml / process-compose.yaml (also in `scripts`):
    /// what each waits for, how its readiness is checked, its restart policy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub processes: BTreeMap<String, ConfiguredProcess>,
}

/// A configured process in `scripts_list`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfiguredProcess {
    pub command: String,
    /// Dependency name → condition (`process_started`, `process_healthy`, `process_log_ready`,
    /// `process_completed`, `process_completed_successfully`, or `default`).
    pub depends_on: BTreeMap<String, String>,
    /// How readiness is checked: `log line "…"`, `http GET host:port/path`, `exec …`; absent
    /// when it is ready as soon as it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness: Option<String>,
    /// `no`, `on_failure`, `always` or `exit_on_failure`.
    pub restart: String,
    /// 0: no limit.
    pub max_restarts: u32,
    /// Not started by `procsnap up` unless named or needed.
    pub disabled: bool,
}

/// `scripts_run` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScriptsRun {
    /// `name-N`: pass it to `scripts_stop`, `scripts_restart` and the log tools.
    pub process_id: String,
    pub name: String,
    /// The declared command.
    pub script: String,
    pub status: String,
    /// True when the script was already running: this is that process, nothing new started.
    pub duplicate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// How long the already-running process has been up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// For a configured process: whether it is ready (its ready line seen or its probe
    /// passed; running, when it has no readiness check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
}

/// `scripts_stop` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScriptsStop {
    pub success: bool,
    pub process_id: String,
    /// The final status (`stopped`, or how it had already ended).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `scripts_restart` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScriptsRestart {
    pub success: bool,
    /// The new process (a restart is a new process with a new id).
    pub process_id: String,
    pub previous_process_id: String,
    pub name: String,
    pub status: String,
    pub restarts: u32,
}

/// One process in `scripts_status`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInfo {
    pub process_id: String,
    pub name: String,
    /// `pending`, `running`, `stopping`, `stopped`, `failed` or `success`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// How long it ran, for a finished process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal that ended it, when it died by one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Time since start (until the end, for a finished process).
    pub uptime: String,
    pub restarts: u32,
    /// Output lines its log ring evicted: the ring keeps the most recent 1 MiB of output and
    /// drops the oldest lines to make room, so these are no longer in the logs tools' answers.
    pub dropped_lines: u64,
    /// The text bytes of those lines.
    pub dropped_bytes: u64,
    /// For the newest process of a configured process: ready (ready line seen or probe
    /// passed; running, when it has no readiness check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// For the newest process of a configured process: `ready`, `not-ready` (its probe keeps
    /// failing), `unknown` (checks not passed yet, or not running) or `none` (no check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
}

impl ProcessInfo {
    /// Builds the entry for one process from a state snapshot, at one instant `now`, with
    /// nothing dropped (the ring's counts are set by the caller that has the process).
    pub fn new(process_id: String, name: &str, s: &ProcessState, now: SystemTime) -> ProcessInfo {
        let finished = s.is_finished();
        let ran = s.duration_at(now);
        ProcessInfo {
            process_id,
            name: name.to_owned(),
            status: s.status.as_str().to_owned(),
            pid: s.pid,
            start_time: s.started_at.map(rfc3339),
            end_time: s.ended_at.filter(|_| finished).map(rfc3339),
            duration: ran.filter(|_| finished).map(human),
            exit_code: s.exit.and_then(Exit::code),
            signal: s.exit.and_then(Exit::signal),
            uptime: ran.map_or_else(|| "0ms".to_owned(), human),
            restarts: s.restarts,
            dropped_lines: 0,
            dropped_bytes: 0,
            ready: None,
            health: None,
        }
    }
}

/// `scripts_status` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScriptsStatus {
    /// In id order (oldest first).
    pub processes: Vec<ProcessInfo>,
    /// The configured processes (procsnap.yaml): where each is between its processes —
    /// waiting for dependencies, running, in a restart backoff, or over and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orchestrated: Vec<UnitStatus>,
}

/// One configured process in `scripts_status`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnitStatus {
    pub name: String,
    /// `idle`, `waiting`, `starting`, `running`, `stopping`, `backoff`, or how it ended:
    /// `succeeded`, `failed`, `gave-up`, `stopped`, `blocked`, `cancelled`.
    pub phase: String,
    /// Its process runs and is ready.
    pub ready: bool,
    /// `ready`, `not-ready`, `unknown` or `none` (no readiness check).
    pub health: String,
    /// Restarts made by its policy since it was last started.
    pub restarts: u32,
    /// Its restart limit (0: none).
    pub max_restarts: u32,
    /// `no`, `on_failure`, `always` or `exit_on_failure`.
    pub restart: String,
    /// During a backoff: milliseconds until its next process starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_restart_in_ms: Option<u64>,
    /// During a backoff: the delay chosen (exponential from `backoff_seconds`), e.g. `4s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<String>,
    /// While waiting: the dependencies not met yet, as `name (condition)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<String>,
    /// Why it ended, was blocked or gave up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its newest process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<String>,
}

/// One captured output line.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// `<processId>-<seq>`, e.g. `web-1-42`: brummer's `<processId>-<nanoseconds>` shape, with
    /// the capture sequence number in place of the clock (two lines can share a timestamp,
    /// brummer e4). Unique per line for the server's life; `seq` grows in capture order across
    /// all processes.
    pub id: String,
    pub process_id: String,
    pub process_name: String,
    pub content: String,
    pub timestamp: String,
    /// True for stderr lines.
    pub is_error: bool,
    /// The line was longer than the capture limit and was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// `logs_stream` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogsStream {
    /// Oldest first; at most `limit`, the most recent, and at most 4 MiB of entry JSON.
    pub logs: Vec<LogEntry>,
    /// True when older lines within `limit` were left out to keep the reply within 4 MiB.
    pub truncated: bool,
    /// How many lines within `limit` were left out for that bound (the oldest ones); narrow
    /// the query (`processId`, `level`, `logs_search`) to see them.
    pub omitted: u64,
    /// For each process queried whose log ring evicted lines (the oldest go first once its
    /// 1 MiB is full), how many: those lines are gone for good.
    pub dropped_lines: BTreeMap<String, u64>,
}

/// `logs_search` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogsSearch {
    /// Oldest first; at most `limit`, the most recent matches, and at most 4 MiB of entry JSON.
    pub results: Vec<LogEntry>,
    /// True when older matches within `limit` were left out to keep the reply within 4 MiB.
    pub truncated: bool,
    /// How many matches within `limit` were left out for that bound (the oldest ones).
    pub omitted: u64,
    /// For each process searched whose log ring evicted lines, how many: a search cannot find
    /// them.
    pub dropped_lines: BTreeMap<String, u64>,
}

/// `scripts_run` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunParams {
    /// A script name from `scripts_list`.
    pub name: String,
    /// Return only once the process is ready (its ready log line seen or its readiness probe
    /// passed; running, for a process without readiness check), or fail saying why not.
    #[serde(default)]
    pub wait_ready: Option<bool>,
    /// How long to wait for a configured process to start (and, with `waitReady`, to be
    /// ready), in milliseconds (default 30000, at most 600000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// `scripts_restart` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessParams {
    /// A `processId` (`name-N`) from `scripts_run` or `scripts_status`.
    pub process_id: String,
}

/// `scripts_stop` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StopParams {
    /// A `processId` (`name-N`) from `scripts_run` or `scripts_status`.
    pub process_id: String,
    /// SIGKILL to the whole group at once, no SIGTERM first (default false).
    #[serde(default)]
    pub kill: bool,
}

/// `scripts_status` arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusParams {
    /// Only processes of this script (all processes when absent).
    #[serde(default)]
    pub name: Option<String>,
}

/// Which stream a log query looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// stdout and stderr.
    #[default]
    All,
    /// stderr only.
    Error,
    /// stdout only.
    Info,
}

/// `logs_stream` arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamParams {
    /// Only this process (all processes when absent).
    #[serde(default)]
    pub process_id: Option<String>,
    /// `error`: stderr lines only; `info`: stdout only; `all` (default): both.
    #[serde(default)]
    pub level: Option<Level>,
    /// How many of the most recent lines (default 100, at most 10000). A reply carries at
    /// most 4 MiB of entries whatever the limit; see `truncated` and `omitted`.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `logs_search` arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchParams {
    /// Text to find (case-sensitive substring), or a regular expression when `regex` is true
    /// (Rust regex syntax; `(?i)` for case-insensitive).
    pub query: String,
    /// Treat `query` as a regular expression.
    #[serde(default)]
    pub regex: Option<bool>,
    /// Only this process (all processes when absent).
    #[serde(default)]
    pub process_id: Option<String>,
    /// `error`: stderr lines only; `info`: stdout only; `all` (default): both.
    #[serde(default)]
    pub level: Option<Level>,
    /// Only lines captured at or after this RFC 3339 time (e.g. `2026-05-01T12:00:00Z`).
    #[serde(default)]
    pub since: Option<String>,
    /// At most this many matches, the most recent (default 100, at most 10000). A reply
    /// carries at most 4 MiB of entries whatever the limit; see `truncated` and `omitted`.
    #[serde(default)]
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use procsnap::{Event, Exit};
    use std::time::{Duration, UNIX_EPOCH};

    /// The advertised output schema says what an id looks like, and says the same as the
    /// value `answers` builds.
    #[test]
    fn log_entry_id_schema_describes_the_value() {
        let schema = serde_json::to_value(schemars::schema_for!(LogEntry)).unwrap();
        let doc = schema["properties"]["id"]["description"].as_str().unwrap();
        assert!(doc.starts_with("`<processId>-<seq>`"), "{doc}");
        assert_eq!(crate::answers::log_id("web-1", 42), "web-1-42");
        assert!(doc.contains("`web-1-42`"), "{doc}");
    }

    #[test]
    fn finished_process_has_end_duration_and_exit() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_777_638_896);
        let s = ProcessState::default()
            .apply(Event::Started { pid: 42, at: t0 })
            .unwrap()
            .apply(Event::Exited {
                exit: Exit::Code(3),
                at: t0 + Duration::from_millis(1500),
            })
            .unwrap();
        let v = serde_json::to_value(ProcessInfo::new("test-1".into(), "test", &s, t0)).unwrap();
        assert_eq!(v["status"], "failed");
        assert_eq!(v["exitCode"], 3);
        assert_eq!(v["startTime"], "2026-05-01T12:34:56.000Z");
        assert_eq!(v["endTime"], "2026-05-01T12:34:57.500Z");
        assert_eq!(v["duration"], "1.5s");
        assert_eq!(v["uptime"], "1.5s");
        assert!(v.get("signal").is_none());
    }

    #[test]
    fn running_process_has_no_end_fields_and_signal_is_kept_apart() {
        let t0 = UNIX_EPOCH + Duration::from_secs(100);
        let s = ProcessState::default()
            .apply(Event::Started { pid: 1, at: t0 })
            .unwrap();
        let v = serde_json::to_value(ProcessInfo::new(
            "dev-2".into(),
            "dev",
            &s,
            t0 + Duration::from_secs(61),
        ))
        .unwrap();
        assert_eq!(v["status"], "running");
        assert_eq!(v["uptime"], "1m01s");
        for k in ["endTime", "duration", "exitCode", "signal"] {
            assert!(v.get(k).is_none(), "{k}");
        }
        let s = s
            .apply(Event::StopRequested)
            .unwrap()
            .apply(Event::Exited {
                exit: Exit::Signal(15),
                at: t0,
            })
            .unwrap();
        let v = serde_json::to_value(ProcessInfo::new("dev-2".into(), "dev", &s, t0)).unwrap();
        assert_eq!(v["status"], "stopped");
        assert_eq!(v["signal"], 15);
        assert!(v.get("exitCode").is_none());
    }
}
