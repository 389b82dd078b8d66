//! The reaper's output path: reading the children's pipes into their log rings and the event
//! bus, and pausing them while a lossless subscriber is full or their process is held.

use std::io;
use std::os::fd::AsFd;

use super::{Pipe, READABLE, Reaper, STDERR, STDOUT, read, token_of};

impl Reaper {
    /// Reads what `pipes[which]` has, up to `budget` bytes; at end of file emits the last
    /// partial line and closes the pipe.
    ///
    /// Unless `closing`, a paused pipe is not read (its readiness may have been reported in the
    /// round that paused it), a held process's pipe is paused, and lines are published only as
    /// far as the lossless subscribers have room: the rest wait in the pipe's `pending` lines,
    /// and the pipe is paused until the subscribers have room again. So a lossless
    /// subscription holds at most its mark of lines, whatever one read brings. With `closing`
    /// (from `finalize`), everything is read and published, and a pipe at end of file stays in
    /// place for `finalize` to take out of the epoll after the final state is visible.
    pub(super) fn read_pipe(&mut self, id: u64, which: usize, budget: usize, closing: bool) {
        let Reaper {
            children,
            buf,
            shared,
            paused,
            fitted,
            stored,
            ..
        } = self;
        let Some(c) = children.get_mut(&id) else {
            return;
        };
        let held = c.held;
        let Some(pipe) = c.pipes[which].as_mut() else {
            return;
        };
        if pipe.paused && !closing {
            return;
        }
        let process = &c.process;
        let stream = pipe.stream;
        let ring = process.logs();
        let mut total = 0;
        let eof = loop {
            // A held process is paused without asking the subscribers for room: it waits for
            // its holder, not for them.
            if !closing && held {
                pause(shared, pipe);
                break false;
            }
            // What was read before goes out first, as far as there is room.
            let room = if closing {
                usize::MAX
            } else {
                shared.events.room_left()
            };
            let n = room.min(pipe.pending.len());
            shared.emit_lines(process, stream, pipe.pending.drain(..n), stored);
            if !closing && (!pipe.pending.is_empty() || room == n) && shared.events.want_room() {
                // Full, and asked to be told when there is room again.
                pause(shared, pipe);
                pipe.waits_room = true;
                paused.push((id, which));
                break false;
            }
            if !pipe.pending.is_empty() {
                continue; // room was made meanwhile
            }
            if total >= budget {
                break false;
            }
            match read(pipe.fd.as_fd(), buf) {
                Ok(0) => break true,
                Ok(n) => {
                    pipe.split
                        .push(&buf[..n], |text, cut| fitted.push(ring.fit(text, cut)));
                    total += n;
                    // Published at once as far as there is room (the common case: all of
                    // it); the rest waits in `pending`, which the top of the loop takes.
                    let room = if closing {
                        usize::MAX
                    } else {
                        shared.events.room_left()
                    };
                    let n = room.min(fitted.len());
                    shared.emit_lines(process, stream, fitted.drain(..n), stored);
                    pipe.pending.extend(fitted.drain(..));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        if eof {
            pipe.split
                .finish(|text, cut| fitted.push(ring.fit(text, cut)));
            shared.emit_lines(process, stream, fitted.drain(..), stored);
            if !closing {
                let _ = shared.epoll.delete(pipe.fd.as_fd());
                c.pipes[which] = None;
            }
        }
    }

    /// Watches the paused pipes again once no lossless subscriber is full (a held process's
    /// pipes stay paused: the release of its hold takes them back).
    pub(super) fn resume_pipes(&mut self) {
        if self.paused.is_empty() || self.shared.events.want_room() {
            return;
        }
        for (id, which) in std::mem::take(&mut self.paused) {
            let Some(c) = self.children.get_mut(&id) else {
                continue; // finalised meanwhile
            };
            let held = c.held;
            let Some(pipe) = c.pipes[which].as_mut().filter(|p| p.waits_room) else {
                continue;
            };
            pipe.waits_room = false;
            if !held {
                self.watch_pipe(id, which);
            }
        }
    }

    /// Process `id` was held or released: pause its pipes, or watch them again (unless a full
    /// lossless subscriber keeps them paused). Reads the hold table itself, so a late or
    /// repeated command does no harm.
    pub(super) fn hold_changed(&mut self, id: u64) {
        let held = self.shared.is_held(id);
        let Some(c) = self.children.get_mut(&id) else {
            return; // finalised, or not registered yet (its `Register` looks again)
        };
        if c.held == held {
            return;
        }
        c.held = held;
        for which in 0..2 {
            let Some(c) = self.children.get_mut(&id) else {
                return;
            };
            let Some(pipe) = c.pipes[which].as_mut() else {
                continue;
            };
            if held {
                if !pipe.paused {
                    pause(&self.shared, pipe);
                }
            } else if pipe.paused && !pipe.waits_room {
                // Paused by the hold alone. If a lossless subscriber is full now, the next read
                // pauses it again and lists it for the room function.
                self.watch_pipe(id, which);
            }
        }
    }

    /// Puts paused pipe `which` of child `id` back into the epoll, and publishes its pending
    /// lines at once (the pipe itself may have nothing new to report).
    fn watch_pipe(&mut self, id: u64, which: usize) {
        let Some(pipe) = self
            .children
            .get_mut(&id)
            .and_then(|c| c.pipes[which].as_mut())
        else {
            return;
        };
        pipe.paused = false;
        // If this fails (out of memory), the pipe is read when its process ends.
        let kind = if which == 0 { STDOUT } else { STDERR };
        let _ = self
            .shared
            .epoll
            .add(pipe.fd.as_fd(), READABLE, token_of(id, kind));
        if !pipe.pending.is_empty() {
            self.read_pipe(id, which, super::READ_BUDGET, false);
        }
    }
}

/// Takes `pipe` out of the epoll: a level-triggered watch would report it again at once.
fn pause(shared: &super::Shared, pipe: &mut Pipe) {
    let _ = shared.epoll.delete(pipe.fd.as_fd());
    pipe.paused = true;
}
