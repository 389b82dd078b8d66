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

use procsnap::{Exit, ProcessState, Status};

const WORDS: usize = 9;

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

fn time_words(t: Option<SystemTime>) -> [u64; 2] {
    match t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()) {
        Some(d) => [d.as_secs(), u64::from(d.subsec_nanos()) | SOME],
        None => [0, 0],
    }
}

fn time_from(w: [u64; 2]) -> Option<SystemTime> {
    (w[1] & SOME != 0).then(|| SystemTime::UNIX_EPOCH + Duration::new(w[0], (w[1] & !SOME) as u32))
}

fn opt_i32(v: Option<i32>) -> u64 {
    v.map_or(0, |v| u64::from(v as u32) | SOME)
}

fn i32_from(w: u64) -> Option<i32> {
    (w & SOME != 0).then_some(w as u32 as i32)
}

fn encode(s: &ProcessState) -> [u64; WORDS] {
    let [sa, sn] = time_words(s.started_at);
    let [ea, en] = time_words(s.ended_at);
    let (code, signal) = match s.exit {
        Some(e) => (opt_i32(e.code) | 1 << 62, opt_i32(e.signal)),
        None => (0, 0),
    };
    [
        status_code(s.status) | u64::from(s.restarts) << 32,
        s.pid.map_or(0, |p| u64::from(p) | SOME),
        sa,
        sn,
        ea,
        en,
        code,
        signal,
        s.version,
    ]
}

fn decode(w: &[u64; WORDS]) -> ProcessState {
    ProcessState {
        status: status_from(w[0] & 0xff),
        restarts: (w[0] >> 32) as u32,
        pid: (w[1] & SOME != 0).then_some(w[1] as u32),
        started_at: time_from([w[2], w[3]]),
        ended_at: time_from([w[4], w[5]]),
        exit: (w[6] & 1 << 62 != 0).then(|| Exit {
            code: i32_from(w[6] & !(1 << 62)),
            signal: i32_from(w[7]),
        }),
        version: w[8],
    }
}
