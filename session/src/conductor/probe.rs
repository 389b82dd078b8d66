//! Readiness probes. An exec probe is a supervised process of its own, on a supervisor kept
//! for probes (own process group, the tag, the watchdog: nothing outlives procsnap however it
//! ends), killed at its timeout; its exit wakes the conductor. An HTTP probe is one bounded
//! connect and request on a short-lived thread. Nothing polls.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use procsnap::orchestrate::{Orchestrator, ProbeTiming, UnitId};
use procsnap::{Exit, ProcId, Status, Subscription, Supervisor, SupervisorConfig, SupervisorEvent};

use super::Msg;
use crate::def::Check;

/// Events the probe supervisor's subscription keeps (probes are few).
const PROBE_EVENTS: usize = 256;
/// Output kept per probe run (nobody reads it; a probe that floods is bounded).
const PROBE_LOG_BYTES: usize = 16 * 1024;

/// An exec probe in flight.
struct Active {
    unit: UnitId,
    /// The process it checks.
    process: ProcId,
    deadline: Instant,
    timeout: Duration,
}

/// The probes of one session.
#[derive(Default)]
pub(crate) struct Probes {
    /// Started on the first exec probe.
    sup: Option<(Arc<Supervisor>, Subscription<SupervisorEvent>)>,
    active: HashMap<ProcId, Active>,
    /// Whether the probe supervisor should run a watchdog.
    pub(crate) watchdog: bool,
}

impl Probes {
    /// No probe yet; `watchdog`: whether the probe supervisor runs one.
    pub(crate) fn new(watchdog: bool) -> Probes {
        Probes {
            watchdog,
            ..Probes::default()
        }
    }

    /// Runs `check` for `process` of `unit`; its outcome comes back as a message (HTTP) or an
    /// event of the probe supervisor (exec).
    pub(crate) fn start(
        &mut self,
        unit: UnitId,
        process: ProcId,
        check: Check,
        timing: ProbeTiming,
        tx: &Sender<Msg>,
    ) {
        let timeout = timing.timeout;
        match check {
            Check::Http { host, port, path } => {
                let on_thread = tx.clone();
                let run = move || {
                    let outcome = match http_get(&host, port, &path, timeout) {
                        Ok(code) if (200..400).contains(&code) => Ok(()),
                        Ok(code) => Err(format!("HTTP {code}")),
                        Err(e) => Err(e),
                    };
                    let _ = on_thread.send(Msg::ProbeDone {
                        unit,
                        process,
                        outcome,
                    });
                };
                let spawned = std::thread::Builder::new()
                    .name("procsnap-probe".into())
                    .spawn(run);
                if let Err(e) = spawned {
                    let _ = tx.send(Msg::ProbeDone {
                        unit,
                        process,
                        outcome: Err(format!("cannot start a probe thread: {e}")),
                    });
                }
            }
            Check::Exec(spec) => {
                let outcome = self.supervisor(tx).and_then(|sup| {
                    sup.spawn("probe", spec)
                        .map_err(|e| format!("cannot run the probe: {e}"))
                });
                match outcome {
                    Ok(p) => {
                        let active = Active {
                            unit,
                            process,
                            deadline: Instant::now() + timeout,
                            timeout,
                        };
                        self.active.insert(p.id(), active);
                    }
                    Err(why) => {
                        let _ = tx.send(Msg::ProbeDone {
                            unit,
                            process,
                            outcome: Err(why),
                        });
                    }
                }
            }
        }
    }

    /// The probe supervisor, started on first use; its events wake the conductor.
    fn supervisor(&mut self, tx: &Sender<Msg>) -> Result<Arc<Supervisor>, String> {
        if let Some((sup, _)) = &self.sup {
            return Ok(sup.clone());
        }
        let cfg = SupervisorConfig::default()
            .grace(Duration::ZERO)
            .event_capacity(PROBE_EVENTS)
            .log_bytes(PROBE_LOG_BYTES)
            .watchdog(self.watchdog);
        let sup = Supervisor::with_config(cfg)
            .map(Arc::new)
            .map_err(|e| format!("cannot start the probe supervisor: {e}"))?;
        let events = sup.subscribe();
        let waker = tx.clone();
        events.set_waker(move || {
            let _ = waker.send(Msg::Wake);
        });
        self.sup = Some((sup.clone(), events));
        Ok(sup)
    }

    /// Takes the ends of exec probes to the policy; true if it was told something.
    pub(crate) fn take_events(
        &mut self,
        orch: &mut Orchestrator,
        current: &[Option<ProcId>],
    ) -> bool {
        let Some((sup, events)) = &self.sup else {
            return false;
        };
        let mut told = false;
        let mut ended = Vec::new();
        for ev in events.drain(PROBE_EVENTS) {
            if let SupervisorEvent::State { id, state } = ev
                && state.is_finished()
                && let Some(a) = self.active.remove(&id)
            {
                let outcome = match (state.status, state.exit) {
                    (Status::Success, _) => Ok(()),
                    (_, Some(Exit::Code(c))) => Err(format!("exit code {c}")),
                    (_, Some(Exit::Signal(s))) => Err(format!("killed by signal {s}")),
                    _ => Err("failed".to_owned()),
                };
                ended.push((a, outcome));
            }
        }
        if !ended.is_empty() {
            sup.registry().remove_finished();
        }
        for (a, outcome) in ended {
            told |= self.finish(a, outcome, orch, current);
        }
        told
    }

    fn finish(
        &mut self,
        a: Active,
        outcome: Result<(), String>,
        orch: &mut Orchestrator,
        current: &[Option<ProcId>],
    ) -> bool {
        if current[a.unit.index()] != Some(a.process) {
            return false;
        }
        orch.probe_result(a.unit, outcome, Instant::now());
        true
    }

    /// Arms the wake-up of the probe supervisor's events before the conductor sleeps; false
    /// if some are waiting (take them first).
    pub(crate) fn park(&self) -> bool {
        self.sup.as_ref().is_none_or(|(_, events)| events.park())
    }

    /// The earliest timeout of an exec probe in flight.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.active.values().map(|a| a.deadline).min()
    }

    /// Kills the exec probes past their timeout and reports them failed; true if the policy
    /// was told something.
    pub(crate) fn expire(
        &mut self,
        now: Instant,
        orch: &mut Orchestrator,
        current: &[Option<ProcId>],
    ) -> bool {
        let Some(sup) = self.sup.as_ref().map(|(s, _)| s.clone()) else {
            return false;
        };
        let late: Vec<ProcId> = self
            .active
            .iter()
            .filter(|(_, a)| a.deadline <= now)
            .map(|(&id, _)| id)
            .collect();
        let mut told = false;
        for id in late {
            let Some(a) = self.active.remove(&id) else {
                continue;
            };
            let sup = sup.clone();
            // SIGKILL to its group; the reap happens on the probe supervisor's thread.
            let _ = std::thread::Builder::new()
                .name("procsnap-probe-kill".into())
                .spawn(move || {
                    let _ = sup.stop(id, Duration::ZERO);
                });
            let why = timed_out(a.timeout);
            told |= self.finish(a, Err(why), orch, current);
        }
        told
    }
}

fn timed_out(timeout: Duration) -> String {
    format!("timed out after {}", super::short(timeout))
}

/// A socket error in a few words: `connection refused`, `timed out after 1s`, …
fn io_words(e: &io::Error, timeout: Duration) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timed_out(timeout),
        _ => e.to_string(),
    }
}

/// `GET path` over HTTP/1.1 to `host:port`: the response's status code, within `timeout`
/// for everything (name lookup aside: `localhost` and addresses need none).
pub fn http_get(host: &str, port: u16, path: &str, timeout: Duration) -> Result<u16, String> {
    let end = Instant::now() + timeout;
    let left = || end.saturating_duration_since(Instant::now());
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = String::from("no address");
    for addr in addrs {
        if left().is_zero() {
            return Err(timed_out(timeout));
        }
        let mut stream = match TcpStream::connect_timeout(&addr, left()) {
            Ok(s) => s,
            Err(e) => {
                last = io_words(&e, timeout);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: procsnap\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n"
        );
        let words = |e: io::Error| io_words(&e, timeout);
        stream
            .set_write_timeout(Some(left().max(Duration::from_millis(1))))
            .map_err(words)?;
        stream.write_all(request.as_bytes()).map_err(words)?;
        return read_status(&mut stream, &left, timeout);
    }
    Err(last)
}

/// Reads up to the end of the status line and returns its code.
fn read_status(
    stream: &mut TcpStream,
    left: &dyn Fn() -> Duration,
    timeout: Duration,
) -> Result<u16, String> {
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') {
        if head.len() > 4096 {
            return Err("no status line in the first 4 KiB".to_owned());
        }
        let wait = left();
        if wait.is_zero() {
            return Err(timed_out(timeout));
        }
        stream
            .set_read_timeout(Some(wait))
            .map_err(|e| io_words(&e, timeout))?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_words(&e, timeout)),
        };
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().and_then(|c| c.parse().ok())) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => Ok(code),
        _ => Err(format!("not an HTTP status line: {line:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-request server answering `response` on a free port.
    fn serve(response: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(response.as_bytes());
            }
        });
        port
    }

    #[test]
    fn http_statuses_decide() {
        let t = Duration::from_secs(5);
        let ok = serve("HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(http_get("127.0.0.1", ok, "/", t), Ok(204));
        let redirect = serve("HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n");
        assert_eq!(http_get("localhost", redirect, "/", t), Ok(302));
        let bad = serve("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(http_get("127.0.0.1", bad, "/health", t), Ok(503));
        let junk = serve("hello\r\n");
        assert!(http_get("127.0.0.1", junk, "/", t).is_err());
    }

    #[test]
    fn nobody_listening_fails_and_silence_times_out() {
        let free = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        assert_eq!(
            http_get("127.0.0.1", port, "/", Duration::from_secs(2)),
            Err("connection refused".to_owned())
        );
        // Accepts (the kernel does) but never answers.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let start = Instant::now();
        let r = http_get("127.0.0.1", port, "/", Duration::from_millis(300));
        assert_eq!(r, Err("timed out after 300ms".to_owned()));
        assert!(start.elapsed() < Duration::from_secs(3));
        drop(silent);
    }
}
