//! `procsnap.yaml` / `process-compose.yaml`: processes with dependencies, readiness checks
//! and restart policies (a subset of process-compose's format, plus `script:`).
//!
//! Loading reads the file (a regular file of at most 16 MiB), parses it within a budget
//! ([`yaml`]), reads the keys procsnap knows ([`schema`]; every other key is a warning naming
//! it and its line), loads `.env` and `env_file`s ([`dotenv`]) and checks the dependency graph
//! ([`procsnap::orchestrate::Plan`]). Every problem is an error naming the file and the line,
//! found before anything starts.

pub mod dotenv;
pub mod keys;
pub mod schema;
pub mod signals;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use procsnap::CommandSpec;
use procsnap::orchestrate::{Plan, PlanError, UnitConfig};

use crate::project::{Project, ProjectError};
pub use procsnap_session::def::{Check, Proc, ReadyLine, Shutdown, Stack};
use schema::{RawCheck, RawConfig, RawProcess};
use yaml::Pos;

/// The file names looked for in the project directory, in this order.
pub const CONFIG_NAMES: [&str; 4] = [
    "procsnap.yaml",
    "procsnap.yml",
    "process-compose.yaml",
    "process-compose.yml",
];

/// A message with the position it is about (for [`ConfigError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub pos: Option<Pos>,
    pub message: String,
}

/// A configuration that cannot be used: `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub pos: Option<Pos>,
    pub message: String,
}

impl ConfigError {
    fn at(path: &Path, located: Located) -> ConfigError {
        ConfigError {
            path: path.to_owned(),
            pos: located.pos,
            message: located.message,
        }
    }

    fn line(path: &Path, line: usize, message: String) -> ConfigError {
        ConfigError {
            path: path.to_owned(),
            pos: Some(Pos { line, column: 1 }),
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{p}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<ProjectError> for ConfigError {
    fn from(e: ProjectError) -> ConfigError {
        let (path, pos) = match &e {
            ProjectError::Read { path, .. }
            | ProjectError::Dir { path, .. }
            | ProjectError::TooLarge { path, .. }
            | ProjectError::NotAFile { path, .. } => (path.clone(), None),
            ProjectError::Syntax {
                path, line, column, ..
            } => (
                path.clone(),
                Some(Pos {
                    line: *line,
                    column: *column,
                }),
            ),
        };
        let message = match &e {
            ProjectError::Syntax { message, .. } => message.clone(),
            other => {
                let full = other.to_string();
                let prefix = format!("{}: ", path.display());
                full.strip_prefix(&prefix).unwrap_or(&full).to_owned()
            }
        };
        ConfigError { path, pos, message }
    }
}

/// Finds the configuration: `explicit` if given (it must exist), else the first of
/// [`CONFIG_NAMES`] in the project directory; `None` if there is none.
pub fn find(
    dir: &Path,
    explicit: Option<&Path>,
) -> Result<Option<(PathBuf, Vec<String>)>, ConfigError> {
    if let Some(p) = explicit {
        if !p.exists() {
            return Err(ConfigError {
                path: p.to_owned(),
                pos: None,
                message: "no such file (given with --config)".to_owned(),
            });
        }
        return Ok(Some((p.to_owned(), Vec::new())));
    }
    let found: Vec<PathBuf> = CONFIG_NAMES
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.exists())
        .collect();
    let mut warnings = Vec::new();
    let Some(first) = found.first() else {
        return Ok(None);
    };
    for other in &found[1..] {
        warnings.push(format!(
            "{}: ignored: {} is used (pass --config to choose)",
            other.display(),
            first.display()
        ));
    }
    Ok(Some((first.clone(), warnings)))
}

/// Loads the project's configuration, if it has one (see [`find`]).
pub fn load(project: &Project, explicit: Option<&Path>) -> Result<Option<Stack>, ConfigError> {
    let Some((path, mut warnings)) = find(&project.dir, explicit)? else {
        return Ok(None);
    };
    let text = crate::project::read_file(&path)?.ok_or_else(|| ConfigError {
        path: path.clone(),
        pos: None,
        message: "no such file".to_owned(),
    })?;
    let mut stack = from_text(project, &path, &text)?;
    warnings.append(&mut stack.warnings);
    stack.warnings = warnings;
    Ok(Some(stack))
}

/// Builds the stack from the text of the file at `path`.
pub fn from_text(project: &Project, path: &Path, text: &str) -> Result<Stack, ConfigError> {
    let doc = yaml::parse(text).map_err(|e| ConfigError {
        path: path.to_owned(),
        pos: e.pos,
        message: e.message,
    })?;
    let mut reader = schema::Reader::default();
    let raw = reader.config(&doc).map_err(|e| ConfigError::at(path, e))?;
    let warnings = reader
        .warnings
        .iter()
        .map(|(pos, w)| format!("{}:{pos}: warning: {w}", path.display()))
        .collect();
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| project.dir.clone(), Path::to_path_buf);
    let dotenv = read_env_file(&base.join(".env"), None, path)?;
    let mut procs = Vec::with_capacity(raw.processes.len());
    for p in &raw.processes {
        procs.push(build_proc(project, path, &base, &raw, &dotenv, p)?);
    }
    let plan = plan(path, &raw)?;
    Ok(Stack {
        path: path.to_owned(),
        plan,
        procs,
        warnings,
    })
}

fn plan(path: &Path, raw: &RawConfig) -> Result<Plan, ConfigError> {
    let units = raw
        .processes
        .iter()
        .map(|p| {
            let mut u = UnitConfig::new(&p.name)
                .ready_log_line(p.ready_log_line.is_some())
                .restart(p.restart)
                .backoff(p.backoff)
                .max_restarts(p.max_restarts)
                .disabled(p.disabled);
            if let Some(probe) = &p.probe {
                u = u.probe(probe.timing);
            }
            for (name, condition, _) in &p.depends_on {
                u = u.depends_on(name, *condition);
            }
            u
        })
        .collect();
    Plan::new(units).map_err(|e: PlanError| {
        let (unit, dep) = e.position();
        let p = &raw.processes[unit];
        let pos = dep.map_or(p.pos, |d| p.depends_on[d].2);
        ConfigError {
            path: path.to_owned(),
            pos: Some(pos),
            message: e.to_string(),
        }
    })
}

/// True for a name procsnap can show and look up: letters, digits, `_ - . :`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

fn build_proc(
    project: &Project,
    path: &Path,
    base: &Path,
    raw: &RawConfig,
    dotenv: &[(String, String)],
    p: &RawProcess,
) -> Result<Proc, ConfigError> {
    let fail = |pos: Pos, message: String| ConfigError {
        path: path.to_owned(),
        pos: Some(pos),
        message,
    };
    if !valid_name(&p.name) {
        return Err(fail(
            p.pos,
            format!(
                "process name {:?}: use letters, digits, _ - . or :",
                crate::answers::clip(&p.name)
            ),
        ));
    }
    let (mut spec, command) = match (&p.command, &p.script) {
        (Some(_), Some((_, pos))) => {
            return Err(fail(
                *pos,
                "give `command` or `script`, not both".to_owned(),
            ));
        }
        (None, None) => {
            return Err(fail(
                p.pos,
                format!("process {:?} needs a `command` (or a `script`)", p.name),
            ));
        }
        (Some((command, _)), None) => (
            CommandSpec::shell(command.clone()).cwd(&project.dir),
            command.clone(),
        ),
        (None, Some((script, pos))) => script_spec(project, script).map_err(|m| fail(*pos, m))?,
    };
    let cwd = match &p.working_dir {
        Some((dir, _)) => base.join(dir),
        None => spec
            .get_cwd()
            .map_or_else(|| project.dir.clone(), Path::to_path_buf),
    };
    spec = spec.cwd(&cwd);
    let mut env: Vec<(String, String)> = dotenv.to_vec();
    for (file, pos) in &p.env_files {
        env.extend(read_env_file(&base.join(file), Some(*pos), path)?);
    }
    env.extend(raw.environment.iter().cloned());
    env.extend(p.environment.iter().cloned());
    for (k, v) in &env {
        spec = spec.env(k, v);
    }
    let probe = p
        .probe
        .as_ref()
        .map(|probe| (check(&probe.check, base, &cwd, &env), probe.timing));
    Ok(Proc {
        origin: procsnap_session::def::Origin::Configured,
        name: p.name.clone(),
        command,
        spec,
        ready_line: p.ready_log_line.as_ref().map(|(t, _)| ReadyLine::new(t)),
        probe,
        shutdown: Shutdown {
            signal: p.shutdown_signal,
            timeout: p.shutdown_timeout,
        },
    })
}

/// What a probe runs: an exec probe gets the process's environment and, unless it names its
/// own, its working directory.
fn check(raw: &RawCheck, base: &Path, cwd: &Path, env: &[(String, String)]) -> Check {
    match raw {
        RawCheck::Exec {
            command,
            working_dir,
        } => {
            let dir = working_dir
                .as_ref()
                .map_or_else(|| cwd.to_path_buf(), |d| base.join(d));
            let mut s = CommandSpec::shell(command.clone()).cwd(dir);
            for (k, v) in env {
                s = s.env(k, v);
            }
            Check::Exec(s)
        }
        RawCheck::Http { host, port, path } => Check::Http {
            host: host.clone(),
            port: *port,
            path: path.clone(),
        },
    }
}

/// `script: NAME`: a declared package.json script (through the package manager) or
/// Procfile entry.
fn script_spec(project: &Project, script: &str) -> Result<(CommandSpec, String), String> {
    let Some(s) = project.script(script) else {
        return Err(format!(
            "script {:?} is not declared; available scripts: {}",
            crate::answers::clip(script),
            project.names()
        ));
    };
    let spec = project.spec(s)?;
    Ok((spec.clone(), spec.to_string()))
}

/// The variables of the `.env` file at `file`: a missing file is no variable for the
/// default `.env` (`named_at` is `None`) and an error for an `env_file` (named at that
/// position of `config`).
fn read_env_file(
    file: &Path,
    named_at: Option<Pos>,
    config: &Path,
) -> Result<Vec<(String, String)>, ConfigError> {
    let text = match crate::project::read_file(file)? {
        Some(t) => t,
        None if named_at.is_none() => return Ok(Vec::new()),
        None => {
            return Err(ConfigError {
                path: config.to_owned(),
                pos: named_at,
                message: format!("env_file {}: no such file", file.display()),
            });
        }
    };
    dotenv::parse(&text).map_err(|e| ConfigError::line(file, e.line, e.message))
}

#[cfg(test)]
mod tests;
