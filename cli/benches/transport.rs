//! The MCP transport's own cost: `ping` round trips over in-memory pipes, through
//! [`procsnap_cli::transport::serve`] and through rmcp's own stream transport (which the server
//! used, behind a line filter, before), with a server that has no tools. No processes, no
//! supervisor: only line codec, rmcp's service loop and the write path.
//!
//! `cargo bench -p procsnap-cli --bench transport` prints µs per round trip for both, measured
//! alternately in one run, and their ratio. For instruction counts (stable on a loaded machine):
//! `valgrind --tool=callgrind --callgrind-out-file=/dev/null BENCH ours 1000` and `… ours 11000`
//! (and `rmcp`): the difference of the two totals over 10,000 is the cost of one round trip.

use std::time::Instant;

use procsnap_cli::transport::{Limits, serve};
use rmcp::ServiceExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A server with no tools: it answers `initialize` and `ping`.
struct Bare;
impl rmcp::ServerHandler for Bare {}

/// `n` pings, written by one task and read by another, over 64 KiB pipes.
async fn round_trips(ours: bool, n: usize) {
    let (mut client_w, server_r) = tokio::io::duplex(64 * 1024);
    let (server_w, client_r) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        if ours {
            serve(Bare, server_r, server_w, Limits::default()).await;
        } else if let Ok(running) = Bare.serve((server_r, server_w)).await {
            let _ = running.waiting().await;
        }
    });
    let writer = tokio::spawn(async move {
        let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;
        client_w
            .write_all(format!("{init}\n").as_bytes())
            .await
            .unwrap();
        for id in 1..=n {
            let ping = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}\n");
            client_w.write_all(ping.as_bytes()).await.unwrap();
        }
        client_w
    });
    let mut lines = BufReader::new(client_r).lines();
    for _ in 0..=n {
        lines.next_line().await.unwrap().expect("a reply");
    }
    drop(writer.await.unwrap());
    server.await.unwrap();
}

fn run(ours: bool, n: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(round_trips(ours, n));
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `BENCH ours N` / `BENCH rmcp N`: one run, for callgrind.
    if let [which, n] = &args[..] {
        let n = n.parse().expect("a count");
        run(which == "ours", n);
        return;
    }
    const N: usize = 20_000;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        ours.push(run(true, N));
        theirs.push(run(false, N));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (o, t) = (median(&mut ours), median(&mut theirs));
    println!("ping round trips over in-memory pipes, a server with no tools, median of 5 × {N}:");
    println!("  procsnap's transport            {o:7.2} µs");
    println!("  rmcp's stream transport         {t:7.2} µs");
    println!("  procsnap / rmcp                 {:7.2}×", o / t);
}
