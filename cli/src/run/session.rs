//! One foreground session (`run` or `up`): the processes, their prefixes, the conductor's
//! notices, and how it ends.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use procsnap::{ProcId, ProcessState, Status, Subscription, Supervisor, SupervisorEvent};
use signal_hook::consts::SIGSTOP;

use super::out::Out;
use super::{EVENT_BATCH, IdHasher, Interrupt, Target, Tracked};
use crate::conductor::{Conductor, Notice, Tone};
use crate::style::{Prefixer, write_line};

pub(super) struct Session {
    pub(super) sup: Arc<Supervisor>,
    grace: Duration,
    prefixer: Prefixer,
    tracked: HashMap<ProcId, Tracked, BuildHasherDefault<IdHasher>>,
    /// The slot of every name shown (configured processes are tracked once seen).
    slots: HashMap<String, usize>,
    /// Drives the configured processes, if any were asked for.
    pub(super) conductor: Option<Conductor>,
    pub(super) out: Out,
    pub(super) interrupt: Interrupt,
    kills_sent: bool,
    failed_to_start: bool,
}

impl Session {
    /// A session showing `names` (in slot order).
    pub(super) fn new(
        sup: Arc<Supervisor>,
        grace: Duration,
        names: &[String],
        color: bool,
        conductor: Option<Conductor>,
    ) -> Session {
        Session {
            sup,
            grace,
            prefixer: Prefixer::new(names.iter().map(String::as_str), color),
            tracked: HashMap::default(),
            slots: names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            conductor,
            out: Out::new(),
            interrupt: Interrupt::None,
            kills_sent: false,
            failed_to_start: false,
        }
    }

    /// Spawns every direct target; one that cannot start gets its error line at once.
    pub(super) fn start(&mut self, targets: Vec<Target>) {
        for t in targets {
            let slot = self.slots.get(&t.name).copied().unwrap_or(0);
            let prefix = self.prefixer.prefix(&t.name, slot);
            match self.sup.spawn(&t.name, t.spec) {
                Ok(p) => {
                    let tracked = Tracked {
                        name: t.name,
                        slot,
                        prefix,
                        ended: None,
                        stale_seen: false,
                        direct: true,
                    };
                    self.tracked.insert(p.id(), tracked);
                }
                Err(e) => {
                    self.failed_to_start = true;
                    out_writeln!(self.out, "{prefix}failed to start: {e}");
                }
            }
        }
    }

    /// Asks the conductor for `names` (and their dependencies), waiting until it took each.
    pub(super) fn request(&mut self, names: &[String]) {
        if let Some(c) = &self.conductor {
            for n in names {
                let _ = c.request_now(n);
            }
        }
    }

    /// True when nothing configured is left to happen (always, without a conductor). After
    /// the kill of a second Ctrl-C, once no process is left unfinished either.
    pub(super) fn settled(&self) -> bool {
        let Some(c) = &self.conductor else {
            return true;
        };
        c.board().settled
            || (self.kills_sent
                && procsnap::Reader::new()
                    .list(self.sup.registry())
                    .all(|(_, s)| s.is_finished()))
    }

    pub(super) fn all_reported(&self) -> bool {
        self.tracked.values().all(|t| t.ended.is_some())
    }

    /// Writes the conductor's notices: `name | ready`, `name | restarting in 2s (restart 1)`.
    pub(super) fn take_notices(&mut self) {
        let Some(c) = &self.conductor else {
            return;
        };
        for Notice { name, text, tone } in c.take_notices() {
            let slot = self.slots.get(&name).copied().unwrap_or(0);
            let code = match tone {
                Tone::Good => "32",
                Tone::Bad => "31",
                Tone::Info => "2",
            };
            let line = self.prefixer.note(&name, slot, &text, code);
            out_writeln!(self.out, "{line}");
        }
    }

    /// Formats queued events until the output buffer is full; true if the queue was emptied.
    pub(super) fn take_events(&mut self, events: &Subscription<SupervisorEvent>) -> bool {
        while self.out.has_room() {
            // In batches: a paused supervisor is told about the room made once per batch.
            let batch = events.drain(EVENT_BATCH);
            if batch.is_empty() {
                return true;
            }
            for ev in batch {
                self.take_event(ev);
            }
        }
        false
    }

    fn take_event(&mut self, ev: SupervisorEvent) {
        match ev {
            SupervisorEvent::Line { id, line } => {
                if !self.tracked.contains_key(&id) {
                    self.track(id);
                }
                if let Some(t) = self.tracked.get(&id) {
                    write_line(&mut self.out.buf, &t.prefix, &line.text, line.truncated);
                }
            }
            // The reaper publishes the final state only after the group is empty and its
            // pipes are drained, and the subscription keeps every event in order: the status
            // line follows the process's last line.
            SupervisorEvent::State { id, state } if state.is_finished() => {
                self.track(id);
                self.report(id, state);
            }
            SupervisorEvent::State { id, .. } => self.track(id),
            _ => {}
        }
    }

    /// Tracks process `id` if it is new and of a shown name: the conductor's processes are
    /// tracked from their first event on (direct targets from their spawn).
    fn track(&mut self, id: ProcId) {
        if self.conductor.is_none() || self.tracked.contains_key(&id) {
            return;
        }
        let Some(p) = self.sup.registry().get(id) else {
            return;
        };
        if let Some(&slot) = self.slots.get(p.name()) {
            let t = Tracked {
                name: p.name().to_owned(),
                slot,
                prefix: self.prefixer.prefix(p.name(), slot),
                ended: None,
                stale_seen: false,
                direct: false,
            };
            self.tracked.insert(id, t);
        }
    }

    /// Writes the status line of process `id` (once).
    fn report(&mut self, id: ProcId, state: ProcessState) {
        let Some(t) = self.tracked.get_mut(&id) else {
            return;
        };
        if t.ended.is_some() {
            return;
        }
        t.ended = Some(state);
        let line =
            self.prefixer
                .status(&t.name, t.slot, state.status, state.exit, state.duration());
        out_writeln!(self.out, "{line}");
    }

    /// Reports the processes whose state cell says finished without waiting for their final
    /// event: at once when `now` (an interrupt while stdout is blocked, so the events wait
    /// behind output nobody takes), else only if the event is still missing one tick later (a
    /// safety net: the event is published microseconds after the cell is updated).
    pub(super) fn report_from_cells(&mut self, now: bool) {
        // One listing under one pin (a reader for this pass: the loop sleeps in between).
        let mut reader = procsnap::Reader::new();
        let mut finished: Vec<(usize, ProcId, ProcessState)> = Vec::new();
        for (p, state) in reader.list(self.sup.registry()) {
            let Some(t) = self.tracked.get_mut(&p.id()).filter(|t| t.ended.is_none()) else {
                continue;
            };
            if state.is_finished() {
                if now || t.stale_seen {
                    finished.push((t.slot, p.id(), *state));
                }
                t.stale_seen = true;
            }
        }
        drop(reader);
        finished.sort_by_key(|(slot, _, _)| *slot);
        for (_, id, state) in finished {
            self.report(id, state);
        }
    }

    /// Ctrl-C, SIGTERM, SIGHUP: the first stops every group gracefully; a second Ctrl-C or
    /// SIGTERM kills them at once.
    pub(super) fn on_interrupt(&mut self, why: Interrupt) {
        if self.interrupt == Interrupt::None {
            if why == Interrupt::Int {
                out_writeln!(self.out, "procsnap: stopping all (Ctrl-C again to kill)");
            }
            self.interrupt(why);
        } else if why != Interrupt::Hup && !self.kills_sent {
            self.kills_sent = true;
            out_writeln!(self.out, "procsnap: killing all");
            let sup = self.sup.clone();
            tokio::task::spawn_blocking(move || sup.stop_all(Duration::ZERO));
        }
    }

    /// Stops every group gracefully, in the background: the configured processes through the
    /// conductor (reverse dependency order, each with its own `shutdown`), the others at once.
    pub(super) fn interrupt(&mut self, why: Interrupt) {
        self.interrupt = why;
        let (sup, grace) = (self.sup.clone(), self.grace);
        let Some(c) = &self.conductor else {
            tokio::task::spawn_blocking(move || sup.stop_all(grace));
            return;
        };
        c.shutdown();
        for (&id, _) in self.tracked.iter().filter(|(_, t)| t.direct) {
            let sup = sup.clone();
            tokio::task::spawn_blocking(move || sup.stop(id, grace));
        }
    }

    /// Ctrl-Z: suspends every group (SIGTSTP, as a shell suspends a job), then ourselves.
    pub(super) async fn suspend(&self) {
        let sup = self.sup.clone();
        let _ = tokio::task::spawn_blocking(move || sup.signal_all(procsnap::Signal::TSTP)).await;
        // SIGSTOP: our own SIGTSTP is handled (by this function), so it would not stop us.
        let _ = signal_hook::low_level::raise(SIGSTOP);
    }

    /// `fg`/`bg` (SIGCONT): resumes every group.
    pub(super) async fn resume(&self) {
        let sup = self.sup.clone();
        let _ = tokio::task::spawn_blocking(move || sup.signal_all(procsnap::Signal::CONT)).await;
    }

    /// 1 if a direct target failed or a configured process ended in failure for good (a
    /// failed run that its policy restarted does not count); else 130/143/129/141 after an
    /// interrupt, 0 otherwise.
    pub(super) fn exit_code(&self) -> ExitCode {
        let board = self.conductor.as_ref().map(Conductor::board);
        let any_failed = self.failed_to_start
            || board.is_some_and(|b| b.any_failed || b.exit_requested)
            || self
                .tracked
                .values()
                .any(|t| t.direct && t.ended.is_some_and(|s| s.status == Status::Failed));
        match (any_failed, self.interrupt) {
            (true, _) => ExitCode::FAILURE,
            (false, Interrupt::Int) => ExitCode::from(130),
            (false, Interrupt::Term) => ExitCode::from(143),
            (false, Interrupt::Hup) => ExitCode::from(129),
            (false, Interrupt::Pipe) => ExitCode::from(141),
            (false, Interrupt::None) => ExitCode::SUCCESS,
        }
    }
}
