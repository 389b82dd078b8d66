//! `StateCell` against its `Mutex` oracle `LockedCell`.
//!
//! Sequential mode: the same operations on both cells give the same `Ok`/`Err`, the same
//! `old`/`new` and the same snapshot after each one.
//!
//! Concurrent mode: two threads update one `StateCell` at once with commutative operations
//! (add to `restarts`, or a refused update). Whatever the interleaving, every successful update
//! counts exactly once in `version`, the final state is the one any sequential replay gives, and
//! each thread's reads never go back in version. Run it with `-len_control=0 -max_len=4096` so
//! the threads get enough work to overlap (libFuzzer otherwise starts with inputs of a few bytes).
#![no_main]

use std::sync::Barrier;
use std::thread;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use procsnap::internals::LockedCell;
use procsnap::{ProcessState, StateCell, Updated};
use procsnap_fuzz::{EventIn, StateIn};

#[derive(Arbitrary, Debug)]
enum Op {
    /// `apply` an event: accepted or rejected by the lifecycle.
    Apply(EventIn),
    /// Install a state regardless of the current one (the cell still sets `version`).
    Replace(StateIn),
    /// Refuse to update.
    Refuse(u8),
    /// A read: both snapshots must already agree, this only adds a read between updates.
    Read,
}

#[derive(Arbitrary, Debug)]
enum ConcurrentOp {
    /// Adds `n` to `restarts` (wrapping): commutative, so the final sum is known.
    Add(u8),
    /// Refuses to update: must change nothing, not even the version.
    Refuse,
    /// Reads a snapshot, checking it against the invariant and this thread's last read.
    Read,
    /// Reads under a held guard with `load`.
    Load,
}

#[derive(Arbitrary, Debug)]
enum Input {
    Sequential(StateIn, Vec<Op>),
    Concurrent(StateIn, Vec<ConcurrentOp>, Vec<ConcurrentOp>),
}

fuzz_target!(|input: Input| match input {
    Input::Sequential(initial, ops) => sequential(initial.into(), &ops),
    Input::Concurrent(initial, a, b) => concurrent(initial.into(), &a, &b),
});

fn sequential(initial: ProcessState, ops: &[Op]) {
    let cell = StateCell::new(initial);
    let oracle = LockedCell::new(initial);
    for op in ops {
        let (got, want): (Result<Updated, String>, Result<Updated, String>) = match *op {
            Op::Apply(e) => (
                cell.update(|s| s.apply(e.into()))
                    .map_err(|r| r.to_string()),
                oracle
                    .update(|s| s.apply(e.into()))
                    .map_err(|r| r.to_string()),
            ),
            Op::Replace(s) => (
                cell.update(|_| Ok(s.into())),
                oracle.update(|_| Ok(s.into())),
            ),
            Op::Refuse(n) => (
                cell.update(|_| Err(format!("refused {n}"))),
                oracle.update(|_| Err(format!("refused {n}"))),
            ),
            Op::Read => (Err(String::new()), Err(String::new())),
        };
        assert_eq!(got, want, "{op:?}");
        if let Ok(up) = got {
            assert_eq!(up.new.version, up.old.version.wrapping_add(1));
            assert_eq!(up.retries, 0, "no other writer, yet a CAS failed");
        }
        assert_eq!(cell.snapshot(), oracle.snapshot(), "after {op:?}");
        let guard = procsnap::pin();
        assert_eq!(*cell.load(&guard), oracle.snapshot());
    }
}

/// Each read checks that this thread never sees the version go back and that no field other
/// than `restarts`/`version` changed; at the end, `version` counts the successful updates and
/// `restarts` their sum.
fn concurrent(initial: ProcessState, a: &[ConcurrentOp], b: &[ConcurrentOp]) {
    let cell = StateCell::new(initial);
    let barrier = Barrier::new(2);
    let run = |ops: &[ConcurrentOp]| -> (u64, u32) {
        barrier.wait();
        let (mut updates, mut added) = (0u64, 0u32);
        let mut last_version = 0u64; // relative to initial.version
        let mut check = |s: &ProcessState| {
            let v = s.version.wrapping_sub(initial.version);
            assert!(
                v >= last_version,
                "version went back: {v} after {last_version}"
            );
            last_version = v;
            let mut rest = *s;
            rest.restarts = initial.restarts;
            rest.version = initial.version;
            assert_eq!(rest, initial, "a field no update touched changed");
        };
        for op in ops {
            match *op {
                ConcurrentOp::Add(n) => {
                    let up = cell
                        .update(|s| {
                            Ok::<_, ()>({
                                let mut next = *s;
                                next.restarts = s.restarts.wrapping_add(u32::from(n));
                                next
                            })
                        })
                        .unwrap();
                    assert_eq!(up.new.version, up.old.version.wrapping_add(1));
                    assert_eq!(up.new.restarts, up.old.restarts.wrapping_add(u32::from(n)));
                    check(&up.new);
                    updates += 1;
                    added = added.wrapping_add(u32::from(n));
                }
                ConcurrentOp::Refuse => {
                    assert_eq!(cell.update(|_| Err::<ProcessState, _>(())), Err(()));
                }
                ConcurrentOp::Read => check(&cell.snapshot()),
                ConcurrentOp::Load => {
                    let guard = procsnap::pin();
                    let s = cell.load(&guard);
                    check(s);
                    // Held guard: the same reference still reads the same state.
                    let copy = *s;
                    thread::yield_now();
                    assert_eq!(*s, copy, "a pinned snapshot changed under its reader");
                }
            }
        }
        (updates, added)
    };
    let ((ua, aa), (ub, ab)) = thread::scope(|s| {
        let ta = s.spawn(|| run(a));
        let tb = s.spawn(|| run(b));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let last = cell.snapshot();
    assert_eq!(
        last.version.wrapping_sub(initial.version),
        ua + ub,
        "lost or doubled update: {last:?}"
    );
    assert_eq!(
        last.restarts,
        initial.restarts.wrapping_add(aa).wrapping_add(ab),
        "the final state is not a sequential replay: {last:?}"
    );
}
