//! `procsnap mcp`: the project's scripts as MCP tools.
//!
//! Only names the project declares can be started (no arbitrary command from a client). The
//! tools are a face of the [`Session`]: starts, stops and restarts go through its rules
//! (a running name is a duplicate, a finished process never is, a start during a stop waits
//! for the stop, a stop is final), so an agent and a developer's terminal see and do the same
//! thing. Each result carries both `structuredContent` and the same JSON as text content
//! (rmcp's `Json<T>` emits both). Tool failures (unknown script or processId, bad regex or
//! time) are `isError` results that say what is available. stdout carries only protocol;
//! diagnostics go to stderr.

mod bridge;
mod configured;
pub mod session_tools;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use procsnap_session::{Origin, Owner, Session, Stopping};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};

use crate::answers;
use crate::compose::Stack;
use crate::project::Project;
use crate::safe::clip;
use crate::transport::{self, Connection, Ended};
use crate::wire::{
    LogsSearch, LogsStream, ProcessParams, RunParams, ScriptsList, ScriptsRestart, ScriptsRun,
    ScriptsStatus, ScriptsStop, SearchParams, StatusParams, StopParams, StreamParams,
};

/// The MCP server: a face of one session.
#[derive(Clone)]
pub struct Server {
    session: Arc<Session>,
    /// The project directory: package.json and the Procfile are re-read from it.
    dir: Arc<std::path::Path>,
    /// Who this client is, for the other faces' output ("restart asked by …").
    who: Arc<str>,
    /// A control-socket client's connection (its job), `None` on stdio.
    conn: Option<Arc<session_tools::Conn>>,
    /// On stdio: where calls go (the live session's owner, or here).
    bridge: Option<Arc<bridge::Bridge>>,
    tool_router: ToolRouter<Server>,
}

/// Runs blocking session work off the runtime thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("internal error: {e}"))
}

/// How long the last replies may take to reach a client once every group is stopped.
const FINAL_WRITE_LIMIT: Duration = Duration::from_secs(1);
/// How long a reply may wait for the stdio client to read before it is dropped: a day (see
/// `serve`).
const STDIO_STALL: Duration = Duration::from_secs(24 * 60 * 60);

impl Server {
    /// The project as it is on disk now: package.json and the Procfile are re-read on each
    /// call that needs them (two small files), so scripts added or edited while the server runs
    /// are seen, and a file broken meanwhile is reported with its position.
    fn project(&self) -> Result<Project, String> {
        Project::discover(&self.dir).map_err(|e| e.to_string())
    }

    /// The names a client can run, for error messages: the declared scripts, then the
    /// configured processes that are not scripts too.
    fn runnable(&self, project: &Project) -> String {
        let stack = self.session.stack();
        let extra: Vec<&str> = stack
            .procs
            .iter()
            .filter(|p| p.origin == Origin::Configured)
            .map(|p| p.name.as_str())
            .filter(|n| project.script(n).is_none())
            .collect();
        match (project.scripts.is_empty(), extra.is_empty()) {
            (_, true) => project.names(),
            (true, false) => extra.join(", "),
            (false, false) => format!("{}, {}", project.names(), extra.join(", ")),
        }
    }

    /// [`project`](Self::project) off the runtime thread: a slow file system (or a FIFO where
    /// package.json should be) must not stall the other requests.
    async fn load_project(&self) -> Result<Project, String> {
        let dir = self.dir.clone();
        blocking(move || Project::discover(&dir).map_err(|e| e.to_string())).await?
    }

    /// The configured process called `name`, if there is one.
    fn configured(&self, name: &str) -> Option<procsnap_session::Proc> {
        self.session
            .stack()
            .proc(name)
            .filter(|p| p.origin == Origin::Configured)
            .cloned()
    }
}

#[tool_router]
impl Server {
    /// A server for `session`, whose scripts are re-read from `dir`; `who` names the client
    /// in the other faces' output.
    pub fn new(session: Arc<Session>, dir: &std::path::Path, who: &str) -> Server {
        Server {
            session,
            dir: dir.into(),
            who: who.into(),
            conn: None,
            bridge: None,
            tool_router: Self::tool_router(),
        }
    }

    /// A server for one control-socket client of `session`, owned as `owner` says: the
    /// stdio tools and the session tools (jobs, events; see [`session_tools`]).
    pub fn for_client(
        session: Arc<Session>,
        dir: &std::path::Path,
        who: &str,
        owner: crate::control::server::OwnerInfo,
    ) -> Server {
        Server {
            conn: Some(Arc::new(session_tools::Conn::new(owner))),
            tool_router: Self::tool_router() + Self::session_tools(),
            ..Server::new(session, dir, who)
        }
    }

    /// The client has gone: the job it started stops (what it adopted keeps running).
    pub fn client_left(&self) {
        if let Some(c) = &self.conn {
            c.end_job(&self.session);
        }
    }

    #[tool(
        description = "List the scripts this project declares (package.json scripts, Procfile entries, and processes configured in procsnap.yaml or process-compose.yaml, with their dependencies, readiness checks and restart policies). Only these can be started with scripts_run."
    )]
    async fn scripts_list(&self) -> Result<Json<ScriptsList>, String> {
        let project = self.load_project().await?;
        Ok(Json(answers::scripts_list(
            &project,
            Some(&self.session.stack()),
        )))
    }

    #[tool(
        description = "Start a declared script in its own process group. If it is already running, nothing new is started: the running process is returned with duplicate=true (a finished process is never a duplicate: a new one starts). If it is stopping, it starts again once the stop has ended. A configured process (procsnap.yaml) starts after its dependencies; the call returns once it has started, or with waitReady=true once it is ready (ready log line seen or readiness probe passed), within timeoutMs (default 30000), or fails saying why not. Returns the processId (name-N) for the other tools."
    )]
    async fn scripts_run(
        &self,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<Json<ScriptsRun>, String> {
        let timeout = p
            .timeout_ms
            .map_or(configured::DEFAULT_TIMEOUT, Duration::from_millis)
            .min(configured::MAX_TIMEOUT);
        let (command, want) = match self.configured(&p.name) {
            Some(proc) => {
                let want = configured::Want {
                    ready: p.wait_ready.unwrap_or(false),
                    timeout,
                    report_ready: true,
                };
                (proc.command, want)
            }
            None => {
                let project = self.load_project().await?;
                let Some(script) = project.script(&p.name) else {
                    return Err(format!(
                        "unknown script {:?}; available scripts: {}",
                        clip(&p.name),
                        self.runnable(&project)
                    ));
                };
                // The script as it is on disk now.
                crate::hosting::define_script(&self.session, &project, script)?;
                let want = configured::Want {
                    ready: false,
                    timeout,
                    report_ready: false,
                };
                (script.command.clone(), want)
            }
        };
        let session = self.session.clone();
        let answer = configured::run(session, p.name, Owner::Detached, command, want).await?;
        Ok(Json(answer))
    }

    #[tool(
        description = "Stop a process: its shutdown signal (SIGTERM unless configured) to its whole process group, SIGKILL after the grace period (kill=true: SIGKILL at once). Waits until it has exited. A stop is final: no restart follows, and a process waiting for a restart has that cancelled."
    )]
    async fn scripts_stop(
        &self,
        Parameters(p): Parameters<StopParams>,
    ) -> Result<Json<ScriptsStop>, String> {
        let proc = answers::resolve(self.session.processes(), &p.process_id)?;
        let before = proc.state().snapshot();
        let (session, id, who) = (self.session.clone(), proc.id(), self.who.clone());
        let kill = p.kill;
        let (stopping, after) = blocking(move || {
            let s = session.stop(id, kill, Some(&who));
            let after = match s {
                Stopping::Process(id) => session.wait(id),
                _ => None,
            };
            (s, after)
        })
        .await?;
        let (success, status, message) = match (stopping, after) {
            (Stopping::Cancelled, _) => (
                true,
                before.status,
                Some(format!(
                    "its restart was cancelled ({} was waiting to start again); a stop is final",
                    proc.name()
                )),
            ),
            (Stopping::Process(_), Some(end)) => (true, end.status, None),
            (Stopping::Process(_), None) => {
                return Err(format!("cannot stop {}: it is gone", p.process_id));
            }
            _ => (
                false,
                before.status,
                Some(format!(
                    "already finished: {}",
                    crate::style::describe_end(before.status, before.exit)
                )),
            ),
        };
        Ok(Json(ScriptsStop {
            success,
            process_id: p.process_id,
            status: status.as_str().to_owned(),
            message,
        }))
    }

    #[tool(
        description = "Restart a process: stop it (if still running) and start the same command again as a new process, in the same job. Returns the new processId."
    )]
    async fn scripts_restart(
        &self,
        Parameters(p): Parameters<ProcessParams>,
    ) -> Result<Json<ScriptsRestart>, String> {
        let proc = answers::resolve(self.session.processes(), &p.process_id)?;
        let timeout = self.session.config().grace + Duration::from_secs(10);
        let new = configured::restart(
            self.session.clone(),
            proc.id(),
            self.who.to_string(),
            timeout,
        )
        .await
        .map_err(|e| format!("cannot restart {}: {e}", p.process_id))?;
        let s = new.state().snapshot();
        let restarts = self
            .session
            .board()
            .unit(new.name())
            .map_or(s.restarts, |u| u.restarts);
        Ok(Json(ScriptsRestart {
            success: true,
            process_id: new.label(),
            previous_process_id: p.process_id,
            name: new.name().to_owned(),
            status: s.status.as_str().to_owned(),
            restarts,
        }))
    }

    #[tool(
        description = "Status of every process started in this session (or only those of script `name`): status, pid, startTime, uptime, and for finished ones endTime, duration, exitCode or signal. For processes configured in procsnap.yaml: ready and health on the newest process, and `orchestrated`: each configured process's phase (waiting, running, backoff with nextRestartInMs, gave-up, blocked…), restarts and why it ended."
    )]
    async fn scripts_status(
        &self,
        Parameters(p): Parameters<StatusParams>,
    ) -> Result<Json<ScriptsStatus>, String> {
        let name = p.name.as_deref();
        // A configured process that never ran is known: an empty answer, not an error.
        let configured = name.is_some_and(|n| self.configured(n).is_some());
        let registry = self.session.processes();
        let mut status = if configured {
            answers::status_view(registry, name, std::time::SystemTime::now())
        } else {
            answers::scripts_status(registry, name, || self.project())?
        };
        let board = self.session.board();
        answers::units::annotate(&mut status, &board, name, std::time::Instant::now());
        Ok(Json(status))
    }

    #[tool(
        description = "The most recent output lines (default 100), of all processes or one processId, oldest first. level=error gives stderr lines only, level=info stdout only."
    )]
    async fn logs_stream(
        &self,
        Parameters(p): Parameters<StreamParams>,
    ) -> Result<Json<LogsStream>, String> {
        let session = self.session.clone();
        blocking(move || answers::logs_stream(session.processes(), &p).map(Json)).await?
    }

    #[tool(
        description = "Search captured output: `query` is a case-sensitive substring, or a regular expression with regex=true. Filter by processId, level (error = stderr), since (RFC 3339 time); returns the most recent `limit` matches (default 100), oldest first."
    )]
    async fn logs_search(
        &self,
        Parameters(p): Parameters<SearchParams>,
    ) -> Result<Json<LogsSearch>, String> {
        // Off the runtime thread: a regex over every process's output can take a while.
        let session = self.session.clone();
        blocking(move || answers::logs_search(session.processes(), &p).map(Json)).await?
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "procsnap",
    version = "0.1.0",
    instructions = "Runs this project's package.json scripts and Procfile entries. scripts_list shows what can run; scripts_run starts one (a second call returns the running process with duplicate=true); use the returned processId with scripts_stop, scripts_restart, logs_stream and logs_search. When a developer's procsnap session (procsnap up, procsnap tui) runs for the project, these tools show and drive its processes."
)]
impl ServerHandler for Server {
    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        if let Some(b) = &self.bridge
            && self.tool_router.has_route(&request.name)
            && let bridge::Route::Forwarded(answer) = b.route(&request).await
        {
            return Ok(answer);
        }
        let tcc = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        self.tool_router.call(tcc).await
    }
}

/// Serves MCP on stdin/stdout until EOF, SIGTERM, SIGINT or SIGHUP; then stops every group and
/// exits as soon as they are gone.
pub fn serve(project: Project, stack: Option<Arc<Stack>>, grace: Duration) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("procsnap mcp: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(serve_async(project, stack, grace));
    // A blocking stdin read cannot be cancelled: do not wait for it.
    rt.shutdown_timeout(Duration::from_millis(100));
    code
}

async fn serve_async(project: Project, stack: Option<Arc<Stack>>, grace: Duration) -> ExitCode {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

    // Configured processes start when a client asks (scripts_run), not at once.
    let session = match crate::hosting::open(&project, stack.as_deref(), grace) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("procsnap mcp: cannot start the session: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut signals = match crate::signals::channel(&[SIGTERM, SIGINT, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("procsnap mcp: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let place = crate::control::place::Place::for_project(&project.dir).ok();
    let config = stack.as_ref().map(|s| s.path.clone());
    let server = Server {
        bridge: Some(Arc::new(bridge::Bridge::new(
            place,
            session.clone(),
            config,
        ))),
        ..Server::new(session.clone(), &project.dir, "an MCP client")
    };

    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    // The agent on stdio is this server's only client, often the session's owner: one that
    // stops reading for a while (paused, busy) is waited for, not dropped (which would end
    // the session under the developer's attached UI); meanwhile its requests wait unread and
    // the socket's clients are served. A client of the socket is dropped after the stall.
    let limits = transport::Limits {
        stall: STDIO_STALL,
        ..transport::Limits::default()
    };
    let mut connection = Connection::start(server, stdin, stdout, limits);
    let (why, code) = tokio::select! {
        ended = connection.finished() => {
            let code = match ended {
                Ended::Closed | Ended::LeftBeforeInitialize => ExitCode::SUCCESS,
                Ended::Dropped(_) | Ended::Failed(_) => ExitCode::FAILURE,
            };
            (ended.to_string(), code)
        }
        Some(sig) = signals.recv() => (crate::style::signal_name(sig), ExitCode::SUCCESS),
    };
    // No more requests; those in progress are answered while the processes stop.
    connection.stop_reading();
    eprintln!("procsnap mcp: {why}; stopping all processes");
    let stopper = session.clone();
    let stopping = blocking(move || {
        // In reverse dependency order, each with its own shutdown; no restart from now on.
        stopper.shutdown(false);
        stopper.wait_idle(Duration::from_secs(24 * 60 * 60));
    });
    // A second SIGTERM or SIGINT while the groups get their grace: kill them now.
    tokio::select! {
        _ = stopping => {}
        _ = async {
            // SIGHUP alone does not kill: the terminal that sent it is gone, nobody pressed.
            while let Some(sig) = signals.recv().await {
                if sig != SIGHUP {
                    return;
                }
            }
            std::future::pending::<()>().await
        } => {
            eprintln!("procsnap mcp: second signal; killing all processes");
            let killer = session.clone();
            let _ = blocking(move || {
                killer.shutdown(true);
                killer.wait_idle(Duration::from_secs(24 * 60 * 60));
            })
            .await;
        }
    }
    // The last replies, bounded for a client that stopped reading.
    connection.close(FINAL_WRITE_LIMIT).await;
    code
}
