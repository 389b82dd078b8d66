//! Readiness probes: a command (exit 0 passes) or an HTTP GET (200–399 passes), each within
//! its timeout. Both block; the conductor runs each on a short-lived thread of its own.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use procsnap::CommandSpec;

use crate::def::Check;

/// Runs `check` once; true if it passed within `timeout`.
pub fn run(check: &Check, timeout: Duration) -> bool {
    match check {
        Check::Exec(spec) => exec(spec, timeout),
        Check::Http { host, port, path } => http_get(host, *port, path, timeout) == Ok(true),
    }
}

/// How often a running probe command is looked at.
const POLL: Duration = Duration::from_millis(10);

/// Runs `spec` in a process group of its own, with no input or output; true if it exits 0
/// within `timeout`. On timeout the whole group is killed (the leader is not reaped before
/// that, so the group id is still ours).
pub fn exec(spec: &CommandSpec, timeout: Duration) -> bool {
    let mut cmd = Command::new(spec.program());
    cmd.args(spec.get_args())
        .envs(spec.get_env().iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    if let Some(dir) = spec.get_cwd() {
        cmd.current_dir(dir);
    }
    let Ok(mut child) = cmd.spawn() else {
        return false;
    };
    let end = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < end => std::thread::sleep(POLL),
            _ => break,
        }
    }
    // SIGKILL to the group through kill(1): this crate has no unsafe code for kill(2).
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// `GET path` over HTTP/1.1 to `host:port`: `Ok(true)` for a status from 200 to 399, within
/// `timeout` for everything (name lookup aside: `localhost` and addresses need none).
pub fn http_get(host: &str, port: u16, path: &str, timeout: Duration) -> Result<bool, String> {
    let end = Instant::now() + timeout;
    let left = || end.saturating_duration_since(Instant::now());
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = String::from("no address");
    for addr in addrs {
        if left().is_zero() {
            return Err("timed out".to_owned());
        }
        let mut stream = match TcpStream::connect_timeout(&addr, left()) {
            Ok(s) => s,
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: procsnap\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n"
        );
        stream
            .set_write_timeout(Some(left().max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        return read_status(&mut stream, &left).map(|code| (200..400).contains(&code));
    }
    Err(last)
}

/// Reads up to the end of the status line and returns its code.
fn read_status(stream: &mut TcpStream, left: &dyn Fn() -> Duration) -> Result<u16, String> {
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') {
        if head.len() > 4096 {
            return Err("no status line in the first 4 KiB".to_owned());
        }
        let wait = left();
        if wait.is_zero() {
            return Err("timed out".to_owned());
        }
        stream
            .set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
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
        assert_eq!(http_get("127.0.0.1", ok, "/", t), Ok(true));
        let redirect = serve("HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n");
        assert_eq!(http_get("localhost", redirect, "/", t), Ok(true));
        let bad = serve("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(http_get("127.0.0.1", bad, "/health", t), Ok(false));
        let junk = serve("hello\r\n");
        assert!(http_get("127.0.0.1", junk, "/", t).is_err());
    }

    #[test]
    fn nobody_listening_fails_and_silence_times_out() {
        let free = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        assert!(http_get("127.0.0.1", port, "/", Duration::from_secs(2)).is_err());
        // Accepts (the kernel does) but never answers.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let start = Instant::now();
        let r = http_get("127.0.0.1", port, "/", Duration::from_millis(300));
        assert!(r.is_err(), "{r:?}");
        assert!(start.elapsed() < Duration::from_secs(3));
        drop(silent);
    }

    #[test]
    fn exec_passes_on_exit_0_and_a_hung_command_is_killed_at_its_timeout() {
        let t = Duration::from_secs(5);
        assert!(exec(&CommandSpec::shell("exit 0"), t));
        assert!(!exec(&CommandSpec::shell("exit 3"), t));
        assert!(!exec(&CommandSpec::new("/no/such/program"), t));
        assert!(exec(
            &CommandSpec::shell("test \"$X\" = 1").env("X", "1"),
            t
        ));
        let dir = std::env::temp_dir();
        assert!(exec(
            &CommandSpec::shell("test \"$PWD\" = \"$(pwd -P)\"").cwd(&dir),
            t
        ));
        let marker = dir.join(format!("procsnap-probe-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let start = Instant::now();
        let hung = format!("sleep 30 & sleep 1; touch {}; wait", marker.display());
        assert!(!exec(&CommandSpec::shell(hung), Duration::from_millis(200)));
        assert!(start.elapsed() < Duration::from_secs(3));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            !marker.exists(),
            "the whole group was killed at the timeout"
        );
    }
}
