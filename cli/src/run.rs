//! `procsnap run`: scripts in the foreground with prefixed output.
//!
//! Every target runs in its own process group on the Supervisor. Output arrives as
//! `SupervisorEvent::Line`s through one lossless subscription taken before the first spawn, so
//! no line is missed or dropped and lines print in capture order; a process's final `State`
//! event comes after all of its lines, so its status line follows its output. A stdout slower
//! than the scripts holds them back (see `Out`) instead of losing their lines.
//!
//! Signals, as a terminal user means them: Ctrl-C, SIGTERM or SIGHUP (the terminal closed)
//! stops every group (SIGTERM, then SIGKILL after the grace period), with status lines; a
//! second Ctrl-C or SIGTERM kills them at once. Ctrl-Z suspends every group and then procsnap
//! itself; `fg` or `bg` (SIGCONT) resumes the groups.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use procsnap::{
    CommandSpec, ProcId, ProcessState, Status, Subscription, Supervisor, SupervisorEvent,
};
use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGSTOP, SIGTERM, SIGTSTP};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::project::Project;
use crate::style::{Prefixer, write_line};

/// Undelivered events our subscription holds before the supervisor stops reading the
/// scripts' output (and they block in `write` once their pipes are full).
const HIGH_WATER: usize = 4096;
/// Output formatted before it is handed to the writer thread.
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks the writer thread may hold before the loop stops taking events.
const WRITER_CHUNKS: usize = 2;
/// Events taken from the subscription at once.
const EVENT_BATCH: usize = 512;
/// The longest sleep while idle: a safety net, since a published event wakes the loop at once.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// After an interrupt, how long leftover output may take to be written before we exit anyway.
const FINAL_WRITE_LIMIT: Duration = Duration::from_secs(1);

/// One thing to run: a declared script or an ad-hoc `name=command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub spec: CommandSpec,
}

/// Resolves command-line targets: a declared script name wins; otherwise `name=command` is an
/// ad-hoc shell command. Errors name what is available.
pub fn resolve_targets(project: &Project, args: &[String]) -> Result<Vec<Target>, String> {
    let mut out: Vec<Target> = Vec::new();
    for arg in args {
        let target = if let Some(script) = project.script(arg) {
            Target {
                name: script.name.clone(),
                spec: project.spec(script)?,
            }
        } else if let Some((name, command)) = arg.split_once('=') {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
            {
                return Err(format!(
                    "{arg:?}: an ad-hoc name must be letters, digits, _ - . or : (NAME=COMMAND)"
                ));
            }
            if command.trim().is_empty() {
                return Err(format!("{arg:?}: missing command after '='"));
            }
            Target {
                name: name.to_owned(),
                spec: project.adhoc_spec(command),
            }
        } else {
            return Err(format!(
                "unknown script {arg:?}; available scripts: {} (or run NAME=COMMAND)",
                project.names()
            ));
        };
        if out.iter().any(|t| t.name == target.name) {
            return Err(format!("{:?} is given twice", target.name));
        }
        out.push(target);
    }
    Ok(out)
}

struct Tracked {
    name: String,
    /// Position on the command line: the status lines of processes that end together are
    /// printed in this order.
    slot: usize,
    /// `name  | `, coloured, written before each of its lines.
    prefix: String,
    /// Its final state, once its status line was written.
    ended: Option<ProcessState>,
    /// On the idle tick: its state cell said finished, but its final event had not arrived.
    stale_seen: bool,
}

/// Hashes a [`ProcId`] (a unique number) with one multiplication: looked up once per line.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: spreads consecutive ids over the high bits hashbrown uses.
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Why the foreground run ended early.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    None,
    Int,
    Term,
    Hup,
    /// stdout was closed (EPIPE).
    Pipe,
}

/// Stdout, written by a thread of its own.
///
/// The event loop formats output into `buf` and hands it over a chunk at a time through a
/// bounded channel. When stdout is slower than the scripts (a file on a slow disk, a pipe into
/// a slow reader, a paused pager), the channel fills, the loop stops taking events, our
/// lossless subscription reaches its mark and the supervisor stops reading the scripts' pipes:
/// the scripts block in `write`, as in a shell pipeline. Nothing is dropped, memory stays
/// bounded, and the loop still handles signals, since only the writer thread is blocked.
struct Out {
    buf: Vec<u8>,
    /// A chunk handed to the writer as soon as the channel has room.
    pending: Option<Vec<u8>>,
    tx: Option<tokio::sync::mpsc::Sender<Vec<u8>>>,
    broken: Arc<AtomicBool>,
    /// Resolves (with an error) when the writer thread ends.
    done: tokio::sync::oneshot::Receiver<()>,
}

impl Out {
    fn new() -> Out {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(WRITER_CHUNKS);
        let (done_tx, done) = tokio::sync::oneshot::channel::<()>();
        let broken = Arc::new(AtomicBool::new(false));
        let flag = broken.clone();
        let spawned = std::thread::Builder::new()
            .name("procsnap-stdout".into())
            .spawn(move || {
                let _done = done_tx; // dropped when this thread ends
                let mut stdout = std::io::stdout().lock();
                while let Some(chunk) = rx.blocking_recv() {
                    // Relaxed: a flag read by the loop; it orders no other data. After a
                    // failure, chunks are still taken (and discarded) so the loop never waits.
                    if !flag.load(Ordering::Relaxed)
                        && stdout
                            .write_all(&chunk)
                            .and_then(|()| stdout.flush())
                            .is_err()
                    {
                        flag.store(true, Ordering::Relaxed);
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("procsnap: cannot start the output thread: {e}");
            broken.store(true, Ordering::Relaxed);
        }
        Out {
            buf: Vec::with_capacity(CHUNK_BYTES),
            pending: None,
            tx: Some(tx),
            broken,
            done,
        }
    }

    fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = self.buf.write_fmt(args); // writing into a Vec cannot fail
    }

    /// True while more output may be formatted before the writer takes some.
    fn has_room(&self) -> bool {
        self.buf.len() < CHUNK_BYTES
    }

    /// True once stdout failed (EPIPE: `procsnap run … | head`).
    fn broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// Makes the formatted output the next chunk for the writer, unless one is waiting already.
    fn stage(&mut self) {
        if self.pending.is_none() && !self.buf.is_empty() {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
            self.pending = Some(chunk);
        }
    }

    /// Hands the waiting chunk to the writer once the channel has room.
    async fn send_pending(&mut self) {
        let (Some(tx), Some(_)) = (&self.tx, &self.pending) else {
            return std::future::pending().await;
        };
        match tx.reserve().await {
            Ok(permit) => permit.send(self.pending.take().expect("checked above")),
            Err(_) => {
                // The writer thread is gone: nothing can be written any more.
                self.broken.store(true, Ordering::Relaxed);
                self.pending = None;
            }
        }
    }

    /// Hands over what is left and waits for the writer to write it: as long as it takes when
    /// `limit` is `None`, else at most `limit` (after an interrupt a blocked stdout must not
    /// keep us alive).
    async fn finish(mut self, limit: Option<Duration>) {
        let work = async move {
            loop {
                self.stage();
                if self.pending.is_none() || self.tx.is_none() {
                    break;
                }
                self.send_pending().await;
            }
            drop(self.tx.take()); // the writer ends after the last chunk
            let _ = self.done.await;
        };
        match limit {
            None => work.await,
            Some(limit) => {
                let _ = tokio::time::timeout(limit, work).await;
            }
        }
    }
}

/// `writeln!` into an [`Out`].
macro_rules! out_writeln {
    ($out:expr, $($arg:tt)*) => {{
        $out.write_fmt(format_args!($($arg)*));
        $out.buf.push(b'\n');
    }};
}

/// The signals `run` handles.
struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
    tstp: Signal,
    cont: Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        let on = |sig: i32| signal(SignalKind::from_raw(sig));
        Ok(Signals {
            int: on(SIGINT)?,
            term: on(SIGTERM)?,
            hup: on(SIGHUP)?,
            tstp: on(SIGTSTP)?,
            cont: on(SIGCONT)?,
        })
    }
}

/// Runs `targets` until they all end; returns the process exit code.
pub fn run(targets: Vec<Target>, color: bool, grace: Duration) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("procsnap: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(run_async(targets, color, grace));
    rt.shutdown_timeout(Duration::from_millis(100));
    code
}

async fn run_async(targets: Vec<Target>, color: bool, grace: Duration) -> ExitCode {
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("procsnap: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sup = match crate::supervisor(grace, 1) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("procsnap: cannot start the supervisor: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Taken before the first spawn: no line is missed.
    let events = sup.subscribe_lossless(HIGH_WATER);
    let wake = Arc::new(tokio::sync::Notify::new());
    let waker = wake.clone();
    events.set_waker(move || waker.notify_one());
    let prefixer = Prefixer::new(targets.iter().map(|t| t.name.as_str()), color);
    let mut session = Session::new(sup, grace, prefixer);
    session.start(targets);
    while !session.all_reported() {
        let drained = session.take_events(&events);
        session.out.stage();
        if session.out.broken() && session.interrupt == Interrupt::None {
            // Nobody reads our output any more (`procsnap run … | head`): stop like SIGTERM.
            session.interrupt(Interrupt::Pipe);
        }
        if session.interrupt != Interrupt::None && session.out.pending.is_some() {
            // Interrupted while stdout is blocked: the final states need not wait for it.
            session.report_from_cells(true);
        }
        // Sleep until an event is published (the queue wakes us), a signal, the writer taking
        // a chunk, or the slow tick; go on at once if more events can be taken now.
        let parked = session.out.has_room() && drained && events.park();
        let more = session.out.has_room() && !parked;
        tokio::select! {
            biased;
            _ = signals.int.recv() => session.on_interrupt(Interrupt::Int),
            _ = signals.term.recv() => session.on_interrupt(Interrupt::Term),
            _ = signals.hup.recv() => session.on_interrupt(Interrupt::Hup),
            _ = signals.tstp.recv() => session.suspend().await,
            _ = signals.cont.recv() => session.resume().await,
            _ = session.out.send_pending() => {}
            _ = std::future::ready(()), if more => {}
            _ = wake.notified(), if parked => {}
            _ = tokio::time::sleep(IDLE_TICK), if !more => session.report_from_cells(false),
        }
    }
    let limit = (session.interrupt != Interrupt::None).then_some(FINAL_WRITE_LIMIT);
    let code = session.exit_code();
    session.out.finish(limit).await;
    code
}

/// One `procsnap run`: the processes, their prefixes and how it ends.
struct Session {
    sup: Arc<Supervisor>,
    grace: Duration,
    prefixer: Prefixer,
    tracked: HashMap<ProcId, Tracked, BuildHasherDefault<IdHasher>>,
    out: Out,
    interrupt: Interrupt,
    kills_sent: bool,
    failed_to_start: bool,
}

impl Session {
    fn new(sup: Arc<Supervisor>, grace: Duration, prefixer: Prefixer) -> Session {
        Session {
            sup,
            grace,
            prefixer,
            tracked: HashMap::default(),
            out: Out::new(),
            interrupt: Interrupt::None,
            kills_sent: false,
            failed_to_start: false,
        }
    }

    /// Spawns every target; one that cannot start gets its error line at once.
    fn start(&mut self, targets: Vec<Target>) {
        for (slot, t) in targets.into_iter().enumerate() {
            let prefix = self.prefixer.prefix(&t.name, slot);
            match self.sup.spawn(&t.name, t.spec) {
                Ok(p) => {
                    let tracked = Tracked {
                        name: t.name,
                        slot,
                        prefix,
                        ended: None,
                        stale_seen: false,
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

    fn all_reported(&self) -> bool {
        self.tracked.values().all(|t| t.ended.is_some())
    }

    /// Formats queued events until the output buffer is full; true if the queue was emptied.
    fn take_events(&mut self, events: &Subscription<SupervisorEvent>) -> bool {
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
                if let Some(t) = self.tracked.get(&id) {
                    write_line(&mut self.out.buf, &t.prefix, &line.text, line.truncated);
                }
            }
            // The reaper publishes the final state only after the group is empty and its
            // pipes are drained, and the subscription keeps every event in order: the status
            // line follows the process's last line.
            SupervisorEvent::State { id, state } if state.is_finished() => {
                self.report(id, state);
            }
            _ => {}
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
    fn report_from_cells(&mut self, now: bool) {
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
    fn on_interrupt(&mut self, why: Interrupt) {
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

    /// Stops every group gracefully, in the background.
    fn interrupt(&mut self, why: Interrupt) {
        self.interrupt = why;
        let (sup, grace) = (self.sup.clone(), self.grace);
        tokio::task::spawn_blocking(move || sup.stop_all(grace));
    }

    /// Ctrl-Z: suspends every group (SIGTSTP, as a shell suspends a job), then ourselves.
    async fn suspend(&self) {
        let sup = self.sup.clone();
        let _ = tokio::task::spawn_blocking(move || sup.signal_all(SIGTSTP)).await;
        // SIGSTOP: our own SIGTSTP is handled (by this function), so it would not stop us.
        let _ = signal_hook::low_level::raise(SIGSTOP);
    }

    /// `fg`/`bg` (SIGCONT): resumes every group.
    async fn resume(&self) {
        let sup = self.sup.clone();
        let _ = tokio::task::spawn_blocking(move || sup.signal_all(SIGCONT)).await;
    }

    fn exit_code(&self) -> ExitCode {
        let any_failed = self.failed_to_start
            || self
                .tracked
                .values()
                .any(|t| t.ended.is_some_and(|s| s.status == Status::Failed));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{PackageManager, Script, Source};
    use std::path::PathBuf;

    fn project() -> Project {
        Project {
            dir: PathBuf::from("/tmp"),
            package_manager: PackageManager::Pnpm,
            scripts: vec![
                Script {
                    name: "build".into(),
                    command: "tsc".into(),
                    source: Source::PackageJson,
                },
                Script {
                    name: "a=b".into(),
                    command: "weird".into(),
                    source: Source::PackageJson,
                },
            ],
            warnings: vec![],
        }
    }

    #[test]
    fn declared_scripts_and_adhoc_commands() {
        let args = [
            "build".to_owned(),
            "api=python3 -m http.server 8000".to_owned(),
        ];
        let t = resolve_targets(&project(), &args).unwrap();
        assert_eq!(t[0].name, "build");
        assert_eq!(t[0].spec.program(), "pnpm");
        assert_eq!(t[1].name, "api");
        assert_eq!(t[1].spec.to_string(), "python3 -m http.server 8000");
        // An exact script name wins over NAME=COMMAND parsing.
        assert_eq!(
            resolve_targets(&project(), &["a=b".into()]).unwrap()[0]
                .spec
                .program(),
            "pnpm"
        );
    }

    #[test]
    fn bad_targets_say_what_is_available() {
        let e = |a: &[&str]| {
            resolve_targets(
                &project(),
                &a.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
            .unwrap_err()
        };
        assert!(e(&["nope"]).contains("available scripts: build, a=b"));
        assert!(e(&["=x"]).contains("ad-hoc name"));
        assert!(e(&["x="]).contains("missing command"));
        assert!(e(&["build", "build"]).contains("given twice"));
        assert!(e(&["build", "build=echo"]).contains("given twice"));
    }
}
