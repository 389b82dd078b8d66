//! `procsnap run`: scripts in the foreground with prefixed output.
//!
//! Every target runs in its own process group on the Supervisor. Output arrives as
//! `SupervisorEvent::Line`s through one subscription taken before the first spawn, so no line is
//! missed and lines print in capture order; a process's final `State` event comes after all of
//! its lines, so its status line follows its output. Ctrl-C or SIGTERM stops every group
//! (SIGTERM, then SIGKILL after the grace period); a second Ctrl-C kills them at once.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use procsnap::{CommandSpec, ProcId, ProcessState, Status, SupervisorEvent};

use crate::project::Project;
use crate::style::Prefixer;

/// How long a status line learnt from the state cell (its event was dropped) waits for output
/// events still queued.
const STATUS_DELAY: Duration = Duration::from_millis(100);
/// How often the event queue is drained while there is work.
const TICK: Duration = Duration::from_millis(10);
/// The longest sleep while idle (no event, nothing to print): a safety net, since a published
/// event wakes the loop at once.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// Undelivered events our subscription keeps before the oldest are dropped (and counted): at
/// most 64 MiB even if every line is at the 16 KiB cap, ~0.5 MiB for typical lines.
const EVENT_CAPACITY: usize = 4096;
/// Formatted output handed to the writer thread at once (a tick stops draining events there).
const CHUNK_BYTES: usize = 1 << 20;
/// Chunks the writer thread may hold before the event loop waits for it.
const WRITER_CHUNKS: usize = 4;
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
    slot: usize,
    /// Set when the process reached a terminal state: print the status line at this instant.
    ended: Option<(Instant, ProcessState)>,
    reported: bool,
}

/// Why the foreground run ended early.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    None,
    Int,
    Term,
    /// stdout was closed (EPIPE).
    Pipe,
}

/// Stdout, written by a thread of its own.
///
/// The event loop formats a tick's output into a buffer and hands it over without blocking. A
/// reader that stops reading (a paused pager, Ctrl-S, a stalled ssh session) then blocks only
/// the writer thread: signals are still handled, and while the writer is behind the loop stops
/// draining events, so the subscription's bound (oldest events dropped, and counted) is what
/// limits memory, not a growing buffer.
struct Out {
    buf: Vec<u8>,
    /// A chunk the writer could not take yet.
    pending: Option<Vec<u8>>,
    tx: Option<SyncSender<Vec<u8>>>,
    broken: Arc<AtomicBool>,
    /// Closed (disconnected) when the writer thread ends.
    finished: Receiver<()>,
}

impl Out {
    fn new() -> Out {
        let (tx, rx) = sync_channel::<Vec<u8>>(WRITER_CHUNKS);
        let (done_tx, finished) = sync_channel::<()>(0);
        let broken = Arc::new(AtomicBool::new(false));
        let flag = broken.clone();
        let spawned = std::thread::Builder::new()
            .name("procsnap-stdout".into())
            .spawn(move || {
                let _done = done_tx; // dropped when this thread ends
                let mut stdout = std::io::stdout().lock();
                for chunk in rx {
                    // Relaxed: a flag polled once per tick; it orders no other data.
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
            buf: Vec::with_capacity(64 * 1024),
            pending: None,
            tx: Some(tx),
            broken,
            finished,
        }
    }

    fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = self.buf.write_fmt(args); // writing into a Vec cannot fail
    }

    /// True when this tick's output is big enough to hand over before formatting more.
    fn full(&self) -> bool {
        self.buf.len() >= CHUNK_BYTES
    }

    /// True while the writer has not taken everything handed to it.
    fn behind(&self) -> bool {
        self.pending.is_some()
    }

    /// True once stdout failed (EPIPE: `procsnap run … | head`).
    fn broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// Hands the buffered output to the writer, never blocking.
    fn flush(&mut self) {
        if self.pending.is_none() && !self.buf.is_empty() {
            self.pending = Some(std::mem::replace(
                &mut self.buf,
                Vec::with_capacity(64 * 1024),
            ));
        }
        let (Some(tx), Some(chunk)) = (&self.tx, self.pending.take()) else {
            return;
        };
        match tx.try_send(chunk) {
            Ok(()) => {}
            Err(TrySendError::Full(chunk)) => self.pending = Some(chunk),
            Err(TrySendError::Disconnected(_)) => self.broken.store(true, Ordering::Relaxed),
        }
    }

    /// Hands over what is left and waits for the writer to write it: as long as it takes when
    /// `limit` is `None`, else at most `limit` (after an interrupt a blocked stdout must not
    /// keep us alive).
    fn finish(mut self, limit: Option<Duration>) {
        let end = limit.map(|l| Instant::now() + l);
        loop {
            self.flush();
            if !self.behind() || self.tx.is_none() {
                break;
            }
            if end.is_some_and(|e| Instant::now() >= e) {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(self.tx.take()); // the writer ends after the last chunk
        let _ = match end {
            None => self.finished.recv().map_err(|_| ()),
            Some(e) => self
                .finished
                .recv_timeout(e.saturating_duration_since(Instant::now()))
                .map_err(|_| ()),
        };
    }
}

/// `writeln!` into an [`Out`].
macro_rules! out_writeln {
    ($out:expr, $($arg:tt)*) => {{
        $out.write_fmt(format_args!($($arg)*));
        $out.write_fmt(format_args!("\n"));
    }};
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
    use tokio::signal::unix::{SignalKind, signal};

    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("procsnap: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sup = match crate::supervisor(grace, EVENT_CAPACITY) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("procsnap: cannot start the supervisor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let prefixer = Prefixer::new(targets.iter().map(|t| t.name.as_str()), color);
    let events = sup.subscribe();
    // Idle, the loop sleeps until the next event rather than ticking.
    let wake = Arc::new(tokio::sync::Notify::new());
    let waker = wake.clone();
    events.set_waker(move || waker.notify_one());
    let mut out = Out::new();
    let mut tracked: HashMap<ProcId, Tracked> = HashMap::new();
    let mut failed_to_start = false;

    for (slot, t) in targets.into_iter().enumerate() {
        match sup.spawn(&t.name, t.spec) {
            Ok(p) => {
                tracked.insert(
                    p.id(),
                    Tracked {
                        name: t.name,
                        slot,
                        ended: None,
                        reported: false,
                    },
                );
            }
            Err(e) => {
                failed_to_start = true;
                out_writeln!(
                    out,
                    "{}failed to start: {e}",
                    prefixer.prefix(&t.name, slot)
                );
            }
        }
    }

    let mut interrupt = Interrupt::None;
    let mut kills_sent = false;
    let mut dropped_seen = 0;
    while !tracked.values().all(|t| t.reported) {
        // Busy (events queued, output waiting for the writer, a status line due): drain again
        // after a tick, which batches output. Idle: sleep until an event is published (the
        // queue wakes us), a signal, or the slow tick that re-checks the state cells.
        let status_due = tracked.values().any(|t| t.ended.is_some() && !t.reported);
        let idle = !out.behind() && !status_due && events.park();
        tokio::select! {
            _ = tokio::time::sleep(if idle { IDLE_TICK } else { TICK }) => {}
            _ = wake.notified(), if idle => {}
            _ = sigint.recv() => {
                if interrupt == Interrupt::None {
                    interrupt = Interrupt::Int;
                    out_writeln!(out, "procsnap: stopping all (Ctrl-C again to kill)");
                    let s = sup.clone();
                    tokio::task::spawn_blocking(move || s.stop_all(grace));
                } else if !kills_sent {
                    kills_sent = true;
                    out_writeln!(out, "procsnap: killing all");
                    let s = sup.clone();
                    tokio::task::spawn_blocking(move || s.stop_all(Duration::ZERO));
                }
            }
            _ = sigterm.recv() => {
                if interrupt == Interrupt::None {
                    interrupt = Interrupt::Term;
                    let s = sup.clone();
                    tokio::task::spawn_blocking(move || s.stop_all(grace));
                }
            }
        }
        // While the writer is behind (stdout blocked), events wait in the bounded subscription.
        out.flush();
        while !out.behind() && !out.full() {
            let Some(ev) = events.pop() else { break };
            match ev {
                SupervisorEvent::Line { id, line } => {
                    if let Some(t) = tracked.get(&id) {
                        out_writeln!(
                            out,
                            "{}",
                            prefixer.line(&t.name, t.slot, &line.text, line.truncated)
                        );
                    }
                }
                SupervisorEvent::State { id, state } => {
                    if let Some(t) = tracked.get_mut(&id)
                        && state.is_finished()
                        && t.ended.is_none()
                    {
                        // The reaper publishes the final state only after the group is
                        // empty and its pipes are drained: every line is already printed.
                        t.ended = Some((Instant::now(), state));
                    }
                }
            }
        }
        // Nobody reads our output any more (`procsnap run … | head`): stop like SIGTERM.
        if out.broken() && interrupt == Interrupt::None {
            interrupt = Interrupt::Pipe;
            let s = sup.clone();
            tokio::task::spawn_blocking(move || s.stop_all(grace));
        }
        // Reported once the writer has caught up, as one line for the whole gap.
        let dropped = events.dropped();
        if dropped > dropped_seen && !out.behind() {
            out_writeln!(
                out,
                "procsnap: {} output events dropped (output too fast for this terminal)",
                dropped - dropped_seen
            );
            dropped_seen = dropped;
        }
        // A missed State event (queue overflow) must not hang us: trust the cell too.
        let registry = sup.registry();
        for (id, t) in tracked.iter_mut() {
            if t.ended.is_none()
                && let Some(p) = registry.get(*id)
            {
                let s = p.state().snapshot();
                if s.is_finished() {
                    t.ended = Some((Instant::now() + STATUS_DELAY, s));
                }
            }
        }
        let now = Instant::now();
        let mut due: Vec<_> = tracked
            .values_mut()
            .filter(|t| !t.reported && t.ended.is_some_and(|(at, _)| at <= now))
            .collect();
        due.sort_by_key(|t| t.slot);
        for t in due {
            t.reported = true;
            let (_, s) = t.ended.expect("filtered on is_some");
            out_writeln!(
                out,
                "{}",
                prefixer.status(&t.name, t.slot, s.status, s.exit, s.duration())
            );
        }
        out.flush();
    }
    out.finish((interrupt != Interrupt::None).then_some(FINAL_WRITE_LIMIT));

    let any_failed = failed_to_start
        || tracked
            .values()
            .any(|t| t.ended.is_some_and(|(_, s)| s.status == Status::Failed));
    match (any_failed, interrupt) {
        (true, _) => ExitCode::FAILURE,
        (false, Interrupt::Int) => ExitCode::from(130),
        (false, Interrupt::Term) => ExitCode::from(143),
        (false, Interrupt::Pipe) => ExitCode::from(141),
        (false, Interrupt::None) => ExitCode::SUCCESS,
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
