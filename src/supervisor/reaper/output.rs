//! The reaper's output path: reading the children's pipes into their log rings and the event
//! bus, and pausing them while a lossless subscriber is full.

use std::io;
use std::os::fd::AsFd;

use super::{READABLE, Reaper, STDERR, STDOUT, read, token_of};

impl Reaper {
    /// Reads what `pipes[which]` has, up to `budget` bytes; at end of file emits the last
    /// partial line and closes the pipe.
    ///
    /// Unless `closing`, a full lossless subscriber stops the reading and pauses the pipe (see
    /// [`Reaper::paused`]). With `closing` (from `finalize`), everything is read, and a pipe at
    /// end of file stays in place for `finalize` to take out of the epoll after the final state
    /// is visible.
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
        let Some(pipe) = c.pipes[which].as_mut() else {
            return;
        };
        let process = &c.process;
        let stream = pipe.stream;
        let ring = process.logs();
        let mut total = 0;
        let eof = loop {
            if !closing && !pipe.paused && shared.events.want_room() {
                // Out of the epoll: a level-triggered watch would report it again at once.
                let _ = shared.epoll.delete(pipe.fd.as_fd());
                pipe.paused = true;
                paused.push((id, which));
                break false;
            }
            match read(pipe.fd.as_fd(), buf) {
                Ok(0) => break true,
                Ok(n) => {
                    pipe.split
                        .push(&buf[..n], |text, cut| fitted.push(ring.fit(text, cut)));
                    shared.emit_lines(process, stream, fitted, stored);
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
            pipe.split
                .finish(|text, cut| fitted.push(ring.fit(text, cut)));
            shared.emit_lines(process, stream, fitted, stored);
            if !closing {
                let _ = shared.epoll.delete(pipe.fd.as_fd());
                c.pipes[which] = None;
            }
        }
    }

    /// Watches the paused pipes again once no lossless subscriber is full.
    pub(super) fn resume_pipes(&mut self) {
        if self.paused.is_empty() || self.shared.events.want_room() {
            return;
        }
        for (id, which) in self.paused.drain(..) {
            let Some(pipe) = self
                .children
                .get_mut(&id)
                .and_then(|c| c.pipes[which].as_mut())
                .filter(|p| p.paused)
            else {
                continue; // finalised meanwhile
            };
            pipe.paused = false;
            // If this fails (out of memory), the pipe is read when its process ends.
            let kind = if which == 0 { STDOUT } else { STDERR };
            let _ = self
                .shared
                .epoll
                .add(pipe.fd.as_fd(), READABLE, token_of(id, kind));
        }
    }
}
