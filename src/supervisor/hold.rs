//! [`OutputHold`]: back-pressure on one process. While a hold exists, the reaper leaves that
//! process's pipes unread, so its writers block once a pipe is full, as in a shell pipeline;
//! every other process is read as usual.
//!
//! The holds are counted per process in [`Shared`]'s table. Only the transitions between "no
//! hold" and "held" reach the reaper, as a [`Command::HoldChanged`] queued under the table's
//! lock (so the commands follow the transitions in order); the reaper then reads the table
//! itself, so a command that arrives late or twice does no harm.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Weak};

use super::reaper::Command;
use super::{Shared, Supervisor, lock};
use crate::registry::ProcId;

/// Live holds per process (`ProcId::get()`); a process without a hold has no entry.
pub(super) type Holds = HashMap<u64, usize>;

impl Shared {
    /// Counts one more hold on `id`; the first one tells the reaper.
    fn hold(&self, id: ProcId) {
        let mut holds = lock(&self.holds);
        let n = holds.entry(id.get()).or_insert(0);
        *n += 1;
        if *n == 1 {
            // Under the table's lock: the reaper gets the transitions in the order they happened.
            self.send(Command::HoldChanged(id));
        }
    }

    /// Counts one hold on `id` fewer; the last one tells the reaper.
    fn release(&self, id: ProcId) {
        let mut holds = lock(&self.holds);
        let Some(n) = holds.get_mut(&id.get()) else {
            return;
        };
        *n -= 1;
        if *n == 0 {
            holds.remove(&id.get());
            self.send(Command::HoldChanged(id));
        }
    }

    /// Whether some [`OutputHold`] on process `id` exists.
    pub(super) fn is_held(&self, id: u64) -> bool {
        lock(&self.holds).contains_key(&id)
    }
}

/// Keeps the supervisor from reading one process's output while it exists; see
/// [`Supervisor::hold_output`]. Dropping the last hold on a process resumes the reading.
///
/// Holds are counted: the process stays held until every hold on it is dropped. A hold may
/// outlive its process and its supervisor (dropping it then does nothing).
#[must_use = "the output is held only while the OutputHold exists"]
pub struct OutputHold {
    shared: Weak<Shared>,
    id: ProcId,
}

impl OutputHold {
    /// The process this hold holds.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Supervisor};
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("talker", CommandSpec::shell("sleep 60")).unwrap();
    /// let hold = sup.hold_output(p.id()).unwrap();
    /// assert_eq!(hold.id(), p.id());
    /// # sup.stop(p.id(), std::time::Duration::ZERO).unwrap();
    /// ```
    pub fn id(&self) -> ProcId {
        self.id
    }
}

impl Drop for OutputHold {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.release(self.id);
        }
    }
}

impl fmt::Debug for OutputHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputHold").field("id", &self.id).finish()
    }
}

impl Supervisor {
    /// Stops reading the output of process `id` until the returned hold (and every other hold
    /// on `id`) is dropped; `None` if `id` is unknown or already finished.
    ///
    /// While held, the process's stdout and stderr pipes are left unread: its writers block in
    /// `write` once a pipe is full (64 KiB on Linux), exactly as in a shell pipeline, and no new
    /// line reaches its log ring or the subscribers. Every other process is read as usual.
    /// Dropping the last hold wakes the reaper, which reads on from where it stopped: nothing
    /// is lost, nothing reordered. A read already under way when the hold is taken completes
    /// (at most one round of the reaper, 256 KiB per pipe). This is how a consumer that
    /// delivers output to clients of its own (one client per job, say) pushes back on the
    /// processes of one slow client only, where a full
    /// [lossless subscription](Self::subscribe_lossless) pauses every process.
    ///
    /// A hold does not delay a stop or an exit: when the process ends, what its pipes still
    /// hold is read in full before its final state is published. A held process that handles
    /// its stop signal by writing more than its pipe holds blocks in that write until the
    /// SIGKILL after the grace.
    ///
    /// ```
    /// use procsnap::{CommandSpec, Status, Supervisor};
    ///
    /// let sup = Supervisor::new().unwrap();
    /// let p = sup.spawn("count", CommandSpec::shell("seq 1 200000")).unwrap();
    /// let hold = sup.hold_output(p.id()).unwrap();
    /// // ... `count` fills its pipe and blocks in `write` while the hold exists ...
    /// std::thread::sleep(std::time::Duration::from_millis(500));
    /// assert!(!p.state().snapshot().is_finished());
    /// drop(hold); // reading resumes
    /// assert_eq!(sup.wait(p.id()).unwrap().status, Status::Success);
    /// assert_eq!(&*p.logs().tail(1)[0].text, "200000");
    /// ```
    #[must_use = "the output is held only while the OutputHold exists"]
    pub fn hold_output(&self, id: ProcId) -> Option<OutputHold> {
        let process = self.shared.processes.get(id)?;
        if process.state().snapshot().is_finished() {
            return None;
        }
        self.shared.hold(id);
        Some(OutputHold {
            shared: Arc::downgrade(&self.shared),
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn a_hold_is_send_and_sync() {
        assert_send_sync::<OutputHold>();
    }
}
