//! The `procsnap` binary: argument parsing and dispatch; the work is in `procsnap_cli`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};

use procsnap_cli::compose::{self, Stack};
use procsnap_cli::project::{Project, Source};
use procsnap_cli::safe::escape;
use procsnap_cli::style::ColorChoice;
use procsnap_cli::{mcp, remote, run, tui};

const EXAMPLES: &str = "\
Examples:
  procsnap list --dir examples/demo
  procsnap run --dir examples/demo build lint test
  procsnap up --dir examples/stack         (procsnap.yaml: dependencies, readiness, restarts)
  procsnap run dev 'api=python3 -m http.server 8000'
  procsnap tui --dir examples/demo dev     (or just `procsnap` on a terminal)
  procsnap mcp --dir ~/code/my-app        (configure this as a stdio MCP server)";

/// Run package.json and Procfile scripts: in the foreground, in a terminal UI, or for an AI
/// agent over MCP. Without a command on a terminal, opens the terminal UI.
#[derive(Debug, Parser)]
#[command(name = "procsnap", version, after_help = EXAMPLES)]
struct Cli {
    /// The project directory (holding package.json and/or Procfile).
    #[arg(long, global = true, value_name = "PROJECT", default_value = ".")]
    dir: PathBuf,
    /// The process configuration (default: procsnap.yaml, procsnap.yml, process-compose.yaml
    /// or process-compose.yml in the project directory).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the scripts the project declares, with their commands.
    #[command(after_help = "Example:\n  procsnap list --dir examples/demo")]
    List,
    /// Run scripts in the foreground with prefixed output until they all end.
    ///
    /// Each TARGET is a process configured in procsnap.yaml (started after its dependencies,
    /// with its readiness checks and restart policy, as `up` does), a declared script name, or
    /// NAME=COMMAND for an ad-hoc shell command.
    /// Ctrl-C (or SIGTERM) stops every process group gracefully; a second Ctrl-C kills them.
    /// The exit code is 1 if any script failed, 130/143 if interrupted, else 0.
    #[command(
        after_help = "Examples:\n  procsnap run --dir examples/demo build lint test\n  procsnap run dev 'worker=node worker.js'"
    )]
    Run {
        /// Scripts to run (NAME or NAME=COMMAND).
        #[arg(required = true, value_name = "TARGET")]
        targets: Vec<String>,
        /// Colour the prefixes.
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
        /// Seconds a process group gets after SIGTERM before SIGKILL.
        #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_grace, allow_negative_numbers = true)]
        grace: Duration,
    },
    /// Start the configured processes in dependency order, with prefixed output, until they
    /// all end or Ctrl-C.
    ///
    /// Reads procsnap.yaml (or process-compose.yaml, or --config FILE): each process starts
    /// once its depends_on conditions hold, readiness comes from ready_log_line or
    /// readiness_probe, restarts follow availability (exponential backoff). NAMEs start those
    /// processes and their dependencies; without NAMEs, every process not disabled. Ctrl-C stops
    /// them in reverse dependency order, each with its shutdown signal and timeout. The exit
    /// code is 1 if a process failed for good (or could not start), 130/143 if interrupted.
    #[command(
        after_help = "Examples:\n  procsnap up --dir examples/stack\n  procsnap up api --config dev.yaml"
    )]
    Up {
        /// Configured processes to start (with their dependencies); default: all not disabled.
        #[arg(value_name = "NAME")]
        names: Vec<String>,
        /// Colour the prefixes.
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
        /// Seconds a process group gets after its shutdown signal before SIGKILL, unless its
        /// shutdown.timeout_seconds says otherwise.
        #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_grace, allow_negative_numbers = true)]
        grace: Duration,
    },
    /// Interactive terminal UI: every script, its status and its output; start, stop, search.
    ///
    /// Shows every configured process (procsnap.yaml) and declared script, and starts the
    /// TARGETs (NAME or NAME=COMMAND) at once; configured processes show their readiness and
    /// restart backoff.
    /// Keys: j/k select, Enter log pane, r start/restart, s stop, x kill, R restart all,
    /// / search, ? help, q quit (stops every process group, like `run`).
    #[command(after_help = "Example:\n  procsnap tui --dir examples/demo dev")]
    Tui {
        /// Scripts to start at once (NAME or NAME=COMMAND).
        #[arg(value_name = "TARGET")]
        targets: Vec<String>,
        /// Seconds a process group gets after SIGTERM before SIGKILL.
        #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_grace, allow_negative_numbers = true)]
        grace: Duration,
    },
    /// Serve the project's scripts as MCP tools over stdio (logs go to stderr).
    ///
    /// Tools: scripts_list, scripts_run, scripts_stop, scripts_restart, scripts_status,
    /// logs_stream, logs_search. Only declared scripts can be run. On stdin EOF or SIGTERM every
    /// process group is stopped and the server exits.
    #[command(
        after_help = "Example (an MCP client's server entry):\n  {\"command\": \"procsnap\", \"args\": [\"mcp\", \"--dir\", \"/path/to/project\"]}"
    )]
    Mcp {
        /// Seconds a process group gets after SIGTERM before SIGKILL.
        #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_grace, allow_negative_numbers = true)]
        grace: Duration,
    },
    /// The terminal UI on the project's live session, owned by another process: the same
    /// screen and keys; quitting detaches and stops nothing.
    ///
    /// Exit code 3 if no session is live; 1 when the session ends under it.
    #[command(after_help = "Example:\n  procsnap attach --dir examples/stack")]
    Attach,
    /// The processes of the project's live session (owned by `up`, `tui` or `mcp`).
    ///
    /// Exit code 3 if no session is live.
    #[command(after_help = "Example:\n  procsnap ps --dir examples/stack")]
    Ps {
        /// The answer as JSON (scripts_status's).
        #[arg(long)]
        json: bool,
    },
    /// Start names in the live session, detached: they run until stopped or until the
    /// session ends.
    ///
    /// Exit code 1 if a name could not start, 3 if no session is live.
    Start {
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Stop names in the live session (each with its shutdown signal; final: no restart).
    ///
    /// Exit code 1 if a name has no process, 3 if no session is live.
    Stop {
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Restart names in the live session: stop, then start again as a new process, in the
    /// same job. The owner's output says who asked.
    ///
    /// Exit code 1 if a name has no process, 3 if no session is live.
    Restart {
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// The output of a name in the live session: its newest process's last lines, and with
    /// --follow every new line (across restarts) until Ctrl-C.
    ///
    /// Exit code 1 if the name has no process, 3 if no session is live.
    Logs {
        #[arg(value_name = "NAME")]
        name: String,
        /// Lines of the newest process to show first.
        #[arg(long, short = 'n', default_value_t = 100, value_name = "N")]
        lines: usize,
        /// Keep printing new lines.
        #[arg(long, short = 'f')]
        follow: bool,
        #[arg(long)]
        json: bool,
    },
}

/// The longest `--grace`: a day (the Supervisor itself caps any grace at a year).
const MAX_GRACE_SECS: f64 = 24.0 * 60.0 * 60.0;

/// `--grace`: seconds from 0 to a day, fractions allowed. A negative number reaches this
/// parser (`allow_negative_numbers`) so that it is refused for what it is.
fn parse_grace(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| "expected a number of seconds, e.g. 5 or 0.5".to_owned())?;
    if secs < 0.0 {
        return Err("the grace must be at least 0 seconds (0: SIGKILL at once)".into());
    }
    // NaN is neither below nor above: refused here too.
    if secs.is_nan() || secs > MAX_GRACE_SECS {
        return Err(format!(
            "the grace must be at most {MAX_GRACE_SECS} seconds (a day)"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        Some(c) => c,
        None if on_terminal() => Command::Tui {
            targets: Vec::new(),
            grace: Duration::from_secs(5),
        },
        None => {
            // As clap does for a missing subcommand: the help on stderr, exit code 2.
            let _ = Cli::command().write_help(&mut std::io::stderr());
            return ExitCode::from(2);
        }
    };
    // The control verbs need no project files: only the live session.
    match &command {
        Command::Ps { json } => return remote::ps(&cli.dir, *json),
        Command::Start { names, json } => return remote::start(&cli.dir, names, *json),
        Command::Stop { names, json } => {
            return remote::stop_or_restart(&cli.dir, names, false, *json);
        }
        Command::Restart { names, json } => {
            return remote::stop_or_restart(&cli.dir, names, true, *json);
        }
        Command::Logs {
            name,
            lines,
            follow,
            json,
        } => return remote::logs(&cli.dir, name, *lines, *follow, *json),
        _ => {}
    }
    let project = match Project::discover(&cli.dir) {
        Ok(p) => p,
        Err(e) => return usage(&e.to_string()),
    };
    for w in &project.warnings {
        say(&format!("warning: {w}"));
    }
    // Every configuration error is reported here, before anything starts.
    let stack = match compose::load(&project, cli.config.as_deref()) {
        Ok(s) => s.map(Arc::new),
        Err(e) => return usage(&e.to_string()),
    };
    for w in stack.iter().flat_map(|s| &s.warnings) {
        say(&w.to_string());
    }
    match command {
        Command::List => list(&project, stack.as_deref()),
        Command::Up {
            names,
            color,
            grace,
        } => match run::resolve_up(stack, &names) {
            Ok(launch) => run::up(&project, launch, color.enabled(), grace),
            Err(e) => usage(&e),
        },
        Command::Run {
            targets,
            color,
            grace,
        } => match run::resolve_targets(&project, stack.as_ref(), &targets) {
            Ok(launch) => run::run(&project, launch, color.enabled(), grace),
            Err(e) => usage(&e),
        },
        Command::Tui { targets, grace } => {
            match run::resolve_targets(&project, stack.as_ref(), &targets) {
                Ok(launch) => tui::run(project, stack, launch, grace),
                Err(e) => usage(&e),
            }
        }
        Command::Attach => tui::attach(&project),
        Command::Mcp { grace } => mcp::serve(project, stack, grace),
        Command::Ps { .. }
        | Command::Start { .. }
        | Command::Stop { .. }
        | Command::Restart { .. }
        | Command::Logs { .. } => unreachable!("answered above"),
    }
}

/// True when both stdin and stdout are terminals.
fn on_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// `procsnap: MSG` on stderr; names in `msg` come from the project, so it is escaped.
fn say(msg: &str) {
    eprintln!("procsnap: {}", escape(msg));
}

fn usage(msg: &str) -> ExitCode {
    say(msg);
    ExitCode::from(2)
}

fn list(project: &Project, stack: Option<&Stack>) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let configured: Vec<(&str, &str, String)> = stack
        .iter()
        .flat_map(|s| {
            let file = s
                .path
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
            s.procs
                .iter()
                .map(move |p| (p.name.as_str(), p.command.as_str(), file.clone()))
        })
        .collect();
    let scripts: Vec<(&str, &str, String)> = project
        .scripts
        .iter()
        .filter(|s| !configured.iter().any(|(n, _, _)| *n == s.name))
        .map(|s| {
            let origin = match s.source {
                Source::PackageJson => project.package_manager.as_str(),
                Source::Procfile => "Procfile",
            };
            (s.name.as_str(), s.command.as_str(), origin.to_owned())
        })
        .collect();
    // Names, commands and file names come from the project: shown escaped.
    let all: Vec<(String, String, String)> = configured
        .iter()
        .chain(&scripts)
        .map(|(n, c, o)| {
            (
                escape(n).into_owned(),
                escape(c).into_owned(),
                escape(o).into_owned(),
            )
        })
        .collect();
    if configured.is_empty() && scripts.is_empty() {
        let dir = project.dir.display().to_string();
        let _ = writeln!(
            out,
            "no scripts in {} (no package.json scripts, no Procfile)",
            escape(&dir)
        );
        return ExitCode::SUCCESS;
    }
    let width = all
        .iter()
        .map(|(n, _, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    for (name, command, origin) in all {
        let pad = width - name.chars().count();
        if writeln!(out, "{name}{:pad$}  {command}  [{origin}]", "").is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}
