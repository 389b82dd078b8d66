//! `procsnap mcp` beside a developer's session: an agent sees and drives the same processes.
//!
//! The stdio server always has a session of its own, empty and unlistened while it is idle:
//! an agent's client usually starts `procsnap mcp` before the developer starts anything, and
//! an idle server must not own the project. Each tool call then goes, in this order:
//!
//! 1. to the project's live session, if another process owns one (a bridge: the call is sent
//!    over the control socket as it came, and its answer returned as it is). Each call in
//!    flight has a connection of its own, so one that waits (`scripts_run` with `waitReady`)
//!    holds up no other; the `session_*` calls share one, since a job belongs to the
//!    connection that made it;
//! 2. here, if this server owns the project's session;
//! 3. here too when no session is live — and a call that must start something first makes
//!    this server the owner: it takes the project's lock and listens, so the developer's
//!    `up`, terminal UI or `ps` see what the agent started.
//!
//! If the owner ends under a bridge, the next call is answered at once with an error naming
//! it (never a hang), and the call after it works again: bridged to a new owner, or here.

use std::sync::Arc;

use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::control::client::{CallError, Client, ConnectError};
use crate::control::place::Place;
use crate::control::server::{BindError, Listener, OwnerInfo, take_lock};
use procsnap_session::Session;

/// Tools that start something: with no live session, they make this server the owner.
const STARTS: [&str; 2] = ["scripts_run", "session_start"];

/// Idle connections to the owner kept for the next calls.
const IDLE_CONNECTIONS: usize = 4;

/// Where a call goes.
pub enum Route {
    /// Answered by the live session's owner: its answer.
    Forwarded(CallToolResponse),
    /// Served here.
    Here,
}

struct State {
    /// Idle connections to the live owner. A forwarded call holds one of its own for as long
    /// as it takes (a `scripts_run` that waits for readiness holds up no other call).
    idle: Vec<Client>,
    /// This server's listener, once it owns the project's session.
    listener: Option<Listener>,
}

/// The routing state of one stdio server.
pub struct Bridge {
    place: Option<Place>,
    session: Arc<Session>,
    config: Option<std::path::PathBuf>,
    state: Mutex<State>,
    /// The connection of the `session_*` calls: a job belongs to the connection that made
    /// it, so they all go through one, one at a time.
    jobs: Mutex<Option<Client>>,
}

impl Bridge {
    /// A bridge for the project at `place` (`None`: no control socket could be had, every
    /// call is served here); `session` is this server's own.
    pub fn new(
        place: Option<Place>,
        session: Arc<Session>,
        config: Option<std::path::PathBuf>,
    ) -> Bridge {
        Bridge {
            place,
            session,
            config,
            state: Mutex::new(State {
                idle: Vec::new(),
                listener: None,
            }),
            jobs: Mutex::new(None),
        }
    }

    /// Decides where `request` goes, and forwards it if it goes to another owner.
    pub async fn route(&self, request: &CallToolRequestParams) -> Route {
        let Some(place) = self.place.clone() else {
            return Route::Here;
        };
        let name = request.name.to_string();
        let args = request
            .arguments
            .clone()
            .map_or(Value::Object(Default::default()), Value::Object);
        if name.starts_with("session_") {
            let mut jobs = self.jobs.lock().await;
            let client = match jobs.take() {
                Some(c) => c,
                None => match self.connect(place, &name).await {
                    Some(c) => c,
                    None => return Route::Here,
                },
            };
            let (client, response) = forward(client, name, args).await;
            *jobs = client;
            return Route::Forwarded(response);
        }
        let idle = {
            let mut state = self.state.lock().await;
            if state.listener.is_some() {
                return Route::Here;
            }
            state.idle.pop()
        };
        let client = match idle {
            Some(c) => c,
            None => match self.connect(place, &name).await {
                Some(c) => c,
                None => return Route::Here,
            },
        };
        let (client, response) = forward(client, name, args).await;
        let mut state = self.state.lock().await;
        match client {
            Some(c) if state.idle.len() < IDLE_CONNECTIONS => state.idle.push(c),
            Some(_) => {}
            // The owner is gone: so are the other connections to it.
            None => state.idle.clear(),
        }
        Route::Forwarded(response)
    }

    /// A new connection to the live owner; with none, and a call `name` that starts
    /// something, makes this server the owner. `None`: the call is served here.
    async fn connect(&self, place: Place, name: &str) -> Option<Client> {
        let mut state = self.state.lock().await;
        if state.listener.is_some() {
            return None;
        }
        let (client, listener) = self.find_owner(place, STARTS.contains(&name)).await;
        if listener.is_some() {
            state.listener = listener;
        }
        client
    }

    /// Connects to the live owner of `place`; with none and a call that `starts`
    /// something, makes this server the owner (a listener on its own session).
    async fn find_owner(&self, place: Place, starts: bool) -> (Option<Client>, Option<Listener>) {
        let session = self.session.clone();
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || {
            match Client::connect(&place) {
                Ok(c) => return (Some(c), None),
                Err(ConnectError::NoSession) => {}
                Err(ConnectError::Io(_)) => return (None, None),
            }
            if !starts {
                return (None, None);
            }
            match take_lock(&place) {
                Ok(lock) => {
                    let info = OwnerInfo::me("mcp", &place, config.as_deref());
                    match Listener::start(place, lock, session, &info) {
                        Ok(l) => (None, Some(l)),
                        Err(e) => {
                            eprintln!("procsnap mcp: no control socket ({e}); serving privately");
                            (None, None)
                        }
                    }
                }
                // Somebody became the owner meanwhile: join them.
                Err(BindError::Owned) => (Client::connect(&place).ok(), None),
                Err(BindError::Io(_)) => (None, None),
            }
        })
        .await
        .unwrap_or((None, None))
    }
}

/// Sends the call `name` over `client`: the answer, and the client unless its owner is gone.
async fn forward(
    mut client: Client,
    name: String,
    args: Value,
) -> (Option<Client>, CallToolResponse) {
    let (client, answer) = tokio::task::spawn_blocking(move || {
        let answer = client.call_raw(&name, args);
        (client, answer)
    })
    .await
    .expect("the forwarding task does not panic");
    let response = match answer {
        Ok(result) => match serde_json::from_value::<CallToolResult>(result) {
            Ok(r) => r,
            Err(e) => error(format!(
                "the session's owner answered something unreadable: {e}"
            )),
        },
        Err(CallError::Gone) => {
            let why = super::super::remote::ended(&client);
            // Not kept: the next call finds a new owner, or serves here.
            return (None, error(format!("{why}; call again to go on")).into());
        }
        Err(CallError::Protocol(code, message)) => {
            error(format!("the session refused the call: {message} ({code})"))
        }
        Err(CallError::Tool(m)) => error(m),
    };
    (Some(client), response.into())
}

/// An error result with `text`.
fn error(text: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text)])
}
