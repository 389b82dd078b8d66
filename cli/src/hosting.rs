//! The session this program hosts for a project: its configured processes (procsnap.yaml),
//! its declared scripts (package.json, Procfile) and the ad-hoc commands of the command line,
//! all on one [`Session`].

use std::time::Duration;

use procsnap_session::{Origin, Proc, Session, SessionConfig, Stack};

use crate::control::client::{Client, ConnectError};
use crate::control::place::Place;
use crate::control::server::{BindError, Listener, OwnerInfo, take_lock};
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
    // A script that cannot run (see `Project::refusal`) is refused when asked for.
    let scripts = project
        .scripts
        .iter()
        .filter_map(|s| {
            let spec = project.spec(s).ok()?;
            Some(Proc::plain(&s.name, Origin::Script, &s.command, spec))
        })
        .collect();
    session.define_all(scripts).map_err(std::io::Error::other)?;
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

/// A session this process owns, reachable by the other faces through its control socket
/// while it lives (no socket when one could not be made: then it is private, and says so).
pub struct Host {
    pub session: std::sync::Arc<Session>,
    listener: Option<Listener>,
}

impl Host {
    /// Where the other faces reach it, if they can.
    pub fn place(&self) -> Option<&Place> {
        self.listener.as_ref().map(Listener::place)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // The socket goes first: nobody joins a session that is ending.
        drop(self.listener.take());
    }
}

/// Either this process owns the project's live session, or another one does.
pub enum Live {
    Owner(Host),
    Joined(Client),
}

/// How long a face waits for an owner that has its lock but not yet its socket.
const BIND_WAIT: Duration = Duration::from_secs(3);

/// Joins the live session of `project`, or — if there is none — opens one (with `cfg`),
/// owned by this process as `face`, and listens on the project's control socket.
///
/// # Errors
///
/// The session could not be opened.
pub fn own_or_join(
    project: &Project,
    stack: Option<&Stack>,
    cfg: SessionConfig,
    face: &str,
) -> std::io::Result<Live> {
    let place = match Place::for_project(&project.dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("procsnap: warning: no control socket ({e}); this session is private");
            let session = open_with(project, stack, cfg)?;
            let session = std::sync::Arc::new(session);
            return Ok(Live::Owner(Host {
                session,
                listener: None,
            }));
        }
    };
    let end = std::time::Instant::now() + BIND_WAIT;
    loop {
        match Client::connect(&place) {
            Ok(c) => return Ok(Live::Joined(c)),
            Err(ConnectError::NoSession) => {}
            Err(ConnectError::Io(e)) => return Err(e),
        }
        match take_lock(&place) {
            Ok(lock) => {
                let session = std::sync::Arc::new(open_with(project, stack, cfg)?);
                let config = stack.map(|s| s.path.as_path());
                let info = OwnerInfo::me(face, &place, config);
                let listener = match Listener::start(place, lock, session.clone(), &info) {
                    Ok(l) => Some(l),
                    Err(e) => {
                        eprintln!(
                            "procsnap: warning: no control socket ({e}); this session is private"
                        );
                        None
                    }
                };
                return Ok(Live::Owner(Host { session, listener }));
            }
            // Its owner is binding the socket, or ending: look again.
            Err(BindError::Owned) if std::time::Instant::now() < end => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(BindError::Owned) => {
                return Err(std::io::Error::other(format!(
                    "the session of {} is locked by a process that does not answer on {}",
                    place.project.display(),
                    place.socket.display()
                )));
            }
            Err(BindError::Io(e)) => return Err(e),
        }
    }
}
