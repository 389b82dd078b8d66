//! Which keys procsnap reads at each level of a configuration, and which are
//! process-compose's but not read (each a warning, never a silent ignore).

/// Top level: read.
pub const TOP: &[&str] = &[
    "version",
    "processes",
    "environment",
    "shell",
    "disable_env_expansion",
];
/// Top level: process-compose's, not read.
pub const TOP_IGNORED: &[&str] = &[
    "log_location",
    "log_level",
    "log_length",
    "log_configuration",
    "log_format",
    "is_strict",
    "vars",
    "is_tui_disabled",
    "extends",
    "env_cmds",
    "ordered_shutdown",
];

/// A process: read (`extends` is resolved before, see [`super::extends`]). `script`,
/// `max_backoff_seconds` and `backoff_reset_seconds` are procsnap's own.
pub const PROCESS: &[&str] = &[
    "command",
    "script",
    "working_dir",
    "environment",
    "env_file",
    "depends_on",
    "ready_log_line",
    "readiness_probe",
    "availability",
    "shutdown",
    "disabled",
];
/// A process: process-compose's, not read.
pub const PROCESS_IGNORED: &[&str] = &[
    "description",
    "is_daemon",
    "entrypoint",
    "log_location",
    "log_configuration",
    "liveness_probe",
    "namespace",
    "replicas",
    "is_foreground",
    "is_tty",
    "vars",
    "disable_ansi_colors",
    "is_elevated",
    "launch_timeout_seconds",
    "is_dotenv_disabled",
    "schedule",
    "watch",
];

/// `readiness_probe`: read.
pub const PROBE: &[&str] = &[
    "exec",
    "http_get",
    "initial_delay_seconds",
    "period_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
];
/// `readiness_probe.exec`: read.
pub const EXEC: &[&str] = &["command", "working_dir"];
/// `readiness_probe.http_get`: read.
pub const HTTP: &[&str] = &["host", "port", "path", "scheme"];
/// `readiness_probe.http_get`: process-compose's, not read.
pub const HTTP_IGNORED: &[&str] = &["headers", "status_code"];

/// `availability`: read.
pub const AVAILABILITY: &[&str] = &[
    "restart",
    "backoff_seconds",
    "max_restarts",
    "max_backoff_seconds",
    "backoff_reset_seconds",
];
/// `availability`: process-compose's, not read.
pub const AVAILABILITY_IGNORED: &[&str] = &["exit_on_end", "exit_on_skipped"];

/// `shutdown`: read.
pub const SHUTDOWN: &[&str] = &["signal", "timeout_seconds"];
/// `shutdown`: process-compose's, not read.
pub const SHUTDOWN_IGNORED: &[&str] = &["command", "parent_only"];

/// `shell`: read.
pub const SHELL: &[&str] = &["shell_command", "shell_argument"];
/// `shell`: process-compose's, not read.
pub const SHELL_IGNORED: &[&str] = &["elevated_shell_command", "elevated_shell_argument"];

/// `depends_on.<name>`: read.
pub const DEPENDENCY: &[&str] = &["condition"];

/// The warning for `key` at a level whose read keys are `known` and whose process-compose
/// keys procsnap leaves unread are `ignored`; `None` for a key that is read.
pub fn check(key: &str, known: &[&str], ignored: &[&str], at: &str) -> Option<String> {
    if known.contains(&key) {
        None
    } else if ignored.contains(&key) {
        Some(format!(
            "`{at}{key}` is a process-compose setting procsnap does not support; ignored"
        ))
    } else {
        Some(format!(
            "unknown key `{at}{key}`; ignored (known here: {})",
            known.join(", ")
        ))
    }
}
