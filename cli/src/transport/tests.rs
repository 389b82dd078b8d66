//! A whole connection over in-memory pipes, with a stand-in server whose one tool blocks until
//! the test lets it go.

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::{Semaphore, mpsc};

use super::*;

/// Generous bound for anything that must happen (a loaded machine is slow, never wrong).
const LONG: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct Stub {
    /// One message per `block` call that started.
    started: mpsc::UnboundedSender<()>,
    /// Each `block` call takes one permit before it returns.
    gate: Arc<Semaphore>,
    tool_router: ToolRouter<Stub>,
}

#[tool_router]
impl Stub {
    fn new() -> (Stub, mpsc::UnboundedReceiver<()>, Arc<Semaphore>) {
        let (started, rx) = mpsc::unbounded_channel();
        let gate = Arc::new(Semaphore::new(0));
        let stub = Stub {
            started,
            gate: gate.clone(),
            tool_router: Self::tool_router(),
        };
        (stub, rx, gate)
    }

    #[tool(description = "Waits until the test lets it go.")]
    async fn block(&self) -> String {
        let _ = self.started.send(());
        if let Ok(p) = self.gate.acquire().await {
            p.forget();
        }
        "done".to_owned()
    }
}

#[tool_handler(router = self.tool_router, name = "stub", version = "0")]
impl ServerHandler for Stub {}

/// The client's ends: what it writes and what it reads.
struct Client {
    to_server: Option<DuplexStream>,
    from_server: BufReader<DuplexStream>,
}

impl Client {
    async fn send(&mut self, v: Value) {
        let mut line = v.to_string();
        line.push('\n');
        self.send_raw(line.as_bytes()).await;
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        let w = self.to_server.as_mut().unwrap();
        w.write_all(bytes).await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        let mut line = String::new();
        let n = tokio::time::timeout(LONG, self.from_server.read_line(&mut line))
            .await
            .expect("a reply in time")
            .unwrap();
        assert!(n > 0, "the server closed its side");
        serde_json::from_str(&line).unwrap()
    }

    async fn initialize(&mut self) {
        self.send(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}}),
        )
        .await;
        let r = self.recv().await;
        assert_eq!(r["result"]["serverInfo"]["name"], "stub", "{r}");
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
    }

    async fn call_block(&mut self, id: u64) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "block", "arguments": {}}}))
            .await;
    }
}

/// Starts `stub` on fresh pipes of `pipe` bytes each way.
fn connect(stub: Stub, limits: Limits, pipe: usize) -> (Connection, Client) {
    let (to_server, server_in) = tokio::io::duplex(pipe);
    let (server_out, from_server) = tokio::io::duplex(pipe);
    let conn = Connection::start(stub, server_in, server_out, limits);
    let client = Client {
        to_server: Some(to_server),
        from_server: BufReader::new(from_server),
    };
    (conn, client)
}

#[tokio::test(flavor = "current_thread")]
async fn garbage_gets_an_answer_and_the_connection_goes_on() {
    let (stub, _, _) = Stub::new();
    let (mut conn, mut c) = connect(stub, Limits::default(), 4096);
    c.initialize().await;
    c.send_raw(b"not json\n\n{\"hello\":1}\n").await;
    assert_eq!(c.recv().await["error"]["code"], -32700);
    assert_eq!(c.recv().await["error"]["code"], -32600);
    c.send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "block", "arguments": [1]}}))
        .await;
    let r = c.recv().await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert_eq!(r["id"], 1, "{r}");
    c.send(json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .await;
    let r = c.recv().await;
    assert_eq!(r["id"], 2, "{r}");
    assert!(r.get("result").is_some(), "{r}");
    drop(c.to_server.take());
    assert_eq!(conn.finished().await, Ended::Closed);
}

/// `procsnap mcp < /dev/null` exited 1 with "connection closed: initialize request".
#[tokio::test(flavor = "current_thread")]
async fn a_client_that_leaves_before_initialize_is_no_error() {
    let (stub, _, _) = Stub::new();
    let (_c, server_in) = tokio::io::duplex(64);
    let (server_out, _out) = tokio::io::duplex(64);
    drop(_c);
    let ended = tokio::time::timeout(LONG, serve(stub, server_in, server_out, Limits::default()))
        .await
        .unwrap();
    assert_eq!(ended, Ended::LeftBeforeInitialize);
}

/// With three requests in progress nothing more is read. A cancelled request keeps its slot
/// while its handler runs, and frees it when the handler ends, though rmcp sends no reply
/// for it (a slot freed only by a reply would be lost for good).
#[tokio::test(flavor = "current_thread")]
async fn requests_in_progress_are_bounded_and_a_cancelled_one_frees_its_slot() {
    let (stub, mut started, gate) = Stub::new();
    let limits = Limits {
        max_in_flight: 3,
        ..Limits::default()
    };
    let (mut conn, mut c) = connect(stub, limits, 64 * 1024);
    c.initialize().await;
    c.call_block(1).await;
    c.call_block(2).await;
    for _ in 0..2 {
        tokio::time::timeout(LONG, started.recv()).await.unwrap();
    }
    // The client cancels request 1; the ping's answer shows that rmcp has seen the cancel.
    c.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 1, "reason": "test"}}),
    )
    .await;
    c.send(json!({"jsonrpc": "2.0", "id": 99, "method": "ping"}))
        .await;
    assert_eq!(c.recv().await["id"], 99);
    for id in 3..=5 {
        c.call_block(id).await;
    }
    tokio::time::timeout(LONG, started.recv()).await.unwrap();
    // A while later, still three in progress: 4 and 5 wait unread.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(started.try_recv().is_err(), "a fourth request started");
    // The gate is fair: the cancelled request 1, first to wait, ends first, and its slot
    // goes to request 4.
    gate.add_permits(1);
    tokio::time::timeout(LONG, started.recv())
        .await
        .expect("the cancelled request's slot was freed");
    gate.add_permits(100);
    let mut answered = Vec::new();
    while answered.len() < 4 {
        answered.push(c.recv().await["id"].as_u64().unwrap());
    }
    answered.sort_unstable();
    assert_eq!(answered, [2, 3, 4, 5]);
    c.send(json!({"jsonrpc": "2.0", "id": 100, "method": "ping"}))
        .await;
    assert_eq!(
        c.recv().await["id"],
        100,
        "no reply for the cancelled request"
    );
    drop(c.to_server.take());
    assert_eq!(conn.finished().await, Ended::Closed);
}

/// Two requests in progress with one id: rmcp would send one reply and drop the other (and
/// the slot of the dropped one would never be freed). The second is refused.
#[tokio::test(flavor = "current_thread")]
async fn a_request_id_still_in_progress_is_refused() {
    let (stub, mut started, gate) = Stub::new();
    let (mut conn, mut c) = connect(stub, Limits::default(), 4096);
    c.initialize().await;
    c.call_block(7).await;
    tokio::time::timeout(LONG, started.recv()).await.unwrap();
    c.call_block(7).await;
    let r = c.recv().await;
    assert_eq!(r["error"]["code"], -32600, "{r}");
    assert_eq!(r["id"], 7, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in progress"),
        "{r}"
    );
    gate.add_permits(1);
    let r = c.recv().await;
    assert_eq!(r["result"]["content"][0]["text"], "done", "{r}");
    // Answered: the id is free again.
    c.call_block(7).await;
    gate.add_permits(1);
    assert_eq!(c.recv().await["id"], 7);
    drop(c.to_server.take());
    assert_eq!(conn.finished().await, Ended::Closed);
}

/// A client that floods requests and reads nothing: the server reads a bounded amount, then
/// drops the connection once no reply could be written for the stall limit; the flood's
/// writes then fail.
#[tokio::test(flavor = "current_thread")]
async fn a_flood_that_reads_nothing_is_dropped_with_bounded_input_read() {
    let (stub, _, _) = Stub::new();
    let stall = Duration::from_millis(300);
    let limits = Limits {
        max_in_flight: 4,
        outbox_bytes: 4096,
        stall,
        ..Limits::default()
    };
    let (mut conn, mut c) = connect(stub, limits, 8 * 1024);
    c.initialize().await;
    let mut writer = c.to_server.take().unwrap();
    let flood = tokio::spawn(async move {
        let mut sent = 0usize;
        for id in 1..100_000 {
            let ping = format!(
                "{}\n",
                json!({"jsonrpc": "2.0", "id": id, "method": "ping"})
            );
            if writer.write_all(ping.as_bytes()).await.is_err() {
                return (sent, true);
            }
            sent += ping.len();
        }
        (sent, false)
    });
    let ended = tokio::time::timeout(LONG, conn.finished()).await.unwrap();
    assert_eq!(ended, Ended::Dropped(Fault::Stalled(stall)));
    let (sent, refused) = tokio::time::timeout(LONG, flood).await.unwrap().unwrap();
    assert!(refused, "all {sent} bytes were taken");
    // Replies queued (4 KiB) + the pipe back (8 KiB) + requests in progress, handed over and
    // buffered (a few) + the pipe in (8 KiB) + the reader's 64 KiB buffer.
    assert!(
        sent < 200 * 1024,
        "the server took {sent} bytes of requests"
    );
    // The client's reading end still holds what the server could write.
    drop(c);
}

/// A client that writes many requests while it reads the replies slowly is served whole,
/// however small the queue and the pipes.
#[tokio::test(flavor = "current_thread")]
async fn a_slow_reader_is_not_dropped() {
    let (stub, _, _) = Stub::new();
    let limits = Limits {
        outbox_bytes: 1024,
        ..Limits::default()
    };
    let (mut conn, mut c) = connect(stub, limits, 512);
    c.initialize().await;
    let mut to_server = c.to_server.take().unwrap();
    let sender = tokio::spawn(async move {
        for id in 1..=300 {
            let ping = json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
            to_server
                .write_all(format!("{ping}\n").as_bytes())
                .await
                .unwrap();
        }
        to_server
    });
    for got in 1..=300 {
        let r = c.recv().await;
        assert!(r.get("result").is_some(), "{r}");
        if got % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(sender.await.unwrap());
    assert_eq!(conn.finished().await, Ended::Closed);
}
