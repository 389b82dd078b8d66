//! Newline-delimited JSON-RPC framing in front of rmcp's stdio transport.
//!
//! rmcp answers well-formed JSON of the wrong shape with `-32600 Invalid Request`, but drops a
//! line that is not JSON at all without a word (rust-sdk#938: replying to garbage can start an
//! error storm with a peer that echoes). A client that sent a truncated or mangled request
//! then waits forever. JSON-RPC 2.0 wants a `-32700 Parse error`, so this layer reads stdin
//! itself, answers each unparseable line with one, and forwards every other line unchanged.
//! The reply is itself valid JSON, so an echoing peer gets silence from rmcp, not a storm.
//!
//! The `id` is omitted (it cannot be read from the line), as MCP 2025-11-25 and 2026-07-28
//! specify and as rmcp does for its own `-32600`; JSON-RPC 2.0 would send `"id": null`, which
//! the MCP schema does not allow.
//!
//! Output from rmcp and from this layer goes through one writer task, whole lines at a time, so
//! they never interleave inside a line.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The longest line accepted (rmcp's own default).
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// What to do with one incoming line.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Well-formed JSON: rmcp decides.
    Forward,
    /// Blank: ignore.
    Skip,
    /// Not JSON: answer with this reply line (no trailing newline).
    Reply(String),
}

/// Classifies one line (without its `\n`).
pub fn classify(line: &[u8]) -> Verdict {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Skip;
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        Ok(_) => Verdict::Forward,
        Err(e)
            if matches!(
                e.classify(),
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof
            ) =>
        {
            Verdict::Reply(parse_error(&format!(
                "Parse error: {e} (each JSON-RPC message must be one JSON object on one line)"
            )))
        }
        // Valid JSON that serde could not take (e.g. nesting too deep): let rmcp answer it.
        Err(_) => Verdict::Forward,
    }
}

/// A `-32700` reply line.
pub fn parse_error(message: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "error": { "code": -32700, "message": message }
    })
    .to_string()
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
