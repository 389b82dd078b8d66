//! Spare snapshot allocations: a replaced [`ProcessState`]'s box, once the collector may free
//! it, goes to the collecting thread's spares instead, and the next update on that thread
//! reuses it instead of calling `malloc`.
//!
//! Why: the collector frees replaced snapshots 64 at a time, which overflows glibc's per-thread
//! cache (7 chunks per size) and sends most of them through its slower bins; in a long run,
//! `malloc` and `free` were ~60 % of an update. A box is recycled only when the collector would
//! have freed it — after every reader that could see it has unpinned — so reusing it is exactly
//! as safe as `malloc` handing the same memory back.
//!
//! Each thread keeps at most [`CAPACITY`] spares (12 KiB); what does not fit is freed. A
//! thread's spares are freed when it exits.

use std::cell::RefCell;

use crate::state::ProcessState;

/// The most spares one thread keeps: four of the collector's 64-snapshot batches.
pub(super) const CAPACITY: usize = 256;

thread_local! {
    // Boxes, not values: each is an allocation kept for a snapshot to live in.
    #[allow(clippy::vec_box)]
    static SPARES: RefCell<Vec<Box<ProcessState>>> = const { RefCell::new(Vec::new()) };
}

/// Where an [`EpochCell`](super::EpochCell) gets the box for a new value, and where a replaced
/// one goes once the collector is done with it.
pub trait Pool<T> {
    /// True when [`recycle`](Self::recycle) keeps boxes: the cell then defers a recycle instead
    /// of a plain free.
    const RECYCLES: bool = false;

    /// A spare box, if one is at hand (its old value is overwritten, and dropped then).
    #[inline]
    fn take() -> Option<Box<T>> {
        None
    }

    /// A replaced value's box, which no reader can see any more.
    #[inline]
    fn recycle(spare: Box<T>) {
        drop(spare);
    }
}

/// No pool: every value gets a fresh allocation, and replaced ones are freed.
#[derive(Debug)]
pub struct Fresh;

impl<T> Pool<T> for Fresh {}

/// The calling thread's spare [`ProcessState`] boxes.
#[derive(Debug)]
pub struct Spares;

impl Pool<ProcessState> for Spares {
    const RECYCLES: bool = true;

    #[inline]
    fn take() -> Option<Box<ProcessState>> {
        // During this thread's exit the spares may be gone: a fresh allocation then.
        SPARES.try_with(|s| s.borrow_mut().pop()).ok().flatten()
    }

    #[inline]
    fn recycle(spare: Box<ProcessState>) {
        // During this thread's exit the spares may be gone: `spare` is freed then, as is one
        // that does not fit.
        let _ = SPARES.try_with(|s| {
            let mut s = s.borrow_mut();
            let held = s.len();
            if held < CAPACITY {
                // Room for all of them at once: the only allocation the spares ever make.
                s.reserve_exact(CAPACITY - held);
                s.push(spare);
            }
        });
    }
}

/// How many spares this thread holds (tests).
#[cfg(test)]
pub(super) fn held() -> usize {
    SPARES.with(|s| s.borrow().len())
}
