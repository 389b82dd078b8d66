//! The session this program hosts for a project: its configured processes (procsnap.yaml),
//! its declared scripts (package.json, Procfile) and the ad-hoc commands of the command line,
//! all on one [`Session`].

use std::time::Duration;

use procsnap_session::{Origin, Proc, Session, SessionConfig, Stack};

use crate::project::{Project, Script};
use crate::run::Target;

/// Opens the session for `project` with the configuration `stack` (if any) and defines every
/// declared script that no configured process shadows. The watchdog is on: nothing it starts
/// outlives this program, however it ends.
pub fn open(project: &Project, stack: Option<&Stack>, grace: Duration) -> std::io::Result<Session> {
    open_with(project, stack, SessionConfig::default().grace(grace))
}

/// [`open`] with settings of the caller's (the terminal UI asks for `FORCE_COLOR=1`).
pub fn open_with(
    project: &Project,
    stack: Option<&Stack>,
    cfg: SessionConfig,
) -> std::io::Result<Session> {
    let stack = stack.cloned().unwrap_or_else(Stack::empty);
    let cfg = cfg.watchdog(true);
    let session = Session::open(stack, cfg)?;
    for s in &project.scripts {
        // A script that cannot run (see `Project::refusal`) is refused when asked for.
        let _ = define_script(&session, project, s);
    }
    Ok(session)
}

/// Defines (or updates) declared script `script` in `session`.
///
/// # Errors
///
/// Why the script cannot run, or that the session has ended.
pub fn define_script(session: &Session, project: &Project, script: &Script) -> Result<(), String> {
    let spec = project.spec(script)?;
    session.define(Proc::plain(
        &script.name,
        Origin::Script,
        &script.command,
        spec,
    ))
}

/// Defines a command-line target (a script or `NAME=COMMAND`) in `session`.
///
/// # Errors
///
/// The session has ended.
pub fn define_target(session: &Session, target: &Target) -> Result<(), String> {
    let command = target.spec.to_string();
    session.define(Proc::plain(
        &target.name,
        target.origin,
        &command,
        target.spec.clone(),
    ))
}
