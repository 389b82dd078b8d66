//! The terminal UI attached to a session another process owns (`procsnap attach`, or
//! `procsnap tui` while one is live): the same screen and keys, on a mirror of the owner's
//! processes ([`crate::remote::mirror`]); commands go to the owner over a connection of
//! their own. Quitting detaches: nothing the session runs is stopped.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::json;

use super::app::Command;
use super::control::Control;
use crate::control::client::{CallError, Client};
use crate::control::server::OwnerInfo;
use crate::remote::mirror::Mirror;

/// What an attached UI holds.
pub struct Attached {
    pub mirror: Arc<Mirror>,
    /// For commands; the mirror follows on a connection of its own.
    commands: Mutex<Client>,
    pub owner: Option<OwnerInfo>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Attached {
    pub fn new(mirror: Arc<Mirror>, commands: Client) -> Attached {
        let owner = commands.owner.clone();
        Attached {
            mirror,
            commands: Mutex::new(commands),
            owner,
        }
    }

    /// Carries out `cmd` through the owner, on a thread of its own; says what went wrong.
    pub fn run(self: &Arc<Self>, control: &Control, cmd: Command) {
        let (tool, args) = match cmd {
            Command::Start { name, .. } => {
                ("session_start", json!({"names": [name], "job": false}))
            }
            Command::Restart(id) => match self.mirror.label(id) {
                Some(p) => ("scripts_restart", json!({"processId": p})),
                None => return,
            },
            Command::Stop(id) | Command::Kill(id) => {
                let kill = matches!(cmd, Command::Kill(_));
                match self.mirror.label(id) {
                    Some(p) => ("scripts_stop", json!({"processId": p, "kill": kill})),
                    None => return,
                }
            }
            Command::RestartAll(ids) => {
                for id in ids {
                    self.run(control, Command::Restart(id));
                }
                return;
            }
            // Quitting detaches (handled by the UI); a search is local.
            Command::StopAll | Command::KillAll | Command::Exit | Command::Search { .. } => {
                return;
            }
        };
        let me = self.clone();
        control.spawn(tool, move |tx| {
            let answer = lock(&me.commands).call(tool, args);
            let text = match answer {
                Ok(r) if tool == "session_start" => match r["started"][0]["outcome"].as_str() {
                    Some("running") => Some(format!(
                        "{} is already running ({})",
                        r["started"][0]["name"].as_str().unwrap_or("?"),
                        r["started"][0]["processId"].as_str().unwrap_or("?")
                    )),
                    Some("failed") | Some("pending") => {
                        r["started"][0]["message"].as_str().map(str::to_owned)
                    }
                    _ => None,
                },
                Ok(_) => None,
                Err(CallError::Gone) => None, // the mirror says the session ended
                Err(e) => Some(format!("{tool}: {e}")),
            };
            if let Some(t) = text {
                let _ = tx.send(super::Msg::Notice(crate::safe::escape(&t).into_owned()));
            }
        });
    }
}
