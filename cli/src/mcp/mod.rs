//! `procsnap mcp`: the project's scripts as MCP tools over stdio.
//!
//! Only scripts the project declares can be started (no arbitrary command from a client).
//! Duplicate detection is the Supervisor's `run_unique`, one CAS in the registry, so two
//! clients racing to start a script get one process. Each result carries both
//! `structuredContent` and the same JSON as text content (rmcp's `Json<T>` emits both). Tool
//! failures (unknown script or processId, bad regex or time) are `isError` results that say
//! what is available. stdout carries only protocol; diagnostics go to stderr.

mod configured;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use procsnap::{Reserve, Supervisor};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, ServerHandler, ServiceExt, tool, tool_handler, tool_router};

use crate::answers::{self, clip};
use crate::compose::Stack;
use crate::conductor::Conductor;
use crate::framing;
use crate::project::Project;
use crate::wire::{
    LogsSearch, LogsStream, ProcessParams, RunParams, ScriptsList, ScriptsRestart, ScriptsRun,
    ScriptsStatus, ScriptsStop, SearchParams, StatusParams, StreamParams,
};

/// The MCP server: a project, a supervisor, and the grace period for stops.
#[derive(Clone)]
pub struct Server {
    sup: Arc<Supervisor>,
    project: Arc<Project>,
    grace: Duration,
    /// Drives the configured processes (procsnap.yaml), if the project has them.
    conductor: Option<Arc<Conductor>>,
    tool_router: ToolRouter<Server>,
}

/// Runs blocking supervisor work off the runtime thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("internal error: {e}"))
}

/// How long the last replies may take to reach a client once every group is stopped.
const FINAL_WRITE_LIMIT: Duration = Duration::from_secs(1);

/// Finished processes kept per script name (with their logs) for `scripts_status` and the
/// logs tools; older finished runs are removed whenever a process is started.
const KEEP_FINISHED: usize = 5;

impl Server {
    /// The project as it is on disk now: package.json and the Procfile are re-read on each
    /// call that needs them (two small files), so scripts added or edited while the server runs
    /// are seen, and a file broken meanwhile is reported with its position.
    fn project(&self) -> Result<Project, String> {
        Project::discover(&self.project.dir).map_err(|e| e.to_string())
    }

    /// The configuration, if the project has one.
    fn stack(&self) -> Option<&Stack> {
        self.conductor.as_ref().map(|c| &**c.stack())
    }

    /// The names a client can run, for error messages: the declared scripts, then the
    /// configured processes that are not scripts too.
    fn runnable(&self, project: &Project) -> String {
        let extra: Vec<&str> = self
            .stack()
            .iter()
            .flat_map(|s| s.procs.iter().map(|p| p.name.as_str()))
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
        let dir = self.project.dir.clone();
        blocking(move || Project::discover(&dir).map_err(|e| e.to_string())).await?
    }
}

/// `run_unique`, except that a process still stopping (TERM sent, group not yet empty) does not
/// count as running: wait for its end (bounded by the grace period and the SIGKILL), then start.
/// Then drop finished runs beyond [`KEEP_FINISHED`] per name, so a long session stays bounded.
fn run_script(
    sup: &procsnap::Supervisor,
    name: &str,
    spec: procsnap::CommandSpec,
) -> Result<Reserve, procsnap::SpawnError> {
    let reserved = loop {
        let r = sup.run_unique(name, spec.clone())?;
        if let Reserve::AlreadyRunning(p) = &r
            && p.state().snapshot().status == procsnap::Status::Stopping
            && sup.wait(p.id()).is_some()
        {
            continue;
        }
        break r;
    };
    sup.registry().prune_finished(KEEP_FINISHED);
    Ok(reserved)
}

#[tool_router]
impl Server {
    pub fn new(
        sup: Arc<Supervisor>,
        project: Arc<Project>,
        grace: Duration,
        conductor: Option<Arc<Conductor>>,
    ) -> Server {
        Server {
            sup,
            project,
            grace,
            conductor,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "List the scripts this project declares (package.json scripts, Procfile entries, and processes configured in procsnap.yaml or process-compose.yaml, with their dependencies, readiness checks and restart policies). Only these can be started with scripts_run."
    )]
    async fn scripts_list(&self) -> Result<Json<ScriptsList>, String> {
        let project = self.load_project().await?;
        Ok(Json(answers::scripts_list(&project, self.stack())))
    }

    #[tool(
        description = "Start a declared script in its own process group. If it is already running, nothing new is started: the running process is returned with duplicate=true. A configured process (procsnap.yaml) starts after its dependencies; the call returns once it has started, or with waitReady=true once it is ready (ready log line seen or readiness probe passed), within timeoutMs (default 30000), or fails saying why not. Returns the processId (name-N) for the other tools."
    )]
    async fn scripts_run(
        &self,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<Json<ScriptsRun>, String> {
        if let Some(c) = &self.conductor
            && let Some(proc) = c.stack().proc(&p.name)
        {
            let command = proc.command.clone();
            let answer = configured::run(c.clone(), self.sup.clone(), p, command).await?;
            self.sup.registry().prune_finished(KEEP_FINISHED);
            return Ok(Json(answer));
        }
        let project = self.load_project().await?;
        let Some(script) = project.script(&p.name) else {
            return Err(format!(
                "unknown script {:?}; available scripts: {}",
                clip(&p.name),
                self.runnable(&project)
            ));
        };
        let spec = project.spec(script)?;
        let command = script.command.clone();
        let (sup, name) = (self.sup.clone(), p.name.clone());
        // A duplicate's process has left `Pending` (`run_unique` waits for a racing winner's
        // spawn), so the answer carries its real status and start time.
        let reserved = blocking(move || run_script(&sup, &name, spec))
            .await?
            .map_err(|e| format!("cannot start {:?}: {e}", clip(&p.name)))?;
        Ok(Json(match reserved {
            Reserve::Started(proc) => configured::answer(&proc, command, false, None),
            Reserve::AlreadyRunning(proc) => configured::answer(&proc, command, true, None),
        }))
    }

    #[tool(
        description = "Stop a process: SIGTERM to its whole process group, SIGKILL after the grace period. Waits until it has exited."
    )]
    async fn scripts_stop(
        &self,
        Parameters(p): Parameters<ProcessParams>,
    ) -> Result<Json<ScriptsStop>, String> {
        let proc = answers::resolve(self.sup.registry(), &p.process_id)?;
        let before = proc.state().snapshot();
        let cancelled = match (&self.conductor, before.is_finished()) {
            (Some(c), true) => configured::cancel_pending(c, proc.id()),
            _ => None,
        };
        if let Some(message) = cancelled {
            return Ok(Json(ScriptsStop {
                success: true,
                process_id: p.process_id,
                status: before.status.as_str().to_owned(),
                message: Some(message),
            }));
        }
        if before.is_finished() {
            return Ok(Json(ScriptsStop {
                success: false,
                process_id: p.process_id,
                status: before.status.as_str().to_owned(),
                message: Some(format!(
                    "already finished: {}",
                    crate::style::describe_end(before.status, before.exit)
                )),
            }));
        }
        // A configured process stops with its own shutdown signal and timeout.
        let shutdown = self
            .stack()
            .and_then(|s| s.proc(proc.name()))
            .map(|c| c.shutdown);
        // A number the configuration was checked to hold: never the fallback.
        let signal = shutdown
            .and_then(|s| procsnap::Signal::from_raw(s.signal))
            .unwrap_or(procsnap::Signal::TERM);
        let grace = shutdown.and_then(|s| s.timeout).unwrap_or(self.grace);
        let (sup, id) = (self.sup.clone(), proc.id());
        let stopped = blocking(move || sup.stop_with(id, signal, grace))
            .await?
            .map_err(|e| format!("cannot stop {}: {e}", p.process_id))?;
        Ok(Json(ScriptsStop {
            success: true,
            process_id: p.process_id,
            status: stopped.status.as_str().to_owned(),
            message: None,
        }))
    }

    #[tool(
        description = "Restart a process: stop it (if still running) and start the same command again as a new process. Returns the new processId."
    )]
    async fn scripts_restart(
        &self,
        Parameters(p): Parameters<ProcessParams>,
    ) -> Result<Json<ScriptsRestart>, String> {
        let proc = answers::resolve(self.sup.registry(), &p.process_id)?;
        let (sup, id, grace) = (self.sup.clone(), proc.id(), self.grace);
        let new = blocking(move || {
            let new = sup.restart(id, grace);
            sup.registry().prune_finished(KEEP_FINISHED);
            new
        })
        .await?
        .map_err(|e| format!("cannot restart {}: {e}", p.process_id))?;
        let s = new.state().snapshot();
        Ok(Json(ScriptsRestart {
            success: true,
            process_id: new.label(),
            previous_process_id: p.process_id,
            name: new.name().to_owned(),
            status: s.status.as_str().to_owned(),
            restarts: s.restarts,
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
        let configured = name.is_some_and(|n| self.stack().is_some_and(|s| s.proc(n).is_some()));
        let mut status = if configured {
            answers::status_view(self.sup.registry(), name, std::time::SystemTime::now())
        } else {
            answers::scripts_status(self.sup.registry(), name, || self.project())?
        };
        if let Some(c) = &self.conductor {
            let board = c.board();
            answers::units::annotate(
                &mut status,
                &board,
                p.name.as_deref(),
                std::time::Instant::now(),
            );
        }
        Ok(Json(status))
    }

    #[tool(
        description = "The most recent output lines (default 100), of all processes or one processId, oldest first. level=error gives stderr lines only, level=info stdout only."
    )]
    async fn logs_stream(
        &self,
        Parameters(p): Parameters<StreamParams>,
    ) -> Result<Json<LogsStream>, String> {
        let sup = self.sup.clone();
        blocking(move || answers::logs_stream(sup.registry(), &p).map(Json)).await?
    }

    #[tool(
        description = "Search captured output: `query` is a case-sensitive substring, or a regular expression with regex=true. Filter by processId, level (error = stderr), since (RFC 3339 time); returns the most recent `limit` matches (default 100), oldest first."
    )]
    async fn logs_search(
        &self,
        Parameters(p): Parameters<SearchParams>,
    ) -> Result<Json<LogsSearch>, String> {
        // Off the runtime thread: a regex over every process's output can take a while.
        let sup = self.sup.clone();
        blocking(move || answers::logs_search(sup.registry(), &p).map(Json)).await?
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "procsnap",
    version = "0.1.0",
    instructions = "Runs this project's package.json scripts and Procfile entries. scripts_list shows what can run; scripts_run starts one (a second call returns the running process with duplicate=true); use the returned processId with scripts_stop, scripts_restart, logs_stream and logs_search."
)]
impl ServerHandler for Server {}

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
    use tokio::signal::unix::{SignalKind, signal};

    // No subscriber: the tools read the registry and the log rings.
    let sup = match crate::supervisor(grace, 1) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("procsnap mcp: cannot start the supervisor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut term, mut int, mut hup) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(t), Ok(i), Ok(h)) => (t, i, h),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            eprintln!("procsnap mcp: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    let framed = framing::spawn(stdin, stdout);
    // Configured processes start when a client asks (scripts_run), not at once.
    let conductor = match stack {
        Some(stack) => match Conductor::start(sup.clone(), stack, grace, || {}) {
            Ok(c) => Some(Arc::new(c)),
            Err(e) => {
                eprintln!("procsnap mcp: cannot start the conductor: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let server = Server::new(sup.clone(), Arc::new(project), grace, conductor.clone());

    let why = tokio::select! {
        r = run_service(server, framed.to_server, framed.from_server) => r,
        _ = term.recv() => Ok("SIGTERM"),
        _ = int.recv() => Ok("SIGINT"),
        _ = hup.recv() => Ok("SIGHUP"),
    };
    let code = match why {
        Ok(reason) => {
            eprintln!("procsnap mcp: {reason}; stopping all processes");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("procsnap mcp: {e}; stopping all processes");
            ExitCode::FAILURE
        }
    };
    let stopper = sup.clone();
    let stopping = blocking(move || {
        // Configured processes first, in reverse dependency order (no restart from now on),
        // then everything else.
        if let Some(c) = &conductor {
            c.shutdown();
            let _ = c.wait_for(Duration::from_secs(24 * 60 * 60), |b| {
                (b.shutting_down && b.settled).then_some(())
            });
        }
        stopper.stop_all(grace)
    });
    // A second SIGTERM or SIGINT while the groups get their grace: kill them now.
    tokio::select! {
        _ = stopping => {}
        _ = async { tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} } } => {
            eprintln!("procsnap mcp: second signal; killing all processes");
            let killer = sup.clone();
            let _ = blocking(move || killer.stop_all(Duration::ZERO)).await;
        }
    }
    // No more requests: the reader (maybe blocked on a stdin that never ends) lets go of the
    // writer, which then ends as soon as the last replies are written. Bounded, for a client
    // that stopped reading.
    framed.reader.abort();
    let _ = tokio::time::timeout(FINAL_WRITE_LIMIT, framed.writer).await;
    // The final sweep of escapees and the watchdog's end, waited for off the runtime's threads
    // (dropping the supervisor only starts them).
    let _ = blocking(move || sup.shutdown()).await;
    code
}

async fn run_service(
    server: Server,
    input: tokio::io::DuplexStream,
    output: tokio::io::DuplexStream,
) -> Result<&'static str, String> {
    let running = server
        .serve((input, output))
        .await
        .map_err(|e| format!("MCP session failed to start: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| format!("MCP session failed: {e}"))?;
    Ok("stdin closed")
}
