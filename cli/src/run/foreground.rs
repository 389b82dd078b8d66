//! One foreground job (`run` or `up`): its processes' output and status lines, the session's
//! notices about them, and how it ends.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasherDefault;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use procsnap::orchestrate::Phase;
use procsnap::{ProcId, ProcessState};
use procsnap_session::{JobId, Notice, Observer, Owner, Session, SessionEvent, Started, Tone};
use signal_hook::consts::{SIGCONT, SIGSTOP, SIGTSTP};

use super::out::Out;
use super::{EVENT_BATCH, IdHasher, Interrupt, Tracked};
use crate::style::{Prefixer, write_line};
use crate::tty;

/// How many reported processes are remembered (their final events arrive at most an
/// observer's queue after a report from their cells).
const REMEMBER_REPORTED: usize = 4096;

pub(super) struct Foreground {
    pub(super) session: Arc<Session>,
    pub(super) job: JobId,
    prefixer: Prefixer,
    /// The processes shown and not yet ended.
    tracked: HashMap<ProcId, Tracked, BuildHasherDefault<IdHasher>>,
    /// The newest processes reported (a bounded memory of them, oldest first).
    reported: HashSet<ProcId, BuildHasherDefault<IdHasher>>,
    reported_order: VecDeque<ProcId>,
    /// The slot of every name shown.
    slots: HashMap<String, usize>,
    pub(super) out: Out,
    pub(super) interrupt: Interrupt,
    kills_sent: bool,
    failed_to_start: bool,
    /// Which processes wait for the terminal.
    tty: tty::Watch,
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
            reported: HashSet::default(),
            reported_order: VecDeque::new(),
            slots: names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            out: Out::new(),
            interrupt: Interrupt::None,
            kills_sent: false,
            failed_to_start: false,
            tty: tty::Watch::default(),
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
        self.tracked.is_empty()
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

    /// Tracks process `id` from its first event on (not once it was reported).
    fn track(&mut self, id: ProcId) {
        if self.tracked.contains_key(&id) || self.reported.contains(&id) {
            return;
        }
        // Also a process already dropped by retention: its events waited behind others.
        let Some(name) = self.session.name_of(id) else {
            return;
        };
        let slot = self.slots.get(&name).copied().unwrap_or(0);
        let t = Tracked {
            prefix: self.prefixer.prefix(&name, slot),
            name,
            slot,
        };
        self.tracked.insert(id, t);
    }

    /// Says, once per wait, of each unfinished process that it waits for terminal input (see
    /// [`tty`]).
    pub(super) fn watch_terminal(&mut self) {
        let now = Instant::now();
        if !self.tty.due(now) {
            return;
        }
        // The pid of each process shown, with its name and slot.
        let shown: HashMap<u32, (String, usize)> = self
            .tracked
            .iter()
            .filter_map(|(id, t)| {
                let pid = self.session.processes().get(*id)?.state().snapshot().pid?;
                Some((pid, (t.name.clone(), t.slot)))
            })
            .collect();
        let Some(waiting) = self.tty.look(shown.keys().copied(), now) else {
            return;
        };
        for (pid, first) in waiting {
            if let Some((name, slot)) = shown.get(&pid).filter(|_| first) {
                let line = self.prefixer.note(name, *slot, tty::WAITING, "33");
                out_writeln!(self.out, "{line}");
            }
        }
    }

    /// Writes the status line of process `id` (once), and forgets it: a session that restarts
    /// a crashing process all day keeps no entry per run.
    fn report(&mut self, id: ProcId, state: ProcessState) {
        let Some(t) = self.tracked.remove(&id) else {
            return;
        };
        let line =
            self.prefixer
                .status(&t.name, t.slot, state.status, state.exit, state.duration());
        out_writeln!(self.out, "{line}");
        self.remember_reported(id);
    }

    /// Remembers `id` as reported for a while: its final event may still be queued after a
    /// report from its cell (see `report_from_cells`), at most an observer's queue behind.
    fn remember_reported(&mut self, id: ProcId) {
        if self.reported.len() >= REMEMBER_REPORTED
            && let Some(old) = self.reported_order.pop_front()
        {
            self.reported.remove(&old);
        }
        self.reported.insert(id);
        self.reported_order.push_back(id);
    }

    /// Reports the processes whose state cell says finished without waiting for their final
    /// events, which wait behind output that a stuck stdout does not take. One that retention
    /// dropped meanwhile (it ended: it is finished) is forgotten without its status line.
    pub(super) fn report_from_cells(&mut self) {
        // One listing under one pin (a reader for this pass: the loop sleeps in between).
        let mut reader = procsnap::Reader::new();
        let mut finished: Vec<(usize, ProcId, ProcessState)> = Vec::new();
        let mut listed = 0;
        for (p, state) in reader.list(self.session.processes()) {
            if let Some(t) = self.tracked.get(&p.id()) {
                listed += 1;
                if state.is_finished() {
                    finished.push((t.slot, p.id(), *state));
                }
            }
        }
        drop(reader);
        if listed < self.tracked.len() {
            let processes = self.session.processes();
            let dropped: Vec<ProcId> = self
                .tracked
                .keys()
                .filter(|&&id| processes.get(id).is_none())
                .copied()
                .collect();
            for id in dropped {
                self.tracked.remove(&id);
                self.remember_reported(id);
            }
        }
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

    /// The exit code of a process under `exit_on_failure` that failed (its own); else 1 if a
    /// name of this job could not start or ended in failure for good (a failed run that its
    /// policy restarted does not count); else 130/143/129/141 after an interrupt, 0
    /// otherwise.
    pub(super) fn exit_code(&self) -> ExitCode {
        let board = self.session.board();
        if let Some(code) = board.exit_code {
            // Exit codes are one byte: a code outside 1..=255 reads as a failure (1).
            return ExitCode::from(u8::try_from(code).ok().filter(|&c| c != 0).unwrap_or(1));
        }
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
