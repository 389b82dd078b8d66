//! `r`, `s` and `x`: what the selected row's process needs.

use procsnap::Status;

use super::{App, Cause, Command, Ctx};

impl App {
    /// `r`: start the selected script, or restart its running process. A process that is
    /// stopping starts again once its stop has ended (the session's rule, as in every face).
    pub(super) fn start(&mut self, ctx: &Ctx<'_>) -> Vec<Command> {
        let Some(row) = self.row(ctx.snap) else {
            self.say("select a script to start it (r)");
            return Vec::new();
        };
        if let Some(p) = &row.proc {
            match p.state.status {
                Status::Running => return vec![Command::Restart(p.process.id())],
                Status::Pending => {
                    self.say_about(
                        format!("{} is {}", row.name, p.state.status),
                        Cause::row(row),
                    );
                    return Vec::new();
                }
                _ => {}
            }
        }
        let spec = match ctx.catalog.get(&row.name) {
            Some(e) => e.spec.clone(),
            None => row
                .proc
                .as_ref()
                .map(|p| p.process.spec().clone())
                .ok_or_else(|| format!("{}: nothing to run", row.name)),
        };
        match spec {
            Ok(spec) => vec![Command::Start {
                name: row.name.clone(),
                spec,
            }],
            Err(why) => {
                self.say(why);
                Vec::new()
            }
        }
    }

    /// `s` / `x` on the selected process.
    pub(super) fn stop(&mut self, kill: bool, ctx: &Ctx<'_>) -> Vec<Command> {
        let Some(row) = self.row(ctx.snap) else {
            self.say("select a process to stop it");
            return Vec::new();
        };
        match &row.proc {
            Some(p) if !p.state.is_finished() => {
                let id = p.process.id();
                if kill {
                    vec![Command::Kill(id)]
                } else if p.state.status == Status::Stopping {
                    let text = format!("{} is already stopping (x kills)", row.name);
                    self.say_about(text, Cause::row(row));
                    Vec::new()
                } else {
                    vec![Command::Stop(id)]
                }
            }
            _ => {
                self.say_about(format!("{} is not running", row.name), Cause::row(row));
                Vec::new()
            }
        }
    }
}
