//! One foreground job (`run` or `up`): its processes' output and status lines, the session's
//! notices about them, and how it ends.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::process::ExitCode;
use std::sync::Arc;

use procsnap::orchestrate::Phase;
use procsnap::{ProcId, ProcessState};
use procsnap_session::{JobId, Notice, Observer, Owner, Session, SessionEvent, Started, Tone};
use signal_hook::consts::{SIGCONT, SIGSTOP, SIGTSTP};

use super::out::Out;
use super::{EVENT_BATCH, IdHasher, Interrupt, Tracked};
use crate::style::{Prefixer, write_line};

pub(super) struct Foreground {
    pub(super) session: Arc<Session>,
    pub(super) job: JobId,
    prefixer: Prefixer,
    tracked: HashMap<ProcId, Tracked, BuildHasherDefault<IdHasher>>,
    /// The slot of every name shown.
    slots: HashMap<String, usize>,
    pub(super) out: Out,
    pub(super) interrupt: Interrupt,
    kills_sent: bool,
    failed_to_start: bool,
}

impl Foreground {
    /// A job showing `names` (in slot order).
    pub(super) fn new(session: Arc<Session>, names: &[String], color: bool) -> Foreground {
        let job = session.new_job();
        Foreground {
            session,
            job,
            prefixer: Prefixer::new(names.iter().map(String::as_str), color),
            tracked: HashMap::default(),
            slots: names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            out: Out::new(),
            interrupt: Interrupt::None,
            kills_sent: false,
            failed_to_start: false,
        }
    }

    fn owner(&self) -> Owner {
        Owner::Job(self.job)
    }

    /// Starts `names` (each after its dependencies) as this job, in one request; a name that
    /// cannot start gets its error line at once.
    pub(super) fn start(&mut self, names: &[String]) {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let answers = match self.session.start(&refs, self.owner()) {
            Ok(a) => a,
            Err(e) => {
                self.failed_to_start = true;
                out_writeln!(self.out, "procsnap: {e}");
                return;
            }
        };
        for (name, answer) in names.iter().zip(answers) {
            if let Started::Failed(why) = answer {
                self.failed_to_start = true;
                let slot = self.slots.get(name).copied().unwrap_or(0);
                let line = self
                    .prefixer
                    .note(name, slot, &format!("failed to start: {why}"), "31");
                out_writeln!(self.out, "{line}");
            }
        }
    }

    /// True when nothing of this job is left to happen. After the kill of a second Ctrl-C,
    /// once no process of it is left unfinished either.
    pub(super) fn settled(&self) -> bool {
        let board = self.session.board();
        let mine = board.units.iter().filter(|u| u.owner == self.owner());
        let settled = if self.interrupt == Interrupt::None {
            mine.clone().all(|u| !u.phase.is_live())
        } else {
            board.settled
        };
        settled
            || (self.kills_sent
                && procsnap::Reader::new()
                    .list(self.session.processes())
                    .all(|(_, s)| s.is_finished()))
    }

    pub(super) fn all_reported(&self) -> bool {
        self.tracked.values().all(|t| t.ended.is_some())
    }

    /// Formats queued events until the output buffer is full; true if the queue was emptied.
    pub(super) fn take_events(&mut self, events: &Observer) -> bool {
        while self.out.has_room() {
            // In batches: the session releases its hold on our processes as the queue drains.
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

    fn take_event(&mut self, ev: SessionEvent) {
        match ev {
            SessionEvent::Line { id, line } => {
                if !self.tracked.contains_key(&id) {
                    self.track(id);
                }
                if let Some(t) = self.tracked.get(&id) {
                    write_line(&mut self.out.buf, &t.prefix, &line.text, line.truncated);
                }
            }
            // The final state comes only after the group is empty and its pipes are drained,
            // and the observer keeps every event in order: the status line follows the
            // process's last line.
            SessionEvent::State { id, state } if state.is_finished() => {
                self.track(id);
                self.report(id, state);
            }
            SessionEvent::State { id, .. } => self.track(id),
            SessionEvent::Notice(n) => self.notice(n),
            _ => {}
        }
    }

    /// Writes a notice: `name | ready`, `name | restarting in 2s (restart 1)`.
    fn notice(&mut self, Notice { name, text, tone }: Notice) {
        let slot = self.slots.get(&name).copied().unwrap_or(0);
        let code = match tone {
            Tone::Good => "32",
            Tone::Bad => "31",
            Tone::Info => "2",
        };
        let line = self.prefixer.note(&name, slot, &text, code);
        out_writeln!(self.out, "{line}");
    }

    /// Tracks process `id` from its first event on.
    fn track(&mut self, id: ProcId) {
        if self.tracked.contains_key(&id) {
            return;
        }
        let Some(p) = self.session.processes().get(id) else {
            return;
        };
        let slot = self.slots.get(p.name()).copied().unwrap_or(0);
        let t = Tracked {
            name: p.name().to_owned(),
            slot,
            prefix: self.prefixer.prefix(p.name(), slot),
            ended: None,
            stale_seen: false,
        };
        self.tracked.insert(id, t);
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
        for (p, state) in reader.list(self.session.processes()) {
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

    /// Ctrl-C, SIGTERM, SIGHUP: the first stops everything gracefully (in reverse dependency
    /// order, each with its own shutdown); a second Ctrl-C or SIGTERM kills it at once.
    pub(super) fn on_interrupt(&mut self, why: Interrupt) {
        if self.interrupt == Interrupt::None {
            if why == Interrupt::Int {
                out_writeln!(self.out, "procsnap: stopping all (Ctrl-C again to kill)");
            }
            self.interrupt(why);
        } else if why != Interrupt::Hup && !self.kills_sent {
            self.kills_sent = true;
            out_writeln!(self.out, "procsnap: killing all");
            self.session.shutdown(true);
        }
    }

    /// Stops everything gracefully, in the background.
    pub(super) fn interrupt(&mut self, why: Interrupt) {
        self.interrupt = why;
        self.session.shutdown(false);
    }

    /// Ctrl-Z: suspends every group (SIGTSTP, as a shell suspends a job), then ourselves.
    pub(super) async fn suspend(&self) {
        let session = self.session.clone();
        let _ = tokio::task::spawn_blocking(move || session.signal_all(SIGTSTP)).await;
        // SIGSTOP: our own SIGTSTP is handled (by this function), so it would not stop us.
        let _ = signal_hook::low_level::raise(SIGSTOP);
    }

    /// `fg`/`bg` (SIGCONT): resumes every group.
    pub(super) async fn resume(&self) {
        let session = self.session.clone();
        let _ = tokio::task::spawn_blocking(move || session.signal_all(SIGCONT)).await;
    }

    /// 1 if a name of this job could not start or ended in failure for good (a failed run
    /// that its policy restarted does not count); else 130/143/129/141 after an interrupt, 0
    /// otherwise.
    pub(super) fn exit_code(&self) -> ExitCode {
        let board = self.session.board();
        let any_failed = self.failed_to_start
            || board.exit_requested
            || board.units.iter().any(|u| {
                u.owner == self.owner() && matches!(u.phase, Phase::Done(o) if o.is_failure())
            });
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
