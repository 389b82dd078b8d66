//! The owner's side of the control socket: one listener per live session, serving MCP (the
//! same tools as stdio) on each connection of the same user, on a thread of its own.
//!
//! One owner per project: the lock file beside the socket is held (locked) for the owner's
//! whole life. Whoever gets the lock removes a socket left behind by an owner that died
//! (SIGKILL leaves the file; the kernel releases the lock), binds a new one and makes it
//! 0600. Each connection's peer is checked with `SO_PEERCRED`: another user's connection is
//! closed before a byte is read. A client that floods requests or stops reading is bounded
//! and, if it stalls, dropped (see [`crate::transport`]); it never slows the session or the
//! other clients down.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;
use std::thread::JoinHandle;

use procsnap_session::Session;
use serde::{Deserialize, Serialize};
use tokio::net::UnixListener;
use tokio::sync::watch;

use super::place::{Place, my_uid, owner_only};
use crate::mcp::Server;
use crate::transport::{self, Limits};

/// Connections served at once; more wait in the listen backlog.
const MAX_CLIENTS: usize = 64;

/// Who owns a live session: written beside the socket as `<name>.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OwnerInfo {
    pub pid: u32,
    /// The face that owns it: `up`, `tui`, `mcp`.
    pub face: String,
    /// The canonical project directory.
    pub project: String,
    /// The configuration file it runs, if any.
    pub config: Option<String>,
    /// When it started (RFC 3339).
    pub started: String,
}

impl OwnerInfo {
    /// This process as the owner, through `face`, of `place`'s project.
    pub fn me(face: &str, place: &Place, config: Option<&std::path::Path>) -> OwnerInfo {
        OwnerInfo {
            pid: std::process::id(),
            face: face.to_owned(),
            project: place.project.display().to_string(),
            config: config.map(|c| c.display().to_string()),
            started: crate::timefmt::rfc3339(std::time::SystemTime::now()),
        }
    }

    /// `procsnap up (pid 4242)`.
    pub fn describe(&self) -> String {
        format!("procsnap {} (pid {})", self.face, self.pid)
    }

    /// The owner of `place`, as it wrote itself down (none if nobody did).
    pub fn read(place: &Place) -> Option<OwnerInfo> {
        let text = fs::read_to_string(&place.info).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// Why no listener was started.
#[derive(Debug)]
pub enum BindError {
    /// Another process owns the project's session.
    Owned,
    Io(io::Error),
}

impl From<io::Error> for BindError {
    fn from(e: io::Error) -> BindError {
        BindError::Io(e)
    }
}

/// The listening side of a live session; dropping it closes the socket, removes its files
/// and lets go of the lock.
pub struct Listener {
    place: Place,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    /// Locked while it exists.
    _lock: File,
}

/// Takes the project's lock, or says that somebody holds it.
pub fn take_lock(place: &Place) -> Result<File, BindError> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&place.lock)?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(fs::TryLockError::WouldBlock) => Err(BindError::Owned),
        Err(fs::TryLockError::Error(e)) => Err(BindError::Io(e)),
    }
}

impl Listener {
    /// Binds `place`'s socket for `session` (holding the lock `lock`) and serves it on a
    /// thread of its own; `dir` is where the project's scripts are re-read.
    ///
    /// # Errors
    ///
    /// The socket or its thread could not be made.
    pub fn start(
        place: Place,
        lock: File,
        session: Arc<Session>,
        info: &OwnerInfo,
    ) -> io::Result<Listener> {
        // We hold the lock: a socket file here is one an owner that died left behind.
        match fs::remove_file(&place.socket) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let std_listener = std::os::unix::net::UnixListener::bind(&place.socket)?;
        owner_only(&place.socket)?;
        std_listener.set_nonblocking(true)?;
        let text = serde_json::to_string(info).map_err(io::Error::other)?;
        fs::write(&place.info, text)?;
        owner_only(&place.info)?;
        let uid = my_uid()?;
        let (stop, stopped) = watch::channel(false);
        let dir = place.project.clone();
        let owner = info.clone();
        let thread = std::thread::Builder::new()
            .name("procsnap-control".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        eprintln!("procsnap: the control socket cannot run: {e}");
                        return;
                    }
                };
                rt.block_on(accept(std_listener, uid, session, dir, owner, stopped));
                rt.shutdown_timeout(std::time::Duration::from_millis(100));
            })?;
        Ok(Listener {
            place,
            stop,
            thread: Some(thread),
            _lock: lock,
        })
    }

    /// The socket's place.
    pub fn place(&self) -> &Place {
        &self.place
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Still under the lock: nobody else has bound the socket meanwhile.
        let _ = fs::remove_file(&self.place.socket);
        let _ = fs::remove_file(&self.place.info);
    }
}

/// Accepts connections of user `uid` until told to stop.
async fn accept(
    std_listener: std::os::unix::net::UnixListener,
    uid: u32,
    session: Arc<Session>,
    dir: std::path::PathBuf,
    owner: OwnerInfo,
    mut stopped: watch::Receiver<bool>,
) {
    let listener = match UnixListener::from_std(std_listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("procsnap: the control socket cannot listen: {e}");
            return;
        }
    };
    let clients = Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
    loop {
        let permit = tokio::select! {
            p = clients.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stopped.changed() => return,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(_) => continue,
            },
            _ = stopped.changed() => return,
        };
        let Ok(cred) = stream.peer_cred() else {
            continue;
        };
        if cred.uid() != uid {
            // Another user gets nothing: the connection closes unread.
            drop(stream);
            continue;
        }
        let who = describe_peer(cred.pid());
        let server = Server::for_client(session.clone(), &dir, &who, owner.clone());
        tokio::spawn(async move {
            let (input, output) = stream.into_split();
            let _ended = transport::serve(server.clone(), input, output, Limits::default()).await;
            server.client_left();
            drop(permit);
        });
    }
}

/// `procsnap restart (pid 4242)`, or `pid 4242`: who is on the other end, for the owner's
/// output.
fn describe_peer(pid: Option<i32>) -> String {
    let Some(pid) = pid else {
        return "a client".to_owned();
    };
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let program = args
        .first()
        .and_then(|p| std::path::Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned());
    match (program.as_deref(), args.get(1)) {
        (Some("procsnap"), Some(verb)) => format!("procsnap {} (pid {pid})", word(verb)),
        (Some(p), _) => format!("{} (pid {pid})", word(p)),
        _ => format!("pid {pid}"),
    }
}

/// `s` as a short word: letters, digits, `-`, `_` and `.` only (it ends up in other users'
/// terminals' output lines).
fn word(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(32)
        .collect()
}
