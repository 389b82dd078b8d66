//! Newline-delimited JSON-RPC framing in front of rmcp's stdio transport.
//!
//! rmcp answers well-formed JSON of the wrong shape with `-32600 Invalid Request`, but drops a
//! line that it cannot parse without a word (rust-sdk#938: replying to garbage can start an
//! error storm with a peer that echoes). A client that sent a truncated or mangled request
//! then waits forever. JSON-RPC 2.0 wants a `-32700 Parse error`, so this layer reads stdin
//! itself, answers each line rmcp could not decode, and forwards every other line unchanged.
//! The reply is itself a valid JSON-RPC message (an error response, which rmcp drops), so an
//! echoing peer gets silence, not a storm.
//!
//! "Could not decode" is decided by decoding exactly as rmcp 3.11's stdio transport does: a
//! leading UTF-8 BOM skipped, then `serde_json::from_slice` into rmcp's own message type
//! ([`RxJsonRpcMessage<RoleServer>`]). A cheaper pre-check (say, `IgnoredAny`) accepts lines
//! that rmcp's parse then rejects and drops: an invalid UTF-8 byte or a lone surrogate
//! (`"\ud800"`) in a string, a number out of range (`1e999`), nesting deeper than serde_json's
//! 128 levels. serde_json counts all of these as syntax errors, so they get `-32700` here.
//!
//! Valid JSON that is not a valid message (rmcp's `-32600`) is answered here too when it is a
//! request whose `id` can be read, so the reply carries that `id` and the client can match it
//! to its call; otherwise it goes to rmcp, which answers `-32600` without an `id` (or ignores a
//! non-MCP notification, as it does for compatibility).
//!
//! The `id` of a `-32700` reply is the request's when it can still be read from the line (a
//! well-formed object whose only fault is deep inside, e.g. a bad string in `params`), and is
//! omitted otherwise, as MCP 2025-11-25 and 2026-07-28 specify and as rmcp does for its own
//! `-32600`; JSON-RPC 2.0 would send `"id": null`, which the MCP schema does not allow. An `id`
//! is only ever taken from something with a `method` (a request), never from a response, whose
//! `id` belongs to the server's own requests.
//!
//! Output from rmcp and from this layer goes through one writer task, whole lines at a time, so
//! they never interleave inside a line.

use rmcp::RoleServer;
use rmcp::service::RxJsonRpcMessage;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::error::Category;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::safe::clip;

/// The longest line accepted (rmcp's own default).
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// JSON-RPC 2.0 `Parse error`.
pub const PARSE_ERROR: i32 = -32700;
/// JSON-RPC 2.0 `Invalid Request`.
pub const INVALID_REQUEST: i32 = -32600;

/// The UTF-8 byte order mark, which rmcp's transport skips at the start of a line.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What to do with one incoming line.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A message rmcp decodes (or valid JSON rmcp itself answers or ignores): forward it.
    Forward,
    /// Blank: ignore.
    Skip,
    /// rmcp could not decode it: answer with this reply line (no trailing newline).
    Reply(String),
}

/// Classifies one line (without its `\n`).
pub fn classify(line: &[u8]) -> Verdict {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let body = line.strip_prefix(UTF8_BOM).unwrap_or(line);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Skip;
    }
    if let Err(e) = std::str::from_utf8(body) {
        return Verdict::Reply(error_reply(
            PARSE_ERROR,
            request_id(body).as_ref(),
            &format!(
                "Parse error: invalid UTF-8 at byte {} (JSON text must be UTF-8)",
                e.valid_up_to()
            ),
        ));
    }
    // Exactly rmcp's decode (transport/async_rw.rs, `try_parse_with_compatibility`).
    let Err(e) = serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(body) else {
        return Verdict::Forward;
    };
    match e.classify() {
        // rmcp drops these silently.
        Category::Syntax | Category::Eof => Verdict::Reply(error_reply(
            PARSE_ERROR,
            request_id(body).as_ref(),
            &format!(
                "Parse error: {e} (each JSON-RPC message must be one JSON object on one line)"
            ),
        )),
        // Valid JSON, not a valid message: rmcp answers -32600 without an id (or ignores a
        // non-MCP notification). A request with a readable id gets its answer from us, with
        // the id; anything else is left to rmcp.
        Category::Data | Category::Io => {
            // The typed parse stops at the first mismatch; text after a complete value (`{}
            // trailing`) is still no JSON.
            if let Err(syntax) = serde_json::from_slice::<IgnoredAny>(body) {
                return Verdict::Reply(error_reply(
                    PARSE_ERROR,
                    None,
                    &format!("Parse error: {syntax}"),
                ));
            }
            match request_id(body) {
                Some(id) => Verdict::Reply(error_reply(
                    INVALID_REQUEST,
                    Some(&id),
                    &format!("Invalid Request: {}", clip(&e.to_string())),
                )),
                None => Verdict::Forward,
            }
        }
    }
}

/// The `id` of a request (an object with a `method`), read as leniently as possible: every
/// other member is skipped without validation, so a line whose fault lies elsewhere (a bad
/// string or number in `params`, nesting too deep) still yields its id. `None` for anything
/// that is not an object, has no `method`, or whose `id` is not a string or a number.
fn request_id(body: &[u8]) -> Option<Value> {
    /// `id` and `method` only; serde's derive skips every other member with `IgnoredAny`.
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        id: Option<Value>,
        #[serde(default)]
        method: Option<IgnoredAny>,
    }
    // The derive would also read a struct from an array: insist on an object.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let probe: Probe = serde_json::from_slice(body).ok()?;
    probe.method?;
    probe.id.filter(|id| id.is_string() || id.is_number())
}

/// A JSON-RPC error reply line with `code`, the request's `id` when known (omitted otherwise).
pub fn error_reply(code: i32, id: Option<&Value>, message: &str) -> String {
    let mut reply = serde_json::json!({
        "jsonrpc": "2.0",
        "error": { "code": code, "message": message }
    });
    if let Some(id) = id {
        reply["id"] = id.clone();
    }
    reply.to_string()
}

/// A `-32700` reply line without an `id`.
pub fn parse_error(message: &str) -> String {
    error_reply(PARSE_ERROR, None, message)
}

/// One line read with a length cap.
enum Read {
    Line(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads up to and including `\n`, keeping at most `max` bytes; a longer line is consumed to
/// its end and reported as `TooLong`.
async fn read_line_capped<R: AsyncBufRead + Unpin>(r: &mut R, max: usize) -> std::io::Result<Read> {
    let mut buf = Vec::new();
    let mut too_long = false;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(if too_long {
                Read::TooLong
            } else if buf.is_empty() {
                Read::Eof
            } else {
                Read::Line(buf)
            });
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if buf.len() + take > max + 1 {
                too_long = true;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        r.consume(take);
        if done {
            return Ok(if too_long {
                Read::TooLong
            } else {
                Read::Line(buf)
            });
        }
    }
}

/// The two ends handed to rmcp, and the tasks that connect them to the real streams.
pub struct Framed {
    /// What rmcp reads (filtered client input).
    pub to_server: tokio::io::DuplexStream,
    /// What rmcp writes (its replies).
    pub from_server: tokio::io::DuplexStream,
    /// Ends when the client input hits EOF (or an error); rmcp then sees EOF too.
    pub reader: JoinHandle<()>,
    /// Ends when everything rmcp and the reader produced has been written and flushed.
    pub writer: JoinHandle<()>,
}

/// Starts the filter between `input`/`output` and a pair of in-memory pipes for rmcp.
pub fn spawn<I, O>(input: I, output: O) -> Framed
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    const PIPE: usize = 256 * 1024;
    // (our end, rmcp's end) of the input pipe, and (rmcp's end, our end) of the output pipe.
    let (mut server_in, to_server) = tokio::io::duplex(PIPE);
    let (from_server, server_out) = tokio::io::duplex(PIPE);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);

    let errors = tx.clone();
    let reader = tokio::spawn(async move {
        let mut input = BufReader::with_capacity(64 * 1024, input);
        loop {
            let line = match read_line_capped(&mut input, MAX_LINE).await {
                Ok(Read::Line(l)) => l,
                Ok(Read::TooLong) => {
                    let reply = parse_error(&format!(
                        "Parse error: message longer than {MAX_LINE} bytes"
                    ));
                    if errors.send(line_bytes(reply)).await.is_err() {
                        break;
                    }
                    continue;
                }
                Ok(Read::Eof) => break,
                Err(e) => {
                    eprintln!("procsnap mcp: reading stdin: {e}");
                    break;
                }
            };
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            match classify(body) {
                Verdict::Skip => {}
                Verdict::Reply(r) => {
                    if errors.send(line_bytes(r)).await.is_err() {
                        break;
                    }
                }
                Verdict::Forward => {
                    let mut framed = body.to_vec();
                    framed.push(b'\n');
                    if server_in.write_all(&framed).await.is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping `server_in` is rmcp's EOF.
        let _ = server_in.shutdown().await;
    });

    let pump = tx;
    let pump_task = tokio::spawn(async move {
        let mut out = BufReader::new(server_out);
        loop {
            let mut line = Vec::new();
            match out.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if pump.send(line).await.is_err() {
                        break;
                    }
                }
            }
        }
    });

    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(line) = rx.recv().await {
            if output.write_all(&line).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
        let _ = pump_task.await;
        let _ = output.flush().await;
    });

    Framed {
        to_server,
        from_server,
        reader,
        writer,
    }
}

fn line_bytes(s: String) -> Vec<u8> {
    let mut v = s.into_bytes();
    v.push(b'\n');
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn classifies_lines() {
        assert_eq!(
            classify(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"),
            Verdict::Forward
        );
        assert_eq!(classify(b"{\"a\":1}\r"), Verdict::Forward);
        assert_eq!(
            classify(b"42"),
            Verdict::Forward,
            "valid JSON, wrong shape: rmcp's -32600"
        );
        assert_eq!(classify(b"   \r"), Verdict::Skip);
        assert_eq!(classify(b"\xEF\xBB\xBF"), Verdict::Skip);
        for bad in [&b"{not json"[..], b"{\"a\":", b"\xff\xfe", b"{} trailing"] {
            let Verdict::Reply(r) = classify(bad) else {
                panic!("{bad:?}")
            };
            let v: serde_json::Value = serde_json::from_str(&r).unwrap();
            assert_eq!(v["error"]["code"], -32700);
            assert_eq!(v["jsonrpc"], "2.0");
            assert!(v.get("id").is_none());
        }
    }

    /// The reply to `line`, parsed, or a panic if `line` would have been forwarded.
    fn reply(line: &[u8]) -> Value {
        match classify(line) {
            Verdict::Reply(r) => serde_json::from_str(&r).unwrap(),
            other => panic!("{other:?} for {}", String::from_utf8_lossy(line)),
        }
    }

    /// A `tools/call` request with id 7 whose `params` hold `bad` (raw JSON bytes).
    fn call_with(bad: &[u8]) -> Vec<u8> {
        [
            &br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"scripts_run","arguments":{"name":"#[..],
            bad,
            b"}}}",
        ]
        .concat()
    }

    /// Each of these passed the old `IgnoredAny` pre-check, then rmcp's own decode rejected it
    /// and dropped it without a reply: the client waited forever.
    #[test]
    fn lines_rmcp_cannot_decode_get_a_parse_error_with_their_id() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let cases = [
            ("invalid UTF-8 in a string", call_with(b"\"a\xffb\"")),
            ("lone surrogate", call_with(br#""\ud800""#)),
            ("number out of range", call_with(b"1e999")),
            ("nesting over 128", call_with(deep.as_bytes())),
        ];
        for (what, line) in &cases {
            assert!(
                serde_json::from_slice::<IgnoredAny>(line).is_ok(),
                "{what}: the old pre-check accepted it"
            );
            let v = reply(line);
            assert_eq!(v["jsonrpc"], "2.0", "{what}: {v}");
            assert_eq!(v["error"]["code"], PARSE_ERROR, "{what}: {v}");
            assert_eq!(v["id"], 7, "{what}: {v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Parse error: "),
                "{what}: {v}"
            );
        }
        // The same faults with no readable request id: answered without one.
        let top_level_deep = reply(deep.as_bytes());
        assert_eq!(top_level_deep["error"]["code"], PARSE_ERROR);
        assert!(top_level_deep.get("id").is_none(), "{top_level_deep}");
        for no_id in [
            &br#"{"jsonrpc":"2.0","method":"tools/call","params":{"n":1e999}}"#[..],
            br#"{"jsonrpc":"2.0","id":7,"params":{"n":1e999}}"#, // no method: not a request
            br#"{"jsonrpc":"2.0","id":"\ud800","method":"ping"}"#, // the id itself is bad
            b"\xff{}",
        ] {
            let v = reply(no_id);
            assert_eq!(v["error"]["code"], PARSE_ERROR, "{v}");
            assert!(v.get("id").is_none(), "{v}");
        }
        // A string id comes back as it was sent.
        let v = reply(br#"{"id":"req-1","jsonrpc":"2.0","method":"ping","params":{"x":"\udfff"}}"#);
        assert_eq!(v["id"], "req-1", "{v}");
    }

    /// Valid JSON that is no valid message: a request with a readable id is answered -32600
    /// with that id (rmcp would answer without one); the rest goes to rmcp, which answers
    /// without an id or ignores a non-MCP notification.
    #[test]
    fn invalid_requests_with_an_id_are_answered_with_it() {
        let v = reply(br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":5}"#);
        assert_eq!(v["error"]["code"], INVALID_REQUEST, "{v}");
        assert_eq!(v["id"], 9, "{v}");
        // A message followed by more text is not JSON: a parse error (rmcp would stop reading
        // at the message's fault and answer -32600).
        let v = reply(br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":5} {}"#);
        assert_eq!(v["error"]["code"], PARSE_ERROR, "{v}");
        for forwarded in [
            &b"42"[..],
            br#"{"hello":"world"}"#,
            br#"{"jsonrpc":"2.0","id":3,"result":{},"error":{}}"#, // a response: its id is ours
            br#"{"jsonrpc":"2.0","method":"notifications/progress","params":5}"#,
            br#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#,
        ] {
            assert_eq!(
                classify(forwarded),
                Verdict::Forward,
                "{}",
                String::from_utf8_lossy(forwarded)
            );
        }
    }

    #[test]
    fn valid_messages_are_forwarded_and_a_bom_is_skipped_as_rmcp_does() {
        for ok in [
            &br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#[..],
            b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\ud83d\ude00"}}"#,
            br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"scripts_list","arguments":{}}}"#,
            br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ] {
            assert_eq!(classify(ok), Verdict::Forward, "{}", String::from_utf8_lossy(ok));
        }
    }

    /// An echoing peer sends our replies back: each is a message rmcp decodes (an error
    /// response, which it drops), so no reply to a reply, no storm.
    #[test]
    fn replies_are_messages_rmcp_decodes() {
        for line in [
            call_with(b"1e999"),
            b"not json".to_vec(),
            br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":5}"#.to_vec(),
        ] {
            let Verdict::Reply(r) = classify(&line) else {
                panic!()
            };
            assert_eq!(classify(r.as_bytes()), Verdict::Forward, "{r}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn capped_reader_skips_long_lines_and_keeps_going() {
        let data = b"short\n0123456789abcdef\nok\nno-newline".to_vec();
        let mut r = BufReader::with_capacity(4, &data[..]);
        let mut got = Vec::new();
        loop {
            match read_line_capped(&mut r, 8).await.unwrap() {
                Read::Line(l) => got.push(String::from_utf8(l).unwrap()),
                Read::TooLong => got.push("<too long>".into()),
                Read::Eof => break,
            }
        }
        assert_eq!(got, ["short\n", "<too long>", "ok\n", "<too long>"]);
    }

    /// A stand-in server that echoes every forwarded line: garbage gets a -32700 and the
    /// session goes on, in order, and EOF on input reaches the server.
    #[tokio::test(flavor = "current_thread")]
    async fn garbage_is_answered_and_valid_lines_pass_through() {
        let (mut client, input) = tokio::io::duplex(1024);
        let (output, mut client_out) = tokio::io::duplex(1024);
        let f = spawn(input, output);
        let (mut srv_in, mut srv_out) = (f.to_server, f.from_server);
        let echo = tokio::spawn(async move {
            let mut buf = Vec::new();
            srv_in.read_to_end(&mut buf).await.unwrap();
            srv_out.write_all(&buf).await.unwrap();
        });
        client
            .write_all(b"{\"id\":1}\nnot json\n\n{\"id\":2}\n")
            .await
            .unwrap();
        drop(client);
        echo.await.unwrap();
        f.reader.await.unwrap();
        f.writer.await.unwrap();
        let mut all = String::new();
        client_out.read_to_string(&mut all).await.unwrap();
        let lines: Vec<&str> = all.lines().collect();
        assert_eq!(lines.len(), 3, "{all}");
        assert!(lines[0].contains("-32700"), "{all}");
        assert_eq!(&lines[1..], ["{\"id\":1}", "{\"id\":2}"]);
    }
}
