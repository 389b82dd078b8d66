//! Readiness probes: a command (exit 0 passes) or an HTTP GET (200–399 passes), each within
//! its timeout. Both block; the conductor runs each on a short-lived thread of its own. A
//! failure says why in a few words (`connection refused`, `HTTP 503`, `exit code 1`,
//! `timed out after 1s`): the policy puts them in its reasons, which every face shows.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use procsnap::CommandSpec;

use super::board::short;
use crate::compose::Check;

/// Runs `check` once: `Ok` if it passed within `timeout`, else why not.
pub fn run(check: &Check, timeout: Duration) -> Result<(), String> {
    match check {
        Check::Exec(spec) => exec(spec, timeout),
        Check::Http { host, port, path } => match http_get(host, *port, path, timeout)? {
            code if (200..400).contains(&code) => Ok(()),
            code => Err(format!("HTTP {code}")),
        },
    }
}

/// How often a running probe command is looked at.
const POLL: Duration = Duration::from_millis(10);

fn timed_out(timeout: Duration) -> String {
    format!("timed out after {}", short(timeout))
}

/// Runs `spec` in a process group of its own, with no input or output: `Ok` if it exits 0
/// within `timeout`. On timeout the whole group is killed (the leader is not reaped before
/// that, so the group id is still ours).
pub fn exec(spec: &CommandSpec, timeout: Duration) -> Result<(), String> {
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
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", spec.program().to_string_lossy()))?;
    let end = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(match (status.code(), status.signal()) {
                    (Some(c), _) => format!("exit code {c}"),
                    (None, Some(s)) => format!("killed by signal {s}"),
                    (None, None) => "exit status unknown".to_owned(),
                });
            }
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
    Err(timed_out(timeout))
}

/// A socket error in a few words: `connection refused`, `timed out after 1s`, …
fn io_words(e: &io::Error, timeout: Duration) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timed_out(timeout),
        _ => e.to_string(),
    }
}

/// `GET path` over HTTP/1.1 to `host:port`: the response's status code, within `timeout`
/// for everything (name lookup aside: `localhost` and addresses need none).
pub fn http_get(host: &str, port: u16, path: &str, timeout: Duration) -> Result<u16, String> {
    let end = Instant::now() + timeout;
    let left = || end.saturating_duration_since(Instant::now());
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = String::from("no address");
    for addr in addrs {
        if left().is_zero() {
            return Err(timed_out(timeout));
        }
        let mut stream = match TcpStream::connect_timeout(&addr, left()) {
            Ok(s) => s,
            Err(e) => {
                last = io_words(&e, timeout);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: procsnap\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n"
        );
        let words = |e: io::Error| io_words(&e, timeout);
        stream
            .set_write_timeout(Some(left().max(Duration::from_millis(1))))
            .map_err(words)?;
        stream.write_all(request.as_bytes()).map_err(words)?;
        return read_status(&mut stream, &left, timeout);
    }
    Err(last)
}

/// Reads up to the end of the status line and returns its code.
fn read_status(
    stream: &mut TcpStream,
    left: &dyn Fn() -> Duration,
    timeout: Duration,
) -> Result<u16, String> {
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') {
        if head.len() > 4096 {
            return Err("no status line in the first 4 KiB".to_owned());
        }
        let wait = left();
        if wait.is_zero() {
            return Err(timed_out(timeout));
        }
        stream
            .set_read_timeout(Some(wait))
            .map_err(|e| io_words(&e, timeout))?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_words(&e, timeout)),
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
        assert_eq!(http_get("127.0.0.1", ok, "/", t), Ok(204));
        let redirect = serve("HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n");
        assert_eq!(http_get("localhost", redirect, "/", t), Ok(302));
        let bad = serve("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        let check = |port| Check::Http {
            host: "127.0.0.1".into(),
            port,
            path: "/health".into(),
        };
        assert_eq!(run(&check(bad), t), Err("HTTP 503".to_owned()));
        let junk = serve("hello\r\n");
        assert!(http_get("127.0.0.1", junk, "/", t).is_err());
    }

    #[test]
    fn nobody_listening_fails_and_silence_times_out() {
        let free = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        assert_eq!(
            http_get("127.0.0.1", port, "/", Duration::from_secs(2)),
            Err("connection refused".to_owned())
        );
        // Accepts (the kernel does) but never answers.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let start = Instant::now();
        let r = http_get("127.0.0.1", port, "/", Duration::from_millis(300));
        assert_eq!(r, Err("timed out after 300ms".to_owned()));
        assert!(start.elapsed() < Duration::from_secs(3));
        drop(silent);
    }

    #[test]
    fn exec_passes_on_exit_0_and_a_hung_command_is_killed_at_its_timeout() {
        let t = Duration::from_secs(5);
        assert_eq!(exec(&CommandSpec::shell("exit 0"), t), Ok(()));
        assert_eq!(
            exec(&CommandSpec::shell("exit 3"), t),
            Err("exit code 3".to_owned())
        );
        let missing = exec(&CommandSpec::new("/no/such/program"), t).unwrap_err();
        assert!(
            missing.starts_with("cannot run /no/such/program: "),
            "{missing}"
        );
        assert!(exec(&CommandSpec::shell("test \"$X\" = 1").env("X", "1"), t).is_ok());
        let dir = std::env::temp_dir();
        assert!(
            exec(
                &CommandSpec::shell("test \"$PWD\" = \"$(pwd -P)\"").cwd(&dir),
                t
            )
            .is_ok()
        );
        let marker = dir.join(format!("procsnap-probe-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let start = Instant::now();
        let hung = format!("sleep 30 & sleep 1; touch {}; wait", marker.display());
        assert_eq!(
            exec(&CommandSpec::shell(hung), Duration::from_millis(200)),
            Err("timed out after 200ms".to_owned())
        );
        assert!(start.elapsed() < Duration::from_secs(3));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            !marker.exists(),
            "the whole group was killed at the timeout"
        );
    }
}
