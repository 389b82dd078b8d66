//! From the YAML tree to the settings of each process, with a position for every error and
//! every warning. Nothing here touches the file system.

use std::time::Duration;

use procsnap::orchestrate::{Backoff, Condition, ProbeTiming, Restart};

use super::keys;
use super::yaml::{Key, Node, Pos, Value};
use super::{Located, signals};

/// The whole file, as read.
#[derive(Debug, Default)]
pub struct RawConfig {
    /// Top-level `environment`, applied to every process.
    pub environment: Vec<(String, String)>,
    /// Top-level `shell`: what runs each `command` (and exec probe).
    pub shell: Option<RawShell>,
    pub processes: Vec<RawProcess>,
}

/// `shell: {shell_command, shell_argument}`, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawShell {
    pub command: String,
    pub argument: String,
    pub pos: Pos,
}

/// One process, as read.
#[derive(Debug)]
pub struct RawProcess {
    pub name: String,
    pub pos: Pos,
    pub command: Option<(String, Pos)>,
    pub script: Option<(String, Pos)>,
    pub working_dir: Option<(String, Pos)>,
    pub environment: Vec<(String, String)>,
    pub env_files: Vec<(String, Pos)>,
    /// Name, condition, where the entry is.
    pub depends_on: Vec<(String, Condition, Pos)>,
    pub ready_log_line: Option<(String, Pos)>,
    pub probe: Option<RawProbe>,
    pub restart: Restart,
    pub backoff: Backoff,
    pub max_restarts: u32,
    pub shutdown_signal: i32,
    pub shutdown_timeout: Option<Duration>,
    pub disabled: bool,
}

/// A readiness probe, as read.
#[derive(Debug)]
pub struct RawProbe {
    pub check: RawCheck,
    pub timing: ProbeTiming,
}

/// What a probe does.
#[derive(Debug, PartialEq, Eq)]
pub enum RawCheck {
    Exec {
        command: String,
        working_dir: Option<String>,
    },
    Http {
        host: String,
        port: u16,
        path: String,
    },
}

/// Reads the tree, collecting warnings for the keys it does not read.
#[derive(Default)]
pub struct Reader {
    pub warnings: Vec<(Pos, String)>,
}

type Result<T> = std::result::Result<T, Located>;

fn err<T>(pos: Pos, message: impl Into<String>) -> Result<T> {
    Err(Located {
        pos: Some(pos),
        message: message.into(),
    })
}

fn expected<T>(what: &str, node: &Node) -> Result<T> {
    err(
        node.pos,
        format!("expected {what}, found {}", node.value.kind()),
    )
}

impl Reader {
    /// The entries of a mapping node; warns about keys outside `known` (process-compose's
    /// unread keys in `ignored` get their own message). `at` prefixes key names in messages.
    fn entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: &[&str],
        ignored: &[&str],
        at: &str,
    ) -> Result<Vec<&'n (Key, Node)>> {
        let Value::Map(entries) = &node.value else {
            return expected(&format!("{what} (a mapping)"), node);
        };
        let mut read = Vec::with_capacity(entries.len());
        for e in entries {
            match keys::check(&e.0.name, known, ignored, at) {
                // A key inherited through `extends` is read once per process: warned once.
                Some(_) if self.warnings.iter().any(|(p, _)| *p == e.0.pos) => {}
                Some(w) => self.warnings.push((e.0.pos, w)),
                None => read.push(e),
            }
        }
        Ok(read)
    }

    /// The document: `processes` (required) and the top-level `environment`.
    pub fn config(&mut self, doc: &Node) -> Result<RawConfig> {
        if doc.value == Value::Null {
            return err(
                Pos { line: 1, column: 1 },
                "the file is empty: expected `processes:`",
            );
        }
        let mut config = RawConfig::default();
        let mut processes = None;
        for (k, v) in self.entries(doc, "the document", keys::TOP, keys::TOP_IGNORED, "")? {
            match k.name.as_str() {
                "processes" => processes = Some(v),
                "environment" => config.environment = environment(v)?,
                "shell" => config.shell = Some(self.shell(v)?),
                // Read before expansion (see `super::expand`); checked here.
                "disable_env_expansion" => {
                    boolean(v)?;
                }
                _ => {} // version: accepted, nothing to read
            }
        }
        let Some(processes) = processes else {
            return err(
                Pos { line: 1, column: 1 },
                "no `processes:` mapping in the file",
            );
        };
        let Value::Map(entries) = &processes.value else {
            return expected("a mapping of process names", processes);
        };
        for (k, v) in entries {
            config.processes.push(self.process(k, v)?);
        }
        Ok(config)
    }

    fn process(&mut self, key: &Key, node: &Node) -> Result<RawProcess> {
        let at = format!("processes.{}.", key.name);
        let mut p = RawProcess {
            name: key.name.clone(),
            pos: key.pos,
            command: None,
            script: None,
            working_dir: None,
            environment: Vec::new(),
            env_files: Vec::new(),
            depends_on: Vec::new(),
            ready_log_line: None,
            probe: None,
            restart: Restart::No,
            backoff: Backoff::default(),
            max_restarts: 0,
            shutdown_signal: libc::SIGTERM,
            shutdown_timeout: None,
            disabled: false,
        };
        let what = format!("process {:?}", key.name);
        for (k, v) in self.entries(node, &what, keys::PROCESS, keys::PROCESS_IGNORED, &at)? {
            match k.name.as_str() {
                "command" => p.command = Some((string(v)?, v.pos)),
                "script" => p.script = Some((string(v)?, v.pos)),
                "working_dir" => p.working_dir = Some((string(v)?, v.pos)),
                "environment" => p.environment = environment(v)?,
                "env_file" => p.env_files = strings(v)?,
                "depends_on" => p.depends_on = self.depends_on(v, &at)?,
                "ready_log_line" => p.ready_log_line = Some((nonempty(v)?, v.pos)),
                "readiness_probe" => p.probe = Some(self.probe(v, &at)?),
                "availability" => self.availability(v, &at, &mut p)?,
                "shutdown" => self.shutdown(v, &at, &mut p)?,
                "disabled" => p.disabled = boolean(v)?,
                _ => unreachable!("keys::PROCESS lists every key read here"),
            }
        }
        Ok(p)
    }

    /// `depends_on`: a mapping of names to `{condition: …}` (or to nothing: the default
    /// condition), or a list of names.
    fn depends_on(&mut self, node: &Node, at: &str) -> Result<Vec<(String, Condition, Pos)>> {
        if let Value::Seq(items) = &node.value {
            return items
                .iter()
                .map(|n| Ok((string(n)?, Condition::Default, n.pos)))
                .collect();
        }
        let Value::Map(entries) = &node.value else {
            return expected("a mapping of process names (or a list of them)", node);
        };
        let mut deps = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let mut condition = Condition::Default;
            if v.value != Value::Null {
                let at = format!("{at}depends_on.{}.", k.name);
                for (ck, cv) in self.entries(v, "a dependency", keys::DEPENDENCY, &[], &at)? {
                    debug_assert_eq!(ck.name, "condition");
                    let name = string(cv)?;
                    condition = Condition::parse(&name).ok_or_else(|| Located {
                        pos: Some(cv.pos),
                        message: format!(
                            "unknown condition {name:?}; expected one of {}",
                            Condition::NAMES.join(", ")
                        ),
                    })?;
                }
            }
            deps.push((k.name.clone(), condition, k.pos));
        }
        Ok(deps)
    }

    fn probe(&mut self, node: &Node, at: &str) -> Result<RawProbe> {
        let at = format!("{at}readiness_probe.");
        let mut timing = ProbeTiming::default();
        let mut checks = Vec::new();
        for (k, v) in self.entries(node, "readiness_probe", keys::PROBE, &[], &at)? {
            match k.name.as_str() {
                "exec" => checks.push(self.exec(v, &at)?),
                "http_get" => checks.push(self.http(v, &at)?),
                "initial_delay_seconds" => timing.initial_delay = seconds(v)?,
                "period_seconds" => timing.period = seconds(v)?,
                "timeout_seconds" => timing.timeout = positive_seconds(v)?,
                "success_threshold" => timing.success_threshold = count(v, 1)?,
                "failure_threshold" => timing.failure_threshold = count(v, 1)?,
                _ => unreachable!("keys::PROBE lists every key read here"),
            }
        }
        match checks.len() {
            1 => Ok(RawProbe {
                check: checks.pop().expect("one"),
                timing,
            }),
            0 => err(node.pos, "readiness_probe needs `exec` or `http_get`"),
            _ => err(
                node.pos,
                "readiness_probe takes one of `exec` and `http_get`, not both",
            ),
        }
    }

    fn exec(&mut self, node: &Node, at: &str) -> Result<RawCheck> {
        let at = format!("{at}exec.");
        let (mut command, mut working_dir) = (None, None);
        for (k, v) in self.entries(node, "exec", keys::EXEC, &[], &at)? {
            match k.name.as_str() {
                "command" => command = Some(nonempty(v)?),
                _ => working_dir = Some(string(v)?),
            }
        }
        let command = command.ok_or_else(|| Located {
            pos: Some(node.pos),
            message: "readiness_probe.exec needs a `command`".to_owned(),
        })?;
        Ok(RawCheck::Exec {
            command,
            working_dir,
        })
    }

    fn http(&mut self, node: &Node, at: &str) -> Result<RawCheck> {
        let at = format!("{at}http_get.");
        let (mut host, mut port, mut path) = ("127.0.0.1".to_owned(), None, "/".to_owned());
        for (k, v) in self.entries(node, "http_get", keys::HTTP, keys::HTTP_IGNORED, &at)? {
            match k.name.as_str() {
                "host" => host = nonempty(v)?,
                "port" => port = Some(port_number(v)?),
                "path" => path = string(v)?,
                _ => {
                    let scheme = string(v)?;
                    if !scheme.eq_ignore_ascii_case("http") {
                        return err(
                            v.pos,
                            format!(
                                "scheme {scheme:?} is not supported: http_get probes speak plain \
                                 HTTP (use an exec probe, e.g. `curl -fsk https://…`)"
                            ),
                        );
                    }
                }
            }
        }
        let port = port.ok_or_else(|| Located {
            pos: Some(node.pos),
            message: "readiness_probe.http_get needs a `port`".to_owned(),
        })?;
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        Ok(RawCheck::Http { host, port, path })
    }

    fn availability(&mut self, node: &Node, at: &str, p: &mut RawProcess) -> Result<()> {
        let at = format!("{at}availability.");
        let (known, ignored) = (keys::AVAILABILITY, keys::AVAILABILITY_IGNORED);
        for (k, v) in self.entries(node, "availability", known, ignored, &at)? {
            match k.name.as_str() {
                "restart" => p.restart = restart(v)?,
                "backoff_seconds" => p.backoff.base = seconds(v)?,
                "max_restarts" => p.max_restarts = count(v, 0)?,
                "max_backoff_seconds" => p.backoff.max = seconds(v)?,
                _ => p.backoff.reset_after = seconds(v)?,
            }
        }
        Ok(())
    }

    /// `shell`: the program and its argument before the command (`bash` and `-c`).
    fn shell(&mut self, node: &Node) -> Result<RawShell> {
        let (mut command, mut argument) = (None, None);
        for (k, v) in self.entries(node, "shell", keys::SHELL, keys::SHELL_IGNORED, "shell.")? {
            match k.name.as_str() {
                "shell_command" => command = Some(nonempty(v)?),
                _ => argument = Some(string(v)?),
            }
        }
        let command = command.ok_or_else(|| Located {
            pos: Some(node.pos),
            message: "shell needs a `shell_command` (e.g. bash)".to_owned(),
        })?;
        Ok(RawShell {
            command,
            argument: argument.unwrap_or_else(|| "-c".to_owned()),
            pos: node.pos,
        })
    }

    fn shutdown(&mut self, node: &Node, at: &str, p: &mut RawProcess) -> Result<()> {
        let at = format!("{at}shutdown.");
        let (known, ignored) = (keys::SHUTDOWN, keys::SHUTDOWN_IGNORED);
        for (k, v) in self.entries(node, "shutdown", known, ignored, &at)? {
            match k.name.as_str() {
                "signal" => p.shutdown_signal = signal(v)?,
                _ => p.shutdown_timeout = Some(seconds(v)?),
            }
        }
        Ok(())
    }
}

/// A scalar as text: strings as they are, numbers and booleans spelled out.
fn string(node: &Node) -> Result<String> {
    match &node.value {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(f.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => expected("a string", node),
    }
}

fn nonempty(node: &Node) -> Result<String> {
    let s = string(node)?;
    if s.trim().is_empty() {
        return err(node.pos, "expected a non-empty string");
    }
    Ok(s)
}

/// One string or a list of them.
fn strings(node: &Node) -> Result<Vec<(String, Pos)>> {
    match &node.value {
        Value::Seq(items) => items.iter().map(|n| Ok((string(n)?, n.pos))).collect(),
        _ => Ok(vec![(string(node)?, node.pos)]),
    }
}

pub(super) fn boolean(node: &Node) -> Result<bool> {
    match node.value {
        Value::Bool(b) => Ok(b),
        _ => expected("true or false", node),
    }
}

/// `environment`: a list of `KEY=VALUE` strings (process-compose's form) or a mapping.
fn environment(node: &Node) -> Result<Vec<(String, String)>> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .map(|n| {
                let s = string(n)?;
                match s.split_once('=') {
                    Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
                    _ => err(n.pos, format!("expected KEY=VALUE, found {s:?}")),
                }
            })
            .collect(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                let value = match &v.value {
                    Value::Null => String::new(),
                    _ => string(v)?,
                };
                Ok((k.name.clone(), value))
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        _ => expected("a list of KEY=VALUE or a mapping", node),
    }
}

/// The longest duration accepted anywhere: a day.
const MAX_SECONDS: f64 = 24.0 * 60.0 * 60.0;

fn seconds(node: &Node) -> Result<Duration> {
    let secs = match node.value {
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
        _ => return expected("a number of seconds", node),
    };
    if !(0.0..=MAX_SECONDS).contains(&secs) {
        return err(
            node.pos,
            format!("expected seconds from 0 to {MAX_SECONDS} (a day), found {secs}"),
        );
    }
    Ok(Duration::from_secs_f64(secs))
}

fn positive_seconds(node: &Node) -> Result<Duration> {
    let d = seconds(node)?;
    if d.is_zero() {
        return err(node.pos, "expected more than 0 seconds");
    }
    Ok(d)
}

/// A whole number of at least `min`.
fn count(node: &Node, min: u32) -> Result<u32> {
    match node.value {
        Value::Int(i) if i >= i64::from(min) && i <= i64::from(u32::MAX) => Ok(i as u32),
        _ => expected(&format!("a whole number of at least {min}"), node),
    }
}

fn port_number(node: &Node) -> Result<u16> {
    let n = match &node.value {
        Value::Int(i) => Some(*i),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        Some(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => err(
            node.pos,
            format!("expected a port from 1 to 65535, found {}", describe(node)),
        ),
    }
}

fn restart(node: &Node) -> Result<Restart> {
    // YAML 1.1 readers take a bare `no` for false.
    if node.value == Value::Bool(false) {
        return Ok(Restart::No);
    }
    let name = string(node)?;
    Restart::parse(&name).ok_or_else(|| Located {
        pos: Some(node.pos),
        message: format!(
            "unknown restart policy {name:?}; expected one of {}",
            Restart::NAMES.join(", ")
        ),
    })
}

fn signal(node: &Node) -> Result<i32> {
    let found = describe(node);
    let sig = match &node.value {
        Value::Int(i) => i32::try_from(*i)
            .ok()
            .filter(|s| signals::name(*s).is_some()),
        Value::Str(s) => signals::parse(s),
        _ => None,
    };
    sig.ok_or_else(|| Located {
        pos: Some(node.pos),
        message: format!(
            "bad shutdown signal {found}: expected a signal that ends a process, by number or \
             name ({})",
            signals::NAMES.join(", ")
        ),
    })
}

/// The value as the user wrote it, for messages.
fn describe(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => format!("{:?}", crate::safe::clip(s)),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        v => v.kind().to_owned(),
    }
}
