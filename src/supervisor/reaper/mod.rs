//! The reaper: one thread, one `epoll`, every child's pidfd and pipes, and every state event.
//!
//! See the [module docs](super) for the design. This file is the loop itself: the live
//! children by id (pidfd, two pipes with their line splitters, stop deadlines), a command queue
//! fed by the [`Supervisor`](super::Supervisor), and the finalisation that turns "leader reaped
//! and nothing of the group alive" into one `StateCell::update` and one event.
//!
//! A spawning thread registers the new child's descriptors in the shared `epoll` itself, under
//! the command-queue lock and together with its `Register` command, so a spawn costs the reaper
//! no extra wake-up: the reaper takes the queued commands before it looks at any event, and so
//! always knows the child an event is about. Tokens are `ProcId << 2 | kind`; ids are never
//! reused, so an event that arrives after its child was finalised is simply ignored.

use std::collections::{HashMap, HashSet, VecDeque};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

mod exit;
mod output;
mod strays;

use super::{Shared, procfs};
use crate::logs::{LineSplitter, LogLine, Stream};
use crate::registry::{ProcId, Process};
use crate::state::{Event, Exit};
use crate::sys::fd::{EpollBuffer, READABLE, read};
use crate::sys::{self, Pid};

/// Work for the reaper, queued by other threads.
pub(crate) enum Command {
    /// A child was spawned, marked `Running` and its descriptors added to the epoll: own it.
    Register(Registered),
    /// Stop this process: CAS to `Stopping`, `signal` (SIGTERM unless the caller chose
    /// another) to its group, KILL it after `grace`.
    Stop {
        id: ProcId,
        grace: Duration,
        signal: libc::c_int,
    },
    /// Stop every live child, each with `grace` (SIGTERM first).
    StopAll { grace: Duration },
    /// Send `signal` to the group of every live child, then drop `done`.
    SignalAll {
        signal: libc::c_int,
        done: std::sync::mpsc::SyncSender<()>,
    },
    /// The first hold on this process was taken, or its last one dropped: look again whether it
    /// is held (see [`OutputHold`](super::OutputHold)).
    HoldChanged(ProcId),
    /// Exit once no child is left; a child registered from now on is stopped at once.
    Shutdown,
    /// Panic (tests of what callers see when the reaper dies).
    #[cfg(test)]
    Panic,
}

/// A freshly spawned child, handed to the reaper.
pub(crate) struct Registered {
    pub process: Arc<Process>,
    pub pid: Pid,
    /// Shared with `Shared::leaders` until finalisation; `None` without pidfds.
    pub pidfd: Option<Arc<OwnedFd>>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// Token kinds (low two bits).
pub(crate) const PIDFD: u64 = 0;
pub(crate) const STDOUT: u64 = 1;
pub(crate) const STDERR: u64 = 2;
pub(super) const SPECIAL: u64 = 3;
/// Token for the command eventfd (kind 3 is never a child's).
pub(crate) const WAKE: u64 = SPECIAL;
/// Token for the watchdog's pidfd.
const WATCHDOG: u64 = (1 << 2) | SPECIAL;
/// Token for the eventfd SIGCHLD writes to (without pidfds).
pub(crate) const CHILDREN: u64 = (2 << 2) | SPECIAL;

/// The epoll token of descriptor `kind` of process `id`.
pub(crate) fn token(id: ProcId, kind: u64) -> u64 {
    token_of(id.get(), kind)
}

fn token_of(id: u64, kind: u64) -> u64 {
    (id << 2) | kind
}

/// How often a group whose leader is gone is probed for emptiness.
const LINGER_POLL: Duration = Duration::from_millis(2);
/// After a SIGKILL, how long to wait for the leader to be reaped and the group to empty before
/// giving up on them (members stuck in uninterruptible sleep, a leader whose tracer does not
/// release it).
pub(super) const KILL_PATIENCE: Duration = Duration::from_secs(2);
/// How often a leader that has exited but cannot be reaped yet is tried again.
const UNREAPABLE_POLL: Duration = Duration::from_millis(10);
/// How often the leaders given up on are tried again.
const ORPHAN_POLL: Duration = Duration::from_millis(250);
/// Without pidfds, how often every unreaped child is looked at besides SIGCHLD.
const FALLBACK_POLL: Duration = Duration::from_secs(1);
/// Without pidfds and without a SIGCHLD handler (the host ignores SIGCHLD), how often.
const BLIND_POLL: Duration = Duration::from_millis(20);
/// No grace is longer than this (a year): a larger one, however large, means "as long as it
/// takes" in practice, and capping it keeps every deadline representable.
pub(crate) const MAX_GRACE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// `now + grace`, with `grace` capped at [`MAX_GRACE`] so the sum cannot overflow.
pub(super) fn deadline(now: Instant, grace: Duration) -> Instant {
    let grace = grace.min(MAX_GRACE);
    now.checked_add(grace).unwrap_or(now)
}
/// A group that lingers after its leader was reaped is also checked in /proc (see
/// [`procfs`]): at the first probe after `LINGER_POLL`, then at gaps that double up to
/// `PROC_SCAN_EVERY`. A group whose only members are zombies nobody reaps yet (an init that
/// reaps orphans late) is over at once; one with live members costs a few passes, then one per
/// `PROC_SCAN_EVERY`.
const PROC_SCAN_EVERY: Duration = Duration::from_millis(50);
/// Bytes read from one pipe per readiness report, so that one flooding child cannot starve
/// the others (epoll is level-triggered: the rest is read on the next round).
const READ_BUDGET: usize = 256 * 1024;

struct Pipe {
    fd: OwnedFd,
    stream: Stream,
    split: LineSplitter,
    /// Out of the epoll: a lossless subscriber is full (see `Reaper::paused`) or the process
    /// is held (see `Child::held`).
    paused: bool,
    /// In `Reaper::paused`: resumed once no lossless subscriber is full.
    waits_room: bool,
    /// Lines read and split but not published yet: more than the lossless subscribers had room
    /// for. Published first when the pipe is read again.
    pending: VecDeque<(Arc<str>, bool)>,
}

struct Child {
    process: Arc<Process>,
    pid: Pid,
    /// `None` once the leader is reaped, or from the start without pidfds.
    pidfd: Option<Arc<OwnedFd>>,
    pipes: [Option<Pipe>; 2],
    /// The leader's exit and reap time, once reaped.
    exit: Option<(Exit, SystemTime)>,
    /// SIGTERM (and SIGCONT) went to the group.
    term_sent: bool,
    /// When to SIGKILL the group if it is still alive.
    kill_at: Option<Instant>,
    /// When SIGKILL went to the group.
    killed_at: Option<Instant>,
    /// That SIGKILL found live members after the leader had exited: it is what ended the
    /// process, and a stopped process reports it as its exit (see `finalize`).
    kill_ended: bool,
    /// When the group, alive after the leader was reaped, is next looked at in /proc, and
    /// the gap before that look.
    next_scan: Option<(Instant, Duration)>,
    /// The group was seen empty after the leader was reaped: it is never signalled again
    /// (its id may be reused), while its strays may still be alive.
    group_empty: bool,
    /// Live strays (processes of its tree outside its group) adopted for it.
    strays: usize,
    /// A stopped child's strays were looked for once more after its group emptied.
    strays_confirmed: bool,
    /// In `Reaper::timed`.
    timed: bool,
    /// The leader has exited (its pidfd is readable) but cannot be reaped yet: a tracer that
    /// has not seen its death holds it. Out of the epoll, retried on the timer.
    unreapable: bool,
    /// An [`OutputHold`](super::OutputHold) exists: the pipes are left unread until
    /// finalisation.
    held: bool,
}

struct Reaper {
    shared: Arc<Shared>,
    events: EpollBuffer,
    /// Live children by `ProcId::get()` (the number inside their epoll tokens).
    children: HashMap<u64, Child>,
    /// Children with a deadline or a lingering group: only these are looked at by the timer,
    /// so thousands of idle children cost nothing per wake-up.
    timed: Vec<u64>,
    buf: Vec<u8>,
    /// The lines of one read, before and after they are stored (reused buffers).
    fitted: Vec<(Arc<str>, bool)>,
    stored: Vec<LogLine>,
    shutting_down: bool,
    /// The pid of a watchdog that died and could not be replaced yet, and when to try again
    /// (out of processes or descriptors for a moment, say).
    watchdog_retry: Option<(Pid, Instant)>,
    /// Without pidfds: when every unreaped child is looked at anyway, in case a SIGCHLD went
    /// to nobody (a host thread that blocks it is the only one left to take it, say).
    next_poll: Option<Instant>,
    /// Pipes not read for now because a lossless subscriber is full, as (child id, 0 for stdout
    /// or 1 for stderr). Their writers block once the pipe is full, as in a shell pipeline;
    /// the subscriber's room function wakes us to take them back. (A held process's pipes are
    /// not listed here: the release of its last hold takes them back.)
    paused: Vec<(u64, usize)>,
    /// Adopted strays by key (their epoll token is `key << 2 | SPECIAL`), and their pids.
    strays: HashMap<u64, strays::Stray>,
    stray_pids: HashSet<i32>,
    next_stray: u64,
    /// Children stopped in this round, whose strays one pass over /proc finds at its end.
    stopped: HashSet<u64>,
    /// Stopped children whose group just emptied: one more pass at the end of the round
    /// confirms that no stray is left before they are finalised.
    to_confirm: HashSet<u64>,
    /// Processes a pass found in the middle of an `exec`, by pid: looked at again every
    /// `EXEC_RECHECK` until their tag can be read.
    in_exec: HashMap<i32, strays::InExec>,
    /// Stopped children whose confirming pass found a process in the middle of an `exec`:
    /// finalised once no such process is left (it may be a stray of theirs).
    confirm_after_exec: HashSet<u64>,
    /// When strays were last looked for on behalf of the children being stopped.
    last_stray_scan: Option<Instant>,
    /// The final sweep of everything tagged, once shutting down with no child left.
    sweep: Option<strays::Sweep>,
    /// Leaders given up on (see `give_up`), still to be reaped, and when to try next.
    orphans: Vec<Pid>,
    next_orphan_poll: Option<Instant>,
}

/// How long after a failed watchdog respawn the next attempt is made.
const WATCHDOG_RETRY: Duration = Duration::from_secs(1);

/// The reaper thread's body: the loop until shutdown, then marks the reaper gone and wakes
/// every waiter. A panic (a bug of ours) is caught and recorded, so that the callers that
/// wait for the reaper get an error naming it instead of waiting forever.
pub(crate) fn run(shared: Arc<Shared>) {
    let on_thread = shared.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| looping(on_thread)));
    if let Err(payload) = &outcome {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        shared.record_reaper_panic(msg);
    }
    shared.mark_reaper_gone();
    shared.finish_ending(outcome.is_err());
}

fn looping(shared: Arc<Shared>) {
    let mut reaper = Reaper {
        shared,
        events: EpollBuffer::new(256),
        children: HashMap::new(),
        timed: Vec::new(),
        buf: vec![0; 64 * 1024],
        fitted: Vec::new(),
        stored: Vec::new(),
        shutting_down: false,
        watchdog_retry: None,
        next_poll: None,
        paused: Vec::new(),
        strays: HashMap::new(),
        stray_pids: HashSet::new(),
        next_stray: strays::FIRST_STRAY,
        stopped: HashSet::new(),
        to_confirm: HashSet::new(),
        in_exec: HashMap::new(),
        confirm_after_exec: HashSet::new(),
        last_stray_scan: None,
        sweep: None,
        orphans: Vec::new(),
        next_orphan_poll: None,
    };
    reaper.watch_watchdog();
    reaper.run();
}

impl Reaper {
    fn watch_watchdog(&mut self) {
        let Some(watchdog) = &self.shared.watchdog else {
            return;
        };
        // If this fails the supervisor works on, only without watchdog respawns.
        if let Ok(fd) = sys::pidfd_open(watchdog.pid()) {
            if self
                .shared
                .epoll
                .add(fd.as_fd(), READABLE, WATCHDOG)
                .is_ok()
            {
                self.shared.set_watchdog_pidfd(fd);
            }
        }
    }

    fn run(&mut self) {
        let mut ready = Vec::with_capacity(256);
        loop {
            let timeout = self.timeout_ms();
            match self.shared.epoll.wait(&mut self.events, timeout) {
                Ok(events) => ready.extend(events),
                // Only EBADF/EFAULT/EINVAL, none of which can happen with our own fd and
                // buffer; sleep a little rather than spin if it ever does.
                Err(_) => std::thread::sleep(LINGER_POLL),
            }
            // Commands first: a child's descriptors may report before we saw its Register.
            self.run_commands();
            for ev in ready.drain(..) {
                match ev.token {
                    WAKE => {
                        let _ = self.shared.wake.drain();
                    }
                    WATCHDOG => self.on_watchdog_exit(),
                    CHILDREN => self.on_sigchld(),
                    t if t & 3 == SPECIAL => self.on_stray_exit(t >> 2),
                    t => self.on_child_event(t),
                }
            }
            self.run_commands();
            self.resume_pipes();
            self.tick();
            self.confirm_no_strays();
            if self.shutting_down && self.children.is_empty() && self.sweep_done(Instant::now()) {
                return;
            }
        }
    }

    /// `-1` (wait forever) unless some child has a deadline or a group to probe.
    fn timeout_ms(&self) -> i32 {
        let now = Instant::now();
        let mut wait: Option<Duration> = None;
        for c in self.timed.iter().filter_map(|id| self.children.get(id)) {
            let mut d = c.exit.map(|_| LINGER_POLL);
            let mut at_most = |x: Duration| d = Some(d.map_or(x, |d| d.min(x)));
            if c.unreapable {
                at_most(UNREAPABLE_POLL);
            }
            if let Some(at) = c.kill_at {
                at_most(at.saturating_duration_since(now));
            }
            if let (None, Some(at)) = (c.exit, c.killed_at) {
                at_most((at + KILL_PATIENCE).saturating_duration_since(now));
            }
            if let Some(d) = d {
                wait = Some(wait.map_or(d, |w| w.min(d)));
            }
        }
        if !self.in_exec.is_empty() {
            wait = Some(wait.map_or(strays::EXEC_RECHECK, |w| w.min(strays::EXEC_RECHECK)));
        }
        for at in self
            .watchdog_retry
            .map(|(_, at)| at)
            .into_iter()
            .chain(self.sweep_deadline())
            .chain(self.next_orphan_poll)
            .chain(self.next_poll)
        {
            let left = at.saturating_duration_since(now);
            wait = Some(wait.map_or(left, |w| w.min(left)));
        }
        match wait {
            None => -1,
            // Round up so that a deadline is never missed by a millisecond and re-polled.
            Some(d) => d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32,
        }
    }

    fn run_commands(&mut self) {
        for cmd in self.shared.take_commands() {
            match cmd {
                Command::Register(r) => self.register(r),
                Command::Stop { id, grace, signal } => self.stop_child(id.get(), grace, signal),
                Command::StopAll { grace } => {
                    let live: Vec<u64> = self.children.keys().copied().collect();
                    for id in live {
                        self.stop_child(id, grace, libc::SIGTERM);
                    }
                }
                Command::SignalAll { signal, done } => {
                    self.signal_all(signal);
                    drop(done);
                }
                Command::HoldChanged(id) => self.hold_changed(id.get()),
                Command::Shutdown => self.shutting_down = true,
                #[cfg(test)]
                Command::Panic => panic!("planted reaper bug"),
            }
        }
        if !self.stopped.is_empty() {
            // One pass for every stop of this round (a `stop_all` of thousands is one pass).
            let stopped = std::mem::take(&mut self.stopped);
            self.find_strays(Some(&stopped));
            self.last_stray_scan = Some(Instant::now());
        }
    }

    fn register(&mut self, r: Registered) {
        let pipe = |fd: Option<OwnedFd>, stream| {
            fd.map(|fd| Pipe {
                fd,
                stream,
                split: LineSplitter::new(),
                paused: false,
                waits_room: false,
                pending: VecDeque::new(),
            })
        };
        let child = Child {
            process: r.process,
            pid: r.pid,
            pidfd: r.pidfd,
            pipes: [
                pipe(r.stdout, Stream::Stdout),
                pipe(r.stderr, Stream::Stderr),
            ],
            exit: None,
            term_sent: false,
            kill_at: None,
            killed_at: None,
            kill_ended: false,
            next_scan: None,
            group_empty: false,
            strays: 0,
            strays_confirmed: false,
            timed: false,
            unreapable: false,
            held: false,
        };
        let id = child.process.id().get();
        self.children.insert(id, child);
        if !self.shared.pidfds {
            // It may have exited before we knew it (its SIGCHLD came and went).
            self.on_pidfd(id);
            if !self.children.contains_key(&id) {
                return;
            }
        }
        // A hold taken while the process was being spawned: its command may have come first.
        self.hold_changed(id);
        if self.shutting_down {
            // Spawned while the supervisor was closing: it does not outlive it.
            self.stop_child(id, self.shared.cfg.grace, libc::SIGTERM);
        }
    }

    fn on_child_event(&mut self, t: u64) {
        let id = t >> 2;
        if !self.children.contains_key(&id) {
            return; // finalised earlier: ids are never reused
        }
        match t & 3 {
            PIDFD => self.on_pidfd(id),
            STDOUT => self.read_pipe(id, 0, READ_BUDGET, false),
            STDERR => self.read_pipe(id, 1, READ_BUDGET, false),
            _ => {}
        }
    }

    fn child(&mut self, id: u64) -> &mut Child {
        self.children.get_mut(&id).expect("live child")
    }

    /// Puts `id` on the timer list (once).
    fn mark_timed(&mut self, id: u64) {
        let c = self.child(id);
        if !c.timed {
            c.timed = true;
            self.timed.push(id);
        }
    }

    /// [`stop`](Self::stop), and its strays looked for at the end of this round.
    fn stop_child(&mut self, id: u64, grace: Duration, signal: libc::c_int) {
        self.stop(id, grace, signal);
        self.stopped.insert(id);
    }

    fn stop(&mut self, id: u64, grace: Duration, signal: libc::c_int) {
        let shared = self.shared.clone();
        let Some(c) = self.children.get_mut(&id) else {
            return; // already finalised: the caller sees the final state
        };
        if let Ok(u) = c.process.cell().update(|s| s.apply(Event::StopRequested)) {
            shared.publish_state(&c.process, u.new);
        }
        let now = Instant::now();
        if grace.is_zero() {
            // A kill: SIGKILL at once, no SIGTERM first (its handlers would get to run).
            c.term_sent = true;
            if c.killed_at.is_none() {
                kill_group(c);
                c.killed_at = Some(now);
                c.kill_at = None;
                self.kill_strays(Some(id));
            }
        } else {
            if !c.term_sent {
                term_group(c, signal);
            }
            let at = deadline(now, grace);
            c.kill_at = Some(c.kill_at.map_or(at, |k| k.min(at)));
        }
        self.mark_timed(id);
    }

    /// `signal` to every live child's group: its leader is unreaped, or (probed here) its group
    /// still has a member. A group seen empty is never signalled again, though its child lives
    /// on while adopted strays do: its number may belong to another group by now.
    fn signal_all(&mut self, signal: libc::c_int) {
        for c in self.children.values_mut() {
            if c.exit.is_some() && !c.group_empty && !sys::group_alive(c.pid) {
                // Leader reaped, group emptied since the last probe.
                c.group_empty = true;
            }
            if c.group_empty {
                continue;
            }
            #[cfg(test)]
            tests::GROUPS_SIGNALLED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((c.pid.as_raw(), signal));
            let _ = sys::killpg(c.pid, signal);
        }
    }

    /// Deadlines and lingering groups: only the children on the timer list.
    fn tick(&mut self) {
        if let Some((dead, at)) = self.watchdog_retry
            && Instant::now() >= at
        {
            self.respawn_watchdog(dead);
        }
        let now = Instant::now();
        self.reap_orphans(now);
        self.poll_children(now);
        if self.timed.is_empty() {
            return;
        }
        let entries = std::mem::take(&mut self.timed);
        let zombie_only = self.scan_lingering(&entries, now);
        for id in entries {
            let Some(c) = self.children.get_mut(&id) else {
                continue; // finalised meanwhile
            };
            c.timed = false;
            if c.kill_at.is_some_and(|at| now >= at) && c.killed_at.is_none() {
                // The leader is unreaped, or the group was non-empty at the last probe.
                kill_group(c);
                c.killed_at = Some(now);
                c.kill_at = None;
                self.kill_strays(Some(id));
            }
            let Some(c) = self.children.get_mut(&id) else {
                continue;
            };
            if c.exit.is_none() {
                if c.unreapable {
                    // Reaped now, it goes on from there (`check_group`); else it stays timed.
                    self.on_pidfd(id);
                    if self.children.get(&id).is_none_or(|c| c.exit.is_some()) {
                        continue;
                    }
                }
                let c = self.child(id);
                if c.killed_at.is_some_and(|at| now >= at + KILL_PATIENCE) {
                    self.give_up(id);
                } else if c.kill_at.is_some() || c.killed_at.is_some() || c.unreapable {
                    self.mark_timed(id);
                }
                continue;
            }
            if !c.group_empty && zombie_only.contains(&c.pid.as_raw()) {
                // Only zombies are left, which keep the group id reserved: this SIGKILL can
                // reach nothing but our group, and catches a member the scan might have missed
                // (one forked just before its parent died).
                let _ = sys::killpg(c.pid, libc::SIGKILL);
                c.group_empty = true;
            }
            self.check_group(id, now);
        }
        self.rescan_strays(now);
    }

    /// One pass over /proc for the stopped children whose group emptied in this round, then
    /// finalises those that have no stray. While a process is in the middle of an `exec` (its
    /// tag unreadable: it may be a stray that is running its next program), they wait for
    /// its tag.
    fn confirm_no_strays(&mut self) {
        let now = Instant::now();
        if !self.to_confirm.is_empty() {
            let ids = std::mem::take(&mut self.to_confirm);
            self.find_strays(Some(&ids));
            self.confirm_after_exec.extend(ids);
        }
        self.recheck_in_exec(now);
        if !self.in_exec.is_empty() || self.confirm_after_exec.is_empty() {
            return;
        }
        for id in std::mem::take(&mut self.confirm_after_exec) {
            if self.children.contains_key(&id) {
                self.check_group(id, now);
            }
        }
    }

    /// While processes are being stopped, looks for their strays again every
    /// `PROC_SCAN_EVERY`: strays of strays, and what escaped after the first pass.
    fn rescan_strays(&mut self, now: Instant) {
        if self
            .last_stray_scan
            .is_some_and(|t| now < t + PROC_SCAN_EVERY)
        {
            return;
        }
        let stopping: HashSet<u64> = self
            .timed
            .iter()
            .filter(|id| self.children.get(id).is_some_and(|c| c.term_sent))
            .copied()
            .collect();
        if !stopping.is_empty() {
            self.last_stray_scan = Some(now);
            self.find_strays(Some(&stopping));
        }
    }

    /// The lingering groups (leader reaped, group not empty) that have no live member left,
    /// from one pass over /proc once one of them is due (see `PROC_SCAN_EVERY`).
    fn scan_lingering(&mut self, entries: &[u64], now: Instant) -> HashSet<i32> {
        let lingering = |c: &&Child| !c.group_empty && c.next_scan.is_some();
        let due = entries
            .iter()
            .filter_map(|id| self.children.get(id))
            .filter(lingering)
            .any(|c| c.next_scan.is_some_and(|(at, _)| now >= at));
        if !due {
            return HashSet::new();
        }
        // One pass answers for every lingering group, due or not.
        let mut groups = HashSet::new();
        for id in entries {
            let Some(c) = self.children.get_mut(id) else {
                continue;
            };
            if let Some((_, gap)) = c.next_scan.filter(|_| !c.group_empty) {
                let gap = (gap * 2).min(PROC_SCAN_EVERY);
                c.next_scan = Some((now + gap, gap));
                groups.insert(c.pid.as_raw());
            }
        }
        let live = procfs::groups_with_live_members(&groups);
        groups.difference(&live).copied().collect()
    }

    fn on_watchdog_exit(&mut self) {
        let Some(fd) = self.shared.take_watchdog_pidfd() else {
            return;
        };
        let _ = self.shared.epoll.delete(fd.as_fd());
        let Some(watchdog) = &self.shared.watchdog else {
            return;
        };
        let dead = watchdog.pid();
        if matches!(sys::waitpid_nohang(dead), Ok(Some(_))) {
            self.respawn_watchdog(dead);
        }
    }

    /// Replaces the dead watchdog; if that fails, tries again every [`WATCHDOG_RETRY`] (the
    /// groups stay recorded in the table, so a late watchdog still covers all of them).
    fn respawn_watchdog(&mut self, dead: Pid) {
        self.watchdog_retry = None;
        let Some(watchdog) = &self.shared.watchdog else {
            return;
        };
        match watchdog.respawn(dead) {
            Ok(Some(_)) => self.watch_watchdog(),
            Ok(None) => {} // shutting down, or already replaced
            Err(_) => self.watchdog_retry = Some((dead, Instant::now() + WATCHDOG_RETRY)),
        }
    }
}

/// SIGKILL to the group of `c` (unless it was seen empty). When the leader has already exited,
/// first looks whether any member is alive (not a zombie): if so, this kill is what ends the
/// process (`kill_ended`). One pass over /proc, only for a stop that reached its deadline
/// with the leader gone.
fn kill_group(c: &mut Child) {
    if c.group_empty {
        return;
    }
    if c.exit.is_some() {
        let pgid = c.pid.as_raw();
        let live = procfs::groups_with_live_members(&HashSet::from([pgid]));
        c.kill_ended |= live.contains(&pgid);
    }
    let _ = sys::killpg(c.pid, libc::SIGKILL);
}

/// SIGTERM to the whole group (unless it was seen empty), then SIGCONT so that stopped
/// members can act on it.
/// `signal` (SIGTERM, or the one a stop asked for) and SIGCONT to the group of `c`.
fn term_group(c: &mut Child, signal: libc::c_int) {
    if !c.group_empty {
        let _ = sys::killpg(c.pid, signal);
        let _ = sys::killpg(c.pid, libc::SIGCONT);
    }
    c.term_sent = true;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every `(group, signal)` `signal_all` sent, for the tests that check it spares groups
    /// known to be empty.
    pub(crate) static GROUPS_SIGNALLED: std::sync::Mutex<Vec<(i32, i32)>> =
        std::sync::Mutex::new(Vec::new());

    #[test]
    fn tokens_never_collide_with_the_special_ones() {
        let id = ProcId::from_label("x-1").unwrap();
        assert_eq!(token(id, PIDFD) >> 2, 1);
        for kind in [PIDFD, STDOUT, STDERR] {
            assert_ne!(token(id, kind), WATCHDOG);
            assert_ne!(token(id, kind) & 3, SPECIAL);
        }
        assert_eq!(WAKE & 3, SPECIAL);
    }
}
