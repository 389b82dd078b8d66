//! What a session runs: each process's command, readiness checks and shutdown, and the
//! checked plan of their dependencies and restart policies.

use std::path::PathBuf;
use std::time::Duration;

use procsnap::CommandSpec;
use procsnap::orchestrate::{Plan, ProbeTiming};
use regex::Regex;

/// A ready log line: a line is a match if it contains the text, or if the text is a regular
/// expression that matches it.
#[derive(Clone, Debug)]
pub struct ReadyLine {
    pub text: String,
    regex: Option<Regex>,
}

impl ReadyLine {
    pub fn new(text: &str) -> ReadyLine {
        ReadyLine {
            text: text.to_owned(),
            regex: Regex::new(text).ok(),
        }
    }

    /// True if `line` is the ready line.
    pub fn matches(&self, line: &str) -> bool {
        line.contains(&self.text) || self.regex.as_ref().is_some_and(|r| r.is_match(line))
    }
}

/// What a readiness probe does.
#[derive(Clone, Debug)]
pub enum Check {
    /// Runs the command (through the configuration's shell, with the process's environment and
    /// directory); exit 0 passes.
    Exec(CommandSpec),
    /// `GET http://host:port/path`; a status from 200 to 399 passes.
    Http {
        host: String,
        port: u16,
        path: String,
    },
}

/// How a process is stopped when everything shuts down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shutdown {
    /// The first signal (SIGTERM unless configured).
    pub signal: i32,
    /// Before SIGKILL; `None`: the command line's `--grace`.
    pub timeout: Option<Duration>,
}

/// Where a name comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A process of the configuration file (`procsnap.yaml`, `process-compose.yaml`).
    Configured,
    /// A package.json script or Procfile entry.
    Script,
    /// A `NAME=COMMAND` given on the command line.
    AdHoc,
}

/// One process a session can run: what to run and how to check it. Its orchestration
/// settings are in the [`Stack`]'s plan, at the same position.
#[derive(Clone, Debug)]
pub struct Proc {
    pub name: String,
    pub origin: Origin,
    /// The command as shown (`npm run dev` for a `script:`).
    pub command: String,
    pub spec: CommandSpec,
    pub ready_line: Option<ReadyLine>,
    pub probe: Option<(Check, ProbeTiming)>,
    pub shutdown: Shutdown,
}

impl Proc {
    /// A dependency-free name (a script or an ad-hoc command) that runs `spec`, shown as
    /// `command`, stopped with SIGTERM and the session's grace.
    pub fn plain(name: &str, origin: Origin, command: &str, spec: CommandSpec) -> Proc {
        Proc {
            name: name.to_owned(),
            origin,
            command: command.to_owned(),
            spec,
            ready_line: None,
            probe: None,
            shutdown: Shutdown {
                signal: libc::SIGTERM,
                timeout: None,
            },
        }
    }
}

/// A loaded configuration: the processes and their checked plan.
#[derive(Clone, Debug)]
pub struct Stack {
    pub path: PathBuf,
    pub plan: Plan,
    /// In plan order (declaration order).
    pub procs: Vec<Proc>,
    /// `file:line:column: warning: …` for every key not read, and other oddities.
    pub warnings: Vec<String>,
}

impl Stack {
    /// No configuration: nothing configured, an empty plan.
    pub fn empty() -> Stack {
        Stack {
            path: PathBuf::new(),
            plan: Plan::new(Vec::new()).expect("an empty plan is valid"),
            procs: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The process called `name`.
    pub fn proc(&self, name: &str) -> Option<&Proc> {
        self.plan.find(name).map(|u| &self.procs[u.index()])
    }
}
