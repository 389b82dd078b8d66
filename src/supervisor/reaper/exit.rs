//! The end of a child: reaping its leader (through its pidfd, or on SIGCHLD without pidfds),
//! waiting for its group to empty, giving up on a leader that cannot be reaped, and the
//! finalisation that publishes its final state.

use std::os::fd::AsFd;
use std::time::{Instant, SystemTime};

use super::{
    BLIND_POLL, Exit, FALLBACK_POLL, KILL_PATIENCE, LINGER_POLL, ORPHAN_POLL, Pid, READ_BUDGET,
    Reaper, Shared, deadline, term_group,
};
use crate::state::{Event, Status};
use crate::sys;

impl Reaper {
    /// The leader may have exited: reap it (this pid only), then see whether its group is empty.
    pub(super) fn on_pidfd(&mut self, id: u64) {
        let Some(c) = self.children.get_mut(&id) else {
            return;
        };
        if c.exit.is_some() {
            return;
        }
        let exit = match try_reap(&self.shared, id, c.pid) {
            Ok(Some(ws)) => match ws.exit() {
                Some(exit) => exit,
                None => return, // stopped/continued: not reported without WUNTRACED anyway
            },
            // Without pidfds: still running (this is how every child is looked at).
            Ok(None) if !self.shared.pidfds => return,
            Ok(None) => {
                // Exited (the pidfd is readable) but not ours to reap yet: a tracer holds it.
                // The level-triggered pidfd would report it again at once: poll it instead.
                if !c.unreapable {
                    c.unreapable = true;
                    if let Some(fd) = &c.pidfd {
                        let _ = self.shared.epoll.delete(fd.as_fd());
                    }
                    self.mark_timed(id);
                }
                return;
            }
            // ECHILD: somebody else reaped our child (a host calling waitpid(-1)); the exit
            // status is lost, the process is gone all the same.
            Err(_) => Exit::Unknown,
        };
        c.exit = Some((exit, SystemTime::now()));
        // The pidfd of a reaped leader stays readable: it leaves the epoll in `finalize` (after
        // the state is published, off the exit-to-visible path) or here if the group lingers.
        self.check_group(id, Instant::now());
        if let Some(c) = self.children.get_mut(&id) {
            if let Some(fd) = c.pidfd.take() {
                let _ = self.shared.epoll.delete(fd.as_fd());
            }
        }
    }

    /// Without pidfds: SIGCHLD came (or the safety poll is due): every child not yet reaped is
    /// looked at, and the watchdog.
    pub(super) fn on_sigchld(&mut self) {
        if let Some(cs) = &self.shared.child_signal {
            let _ = cs.fd.drain();
        }
        self.reap_all();
    }

    /// [`on_pidfd`](Self::on_pidfd) for every child whose leader is not reaped yet, and a look
    /// at the watchdog (without pidfds, nothing else tells of its death).
    pub(super) fn reap_all(&mut self) {
        let unreaped: Vec<u64> = self
            .children
            .iter()
            .filter(|(_, c)| c.exit.is_none())
            .map(|(&id, _)| id)
            .collect();
        for id in unreaped {
            self.on_pidfd(id);
        }
        if let Some(w) = &self.shared.watchdog {
            let dead = w.pid();
            if matches!(sys::waitpid_nohang(dead), Ok(Some(ws)) if ws.exit().is_some()) {
                self.respawn_watchdog(dead);
            }
        }
        self.next_poll = None;
    }

    /// After the leader is reaped: finalise if the group is empty and no stray is left, else
    /// make sure it is being stopped (a natural exit leaves nothing behind either) and keep
    /// probing it.
    pub(super) fn check_group(&mut self, id: u64, now: Instant) {
        let grace = self.shared.cfg.grace;
        let c = self.child(id);
        if !c.group_empty && !sys::group_alive(c.pid) {
            c.group_empty = true;
        }
        if c.group_empty && c.strays == 0 {
            if c.term_sent && !c.strays_confirmed {
                // A stray that left the group while the first pass was made is found by
                // this one.
                c.strays_confirmed = true;
                self.to_confirm.insert(id);
                return;
            }
            if self.confirm_after_exec.contains(&id) {
                return; // the confirming pass met a process in an `exec`: its tag decides
            }
            self.finalize(id);
            return;
        }
        c.next_scan.get_or_insert((now + LINGER_POLL, LINGER_POLL));
        if !c.term_sent {
            term_group(c, libc::SIGTERM);
            c.kill_at = Some(deadline(now, grace));
        }
        if c.killed_at.is_some_and(|at| now >= at + KILL_PATIENCE) {
            self.finalize(id);
            return;
        }
        self.mark_timed(id);
    }

    /// The leader was SIGKILLed `KILL_PATIENCE` ago and still cannot be reaped (uninterruptible
    /// sleep, or a tracer that holds it): its exit is unknown, and it is finalised so that its
    /// stop returns. Its pid stays reserved (unreaped), and is reaped once it can be.
    pub(super) fn give_up(&mut self, id: u64) {
        let Some(c) = self.children.get_mut(&id) else {
            return;
        };
        if let Some(fd) = c.pidfd.take() {
            let _ = self.shared.epoll.delete(fd.as_fd());
        }
        c.exit = Some((Exit::Unknown, SystemTime::now()));
        let pid = c.pid;
        self.orphans.push(pid);
        self.next_orphan_poll
            .get_or_insert_with(|| Instant::now() + ORPHAN_POLL);
        self.finalize(id);
    }

    /// Without pidfds: the safety poll, every [`FALLBACK_POLL`] while a child or the watchdog
    /// may exit (every [`BLIND_POLL`] when no SIGCHLD handler could be installed).
    pub(super) fn poll_children(&mut self, now: Instant) {
        let Some(cs) = &self.shared.child_signal else {
            return;
        };
        let every = match cs.listener {
            Some(_) => FALLBACK_POLL,
            None => BLIND_POLL,
        };
        match self.next_poll {
            Some(at) if now >= at => self.reap_all(),
            None if !self.children.is_empty() || self.shared.watchdog.is_some() => {
                self.next_poll = Some(now + every);
            }
            _ => {}
        }
    }

    /// Reaps the leaders given up on that can be reaped by now.
    pub(super) fn reap_orphans(&mut self, now: Instant) {
        if self.next_orphan_poll.is_none_or(|at| now < at) {
            return;
        }
        // Reaped, or not ours any more (ECHILD): forgotten.
        self.orphans
            .retain(|&pid| matches!(sys::waitpid_nohang(pid), Ok(None)));
        self.next_orphan_poll = (!self.orphans.is_empty()).then(|| now + ORPHAN_POLL);
    }

    /// Leader reaped and nothing of the group alive (or given up on): drain the pipes, apply
    /// `Exited`, publish it, wake waiters, then forget the group.
    ///
    /// Only what the final state promises (every line in the log) happens before the update;
    /// the housekeeping syscalls (the watchdog table's `-` write, `epoll_ctl` deletions) come
    /// after it, off the exit-to-visible path.
    pub(super) fn finalize(&mut self, id: u64) {
        for which in 0..2 {
            // Everything the group wrote is in the pipe by now, unless a process escaped the
            // group with our pipe; bound the drain for that case and close the pipe anyway.
            self.read_pipe(id, which, 16 * READ_BUDGET, true);
        }
        let Some(mut c) = self.children.remove(&id) else {
            return;
        };
        // Finishing twice is harmless: a splitter is empty after `finish`.
        let pipes = c.pipes.each_mut().map(|p| {
            p.take().map(|mut pipe| {
                pipe.split.finish(|text: &str, truncated: bool| {
                    self.fitted.push(c.process.logs().fit(text, truncated));
                });
                self.shared.emit_lines(
                    &c.process,
                    pipe.stream,
                    self.fitted.drain(..),
                    &mut self.stored,
                );
                pipe.fd
            })
        });
        let (leader_exit, at) = c.exit.unwrap_or((Exit::Unknown, SystemTime::now()));
        let kill_ended = c.kill_ended;
        if let Ok(u) = c.process.cell().update(|s| {
            // A stop that had to SIGKILL what outlived the leader ended with that SIGKILL,
            // whatever the leader's own status; a process that ended by itself keeps it.
            let exit = if kill_ended && s.status == Status::Stopping {
                Exit::Signal(libc::SIGKILL)
            } else {
                leader_exit
            };
            s.apply(Event::Exited { exit, at })
        }) {
            self.shared.publish_state(&c.process, u.new);
        }
        // Retract the group from the watchdog's table: one 1-byte `pwrite`, which wakes
        // nobody; done before the waiters are woken so that the pid-reuse window (group empty
        // but still recorded) stays as short as it can be without delaying the final state.
        if let Some(w) = &self.shared.watchdog {
            w.remove(c.pid);
        }
        self.shared.notify_finished();
        // A signal through this pidfd until now found the process gone (ESRCH): no difference.
        crate::supervisor::lock(&self.shared.leaders).remove(&id);
        for fd in c.pidfd.iter().map(|fd| &**fd).chain(pipes.iter().flatten()) {
            let _ = self.shared.epoll.delete(fd.as_fd());
        }
    }
}

/// `waitpid(pid, WNOHANG)` for child `id`'s leader. Without pidfds, under the leaders' lock,
/// and a reaped (or lost) leader leaves the table in the same breath: a
/// [`Supervisor::signal`](crate::Supervisor::signal) by pid never reaches a reused number.
fn try_reap(shared: &Shared, id: u64, pid: Pid) -> std::io::Result<Option<sys::WaitStatus>> {
    if shared.pidfds {
        return sys::waitpid_nohang(pid);
    }
    let mut leaders = crate::supervisor::lock(&shared.leaders);
    let got = sys::waitpid_nohang(pid);
    let gone = match &got {
        Ok(Some(ws)) => ws.exit().is_some(),
        Ok(None) => false,
        Err(_) => true, // ECHILD: reaped by someone else, gone all the same
    };
    if gone {
        leaders.remove(&id);
    }
    got
}
