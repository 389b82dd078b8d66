//! The bottom line's notices, and what makes one go away before the next key: a notice
//! about a process goes as soon as that process's state is no longer what it said.

use procsnap::{ProcId, Status};

use super::App;
use crate::tui::rows::{Row, Snapshot};

/// What a notice on the bottom line is about: it goes as soon as that is no longer so, so
/// that "web is stopping" does not outlive the stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The row called `name` shows this process in this status (`None`: never started).
    Row {
        name: String,
        state: Option<(ProcId, Status)>,
    },
    /// Nothing is running.
    NothingRunning,
}

impl Cause {
    /// The cause of a notice about `row` as it is now.
    pub fn row(row: &Row) -> Cause {
        Cause::Row {
            name: row.name.clone(),
            state: Cause::state(Some(row)),
        }
    }

    fn state(row: Option<&Row>) -> Option<(ProcId, Status)> {
        let p = row?.proc.as_ref()?;
        Some((p.process.id(), p.state.status))
    }

    /// True while what the notice says is still so in `snap`.
    pub fn holds(&self, snap: &Snapshot) -> bool {
        match self {
            Cause::Row { name, state } => Cause::state(snap.row(name)) == *state,
            Cause::NothingRunning => snap.running().is_empty(),
        }
    }
}

impl App {
    /// Shows `text` on the bottom line until the next key.
    pub fn say(&mut self, text: impl Into<String>) {
        self.notice = Some(text.into());
        self.notice_cause = None;
    }

    /// Shows `text` until the next key or until `cause` no longer holds.
    pub fn say_about(&mut self, text: impl Into<String>, cause: Cause) {
        self.notice = Some(text.into());
        self.notice_cause = Some(cause);
    }

    /// Drops the notice whose cause no longer holds in `snap` (called before each frame).
    pub fn expire_notice(&mut self, snap: &Snapshot) {
        if self.notice_cause.as_ref().is_some_and(|c| !c.holds(snap)) {
            self.notice = None;
            self.notice_cause = None;
        }
    }
}
