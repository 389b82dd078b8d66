//! `procsnap run` and `procsnap up`: processes in the foreground with prefixed output.
//!
//! Everything runs on a [`Session`]: processes configured in `procsnap.yaml` (all of them for
//! `up`, the named ones for `run`) start in dependency order, with their readiness checks and
//! restart policies; scripts and ad-hoc commands start at once. The session's notices
//! (`db | ready`, `worker | restarting in 2s (restart 1 of 3)`, `api | not started:
//! dependency "db" failed …`) are printed with the output.
//!
//! What this command starts is its job; it ends when its job has. `up` owns the project's
//! session (and its control socket) when none is live, and then shows every process of it —
//! also what an agent or `procsnap start` started there; `run` without a live session has a
//! private one. Output arrives through a lossless observer registered before the first start,
//! so no line is missed or dropped and lines print in capture order; a process's final state
//! comes after all of its lines, so its status line follows its output. A stdout slower than
//! the scripts holds back the processes shown (see `Out`) instead of losing their lines. With a
//! live session owned by another process, `run` and `up` join it instead
//! ([`crate::remote::follow`]).
//!
//! Signals, as a terminal user means them: Ctrl-C, SIGTERM or SIGHUP (the terminal closed)
//! stops every group (SIGTERM, then SIGKILL after the grace period), with status lines; a
//! second Ctrl-C or SIGTERM kills them at once. Ctrl-Z suspends every group and then procsnap
//! itself; `fg` or `bg` (SIGCONT) resumes the groups.

#[macro_use]
mod out;
mod foreground;

use foreground::Foreground;

use std::hash::Hasher;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use procsnap::CommandSpec;
use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGTERM, SIGTSTP};

use crate::compose::Stack;
use crate::project::Project;
use procsnap_session::{Filter, Origin, Pace, Session};

/// Undelivered events our observer holds before the session holds back our processes' output
/// (and they block in `write` once their pipes are full).
const HIGH_WATER: usize = 1024;
/// Events taken from the subscription at once.
const EVENT_BATCH: usize = 512;
/// The longest sleep while idle (a published event wakes the loop at once): how often a stuck
/// stdout and processes waiting for the terminal are looked at.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// After an interrupt, how long stdout may take nothing before the loop stops waiting for it.
const STDOUT_STUCK: Duration = Duration::from_secs(1);
/// After an interrupt, how long leftover output may take to be written before we exit anyway.
const FINAL_WRITE_LIMIT: Duration = Duration::from_secs(1);

/// One thing to run: a declared script or an ad-hoc `name=command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub spec: CommandSpec,
    /// A declared script or an ad-hoc command.
    pub origin: Origin,
}

/// What a foreground job starts.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Declared scripts and ad-hoc commands, started at once.
    pub targets: Vec<Target>,
    /// The configuration, when configured processes are asked for.
    pub stack: Option<Arc<Stack>>,
    /// The configured processes asked for (their dependencies come along).
    pub configured: Vec<String>,
}

impl Launch {
    /// Every name the session shows: the configured ones and their dependencies in start
    /// order, then the direct targets.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(stack) = &self.stack {
            let closure = stack
                .plan
                .closure(self.configured.iter().map(String::as_str))
                .unwrap_or_default();
            names.extend(closure.iter().map(|&u| stack.plan.unit(u).name.clone()));
        }
        names.extend(self.targets.iter().map(|t| t.name.clone()));
        names
    }
}

/// `procsnap up [NAME...]`: the named configured processes, or every one not `disabled`.
pub fn resolve_up(stack: Option<Arc<Stack>>, names: &[String]) -> Result<Launch, String> {
    let Some(stack) = stack else {
        return Err(format!(
            "nothing to bring up: no {} in the project directory (or give --config FILE)",
            crate::compose::CONFIG_NAMES.join(", ")
        ));
    };
    let mut configured = Vec::new();
    for n in names {
        if stack.plan.find(n).is_none() {
            let known: Vec<&str> = stack.procs.iter().map(|p| p.name.as_str()).collect();
            return Err(format!(
                "{:?} is not configured in {}; configured: {}",
                crate::safe::clip(n),
                stack.path.display(),
                known.join(", ")
            ));
        }
        if !configured.contains(n) {
            configured.push(n.clone());
        }
    }
    if names.is_empty() {
        configured = stack
            .plan
            .default_set()
            .iter()
            .map(|&u| stack.plan.unit(u).name.clone())
            .collect();
    }
    Ok(Launch {
        targets: Vec::new(),
        stack: Some(stack),
        configured,
    })
}

/// Resolves command-line targets: a configured process wins, then a declared script;
/// otherwise `name=command` is an ad-hoc shell command. Errors name what is available.
pub fn resolve_targets(
    project: &Project,
    stack: Option<&Arc<Stack>>,
    args: &[String],
) -> Result<Launch, String> {
    let mut launch = Launch::default();
    let mut out: Vec<Target> = Vec::new();
    for arg in args {
        if let Some(stack) = stack.filter(|s| s.plan.find(arg).is_some()) {
            if launch.configured.contains(arg) || out.iter().any(|t| &t.name == arg) {
                return Err(format!("{arg:?} is given twice"));
            }
            launch.configured.push(arg.clone());
            launch.stack = Some(stack.clone());
            continue;
        }
        let target = if let Some(script) = project.script(arg) {
            Target {
                name: script.name.clone(),
                spec: project.spec(script)?,
                origin: Origin::Script,
            }
        } else if let Some((name, command)) = arg.split_once('=') {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
            {
                return Err(format!(
                    "{arg:?}: an ad-hoc name must be letters, digits, _ - . or : (NAME=COMMAND)"
                ));
            }
            if command.trim().is_empty() {
                return Err(format!("{arg:?}: missing command after '='"));
            }
            Target {
                name: name.to_owned(),
                spec: project.adhoc_spec(command),
                origin: Origin::AdHoc,
            }
        } else {
            return Err(format!(
                "unknown script {arg:?}; available scripts: {} (or run NAME=COMMAND)",
                project.names()
            ));
        };
        if out.iter().any(|t| t.name == target.name) || launch.configured.contains(&target.name) {
            return Err(format!("{:?} is given twice", target.name));
        }
        out.push(target);
    }
    launch.targets = out;
    Ok(launch)
}

struct Tracked {
    name: String,
    /// Position on the command line: the status lines of processes that end together are
    /// printed in this order.
    slot: usize,
    /// `name  | `, coloured, written before each of its lines.
    prefix: String,
}

/// Hashes a [`ProcId`] (a unique number) with one multiplication: looked up once per line.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: spreads consecutive ids over the high bits hashbrown uses.
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Why the foreground run ended early.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    None,
    Int,
    Term,
    Hup,
    /// stdout was closed (EPIPE).
    Pipe,
}

/// `procsnap run`: with a live session for the project, its names run there as this
/// command's job (ad-hoc commands cannot join: the session runs only what the project
/// declares); without one, `launch` runs in a private session of its own, with no socket (so
/// two `run`s in one project keep working). Returns the process exit code.
pub fn run(project: &Project, launch: Launch, color: bool, grace: Duration) -> ExitCode {
    if let Ok(place) = crate::control::place::Place::for_project(&project.dir)
        && let Ok(client) = crate::control::client::Client::connect(&place)
    {
        if let Some(t) = launch.targets.iter().find(|t| t.origin == Origin::AdHoc) {
            eprintln!(
                "procsnap: {:?} is an ad-hoc command, and a live session runs only the project's own names; stop the session or declare it",
                crate::safe::clip(&t.name)
            );
            return ExitCode::from(2);
        }
        return crate::remote::follow::run(client, &launch.names(), color);
    }
    let stack = launch
        .stack
        .as_deref()
        .cloned()
        .unwrap_or_else(procsnap_session::Stack::empty);
    let cfg = procsnap_session::SessionConfig::default()
        .grace(grace)
        .watchdog(true);
    match Session::open(stack, cfg) {
        Ok(s) => foreground(Arc::new(s), launch, color),
        Err(e) => {
            eprintln!("procsnap: cannot start the session: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `procsnap up`: owns the project's session (and its control socket) and runs `launch`
/// there, or — when a session is live already — runs it as a job of that session, adopting
/// what runs. Returns the process exit code.
pub fn up(project: &Project, launch: Launch, color: bool, grace: Duration) -> ExitCode {
    let cfg = procsnap_session::SessionConfig::default().grace(grace);
    match crate::hosting::own_or_join(project, launch.stack.as_deref(), cfg, "up") {
        Ok(crate::hosting::Live::Owner(host)) => {
            let code = foreground(host.session.clone(), launch, color);
            drop(host);
            code
        }
        Ok(crate::hosting::Live::Joined(client)) => {
            crate::remote::follow::run(client, &launch.names(), color)
        }
        Err(e) => {
            eprintln!("procsnap: cannot start the session: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `launch` on `session` in the foreground until everything in it ends.
fn foreground(session: Arc<Session>, launch: Launch, color: bool) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("procsnap: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(run_async(session, launch, color));
    rt.shutdown_timeout(Duration::from_millis(100));
    code
}

async fn run_async(session: Arc<Session>, launch: Launch, color: bool) -> ExitCode {
    let mut signals = match crate::signals::channel(&[SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGCONT]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("procsnap: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    for t in &launch.targets {
        if let Err(e) = crate::hosting::define_target(&session, t) {
            eprintln!("procsnap: {e}");
            return ExitCode::FAILURE;
        }
    }
    let mut fg = Foreground::new(session.clone(), &launch.names(), color);
    // Registered before the first start: no line is missed. Everything the session runs is
    // shown — what this job started, and what others (an agent, `procsnap start`) start in
    // the session this process owns.
    let events = session.observe(Filter::All, Pace::Lossless(HIGH_WATER));
    let wake = Arc::new(tokio::sync::Notify::new());
    let waker = wake.clone();
    events.set_waker(move || waker.notify_one());
    let mut names = launch.configured.clone();
    names.extend(launch.targets.iter().map(|t| t.name.clone()));
    // The session answers once the request was acted on (spawns: microseconds each).
    fg.start(&names);
    loop {
        // Settled first, then the queue emptied: whatever the session did before it settled
        // was queued for us before, and is printed by now.
        let settled = fg.settled();
        let drained = fg.take_events(&events);
        fg.watch_terminal();
        fg.out.stage();
        // Interrupted while stdout takes nothing (a paused pager): the final states are read
        // from the cells instead of from the events queued behind the output, which is given
        // up after FINAL_WRITE_LIMIT. Output that flows, however slowly, is all printed.
        let stuck =
            fg.interrupt != Interrupt::None && fg.out.stalled_for(Instant::now()) >= STDOUT_STUCK;
        if stuck {
            fg.report_from_cells();
        }
        if settled && (drained || stuck) && fg.all_reported() {
            break;
        }
        if fg.out.broken() && fg.interrupt == Interrupt::None {
            // Nobody reads our output any more (`procsnap run … | head`): stop like SIGTERM.
            fg.interrupt(Interrupt::Pipe);
        }
        // Sleep until an event arrives (the observer wakes us), a signal, the writer taking a
        // chunk, or the slow tick; go on at once if more events can be taken.
        let more = fg.out.has_room() && !drained;
        tokio::select! {
            biased;
            Some(sig) = signals.recv() => match sig {
                SIGINT => fg.on_interrupt(Interrupt::Int),
                SIGTERM => fg.on_interrupt(Interrupt::Term),
                SIGHUP => fg.on_interrupt(Interrupt::Hup),
                SIGTSTP => fg.suspend().await,
                _ => fg.resume().await,
            },
            _ = fg.out.send_pending() => {}
            _ = std::future::ready(()), if more => {}
            _ = wake.notified(), if !more => {}
            _ = tokio::time::sleep(IDLE_TICK), if !more => {}
        }
    }
    let limit = (fg.interrupt != Interrupt::None).then_some(FINAL_WRITE_LIMIT);
    let code = fg.exit_code();
    drop(events);
    fg.out.finish(limit).await;
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{PackageManager, Script, Source};
    use std::path::PathBuf;

    fn project() -> Project {
        Project {
            dir: PathBuf::from("/tmp"),
            package_manager: PackageManager::Pnpm,
            scripts: vec![
                Script {
                    name: "build".into(),
                    command: "tsc".into(),
                    source: Source::PackageJson,
                },
                Script {
                    name: "a=b".into(),
                    command: "weird".into(),
                    source: Source::PackageJson,
                },
            ],
            warnings: vec![],
        }
    }

    #[test]
    fn declared_scripts_and_adhoc_commands() {
        let args = [
            "build".to_owned(),
            "api=python3 -m http.server 8000".to_owned(),
        ];
        let t = resolve_targets(&project(), None, &args).unwrap().targets;
        assert_eq!(t[0].name, "build");
        assert_eq!(t[0].spec.program(), "pnpm");
        assert_eq!(t[1].name, "api");
        assert_eq!(t[1].spec.to_string(), "python3 -m http.server 8000");
        // An exact script name wins over NAME=COMMAND parsing.
        assert_eq!(
            resolve_targets(&project(), None, &["a=b".into()])
                .unwrap()
                .targets[0]
                .spec
                .program(),
            "pnpm"
        );
    }

    #[test]
    fn bad_targets_say_what_is_available() {
        let e = |a: &[&str]| {
            resolve_targets(
                &project(),
                None,
                &a.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
            .unwrap_err()
        };
        assert!(e(&["nope"]).contains("available scripts: build, a=b"));
        assert!(e(&["=x"]).contains("ad-hoc name"));
        assert!(e(&["x="]).contains("missing command"));
        assert!(e(&["build", "build"]).contains("given twice"));
        assert!(e(&["build", "build=echo"]).contains("given twice"));
    }
}
