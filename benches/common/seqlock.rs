//! Prototype (bench-only): a seqlock mirror of a `ProcessState`, read with no store to shared
//! memory at all.
//!
//! The state is kept as nine `AtomicU64` words plus a sequence number. A reader loads the
//! sequence (even = stable), the words (relaxed), an acquire fence, and the sequence again; equal
//! and even means the words are one whole state. Writers take turns by moving the sequence from
//! even to odd with a CAS. It is all safe code: racing words are atomics, never plain memory.
//!
//! What it would mean in `src/`: `StateCell::update` would, after its CAS, publish the new state
//! into the mirror (if its version is newer than the mirror's), and `snapshot` would read the
//! mirror, falling back to pin + load when a writer is mid-publish. Readers stay lock-free (they
//! never wait for a writer: they fall back), and no read ever writes a shared cache line, so
//! reads scale with cores like arc-swap's and better. The cost moves to writers (a second CAS and
//! nine stores) and to encoding: `SystemTime` before 1970 would need a sign bit (not handled here).

use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::{Duration, SystemTime};

use procsnap::{Exit, ProcessState, Status, Timestamp};

const WORDS: usize = 7;

/// A seqlock-published copy of a `ProcessState`.
pub struct SeqCell {
    seq: AtomicU64,
    words: [AtomicU64; WORDS],
}

impl SeqCell {
    pub fn new(state: ProcessState) -> SeqCell {
        let words = encode(&state).map(AtomicU64::new);
        SeqCell {
            seq: AtomicU64::new(0),
            words,
        }
    }

    /// A whole copy of the state, or `None` if a writer was publishing meanwhile (the caller
    /// retries or falls back to the epoch path).
    #[inline]
    pub fn try_read(&self) -> Option<ProcessState> {
        // Acquire: pairs with the writer's Release store of the even sequence, so the words it
        // wrote before are visible.
        let s1 = self.seq.load(Ordering::Acquire);
        if s1 & 1 == 1 {
            return None;
        }
        let words: [u64; WORDS] = std::array::from_fn(|i| self.words[i].load(Ordering::Relaxed));
        // Acquire fence: orders the word loads before the second sequence load (the seqlock
        // reader's half of the pairing with the writer's Release fence).
        fence(Ordering::Acquire);
        let s2 = self.seq.load(Ordering::Relaxed);
        (s1 == s2).then(|| decode(&words))
    }

    /// Reads, spinning past a writer that is publishing.
    #[inline]
    pub fn read(&self) -> ProcessState {
        loop {
            if let Some(s) = self.try_read() {
                return s;
            }
            std::hint::spin_loop();
        }
    }

    /// Publishes `state` (writers take turns through the odd sequence).
    pub fn write(&self, state: &ProcessState) {
        let mut seq = self.seq.load(Ordering::Relaxed);
        loop {
            if seq & 1 == 0 {
                // Acquire: the previous writer's words happen before ours.
                match self.seq.compare_exchange_weak(
                    seq,
                    seq + 1,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(now) => seq = now,
                }
            } else {
                std::hint::spin_loop();
                seq = self.seq.load(Ordering::Relaxed);
            }
        }
        // Release fence: a reader that sees any of the words below also sees the odd sequence.
        fence(Ordering::Release);
        for (w, v) in self.words.iter().zip(encode(state)) {
            w.store(v, Ordering::Relaxed);
        }
        // Release: publishes the words with the even sequence readers Acquire.
        self.seq.store(seq + 2, Ordering::Release);
    }
}

const SOME: u64 = 1 << 63;

fn status_code(s: Status) -> u64 {
    match s {
        Status::Pending => 0,
        Status::Running => 1,
        Status::Stopping => 2,
        Status::Stopped => 3,
        Status::Failed => 4,
        Status::Success => 5,
        _ => 6,
    }
}

fn status_from(c: u64) -> Status {
    match c {
        1 => Status::Running,
        2 => Status::Stopping,
        3 => Status::Stopped,
        4 => Status::Failed,
        5 => Status::Success,
        _ => Status::Pending,
    }
}

fn time_word(t: Option<Timestamp>) -> u64 {
    t.map_or(0, Timestamp::as_nanos)
}

fn time_from(w: u64) -> Option<Timestamp> {
    (w != 0).then(|| Timestamp::from(SystemTime::UNIX_EPOCH + Duration::from_nanos(w)))
}

/// The exit as (tag, value): tag 0 none, 1 code, 2 signal, 3 unknown.
fn exit_words(e: Option<Exit>) -> (u64, u64) {
    match e {
        None => (0, 0),
        Some(Exit::Code(c)) => (1, u64::from(c as u32)),
        Some(Exit::Signal(s)) => (2, u64::from(s as u32)),
        Some(_) => (3, 0), // Unknown, or an exit this version does not know
    }
}

fn exit_from(tag: u64, value: u64) -> Option<Exit> {
    match tag {
        1 => Some(Exit::Code(value as u32 as i32)),
        2 => Some(Exit::Signal(value as u32 as i32)),
        3 => Some(Exit::Unknown),
        _ => None,
    }
}

fn encode(s: &ProcessState) -> [u64; WORDS] {
    let (tag, value) = exit_words(s.exit);
    [
        status_code(s.status) | u64::from(s.restarts) << 32,
        s.pid.map_or(0, |p| u64::from(p) | SOME),
        time_word(s.started_at),
        time_word(s.ended_at),
        tag,
        value,
        s.version,
    ]
}

fn decode(w: &[u64; WORDS]) -> ProcessState {
    // Field by field: `ProcessState` is non-exhaustive, so no struct expression out here.
    let mut s = ProcessState::default();
    s.status = status_from(w[0] & 0xff);
    s.restarts = (w[0] >> 32) as u32;
    s.pid = (w[1] & SOME != 0).then_some(w[1] as u32);
    s.started_at = time_from(w[2]);
    s.ended_at = time_from(w[3]);
    s.exit = exit_from(w[4], w[5]);
    s.version = w[6];
    s
}
