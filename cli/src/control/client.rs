//! A client of a live session's control socket: MCP JSON-RPC over the Unix socket, blocking
//! (the control verbs are one request or a few; the bridge calls it off the async runtime).

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

use serde_json::{Value, json};

use super::place::Place;
use super::server::OwnerInfo;

/// Why a call got no result.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The tool answered with an error result (`isError`): its message.
    Tool(String),
    /// A JSON-RPC error: code and message.
    Protocol(i64, String),
    /// The connection ended before the answer: the owner went away.
    Gone,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Tool(m) => f.write_str(m),
            CallError::Protocol(code, m) => write!(f, "{m} (JSON-RPC error {code})"),
            CallError::Gone => f.write_str("the session ended before it answered"),
        }
    }
}

/// Why no connection was made.
#[derive(Debug)]
pub enum ConnectError {
    /// Nobody listens: no live session (a socket left by an owner that died counts as none).
    NoSession,
    Io(io::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::NoSession => f.write_str("no live session"),
            ConnectError::Io(e) => e.fmt(f),
        }
    }
}

/// One connection to a live session, initialized.
pub struct Client {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    next_id: u64,
    /// Who owns the session, as it wrote itself down when it started listening.
    pub owner: Option<OwnerInfo>,
}

impl Client {
    /// Connects to `place`'s session and does the MCP handshake.
    ///
    /// # Errors
    ///
    /// [`ConnectError::NoSession`] when nobody listens there; an I/O error otherwise.
    pub fn connect(place: &Place) -> Result<Client, ConnectError> {
        let stream = match UnixStream::connect(&place.socket) {
            Ok(s) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(ConnectError::NoSession);
            }
            Err(e) => return Err(ConnectError::Io(e)),
        };
        let reader = BufReader::new(stream.try_clone().map_err(ConnectError::Io)?);
        let mut client = Client {
            writer: stream,
            reader,
            next_id: 1,
            owner: OwnerInfo::read(place),
        };
        let init = json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "procsnap", "version": env!("CARGO_PKG_VERSION")},
        });
        match client.request("initialize", init) {
            Ok(_) => {}
            // Refused, or closed at once: an owner on its way out is no live session.
            Err(CallError::Gone) => return Err(ConnectError::NoSession),
            Err(e) => return Err(ConnectError::Io(io::Error::other(e.to_string()))),
        }
        client
            .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .map_err(|_| ConnectError::NoSession)?;
        Ok(client)
    }

    fn send(&mut self, msg: &Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(msg).map_err(io::Error::other)?;
        line.push(b'\n');
        self.writer.write_all(&line)
    }

    /// Sends request `method` and waits for its answer (notifications and requests from the
    /// server in between are skipped); the `result`.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, CallError> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send(&msg).map_err(|_| CallError::Gone)?;
        let mut line = String::new();
        loop {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return Err(CallError::Gone),
                Ok(_) => {}
            }
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v.get("id").and_then(Value::as_u64) != Some(id) {
                continue;
            }
            if let Some(e) = v.get("error") {
                let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
                let message = e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_owned();
                return Err(CallError::Protocol(code, message));
            }
            return Ok(v.get("result").cloned().unwrap_or(Value::Null));
        }
    }

    /// Calls `tool`; its whole `result` object (an error result included).
    pub fn call_raw(&mut self, tool: &str, args: Value) -> Result<Value, CallError> {
        self.request("tools/call", json!({"name": tool, "arguments": args}))
    }

    /// Calls `tool`; its structured content, or the error result's message.
    pub fn call(&mut self, tool: &str, args: Value) -> Result<Value, CallError> {
        let r = self.call_raw(tool, args)?;
        if r.get("isError") == Some(&Value::Bool(true)) {
            let text = r["content"][0]["text"]
                .as_str()
                .unwrap_or("failed")
                .to_owned();
            return Err(CallError::Tool(text));
        }
        Ok(r.get("structuredContent").cloned().unwrap_or(Value::Null))
    }
}
