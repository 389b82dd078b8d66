//! Commands that block (a stop waits for its group to end, a restart too, a search reads whole
//! rings) run on threads of their own, never on the UI thread; each reports back with a
//! [`Msg`] when there is something to say.

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use procsnap::{ProcId, Process, Reserve, Supervisor};

use super::Msg;
use super::app::Command;
use super::logview::Sources;
use procsnap_session::conductor::Conductor;

/// Finished processes kept per name (with their output) after a start: older ones are dropped.
const KEEP_FINISHED: usize = 5;

/// Runs [`Command`]s against the Supervisor (and the conductor, for configured processes).
pub struct Control {
    pub sup: Arc<Supervisor>,
    pub grace: Duration,
    pub tx: Sender<Msg>,
    /// Drives the processes configured in procsnap.yaml, if any.
    pub conductor: Option<Arc<Conductor>>,
}

impl Control {
    /// Runs `job` on a new thread; a thread that cannot be started is reported.
    fn spawn(&self, what: &str, job: impl FnOnce(&Supervisor, &Sender<Msg>) + Send + 'static) {
        let (sup, tx) = (self.sup.clone(), self.tx.clone());
        let started = std::thread::Builder::new()
            .name("procsnap-control".into())
            .spawn(move || job(&sup, &tx));
        if let Err(e) = started {
            let _ = self
                .tx
                .send(Msg::Notice(format!("{what}: cannot start a thread: {e}")));
        }
    }

    /// Carries out `cmd`; `procs` are the selected pane's processes (for a search).
    pub fn run(&self, cmd: Command, procs: Vec<Arc<Process>>) {
        let grace = self.grace;
        match cmd {
            // A configured process starts through the conductor: its dependencies first.
            Command::Start { name, .. }
                if self.conductor.as_ref().is_some_and(|c| c.request(&name)) => {}
            Command::Start { name, spec } => self.spawn("start", move |sup, tx| {
                let msg = match sup.run_unique(&name, spec) {
                    Ok(Reserve::Started(_)) => None,
                    Ok(Reserve::AlreadyRunning(p)) => {
                        Some(format!("{name} is already running ({})", p.label()))
                    }
                    Err(e) => Some(format!("{name}: {e}")),
                };
                sup.registry().prune_finished(KEEP_FINISHED);
                if let Some(m) = msg {
                    let _ = tx.send(Msg::Notice(m));
                }
            }),
            Command::Restart(id) => self.restart(id),
            Command::RestartAll(ids) => ids.into_iter().for_each(|id| self.restart(id)),
            Command::Stop(id) => self.stop(id, grace),
            Command::Kill(id) => self.stop(id, Duration::ZERO),
            Command::StopAll => self.stop_all(grace),
            Command::KillAll => self.stop_all(Duration::ZERO),
            Command::Exit => {}
            Command::Search {
                view,
                re,
                older,
                from,
                floor,
            } => self.spawn("search", move |_, tx| {
                let src = Sources::of(&procs, |_| 0);
                let seq = if older {
                    src.find_older(&re, from, floor)
                } else {
                    src.find_newer(&re, from)
                };
                let _ = tx.send(Msg::Found { view, older, seq });
            }),
        }
    }

    fn restart(&self, id: ProcId) {
        let grace = self.grace;
        self.spawn("restart", move |sup, tx| {
            if let Err(e) = sup.restart(id, grace) {
                let _ = tx.send(Msg::Notice(format!("restart: {e}")));
            }
            sup.registry().prune_finished(KEEP_FINISHED);
        });
    }

    fn stop(&self, id: ProcId, grace: Duration) {
        self.spawn("stop", move |sup, tx| {
            if let Err(e) = sup.stop(id, grace) {
                let _ = tx.send(Msg::Notice(format!("stop: {e}")));
            }
        });
    }

    /// Stops every group; reports [`Msg::Stopped`] when all are finished. No configured
    /// process is restarted from then on.
    fn stop_all(&self, grace: Duration) {
        if let Some(c) = &self.conductor {
            c.shutdown();
        }
        self.spawn("stop all", move |sup, tx| {
            sup.stop_all(grace);
            let _ = tx.send(Msg::Stopped);
        });
    }
}
