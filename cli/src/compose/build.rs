//! From what was read to what runs: each process's command, shell, working directory,
//! environment and readiness check, and the checked plan — with process-compose's rules.
//!
//! - Commands run through the top-level `shell` (`shell_command shell_argument COMMAND`), else
//!   through `bash -c` when bash is on the `PATH`, else `/bin/sh -c`. Exec probes too.
//!   (`script:` entries keep their own conventions: the package manager, or the Procfile's
//!   `/bin/sh -c`.)
//! - A relative `working_dir` is relative to where procsnap runs (the project directory); a
//!   relative `env_file` is relative to the process's `working_dir` when it has one, else to
//!   the project directory; `.env` is the project directory's.
//! - Environment, later winning: `.env` (only what the environment procsnap runs in does not
//!   set: a `.env` never overrides the shell) < that environment < top-level `environment` <
//!   `env_file` < the process's `environment`.

use std::path::{Path, PathBuf};

use procsnap::CommandSpec;
use procsnap::orchestrate::{Plan, PlanError, UnitConfig};

use super::schema::{RawCheck, RawConfig, RawProcess, RawShell};
use super::yaml::Pos;
use super::{Check, ConfigError, Located, Proc, ReadyLine, Shutdown, dotenv};
use crate::project::Project;

/// What runs a configured command: a program and the argument before the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shell {
    pub program: PathBuf,
    pub argument: String,
}

impl Shell {
    /// The configured shell (which must be found), else bash if it is on the `PATH`, else
    /// `/bin/sh`.
    pub fn of(raw: Option<&RawShell>) -> Result<Shell, Located> {
        let Some(raw) = raw else {
            return Ok(match find_program("bash") {
                Some(bash) => Shell {
                    program: bash,
                    argument: "-c".to_owned(),
                },
                None => Shell {
                    program: PathBuf::from("/bin/sh"),
                    argument: "-c".to_owned(),
                },
            });
        };
        let program = find_program(&raw.command).ok_or_else(|| Located {
            pos: Some(raw.pos),
            message: format!(
                "shell.shell_command {:?} is not an executable file nor found on the PATH",
                crate::safe::clip(&raw.command)
            ),
        })?;
        Ok(Shell {
            program,
            argument: raw.argument.clone(),
        })
    }

    /// `command` run through this shell, shown as written.
    pub fn spec(&self, command: &str) -> CommandSpec {
        let spec = CommandSpec::new(&self.program);
        let spec = if self.argument.is_empty() {
            spec
        } else {
            spec.arg(&self.argument)
        };
        spec.arg(command).display_as(command)
    }
}

/// `name` as a path (if it has a `/`) or the first executable file of that name on the
/// `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return runnable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| runnable(p))
}

pub(super) fn plan(path: &Path, raw: &RawConfig) -> Result<Plan, ConfigError> {
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

pub(super) fn proc(
    project: &Project,
    path: &Path,
    shell: &Shell,
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
                crate::safe::clip(&p.name)
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
        (Some((command, _)), None) => (shell.spec(command), command.clone()),
        (None, Some((script, pos))) => script_spec(project, script).map_err(|m| fail(*pos, m))?,
    };
    let cwd = match &p.working_dir {
        Some((dir, _)) => project.dir.join(dir),
        None => spec
            .get_cwd()
            .map_or_else(|| project.dir.clone(), Path::to_path_buf),
    };
    spec = spec.cwd(&cwd);
    let env_base = if p.working_dir.is_some() {
        &cwd
    } else {
        &project.dir
    };
    let env = environment(path, env_base, raw, dotenv, p)?;
    for (k, v) in &env {
        spec = spec.env(k, v);
    }
    let probe = p.probe.as_ref().map(|probe| {
        let check = check(&probe.check, shell, &project.dir, &cwd, &env);
        (check, probe.timing)
    });
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

/// The variables a process gets on top of the environment procsnap runs in, in the order
/// they apply (a later one wins): `.env` where the environment does not set the name, the
/// top-level `environment`, its `env_file`s (relative to `env_base`), its `environment`.
fn environment(
    path: &Path,
    env_base: &Path,
    raw: &RawConfig,
    dotenv: &[(String, String)],
    p: &RawProcess,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut env: Vec<(String, String)> = dotenv
        .iter()
        .filter(|(k, _)| std::env::var_os(k).is_none())
        .cloned()
        .collect();
    env.extend(raw.environment.iter().cloned());
    for (file, pos) in &p.env_files {
        env.extend(read_env_file(&env_base.join(file), Some(*pos), path)?);
    }
    env.extend(p.environment.iter().cloned());
    Ok(env)
}

/// What a probe runs: an exec probe goes through the shell with the process's environment
/// and, unless it names its own (relative to `dir`, where procsnap runs), the process's
/// working directory.
fn check(raw: &RawCheck, shell: &Shell, dir: &Path, cwd: &Path, env: &[(String, String)]) -> Check {
    match raw {
        RawCheck::Exec {
            command,
            working_dir,
        } => {
            let at = working_dir
                .as_ref()
                .map_or_else(|| cwd.to_path_buf(), |d| dir.join(d));
            let mut s = shell.spec(command).cwd(at);
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
            crate::safe::clip(script),
            project.names()
        ));
    };
    let spec = project.spec(s)?;
    Ok((spec.clone(), spec.to_string()))
}

/// The variables of the `.env` file at `file`: a missing file is no variable for the
/// default `.env` (`named_at` is `None`) and an error for an `env_file` (named at that
/// position of `config`).
pub(super) fn read_env_file(
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
