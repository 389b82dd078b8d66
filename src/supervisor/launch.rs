//! Launching a registered process: spawn it, record it, watch it, mark it `Running`, and hand
//! it to the reaper — or, if any step fails, take it down again and mark it `Failed`.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::SystemTime;

use super::control::Leader;
use super::reaper::{self, Command, Registered};
use super::{Shared, SupervisorEvent};
use crate::error::SpawnError;
use crate::registry::{ProcId, Process};
use crate::state::Event;
use crate::sys::{self, Pid};

impl Shared {
    /// Spawns the registered, `Pending` `process` and hands it to the reaper. Every way out
    /// leaves it `Running` (and owned by the reaper) or `Failed` (and nothing of it running),
    /// and wakes the threads that wait for it to leave `Pending`.
    pub(super) fn launch(&self, process: &Arc<Process>) -> Result<(), SpawnError> {
        let program = || process.spec().program().to_string_lossy().into_owned();
        if self.reaper_gone() || self.ending.closing() {
            let e = io::Error::other(self.reaper_gone_reason());
            return self.fail(process, SpawnError::new("supervisor", program(), e));
        }
        let tag = self.tag.for_process(process.id());
        let child = match sys::spawn_tagged(process.spec(), &tag) {
            Ok(c) => c,
            Err(e) => return self.fail(process, e),
        };
        if let Some(w) = &self.watchdog {
            w.add(child.pid);
        }
        let pidfd = match self.pidfds.then(|| sys::pidfd_open(child.pid)) {
            None => None, // without pidfds: SIGCHLD tells the reaper
            Some(Ok(fd)) => Some(fd),
            Some(Err(e)) => {
                self.take_down(child.pid);
                return self.fail(process, SpawnError::new("pidfd_open", program(), e));
            }
        };
        let at = SystemTime::now();
        let pid = child.pid;
        let registered = {
            // Under the queue lock: a stop that sees `Running` queues behind this Register, and
            // the reaper, woken by one of these descriptors, takes the Register (it drains the
            // queue first) before it looks at the event. No wake-up is needed for a spawn.
            let mut queue = self.lock_commands();
            let pipes = [child.stdout.as_ref(), child.stderr.as_ref()];
            let pidfd_ref = pidfd.as_ref().map(AsFd::as_fd);
            let started = watch(&self.epoll, process.id(), pidfd_ref, pipes).and_then(|()| {
                let pid = pid.as_u32();
                process
                    .cell()
                    .update(|s| s.apply(Event::Started { pid, at }))
                    .map_err(|_| {
                        // Cannot happen: only this thread moves a process out of `Pending`.
                        unwatch(&self.epoll, pidfd_ref, pipes);
                        io::Error::other("the process left `Pending` under us")
                    })
            });
            started.map(|u| {
                // Queued in order with the reaper's later events (it cannot publish one for
                // this process before it takes the Register), but the subscribers' wakers run
                // only after the lock is released and the child is the reaper's.
                let (_, wakes) = self.events.publish_quiet(SupervisorEvent::State {
                    id: process.id(),
                    state: u.new,
                });
                let pidfd = pidfd.map(Arc::new);
                let leader = match &pidfd {
                    Some(fd) => Leader::Pidfd(fd.clone()),
                    None => Leader::Pid(pid),
                };
                super::lock(&self.leaders).insert(process.id().get(), leader);
                queue.push_back(Command::Register(Registered {
                    process: process.clone(),
                    pid,
                    pidfd,
                    stdout: child.stdout,
                    stderr: child.stderr,
                }));
                wakes
            })
        };
        match registered {
            Ok(wakes) => {
                self.notify_finished(); // wakes stops waiting for it to leave `Pending`
                wakes.run();
                Ok(())
            }
            Err(e) => {
                self.take_down(pid);
                self.fail(process, SpawnError::new("epoll_ctl", program(), e))
            }
        }
    }

    /// Marks `process` as failed to start, publishes that, wakes its waiters, returns `e`.
    fn fail(&self, process: &Process, e: SpawnError) -> Result<(), SpawnError> {
        let at = SystemTime::now();
        if let Ok(u) = process
            .cell()
            .update(|s| s.apply(Event::SpawnFailed { at }))
        {
            self.publish_state(process, u.new);
        }
        self.notify_finished();
        Err(e)
    }

    /// A child that cannot be supervised: SIGKILL its group and reap it (still unreaped, so
    /// still ours), then forget it.
    fn take_down(&self, pid: Pid) {
        let _ = sys::killpg(pid, libc::SIGKILL);
        let _ = sys::wait_blocking(pid);
        if let Some(w) = &self.watchdog {
            w.remove(pid);
        }
    }
}

/// Adds a child's pidfd and pipes to the reaper's epoll, each with its token; on failure
/// (`ENOMEM`, `fs.epoll.max_user_watches`, a descriptor epoll refuses) removes what it added.
/// A pipe that is not watched would never be read: its child would block on it forever.
fn watch(
    epoll: &sys::Epoll,
    id: ProcId,
    pidfd: Option<BorrowedFd<'_>>,
    pipes: [Option<&OwnedFd>; 2],
) -> io::Result<()> {
    if let Some(pidfd) = pidfd {
        epoll.add(pidfd, sys::fd::READABLE, reaper::token(id, reaper::PIDFD))?;
    }
    for (i, (pipe, kind)) in pipes
        .iter()
        .zip([reaper::STDOUT, reaper::STDERR])
        .enumerate()
    {
        let Some(fd) = pipe else { continue };
        if let Err(e) = epoll.add(fd.as_fd(), sys::fd::READABLE, reaper::token(id, kind)) {
            let mut added = [None, None];
            added[..i].copy_from_slice(&pipes[..i]);
            unwatch(epoll, pidfd, added);
            return Err(e);
        }
    }
    Ok(())
}

/// Undoes [`watch`] for the descriptors given.
fn unwatch(epoll: &sys::Epoll, pidfd: Option<BorrowedFd<'_>>, pipes: [Option<&OwnedFd>; 2]) {
    if let Some(pidfd) = pidfd {
        let _ = epoll.delete(pidfd);
    }
    for fd in pipes.into_iter().flatten() {
        let _ = epoll.delete(fd.as_fd());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe epoll refuses (here a regular file, which epoll rejects with `EPERM`) fails the
    /// whole registration and leaves nothing registered: such a child is taken down and its
    /// spawn fails, instead of running with an output nobody reads.
    #[test]
    fn a_pipe_that_cannot_be_watched_fails_the_registration() {
        let epoll = sys::Epoll::new().unwrap();
        let (r, _w) = sys::fd::pipe().unwrap();
        let file = OwnedFd::from(std::fs::File::open("/proc/self/stat").unwrap());
        let id = ProcId::from_label("x-1").unwrap();
        let e = watch(&epoll, id, Some(r.as_fd()), [None, Some(&file)]).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        // The pidfd stand-in was removed again: adding it anew succeeds.
        epoll.add(r.as_fd(), sys::fd::READABLE, 1).unwrap();
    }
}
