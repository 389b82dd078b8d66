//! Commands go to the session, which holds every lifecycle rule — in this process, or, when
//! the UI is attached, through the owner's control socket ([`super::remote`]); those that wait
//! (a stop-all waits for every group to end, a search reads whole rings, a remote command
//! waits for its answer) run on threads of their own, never on the UI thread, and report back
//! with a [`Msg`] when there is something to say.

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use procsnap::Process;
use procsnap_session::{Origin, Owner, Proc, Session, Started};

use super::Msg;
use super::app::Command;
use super::logview::Sources;

/// The session the UI shows and drives.
pub enum Backend {
    /// Owned by this process.
    Local(Arc<Session>),
    /// Owned by another process: its mirror, and a connection for commands.
    Remote(Arc<super::remote::Attached>),
}

/// Runs [`Command`]s against the session.
pub struct Control {
    pub backend: Backend,
    pub tx: Sender<Msg>,
}

/// The longest a stop-all waits for the groups (each is killed after its grace anyway).
const STOP_ALL_LIMIT: Duration = Duration::from_secs(24 * 60 * 60);

impl Control {
    /// Runs `job` on a new thread; a thread that cannot be started is reported.
    pub(super) fn spawn(&self, what: &str, job: impl FnOnce(&Sender<Msg>) + Send + 'static) {
        let tx = self.tx.clone();
        let started = std::thread::Builder::new()
            .name("procsnap-control".into())
            .spawn(move || job(&tx));
        if let Err(e) = started {
            let _ = self
                .tx
                .send(Msg::Notice(format!("{what}: cannot start a thread: {e}")));
        }
    }

    pub(super) fn notice(&self, text: String) {
        let _ = self.tx.send(Msg::Notice(text));
    }

    /// Carries out `cmd`; `procs` are the selected pane's processes (for a search).
    pub fn run(&self, cmd: Command, procs: Vec<Arc<Process>>) {
        if let Command::Search {
            view,
            re,
            older,
            from,
            floor,
        } = cmd
        {
            return self.spawn("search", move |tx| {
                let src = Sources::of(&procs, |_| 0);
                let seq = if older {
                    src.find_older(&re, from, floor)
                } else {
                    src.find_newer(&re, from)
                };
                let _ = tx.send(Msg::Found { view, older, seq });
            });
        }
        match &self.backend {
            Backend::Local(s) => self.local(s, cmd),
            Backend::Remote(r) => r.run(self, cmd),
        }
    }

    fn local(&self, s: &Arc<Session>, cmd: Command) {
        match cmd {
            Command::Start { name, spec } => {
                if s.stack().proc(&name).is_none() {
                    let command = spec.to_string();
                    if let Err(e) = s.define(Proc::plain(&name, Origin::AdHoc, &command, spec)) {
                        return self.notice(format!("{name}: {e}"));
                    }
                }
                match s
                    .start(&[name.as_str()], Owner::Detached)
                    .map(|mut a| a.pop())
                {
                    Ok(Some(Started::Running(id))) => {
                        let label = s
                            .processes()
                            .get(id)
                            .map_or_else(String::new, |p| p.label());
                        self.notice(format!("{name} is already running ({label})"));
                    }
                    Ok(Some(Started::Pending { previous: Some(_) })) => {
                        self.notice(format!("{name} starts again once its stop has ended"));
                    }
                    Ok(Some(Started::Failed(why))) => self.notice(format!("{name}: {why}")),
                    Ok(_) => {}
                    Err(e) => self.notice(format!("{name}: {e}")),
                }
            }
            Command::Restart(id) => {
                if let Err(e) = s.restart(id, None) {
                    self.notice(format!("restart: {e}"));
                }
            }
            Command::RestartAll(ids) => {
                for id in ids {
                    if let Err(e) = s.restart(id, None) {
                        self.notice(format!("restart: {e}"));
                    }
                }
            }
            Command::Stop(id) => {
                let _ = s.stop(id, false, None);
            }
            Command::Kill(id) => {
                let _ = s.stop(id, true, None);
            }
            Command::StopAll => self.stop_all(s, false),
            Command::KillAll => self.stop_all(s, true),
            Command::Exit | Command::Search { .. } => {}
        }
    }

    /// Stops everything (reverse dependency order, each with its own shutdown; `kill`: at
    /// once); reports [`Msg::Stopped`] once all has ended. Nothing restarts from then on.
    fn stop_all(&self, session: &Arc<Session>, kill: bool) {
        session.shutdown(kill);
        let session = session.clone();
        self.spawn("stop all", move |tx| {
            session.wait_idle(STOP_ALL_LIMIT);
            let _ = tx.send(Msg::Stopped);
        });
    }
}
