//! [`LockedCell`]: the same operations as [`StateCell`](super::StateCell) behind a `Mutex`.
//!
//! It is the oracle the fuzz target `cell_vs_mutex` compares the lock-free cell against, and the
//! baseline every benchmark runs beside it. Like arc-swap's lock-based strategy, it is kept small
//! enough to be obviously right.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::Updated;
use crate::state::ProcessState;

/// A `Mutex<ProcessState>` with [`StateCell`](super::StateCell)'s `snapshot` and `update`.
///
/// ```
/// use procsnap::internals::LockedCell;
/// use procsnap::ProcessState;
/// let cell = LockedCell::new(ProcessState::default());
/// let up = cell.update(|s| Ok::<_, ()>(*s)).unwrap();
/// assert_eq!(up.new.version, 1);
/// assert_eq!(cell.snapshot().version, 1);
/// ```
#[derive(Debug, Default)]
pub struct LockedCell {
    state: Mutex<ProcessState>,
}

impl LockedCell {
    /// A cell holding `state`.
    pub fn new(state: ProcessState) -> LockedCell {
        LockedCell {
            state: Mutex::new(state),
        }
    }

    /// A copy of the current state, taken under the lock.
    pub fn snapshot(&self) -> ProcessState {
        *self.lock()
    }

    /// Replaces the state with `f(current)` under the lock, setting `version` to the old one plus
    /// one. `f` runs exactly once; on `Err` nothing changes. `retries` is always 0.
    pub fn update<E, F>(&self, mut f: F) -> Result<Updated, E>
    where
        F: FnMut(&ProcessState) -> Result<ProcessState, E>,
    {
        let mut state = self.lock();
        let old = *state;
        let mut new = f(&old)?;
        new.version = old.version.wrapping_add(1);
        *state = new;
        Ok(Updated {
            old,
            new,
            retries: 0,
        })
    }

    /// The state is written only after `f` returned, so a panic in `f` leaves it whole and a
    /// poisoned lock can be used as it is.
    fn lock(&self) -> MutexGuard<'_, ProcessState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
