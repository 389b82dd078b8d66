//! Many writers and readers on one `StateCell`: no update is lost, no read is torn or stale.
//!
//! Each writer makes the new snapshot's fields a function of the version it will get, so a torn
//! read (fields from two snapshots) or an invented state breaks `consistent`, and a reader that saw
//! an older version after a newer one breaks monotonicity.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, SystemTime};

use procsnap::{ProcessState, StateCell};

const WRITERS: u64 = 2;
const UPDATES: u64 = if cfg!(debug_assertions) {
    100_000
} else {
    200_000
};

fn stamped(v: u64) -> ProcessState {
    {
        let mut next = ProcessState::default();
        next.pid = Some(v as u32);
        next.restarts = (v as u32).wrapping_mul(2_654_435_761);
        next.started_at = Some((SystemTime::UNIX_EPOCH + Duration::from_nanos(v)).into());
        next.version = v;
        next
    }
}

fn consistent(s: &ProcessState) -> bool {
    s.version == 0 && *s == ProcessState::default() || *s == stamped(s.version)
}

#[test]
fn concurrent_updates_are_never_lost_or_torn() {
    let cell = Arc::new(StateCell::default());
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (cell, done) = (cell.clone(), done.clone());
            thread::spawn(move || {
                let (mut last, mut reads) = (0u64, 0u64);
                let mut guard = procsnap::pin();
                while !done.load(Ordering::Relaxed) {
                    // Half the reads copy with `snapshot`, half read in place under a held guard.
                    let s = if reads % 2 == 0 {
                        cell.snapshot()
                    } else {
                        *cell.load(&guard)
                    };
                    assert!(consistent(&s), "torn or invented snapshot: {s:?}");
                    assert!(
                        s.version >= last,
                        "version went back: {} after {last}",
                        s.version
                    );
                    last = s.version;
                    reads += 1;
                    if reads % 256 == 0 {
                        guard.repin();
                    }
                }
                reads
            })
        })
        .collect();

    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let cell = cell.clone();
            thread::spawn(move || {
                let mut retries = 0u64;
                for _ in 0..UPDATES {
                    let up = cell
                        .update(|s| Ok::<_, Infallible>(stamped(s.version + 1)))
                        .unwrap();
                    assert_eq!(up.new.version, up.old.version + 1);
                    retries += u64::from(up.retries);
                }
                retries
            })
        })
        .collect();

    let retries: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    done.store(true, Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();

    let last = cell.snapshot();
    assert_eq!(last.version, WRITERS * UPDATES, "lost updates");
    assert!(consistent(&last));
    assert!(reads > 0);
    eprintln!("{reads} reads, {retries} CAS retries");
}
