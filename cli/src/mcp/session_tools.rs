//! The tools a control-socket client has beyond stdio's: who owns the session, starting names
//! as this client's job, and following events (this job's without loss, or everything's).
//!
//! Each connection is one client: the job it starts with `session_start {job: true}` is
//! stopped when it ends the job (`session_end_job`) or goes away (closed, dropped, killed);
//! what it found running is only adopted. `session_events {scope: "job"}` returns the job's
//! lines, state changes and notices in order, none dropped: while the client has not taken
//! them, the session holds back the output of the job's own processes only.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use procsnap::ProcId;
use procsnap::orchestrate::Phase;
use procsnap_session::{
    Filter, JobId, Observer, Owner, Pace, Session, SessionEvent, Started, Tone,
};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

use super::{Server, blocking};
use crate::control::server::OwnerInfo;

/// Events a job's observer holds before the session holds back the job's processes.
const JOB_HIGH_WATER: usize = 1024;
/// Events kept for a follower of everything (older ones are dropped, and counted).
const ALL_CAPACITY: usize = 4096;
/// The longest `waitMs` honoured.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// Events in one reply at most.
const MAX_EVENTS: usize = 512;

/// One connection's state.
pub struct Conn {
    owner: OwnerInfo,
    job: Mutex<Option<(JobId, Arc<Observer>)>>,
    all: Mutex<Option<Arc<Observer>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Conn {
    pub fn new(owner: OwnerInfo) -> Conn {
        Conn {
            owner,
            job: Mutex::new(None),
            all: Mutex::new(None),
        }
    }

    /// This connection's job, made (with its lossless observer) on first use.
    fn job(&self, session: &Session) -> (JobId, Arc<Observer>) {
        let mut job = lock(&self.job);
        job.get_or_insert_with(|| {
            let id = session.new_job();
            let events = session.observe(
                Filter::Owner(Owner::Job(id)),
                Pace::Lossless(JOB_HIGH_WATER),
            );
            (id, Arc::new(events))
        })
        .clone()
    }

    /// Ends this connection's job, if it has one: everything it started stops.
    pub fn end_job(&self, session: &Session) {
        if let Some((id, _)) = lock(&self.job).take() {
            session.end_job(id);
        }
    }
}

/// `session_info` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub pid: u32,
    /// The face that owns the session: `up`, `tui`, `mcp`.
    pub face: String,
    pub project: String,
    pub config: Option<String>,
    pub started: String,
}

/// `session_signal_job` parameters.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SignalParams {
    /// `SIGTSTP` (suspend) or `SIGCONT` (resume).
    pub signal: String,
}

/// `session_signal_job` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct JobSignalled {
    pub signalled: bool,
}

/// `session_start` parameters.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StartParams {
    /// Names to start, each after its dependencies, as one request.
    pub names: Vec<String>,
    /// Start them as this client's job (stopped when it ends the job or goes away); else
    /// detached (they run until stopped or until the session ends).
    #[serde(default)]
    pub job: bool,
}

/// What a start did for one name.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartedName {
    pub name: String,
    /// `new`, `running` (a duplicate: nothing new started), `pending` (waits for its
    /// dependencies, a backoff or the end of its stop), `failed`.
    pub outcome: String,
    pub process_id: Option<String>,
    pub message: Option<String>,
}

/// `session_start` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SessionStart {
    pub started: Vec<StartedName>,
}

/// `session_events` parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventsParams {
    /// `job` (this client's job, nothing dropped; the default) or `all` (every process, the
    /// oldest dropped if the client falls behind).
    pub scope: Option<String>,
    /// How long to wait for the first event, in ms (at most 10000; default 0).
    pub wait_ms: Option<u64>,
}

/// One event, as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent {
    /// `line`, `state`, `notice`, `board`, `closing`.
    pub kind: String,
    pub process_id: Option<String>,
    pub name: Option<String>,
    /// `stdout` or `stderr`, for a line.
    pub stream: Option<String>,
    /// The line's sequence number (as in log ids: `<processId>-<seq>`).
    pub seq: Option<u64>,
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The status, for a state change.
    pub status: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_us: Option<u64>,
    /// For a state change: the pid, the start and end times (RFC 3339), the restarts so far.
    pub pid: Option<u32>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub restarts: Option<u32>,
    /// `good`, `bad` or `info`, for a notice.
    pub tone: Option<String>,
}

/// `session_events` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionEvents {
    pub events: Vec<WireEvent>,
    /// Nothing of this job is waiting, starting, running or stopping (job scope).
    pub settled: bool,
    /// A process of this job ended in failure for good (job scope): a failed run that its
    /// policy restarted does not count.
    #[serde(default)]
    pub failed: bool,
    /// The session is shutting down: its owner is ending.
    pub closing: bool,
    /// Events dropped for this client so far (all scope).
    pub dropped: u64,
}

/// `session_end_job` result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct JobEnded {
    pub ended: bool,
}

/// A process's label and name, if the session still has them.
fn who(session: &Session, id: ProcId) -> (Option<String>, Option<String>) {
    (session.label_of(id), session.name_of(id))
}

/// `ev` as sent.
pub fn wire(session: &Session, ev: SessionEvent) -> Option<WireEvent> {
    Some(match ev {
        SessionEvent::Line { id, line } => {
            let (process_id, name) = who(session, id);
            WireEvent {
                kind: "line".into(),
                process_id,
                name,
                stream: Some(line.stream.as_str().to_owned()),
                seq: Some(line.seq),
                text: Some(line.text.to_string()),
                truncated: line.truncated,
                ..WireEvent::default()
            }
        }
        SessionEvent::State { id, state } => {
            let (process_id, name) = who(session, id);
            WireEvent {
                kind: "state".into(),
                process_id,
                name,
                status: Some(state.status.as_str().to_owned()),
                exit_code: state.exit.and_then(|e| e.code()),
                signal: state.exit.and_then(|e| e.signal()),
                duration_us: state.duration().map(|d| d.as_micros() as u64),
                pid: state.pid,
                start_time: state.started_at.map(crate::timefmt::rfc3339),
                end_time: state.ended_at.map(crate::timefmt::rfc3339),
                restarts: Some(state.restarts),
                ..WireEvent::default()
            }
        }
        SessionEvent::Notice(n) => WireEvent {
            kind: "notice".into(),
            name: Some(n.name),
            text: Some(n.text),
            tone: Some(
                match n.tone {
                    Tone::Good => "good",
                    Tone::Bad => "bad",
                    Tone::Info => "info",
                }
                .to_owned(),
            ),
            ..WireEvent::default()
        },
        SessionEvent::Board => WireEvent {
            kind: "board".into(),
            ..WireEvent::default()
        },
        SessionEvent::Closing => WireEvent {
            kind: "closing".into(),
            ..WireEvent::default()
        },
        _ => return None,
    })
}

impl Server {
    fn conn(&self) -> Result<&Arc<Conn>, String> {
        self.conn
            .as_ref()
            .ok_or_else(|| "only a control-socket client has a job".to_owned())
    }
}

#[tool_router(router = session_tools, vis = "pub(crate)")]
impl Server {
    #[tool(
        description = "Who owns this live session: its pid, face (up, tui, mcp), project directory, configuration file and start time."
    )]
    async fn session_info(&self) -> Result<Json<SessionInfo>, String> {
        let o = &self.conn()?.owner;
        Ok(Json(SessionInfo {
            pid: o.pid,
            face: o.face.clone(),
            project: o.project.clone(),
            config: o.config.clone(),
            started: o.started.clone(),
        }))
    }

    #[tool(
        description = "Start names (each after its dependencies) in one request, as this client's job (job=true: stopped when the client ends its job or goes away) or detached. A name already running is adopted, never stopped by this client."
    )]
    async fn session_start(
        &self,
        Parameters(p): Parameters<StartParams>,
    ) -> Result<Json<SessionStart>, String> {
        let conn = self.conn()?.clone();
        let session = self.session.clone();
        let started = blocking(move || {
            let owner = if p.job {
                Owner::Job(conn.job(&session).0)
            } else {
                Owner::Detached
            };
            let names: Vec<&str> = p.names.iter().map(String::as_str).collect();
            let answers = session.start(&names, owner)?;
            Ok::<_, String>(
                p.names
                    .iter()
                    .zip(answers)
                    .map(|(name, a)| started_name(&session, name, a))
                    .collect(),
            )
        })
        .await??;
        Ok(Json(SessionStart { started }))
    }

    #[tool(
        description = "The next events of this client's job (scope=job: lines, state changes, notices, in order, none dropped) or of every process (scope=all), waiting up to waitMs for the first."
    )]
    async fn session_events(
        &self,
        Parameters(p): Parameters<EventsParams>,
    ) -> Result<Json<SessionEvents>, String> {
        let conn = self.conn()?.clone();
        let session = self.session.clone();
        let wait = Duration::from_millis(p.wait_ms.unwrap_or(0)).min(MAX_WAIT);
        let all = match p.scope.as_deref() {
            None | Some("job") => false,
            Some("all") => true,
            Some(other) => return Err(format!("scope {other:?}: expected \"job\" or \"all\"")),
        };
        let answer = blocking(move || {
            let (observer, job) = if all {
                let o = lock(&conn.all)
                    .get_or_insert_with(|| {
                        Arc::new(session.observe(Filter::All, Pace::Bounded(ALL_CAPACITY)))
                    })
                    .clone();
                (o, None)
            } else {
                let (job, o) = conn.job(&session);
                (o, Some(job))
            };
            let raw = observer.wait(MAX_EVENTS, wait);
            let board = session.board();
            let mine = || {
                board
                    .units
                    .iter()
                    .filter(move |u| job.is_some_and(|j| u.owner == Owner::Job(j)))
            };
            SessionEvents {
                events: raw.into_iter().filter_map(|e| wire(&session, e)).collect(),
                settled: job.is_none() || mine().all(|u| !u.phase.is_live()),
                failed: mine().any(|u| matches!(u.phase, Phase::Done(o) if o.is_failure())),
                closing: board.shutting_down || observer.is_closed(),
                dropped: observer.dropped(),
            }
        })
        .await?;
        Ok(Json(answer))
    }

    #[tool(
        description = "Job control for this client's job: SIGTSTP suspends the process group of each of its live processes, SIGCONT resumes them (a joined `run` on Ctrl-Z and `fg`). Nobody else's processes are touched."
    )]
    async fn session_signal_job(
        &self,
        Parameters(p): Parameters<SignalParams>,
    ) -> Result<Json<JobSignalled>, String> {
        let signal = match procsnap::Signal::from_name(&p.signal) {
            Some(s) if s == procsnap::Signal::TSTP || s == procsnap::Signal::CONT => s,
            _ => {
                return Err(format!(
                    "signal {:?}: expected SIGTSTP or SIGCONT",
                    p.signal
                ));
            }
        };
        let job = lock(&self.conn()?.job).as_ref().map(|(id, _)| *id);
        if let Some(id) = job {
            let session = self.session.clone();
            blocking(move || session.signal_job(id, signal.as_raw())).await?;
        }
        Ok(Json(JobSignalled {
            signalled: job.is_some(),
        }))
    }

    #[tool(
        description = "End this client's job: everything it started stops (each with its own shutdown signal); what it adopted keeps running."
    )]
    async fn session_end_job(&self) -> Result<Json<JobEnded>, String> {
        let conn = self.conn()?;
        let ended = lock(&conn.job).is_some();
        if let Some((id, _)) = lock(&conn.job).as_ref() {
            self.session.end_job(*id);
        }
        Ok(Json(JobEnded { ended }))
    }
}

fn started_name(session: &Session, name: &str, a: Started) -> StartedName {
    let label = |id: ProcId| session.label_of(id);
    let (outcome, process_id, message) = match a {
        Started::New(id) => ("new", label(id), None),
        Started::Running(id) => ("running", label(id), Some("already running".to_owned())),
        Started::Pending { previous } => (
            "pending",
            None,
            Some(match previous {
                Some(_) => {
                    "starts once its current process has stopped, or after its wait".to_owned()
                }
                None => "waits for its dependencies or a restart backoff".to_owned(),
            }),
        ),
        Started::Failed(why) => ("failed", None, Some(why)),
        _ => ("pending", None, None),
    };
    StartedName {
        name: name.to_owned(),
        outcome: outcome.to_owned(),
        process_id,
        message,
    }
}
