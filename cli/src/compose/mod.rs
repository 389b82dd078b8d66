//! `procsnap.yaml` / `process-compose.yaml`: processes with dependencies, readiness checks
//! and restart policies (a subset of process-compose's format, plus `script:`).
//!
//! Loading reads the file (a regular file of at most 16 MiB), parses it within a budget
//! ([`yaml`]), reads the keys procsnap knows ([`schema`]; every other key is a warning naming
//! it and its line), loads `.env` and `env_file`s ([`dotenv`]) and checks the dependency graph
//! ([`procsnap::orchestrate::Plan`]). Every problem is an error naming the file and the line,
//! found before anything starts.

mod build;
pub mod dotenv;
pub mod expand;
pub mod extends;
pub mod keys;
pub mod schema;
pub mod signals;
pub mod yaml;

use crate::project::{Project, ProjectError};
pub use procsnap_session::def::{Check, Proc, ReadyLine, Shutdown, Stack};
use std::fmt;
use std::path::{Path, PathBuf};
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

/// Builds the stack from the text of the file at `path`: parse, expand `${NAME}`
/// ([`expand`]), resolve `extends` ([`extends`]), read ([`schema`]), build each process and
/// the plan (`build`).
pub fn from_text(project: &Project, path: &Path, text: &str) -> Result<Stack, ConfigError> {
    let parse = |text: &str| {
        yaml::parse(text).map_err(|e| ConfigError {
            path: path.to_owned(),
            pos: e.pos,
            message: e.message,
        })
    };
    // `.env` where procsnap runs (the project directory), as process-compose reads it.
    let dotenv = build::read_env_file(&project.dir.join(".env"), None, path)?;
    let lookup = |name: &str| {
        std::env::var(name).ok().or_else(|| {
            dotenv
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    };
    let mut found = expand::Expansion::default();
    let expanded = expand::text(text, &lookup, &mut found);
    // As process-compose: the expanded text is read; if it says `disable_env_expansion`,
    // the file is read again as written.
    let mut doc = match expanded {
        Ok(t) => parse(&t)?,
        Err(e) => {
            let doc = parse(text).map_err(|_| ConfigError::at(path, e.clone()))?;
            if !expansion_disabled(&doc).unwrap_or(false) {
                return Err(ConfigError::at(path, e));
            }
            doc
        }
    };
    let mut warnings = Vec::new();
    if expansion_disabled(&doc).map_err(|e| ConfigError::at(path, e))? {
        doc = parse(text)?;
    } else {
        for (pos, name) in found.unset {
            warnings.push((
                pos,
                format!(
                    "${{{name}}} is set neither in the environment nor in .env: it expands to \
                     nothing"
                ),
            ));
        }
    }
    if let Some(processes) = processes_mut(&mut doc) {
        extends::resolve(processes).map_err(|e| ConfigError::at(path, e))?;
    }
    let mut reader = schema::Reader::default();
    let raw = reader.config(&doc).map_err(|e| ConfigError::at(path, e))?;
    warnings.append(&mut reader.warnings);
    warnings.sort_by_key(|(pos, _)| (pos.line, pos.column));
    let warnings = warnings
        .iter()
        .map(|(pos, w)| format!("{}:{pos}: warning: {w}", path.display()))
        .collect();
    let shell = build::Shell::of(raw.shell.as_ref()).map_err(|e| ConfigError::at(path, e))?;
    let mut procs = Vec::with_capacity(raw.processes.len());
    for p in &raw.processes {
        procs.push(build::proc(project, path, &shell, &raw, &dotenv, p)?);
    }
    let plan = build::plan(path, &raw)?;
    Ok(Stack {
        path: path.to_owned(),
        plan,
        procs,
        warnings,
    })
}

/// The top-level `disable_env_expansion`, read before anything else.
fn expansion_disabled(doc: &yaml::Node) -> Result<bool, Located> {
    match top(doc, "disable_env_expansion") {
        Some(v) => schema::boolean(v),
        None => Ok(false),
    }
}

/// The value of the top-level key `name`.
fn top<'d>(doc: &'d yaml::Node, name: &str) -> Option<&'d yaml::Node> {
    match &doc.value {
        yaml::Value::Map(entries) => entries.iter().find(|(k, _)| k.name == name).map(|(_, v)| v),
        _ => None,
    }
}

/// The entries of the `processes` mapping, to change in place.
fn processes_mut(doc: &mut yaml::Node) -> Option<&mut [(yaml::Key, yaml::Node)]> {
    let yaml::Value::Map(entries) = &mut doc.value else {
        return None;
    };
    let (_, processes) = entries.iter_mut().find(|(k, _)| k.name == "processes")?;
    match &mut processes.value {
        yaml::Value::Map(procs) => Some(procs),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
