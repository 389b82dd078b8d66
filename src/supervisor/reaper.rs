//! The reaper: one thread, one `epoll`, every child's pidfd and pipes, and every state event.
//!
//! See the [module docs](super) for the design. This file is the loop itself: a slab of live
//! children (pidfd, two pipes with their line splitters, stop deadlines), a command queue fed
//! by the [`Supervisor`](super::Supervisor) and woken through an eventfd, and the finalisation
//! that turns "leader reaped and group empty" into one `StateCell::update` and one event.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::Shared;
use crate::logs::{LineSplitter, Stream};
use crate::registry::{ProcId, Process};
use crate::state::{Event, Exit};
use crate::sys::fd::{Epoll, READABLE, read};
use crate::sys::{self, Pid};

/// Work for the reaper, queued by other threads.
pub(crate) enum Command {
    /// A child was spawned and marked `Running`: watch it.
    Register(Registered),
    /// Stop this process: CAS to `Stopping`, TERM its group, KILL it after `grace`.
    Stop { id: ProcId, grace: Duration },
    /// Exit once no child is left.
    Shutdown,
}

/// A freshly spawned child, handed to the reaper.
pub(crate) struct Registered {
    pub process: Arc<Process>,
    pub pid: Pid,
    pub pidfd: OwnedFd,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// Token for the command eventfd.
const WAKE: u64 = u64::MAX;
/// Token for the watchdog's pidfd.
const WATCHDOG: u64 = u64::MAX - 1;
/// Token kinds (low two bits).
const PIDFD: u64 = 0;
const STDOUT: u64 = 1;
const STDERR: u64 = 2;

/// How often a group whose leader is gone is probed for emptiness.
const LINGER_POLL: Duration = Duration::from_millis(2);
/// After a SIGKILL, how long to wait for the group to empty before giving up on it (members
/// stuck in uninterruptible sleep, or zombies nobody reaps).
const KILL_PATIENCE: Duration = Duration::from_secs(2);
/// Bytes read from one pipe per readiness report, so that one flooding child cannot starve
/// the others (epoll is level-triggered: the rest is read on the next round).
const READ_BUDGET: usize = 256 * 1024;

struct Pipe {
    fd: OwnedFd,
    stream: Stream,
    split: LineSplitter,
}

struct Child {
    process: Arc<Process>,
    pid: Pid,
    /// `None` once the leader is reaped.
    pidfd: Option<OwnedFd>,
    pipes: [Option<Pipe>; 2],
    /// The leader's exit and reap time, once reaped.
    exit: Option<(Exit, SystemTime)>,
    /// SIGTERM (and SIGCONT) went to the group.
    term_sent: bool,
    /// When to SIGKILL the group if it is still alive.
    kill_at: Option<Instant>,
    /// When SIGKILL went to the group.
    killed_at: Option<Instant>,
}

struct Slot {
    generation: u32,
    child: Option<Child>,
}

struct Reaper {
    shared: Arc<Shared>,
    epoll: Epoll,
    slots: Vec<Slot>,
    free: Vec<usize>,
    by_id: HashMap<ProcId, usize>,
    buf: Vec<u8>,
    shutting_down: bool,
}

/// Marks the reaper gone and wakes every waiter, also when the loop panics.
struct GoneOnDrop(Arc<Shared>);

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        self.0.mark_reaper_gone();
    }
}

/// The reaper thread's body.
pub(crate) fn run(shared: Arc<Shared>) {
    let _gone = GoneOnDrop(shared.clone());
    let mut reaper = match Reaper::new(shared) {
        Ok(r) => r,
        Err(_) => return,
    };
    reaper.run();
}

fn token(slot: usize, generation: u32, kind: u64) -> u64 {
    (u64::from(generation) << 32) | ((slot as u64) << 2) | kind
}

impl Reaper {
    fn new(shared: Arc<Shared>) -> io::Result<Reaper> {
        let epoll = Epoll::new(256)?;
        epoll.add(shared.wake.as_fd(), READABLE, WAKE)?;
        let mut r = Reaper {
            shared,
            epoll,
            slots: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            buf: vec![0; 64 * 1024],
            shutting_down: false,
        };
        r.watch_watchdog();
        Ok(r)
    }

    fn watch_watchdog(&mut self) {
        // If this fails the supervisor works on, only without watchdog respawns.
        if let Ok(fd) = sys::pidfd_open(self.shared.watchdog.pid()) {
            if self.epoll.add(fd.as_fd(), READABLE, WATCHDOG).is_ok() {
                self.shared.set_watchdog_pidfd(fd);
            }
        }
    }

    fn run(&mut self) {
        let mut ready = Vec::with_capacity(256);
        loop {
            let timeout = self.timeout_ms();
            match self.epoll.wait(timeout) {
                Ok(events) => ready.extend(events),
                // Only EBADF/EFAULT/EINVAL, none of which can happen with our own fd and
                // buffer; sleep a little rather than spin if it ever does.
                Err(_) => std::thread::sleep(LINGER_POLL),
            }
            for ev in ready.drain(..) {
                match ev.token {
                    WAKE => {
                        let _ = self.shared.wake.drain();
                    }
                    WATCHDOG => self.on_watchdog_exit(),
                    t => self.on_child_event(t),
                }
            }
            self.run_commands();
            self.tick();
            if self.shutting_down && self.by_id.is_empty() {
                return;
            }
        }
    }

    /// `-1` (wait forever) unless some child has a deadline or a group to probe.
    fn timeout_ms(&self) -> i32 {
        let now = Instant::now();
        let mut wait: Option<Duration> = None;
        for c in self.slots.iter().filter_map(|s| s.child.as_ref()) {
            let mut d = None;
            if c.exit.is_some() {
                d = Some(LINGER_POLL);
            }
            if let Some(at) = c.kill_at {
                let left = at.saturating_duration_since(now);
                d = Some(d.map_or(left, |x: Duration| x.min(left)));
            }
            if let Some(d) = d {
                wait = Some(wait.map_or(d, |w| w.min(d)));
            }
        }
        match wait {
            None => -1,
            // Round up so that a deadline is never missed by a millisecond and re-polled.
            Some(d) => d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32,
        }
    }

    fn run_commands(&mut self) {
        let commands: VecDeque<Command> = self.shared.take_commands();
        for cmd in commands {
            match cmd {
                Command::Register(r) => self.register(r),
                Command::Stop { id, grace } => self.stop(id, grace),
                Command::Shutdown => self.shutting_down = true,
            }
        }
    }

    fn register(&mut self, r: Registered) {
        let slot = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    child: None,
                });
                self.slots.len() - 1
            }
        };
        let generation = self.slots[slot].generation;
        let pipe = |fd: Option<OwnedFd>, stream| {
            fd.map(|fd| Pipe {
                fd,
                stream,
                split: LineSplitter::new(),
            })
        };
        let child = Child {
            process: r.process,
            pid: r.pid,
            pidfd: Some(r.pidfd),
            pipes: [
                pipe(r.stdout, Stream::Stdout),
                pipe(r.stderr, Stream::Stderr),
            ],
            exit: None,
            term_sent: false,
            kill_at: None,
            killed_at: None,
        };
        // epoll_ctl(ADD) only fails for lack of memory or a kernel limit
        // (fs.epoll.max_user_watches); a pipe we cannot watch is drained at finalisation, and a
        // pidfd we cannot watch would leave the child unreaped, so it gets a deadline instead.
        let mut watched = false;
        if let Some(fd) = &child.pidfd {
            watched = self
                .epoll
                .add(fd.as_fd(), READABLE, token(slot, generation, PIDFD))
                .is_ok();
        }
        for (kind, p) in [(STDOUT, &child.pipes[0]), (STDERR, &child.pipes[1])] {
            if let Some(p) = p {
                let _ = self
                    .epoll
                    .add(p.fd.as_fd(), READABLE, token(slot, generation, kind));
            }
        }
        self.by_id.insert(child.process.id(), slot);
        self.slots[slot].child = Some(child);
        if !watched {
            self.on_pidfd(slot);
        }
    }

    fn on_child_event(&mut self, t: u64) {
        let slot = ((t & 0xffff_ffff) >> 2) as usize;
        let generation = (t >> 32) as u32;
        match self.slots.get(slot) {
            Some(s) if s.generation == generation && s.child.is_some() => {}
            _ => return, // a child finalised earlier in this batch
        }
        match t & 3 {
            PIDFD => self.on_pidfd(slot),
            kind => self.read_pipe(slot, (kind - 1) as usize, READ_BUDGET),
        }
    }

    fn child(&mut self, slot: usize) -> &mut Child {
        self.slots[slot].child.as_mut().expect("live slot")
    }

    /// The leader may have exited: reap it (this pid only), then see whether its group is empty.
    fn on_pidfd(&mut self, slot: usize) {
        let c = self.child(slot);
        if c.exit.is_some() {
            return;
        }
        let exit = match sys::waitpid_nohang(c.pid) {
            Ok(Some(ws)) => match ws.exit() {
                Some(exit) => exit,
                None => return, // stopped/continued: not reported without WUNTRACED anyway
            },
            Ok(None) => return,
            // ECHILD: somebody else reaped our child (a host calling waitpid(-1)); the exit
            // status is lost, the process is gone all the same.
            Err(_) => Exit::default(),
        };
        c.exit = Some((exit, SystemTime::now()));
        if let Some(fd) = c.pidfd.take() {
            let _ = self.epoll.delete(fd.as_fd());
        }
        self.check_group(slot, Instant::now());
    }

    /// After the leader is reaped: finalise if the group is empty, else make sure it is
    /// being stopped (a natural exit leaves nothing behind either).
    fn check_group(&mut self, slot: usize, now: Instant) {
        let grace = self.shared.cfg.grace;
        let c = self.child(slot);
        if !sys::group_alive(c.pid) {
            self.finalize(slot);
            return;
        }
        if !c.term_sent {
            term_group(c);
            c.kill_at = Some(now + grace);
        }
        if let Some(at) = c.killed_at {
            if now >= at + KILL_PATIENCE {
                self.finalize(slot);
            }
        }
    }

    fn stop(&mut self, id: ProcId, grace: Duration) {
        let Some(&slot) = self.by_id.get(&id) else {
            return; // already finalised: the caller sees the final state
        };
        let shared = self.shared.clone();
        let c = self.child(slot);
        if let Ok(u) = c.process.state().update(|s| s.apply(Event::StopRequested)) {
            shared.publish_state(&c.process, u.new);
        }
        if !c.term_sent {
            term_group(c);
        }
        let at = Instant::now() + grace;
        c.kill_at = Some(c.kill_at.map_or(at, |k| k.min(at)));
    }

    /// Deadlines and lingering groups.
    fn tick(&mut self) {
        let now = Instant::now();
        for slot in 0..self.slots.len() {
            let Some(c) = self.slots[slot].child.as_mut() else {
                continue;
            };
            if let Some(at) = c.kill_at {
                if now >= at && c.killed_at.is_none() {
                    // The leader is unreaped, or the group was non-empty at the last probe.
                    let _ = sys::killpg(c.pid, libc::SIGKILL);
                    c.killed_at = Some(now);
                    c.kill_at = None;
                }
            }
            if c.exit.is_some() {
                self.check_group(slot, now);
            }
        }
    }

    fn on_watchdog_exit(&mut self) {
        let Some(fd) = self.shared.take_watchdog_pidfd() else {
            return;
        };
        let _ = self.epoll.delete(fd.as_fd());
        let dead = self.shared.watchdog.pid();
        if matches!(sys::waitpid_nohang(dead), Ok(Some(_)))
            && matches!(self.shared.watchdog.respawn(dead), Ok(Some(_)))
        {
            self.watch_watchdog();
        }
    }

    /// Reads what `pipes[which]` has, up to `budget` bytes; at end of file emits the last
    /// partial line and closes the pipe.
    fn read_pipe(&mut self, slot: usize, which: usize, budget: usize) {
        let Reaper {
            slots, buf, epoll, ..
        } = self;
        let shared = &self.shared;
        let c = slots[slot].child.as_mut().expect("live slot");
        let Some(pipe) = c.pipes[which].as_mut() else {
            return;
        };
        let process = &c.process;
        let stream = pipe.stream;
        let mut emit = |text: &str, truncated: bool| {
            let seq = process.logs().push_line(stream, text, truncated);
            shared.publish_line(process, seq);
        };
        let mut total = 0;
        let eof = loop {
            match read(pipe.fd.as_fd(), buf) {
                Ok(0) => break true,
                Ok(n) => {
                    pipe.split.push(&buf[..n], &mut emit);
                    total += n;
                    if total >= budget {
                        break false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        if eof {
            pipe.split.finish(&mut emit);
            let _ = epoll.delete(pipe.fd.as_fd());
            c.pipes[which] = None;
        }
    }

    /// Leader reaped and group empty (or given up on): drain the pipes, apply `Exited`, publish
    /// it, forget the group, wake waiters.
    fn finalize(&mut self, slot: usize) {
        for which in 0..2 {
            // Everything the group wrote is in the pipe by now, unless a process escaped the
            // group with our pipe; bound the drain for that case and close the pipe anyway.
            self.read_pipe(slot, which, 16 * READ_BUDGET);
            let c = self.child(slot);
            if let Some(mut pipe) = c.pipes[which].take() {
                let process = c.process.clone();
                let shared = self.shared.clone();
                pipe.split.finish(|text: &str, truncated: bool| {
                    let seq = process.logs().push_line(pipe.stream, text, truncated);
                    shared.publish_line(&process, seq);
                });
                let _ = self.epoll.delete(pipe.fd.as_fd());
            }
        }
        let s = &mut self.slots[slot];
        let c = s.child.take().expect("live slot");
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot);
        self.by_id.remove(&c.process.id());
        let (exit, at) = c.exit.unwrap_or((Exit::default(), SystemTime::now()));
        if let Ok(u) = c
            .process
            .state()
            .update(|s| s.apply(Event::Exited { exit, at }))
        {
            self.shared.publish_state(&c.process, u.new);
        }
        self.shared.watchdog.remove(c.pid);
        self.shared.notify_finished();
    }
}

/// SIGTERM to the whole group, then SIGCONT so that stopped members can act on it.
fn term_group(c: &mut Child) {
    let _ = sys::killpg(c.pid, libc::SIGTERM);
    let _ = sys::killpg(c.pid, libc::SIGCONT);
    c.term_sent = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let t = token(123_456, 7, STDERR);
        assert_eq!(
            ((t & 0xffff_ffff) >> 2, t >> 32, t & 3),
            (123_456, 7, STDERR)
        );
        // Slot numbers stay far below 2^30 - 1, the only slot whose tokens could collide.
        assert_ne!(token(1 << 29, u32::MAX, STDERR), WATCHDOG);
        assert_ne!(token(1 << 29, u32::MAX, STDERR), WAKE);
    }
}
