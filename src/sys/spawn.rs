//! `posix_spawn` with a process group, a reset signal state and piped output.
//!
//! The child is set up entirely by glibc's `posix_spawn` (a `clone(CLONE_VM | CLONE_VFORK)`
//! followed by the file actions, the attributes and `execve`), so no Rust code runs in the
//! child and the parent's memory size does not matter. What the child gets:
//!
//! | what | how |
//! |---|---|
//! | own process group, as leader | `POSIX_SPAWN_SETPGROUP`, pgroup 0 |
//! | empty signal mask | `POSIX_SPAWN_SETSIGMASK` with an empty set |
//! | default disposition for every catchable signal | `POSIX_SPAWN_SETSIGDEF` with a full set |
//! | stdin `/dev/null` (or a given fd) | `posix_spawn_file_actions_addopen`/`adddup2` |
//! | stdout, stderr: fresh pipes | `pipe2(O_CLOEXEC)` + `adddup2` (dup2 clears close-on-exec on the copy) |
//! | working directory | `posix_spawn_file_actions_addchdir_np` (glibc ≥ 2.29) |
//! | no other descriptor | `posix_spawn_file_actions_addclosefrom_np` (glibc ≥ 2.34) |
//! | environment | a snapshot of the parent's (`std::env::vars_os`, under std's environment lock), with the spec's overrides and the tag |
//!
//! The parent's ends of the pipes are close-on-exec (no other child inherits them) and
//! non-blocking (they are read from an `epoll` loop). A failed `chdir` or `execve` in the child
//! is reported by glibc as the return value of `posix_spawn`, after glibc has reaped the failed
//! child itself; it comes back as a [`SpawnError`] naming `"chdir"` or `"exec"` and the program.
//!
//! The program is looked up in the parent's `PATH` when it has no `/` (`posix_spawnp`); a
//! `PATH` set in the spec's environment applies to the child's own lookups, not to this one.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::ptr;

use super::fd::pipe;
use super::{Pid, cvt, cvt_nz};
use crate::{CommandSpec, SpawnError};

/// Where one of the child's standard descriptors comes from.
#[derive(Clone, Copy, Debug)]
pub enum Stdio<'a> {
    /// `/dev/null`.
    Null,
    /// A fresh pipe; the parent gets the other end ([`Child::stdin`], [`Child::stdout`] or
    /// [`Child::stderr`]: close-on-exec, non-blocking; the child's end is blocking).
    Pipe,
    /// A copy of this descriptor.
    Fd(BorrowedFd<'a>),
}

/// A spawned child: its pid (also its process-group id) and the parent's ends of its pipes.
///
/// Dropping a `Child` does not wait for it or kill it: the caller must reap `pid`.
#[derive(Debug)]
pub struct Child {
    /// The child's pid, which is also the id of the process group it leads.
    pub pid: Pid,
    /// The write end of the child's stdin, when it was [`Stdio::Pipe`].
    pub stdin: Option<OwnedFd>,
    /// The read end of the child's stdout, when it was [`Stdio::Pipe`].
    pub stdout: Option<OwnedFd>,
    /// The read end of the child's stderr, when it was [`Stdio::Pipe`].
    pub stderr: Option<OwnedFd>,
}

/// Spawns `spec` as the leader of a new process group, with stdin from `/dev/null` and stdout
/// and stderr piped.
///
/// ```
/// use procsnap::{sys, CommandSpec};
/// let child = sys::spawn(&CommandSpec::shell("exit 3")).unwrap();
/// let status = sys::wait_blocking(child.pid).unwrap();
/// assert_eq!(status, sys::WaitStatus::Exited(3));
///
/// let err = sys::spawn(&CommandSpec::new("/no/such/program")).unwrap_err();
/// assert_eq!((err.op, err.kind()), ("exec", std::io::ErrorKind::NotFound));
/// ```
pub fn spawn(spec: &CommandSpec) -> Result<Child, SpawnError> {
    spawn_with(spec, Stdio::Null, Stdio::Pipe, Stdio::Pipe)
}

/// [`spawn`], with `tag` (a `NAME=VALUE` string) added to the child's environment, replacing
/// any inherited variable of that name. Descendants inherit it unless they clear their
/// environment, so it marks every process of the child's tree from the moment it runs.
///
/// ```
/// use procsnap::{sys, CommandSpec};
/// let child = sys::spawn_tagged(&CommandSpec::shell("exit $MY_TAG"), c"MY_TAG=7").unwrap();
/// assert_eq!(sys::wait_blocking(child.pid).unwrap(), sys::WaitStatus::Exited(7));
/// ```
pub fn spawn_tagged(spec: &CommandSpec, tag: &CStr) -> Result<Child, SpawnError> {
    spawn_inner(
        spec,
        [Stdio::Null, Stdio::Pipe, Stdio::Pipe],
        &[],
        Some(tag),
    )
}

/// [`spawn`] with a choice for each standard descriptor.
pub fn spawn_with(
    spec: &CommandSpec,
    stdin: Stdio<'_>,
    stdout: Stdio<'_>,
    stderr: Stdio<'_>,
) -> Result<Child, SpawnError> {
    spawn_with_fds(spec, stdin, stdout, stderr, &[])
}

/// [`spawn_with`], and the child also gets a copy of `extra[i]` as its descriptor `3 + i`
/// (a `dup2` file action, which clears close-on-exec on the copy).
pub fn spawn_with_fds(
    spec: &CommandSpec,
    stdin: Stdio<'_>,
    stdout: Stdio<'_>,
    stderr: Stdio<'_>,
    extra: &[BorrowedFd<'_>],
) -> Result<Child, SpawnError> {
    spawn_inner(spec, [stdin, stdout, stderr], extra, None)
}

fn spawn_inner(
    spec: &CommandSpec,
    [stdin, stdout, stderr]: [Stdio<'_>; 3],
    extra: &[BorrowedFd<'_>],
    tag: Option<&CStr>,
) -> Result<Child, SpawnError> {
    let fail = |op: &'static str, e: io::Error| SpawnError::new(op, program_text(spec), e);

    let argv = Argv::new(spec).map_err(|e| fail("argv", e))?;
    let envp = build_env(spec, tag).map_err(|e| fail("env", e))?;
    let cwd = spec
        .get_cwd()
        .map(|d| cstring(d.as_os_str()))
        .transpose()
        .map_err(|e| fail("cwd", e))?;

    // Each `Stdio::Pipe` becomes (parent's end, child's end).
    let mut in_pipe = make_pipe(stdin, true).map_err(|e| fail("pipe", e))?;
    let mut out_pipe = make_pipe(stdout, false).map_err(|e| fail("pipe", e))?;
    let mut err_pipe = make_pipe(stderr, false).map_err(|e| fail("pipe", e))?;

    let mut actions_storage = MaybeUninit::uninit();
    let mut actions =
        FileActions::new(&mut actions_storage).map_err(|e| fail("posix_spawn_file_actions", e))?;
    let child_end = |choice: Stdio<'_>, pipe: &Option<(OwnedFd, OwnedFd)>| -> Option<i32> {
        match (choice, pipe) {
            (_, Some((_, w))) => Some(w.as_raw_fd()),
            (Stdio::Fd(fd), None) => Some(fd.as_raw_fd()),
            _ => None,
        }
    };
    // A source fd that is itself one of the targets (0, 1 or 2 when the host closed its stdio,
    // or `3 + i` for the extra ones) could be overwritten by an earlier action: move such
    // sources above every target first.
    let targets = 3 + extra.len() as libc::c_int;
    let mut keep_alive = Vec::new();
    let mut source = |fd: Option<i32>| -> io::Result<Option<i32>> {
        match fd {
            Some(fd) if fd < targets => {
                // SAFETY: F_DUPFD_CLOEXEC on an open fd returns a new fd (>= `targets`) or -1.
                let new = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, targets) })?;
                // SAFETY: fcntl just returned this fd; nothing else owns it.
                keep_alive.push(unsafe { OwnedFd::from_raw_fd(new) });
                Ok(Some(new))
            }
            other => Ok(other),
        }
    };
    let mut sources = vec![
        source(child_end(stdin, &in_pipe)),
        source(child_end(stdout, &out_pipe)),
        source(child_end(stderr, &err_pipe)),
    ];
    sources.extend(extra.iter().map(|fd| source(Some(fd.as_raw_fd()))));
    for (target, src) in sources.into_iter().enumerate() {
        let target = target as libc::c_int;
        let r = match src.map_err(|e| fail("pipe", e))? {
            Some(fd) => actions.dup2(fd, target),
            None => actions.dev_null(target),
        };
        r.map_err(|e| fail("posix_spawn_file_actions", e))?;
    }
    // Nothing else crosses over: a descriptor the host inherited without close-on-exec (a
    // listening socket, a lock file) must not stay open in every child, holding a port or a
    // pipe open long after the host is gone.
    actions
        .close_from(targets)
        .map_err(|e| fail("posix_spawn_file_actions", e))?;
    if let Some(dir) = &cwd {
        actions
            .chdir(dir)
            .map_err(|e| fail("posix_spawn_file_actions", e))?;
    }

    let mut attr_storage = MaybeUninit::uninit();
    let attr = SpawnAttr::new(&mut attr_storage).map_err(|e| fail("posix_spawnattr", e))?;

    let envp_ptr = envp.as_ptr();
    let mut pid: libc::pid_t = 0;
    // The file actions and attributes were initialised above and are destroyed only when their
    // guards drop, after this call.
    // SAFETY: every pointer is valid until the call returns: `argv` and `envp` are null-terminated
    // arrays of NUL-terminated strings owned by `argv`/`envp`.
    let rc = unsafe {
        libc::posix_spawnp(
            &mut pid,
            argv.program.as_ptr(),
            actions.as_ptr(),
            attr.as_ptr(),
            argv.ptrs.as_ptr(),
            envp_ptr,
        )
    };
    drop(keep_alive);
    if let Err(e) = cvt_nz(rc) {
        return Err(fail(classify(&e, spec), e));
    }
    // The child has its copies; close ours of its ends, so that EOF is seen when it exits (and
    // it sees EOF on stdin when we close ours).
    let [stdin, stdout, stderr] =
        [&mut in_pipe, &mut out_pipe, &mut err_pipe].map(|p| p.take().map(|(ours, _theirs)| ours));
    let pid = Pid::from_raw(pid).ok_or_else(|| {
        fail(
            "posix_spawn",
            io::Error::other("posix_spawn returned a non-positive pid"),
        )
    })?;
    Ok(Child {
        pid,
        stdin,
        stdout,
        stderr,
    })
}

/// `"chdir"` when the working directory is the problem, `"exec"` for the usual exec failures,
/// `"posix_spawn"` for the rest (`EAGAIN`, `ENOMEM`, …).
fn classify(e: &io::Error, spec: &CommandSpec) -> &'static str {
    let exec_like = matches!(
        e.raw_os_error(),
        Some(
            libc::ENOENT
                | libc::EACCES
                | libc::ENOTDIR
                | libc::ENOEXEC
                | libc::ELOOP
                | libc::ENAMETOOLONG
                | libc::ETXTBSY
                | libc::EISDIR
                | libc::EPERM
                | libc::E2BIG
        )
    );
    if !exec_like {
        return "posix_spawn";
    }
    match spec.get_cwd() {
        Some(dir) if !dir.is_dir() => "chdir",
        _ => "exec",
    }
}

fn program_text(spec: &CommandSpec) -> String {
    spec.program().to_string_lossy().into_owned()
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{:?} contains a NUL byte", s),
        )
    })
}

/// A pipe for a child's standard descriptor, as `(parent's end, child's end)`: the parent
/// reads (stdout, stderr) unless `to_child` (stdin). Only the parent's end is non-blocking.
fn make_pipe(choice: Stdio<'_>, to_child: bool) -> io::Result<Option<(OwnedFd, OwnedFd)>> {
    if !matches!(choice, Stdio::Pipe) {
        return Ok(None);
    }
    let (r, w) = pipe()?;
    let (ours, theirs) = if to_child { (w, r) } else { (r, w) };
    // One F_SETFL instead of F_GETFL + F_SETFL: a fresh pipe end has no status flag F_SETFL
    // could change (O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME, O_NONBLOCK) besides the one we
    // set; the access mode is ignored by F_SETFL.
    // SAFETY: F_SETFL on an open fd we own takes an int, no pointer.
    cvt(unsafe { libc::fcntl(ours.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) })?;
    Ok(Some((ours, theirs)))
}

/// `argv` as the C array `posix_spawn` wants; the pointers borrow `_strings`.
struct Argv {
    program: CString,
    _strings: Vec<CString>,
    ptrs: Vec<*mut libc::c_char>,
}

impl Argv {
    fn new(spec: &CommandSpec) -> io::Result<Argv> {
        let program = cstring(spec.program())?;
        let mut strings = Vec::with_capacity(spec.get_args().len() + 1);
        strings.push(program.clone());
        for a in spec.get_args() {
            strings.push(cstring(a)?);
        }
        let mut ptrs: Vec<_> = strings.iter().map(|s| s.as_ptr().cast_mut()).collect();
        ptrs.push(ptr::null_mut());
        Ok(Argv {
            program,
            _strings: strings,
            ptrs,
        })
    }
}

/// The child's environment: a snapshot of ours taken by `std::env::vars_os` (which holds std's
/// environment lock while it copies, so a concurrent `set_var` elsewhere in the host cannot
/// change it under us, as a raw read of `environ` could), with the spec's overrides and then
/// `tag` applied (later entries win).
fn build_env(spec: &CommandSpec, tag: Option<&CStr>) -> io::Result<EnvBlock> {
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let tag = tag.map(|t| {
        let bytes = t.to_bytes();
        let (k, v) = bytes.split_at(bytes.iter().position(|&b| b == b'=').unwrap_or(bytes.len()));
        let v = v.strip_prefix(b"=").unwrap_or(v);
        (
            OsString::from_vec(k.to_vec()),
            OsString::from_vec(v.to_vec()),
        )
    });
    for (k, v) in spec.get_env().iter().chain(tag.as_ref()) {
        if k.is_empty() || k.as_bytes().contains(&b'=') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid environment variable name {k:?}"),
            ));
        }
        match vars.iter_mut().find(|(ek, _)| ek == k) {
            Some(slot) => slot.1 = v.clone(),
            None => vars.push((k.clone(), v.clone())),
        }
    }
    let mut strings = Vec::with_capacity(vars.len());
    for (k, v) in vars {
        let mut kv = k.into_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        strings.push(cstring(OsStr::from_bytes(&kv))?);
    }
    Ok(EnvBlock::new(strings))
}

/// A null-terminated `envp` array; the pointers borrow `_strings`.
struct EnvBlock {
    _strings: Vec<CString>,
    ptrs: Vec<*mut libc::c_char>,
}

impl EnvBlock {
    fn new(strings: Vec<CString>) -> EnvBlock {
        let mut ptrs: Vec<_> = strings.iter().map(|s| s.as_ptr().cast_mut()).collect();
        ptrs.push(ptr::null_mut());
        EnvBlock {
            _strings: strings,
            ptrs,
        }
    }

    fn as_ptr(&self) -> *const *mut libc::c_char {
        self.ptrs.as_ptr()
    }
}

/// An initialised `posix_spawn_file_actions_t`, destroyed on drop. It borrows its storage so
/// it is never moved after `init` (the same shape as std's).
struct FileActions<'a>(&'a mut MaybeUninit<libc::posix_spawn_file_actions_t>);

impl<'a> FileActions<'a> {
    fn new(
        storage: &'a mut MaybeUninit<libc::posix_spawn_file_actions_t>,
    ) -> io::Result<FileActions<'a>> {
        // SAFETY: `storage` is valid for writes; init fully initialises it on success.
        cvt_nz(unsafe { libc::posix_spawn_file_actions_init(storage.as_mut_ptr()) })?;
        Ok(FileActions(storage))
    }

    fn as_ptr(&self) -> *const libc::posix_spawn_file_actions_t {
        self.0.as_ptr()
    }

    fn ptr(&mut self) -> *mut libc::posix_spawn_file_actions_t {
        self.0.as_mut_ptr()
    }

    fn dup2(&mut self, fd: libc::c_int, target: libc::c_int) -> io::Result<()> {
        // SAFETY: the actions were initialised in `new`; the call copies the two integers.
        cvt_nz(unsafe { libc::posix_spawn_file_actions_adddup2(self.ptr(), fd, target) })
    }

    fn dev_null(&mut self, target: libc::c_int) -> io::Result<()> {
        let flags = if target == 0 {
            libc::O_RDONLY
        } else {
            libc::O_WRONLY
        };
        // SAFETY: the actions were initialised in `new`; glibc copies the path string.
        cvt_nz(unsafe {
            libc::posix_spawn_file_actions_addopen(
                self.ptr(),
                target,
                c"/dev/null".as_ptr(),
                flags,
                0,
            )
        })
    }

    /// Closes every descriptor from `fd` up in the child (glibc ≥ 2.34; elsewhere the child
    /// keeps what the host did not mark close-on-exec, as with std's `Command`).
    fn close_from(&mut self, fd: libc::c_int) -> io::Result<()> {
        let Some(addclosefrom) = glibc::addclosefrom() else {
            return Ok(()); // an older libc: see `glibc`
        };
        // SAFETY: the actions were initialised in `new`; the call records one integer.
        cvt_nz(unsafe { addclosefrom(self.ptr(), fd) })
    }

    fn chdir(&mut self, dir: &CString) -> io::Result<()> {
        let Some(addchdir) = glibc::addchdir() else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this C library has no posix_spawn_file_actions_addchdir_np (glibc 2.29 or later \
                 is needed to start a process in another directory)",
            ));
        };
        // SAFETY: the actions were initialised in `new`; glibc copies the path string.
        cvt_nz(unsafe { addchdir(self.ptr(), dir.as_ptr()) })
    }
}

/// The file actions glibc added late, looked up at run time (`dlsym`) rather than linked, as
/// std does for such symbols: a binary built on a new glibc still starts on an older one.
/// Without `addclosefrom_np` (glibc < 2.34) a child keeps the host's descriptors that lack
/// close-on-exec (as with std's `Command`); without `addchdir_np` (< 2.29) a spawn with a
/// working directory fails with an error that says so.
mod glibc {
    use std::ffi::CStr;
    use std::sync::OnceLock;

    type Actions = *mut libc::posix_spawn_file_actions_t;
    pub(super) type AddCloseFrom = unsafe extern "C" fn(Actions, libc::c_int) -> libc::c_int;
    pub(super) type AddChdir = unsafe extern "C" fn(Actions, *const libc::c_char) -> libc::c_int;

    /// The address of the C library's `name`, if it has one.
    pub(super) fn lookup(name: &CStr) -> Option<usize> {
        // SAFETY: RTLD_DEFAULT searches the global scope; `name` is NUL-terminated; dlsym only
        // reads it, and a null result means the symbol is missing.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        (!p.is_null()).then_some(p as usize)
    }

    pub(super) fn addclosefrom() -> Option<AddCloseFrom> {
        static ADDR: OnceLock<Option<usize>> = OnceLock::new();
        let addr = (*ADDR.get_or_init(|| lookup(c"posix_spawn_file_actions_addclosefrom_np")))?;
        // SAFETY: a non-null address of glibc's posix_spawn_file_actions_addclosefrom_np, whose
        // C prototype is `int (posix_spawn_file_actions_t *, int)`.
        Some(unsafe { std::mem::transmute::<usize, AddCloseFrom>(addr) })
    }

    pub(super) fn addchdir() -> Option<AddChdir> {
        static ADDR: OnceLock<Option<usize>> = OnceLock::new();
        let addr = (*ADDR.get_or_init(|| lookup(c"posix_spawn_file_actions_addchdir_np")))?;
        // SAFETY: a non-null address of glibc's posix_spawn_file_actions_addchdir_np, whose C
        // prototype is `int (posix_spawn_file_actions_t *, const char *)`.
        Some(unsafe { std::mem::transmute::<usize, AddChdir>(addr) })
    }
}

impl Drop for FileActions<'_> {
    fn drop(&mut self) {
        // SAFETY: initialised in `new` and destroyed exactly once, here.
        unsafe { libc::posix_spawn_file_actions_destroy(self.ptr()) };
    }
}

/// An initialised `posix_spawnattr_t` with our flags, destroyed on drop.
struct SpawnAttr<'a>(&'a mut MaybeUninit<libc::posix_spawnattr_t>);

impl<'a> SpawnAttr<'a> {
    /// Own process group (pgroup 0: the child's pid), empty signal mask, every catchable
    /// signal back to its default disposition.
    fn new(storage: &'a mut MaybeUninit<libc::posix_spawnattr_t>) -> io::Result<SpawnAttr<'a>> {
        // SAFETY: `storage` is valid for writes; init fully initialises it on success.
        cvt_nz(unsafe { libc::posix_spawnattr_init(storage.as_mut_ptr()) })?;
        let attr = SpawnAttr(storage);
        let p = attr.0.as_mut_ptr();
        let mut empty = MaybeUninit::<libc::sigset_t>::uninit();
        let mut full = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: both sets are valid for writes; sigemptyset/sigfillset initialise them.
        unsafe {
            cvt(libc::sigemptyset(empty.as_mut_ptr()))?;
            cvt(libc::sigfillset(full.as_mut_ptr()))?;
        }
        let flags = libc::POSIX_SPAWN_SETPGROUP
            | libc::POSIX_SPAWN_SETSIGMASK
            | libc::POSIX_SPAWN_SETSIGDEF;
        // SAFETY: `p` was initialised above; the sets were initialised by sigemptyset and
        // sigfillset; the setters copy their arguments.
        unsafe {
            cvt_nz(libc::posix_spawnattr_setflags(p, flags as libc::c_short))?;
            cvt_nz(libc::posix_spawnattr_setpgroup(p, 0))?;
            cvt_nz(libc::posix_spawnattr_setsigmask(p, empty.as_ptr()))?;
            cvt_nz(libc::posix_spawnattr_setsigdefault(p, full.as_ptr()))?;
        }
        Ok(attr)
    }

    fn as_ptr(&self) -> *const libc::posix_spawnattr_t {
        self.0.as_ptr()
    }
}

impl Drop for SpawnAttr<'_> {
    fn drop(&mut self) {
        // SAFETY: initialised in `new` and destroyed exactly once, here.
        unsafe { libc::posix_spawnattr_destroy(self.0.as_mut_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fd::set_nonblocking;
    use crate::sys::{WaitStatus, wait_blocking};
    use std::io::Read;
    use std::os::fd::AsFd;

    fn output(spec: &CommandSpec) -> (WaitStatus, String, String) {
        let child = spawn(spec).unwrap();
        let read_all = |fd: OwnedFd| {
            set_nonblocking(fd.as_fd(), false).unwrap();
            let mut s = String::new();
            std::fs::File::from(fd).read_to_string(&mut s).unwrap();
            s
        };
        let out = read_all(child.stdout.unwrap());
        let err = read_all(child.stderr.unwrap());
        (wait_blocking(child.pid).unwrap(), out, err)
    }

    #[test]
    fn argv_env_cwd_and_both_streams() {
        let spec = CommandSpec::new("sh")
            .args([
                "-c",
                r#"printf '%s|%s|%s|%s' "$0" "$X" "$PWD" "$HOME"; echo oops >&2; exit 4"#,
            ])
            .arg("zero")
            .env("X", "1")
            .env("X", "2")
            .cwd("/tmp");
        let (st, out, err) = output(&spec);
        assert_eq!(st, WaitStatus::Exited(4));
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(out, format!("zero|2|/tmp|{home}"));
        assert_eq!(err, "oops\n");
    }

    /// Blocks `sig` in the calling thread while `f` runs (a child spawned without a mask reset
    /// would inherit the block).
    fn with_blocked<T>(sig: libc::c_int, f: impl FnOnce() -> T) -> T {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: `set` is initialised by sigemptyset before sigaddset and pthread_sigmask
        // read it; the old mask pointer may be null.
        unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            libc::sigaddset(set.as_mut_ptr(), sig);
            libc::pthread_sigmask(libc::SIG_BLOCK, set.as_ptr(), ptr::null_mut());
        }
        let r = f();
        // SAFETY: as above; `set` is initialised.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, set.as_ptr(), ptr::null_mut()) };
        r
    }

    #[test]
    fn child_leads_its_own_group_with_clean_signal_state() {
        // Field 5 of /proc/PID/stat is the pgid. The masks are read by `exec grep` from its own
        // status: a shell reading its own status while it forks a reader shows the mask it
        // holds around fork, not the one it was given.
        let spec = CommandSpec::shell(
            "cut -d' ' -f5 /proc/$$/stat; echo $$; exec grep -E '^Sig(Blk|Ign)' /proc/self/status",
        );
        let (st, out, _) = with_blocked(libc::SIGTERM, || output(&spec));
        assert_eq!(st, WaitStatus::Exited(0));
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines[0], lines[1], "pgid == pid: {out}");
        let mask = |line: &str, name: &str| {
            let hex = line.strip_prefix(name).unwrap().trim();
            u64::from_str_radix(hex, 16).unwrap()
        };
        // Nothing blocked, although the spawning thread blocked SIGTERM.
        assert_eq!(mask(lines[2], "SigBlk:"), 0, "{out}");
        // Signals 1-31 not ignored. glibc sets its two internal signals (32, 33: bits 31 and
        // 32) to SIG_IGN in every posix_spawn child, as for std's Command; nobody stops a
        // process with those.
        assert_eq!(mask(lines[3], "SigIgn:") & 0x7fff_ffff, 0, "{out}");
    }

    /// `Stdio::Pipe` for stdin gives the child a real pipe and the parent its write end (it
    /// was silently `/dev/null`).
    #[test]
    fn stdin_pipe_reaches_the_child() {
        let spec = CommandSpec::shell("read line; echo \"got $line\"; cat");
        let child = spawn_with(&spec, Stdio::Pipe, Stdio::Pipe, Stdio::Null).unwrap();
        let stdin = child.stdin.expect("a pipe to write to");
        set_nonblocking(stdin.as_fd(), false).unwrap();
        let mut w = std::fs::File::from(stdin);
        std::io::Write::write_all(&mut w, b"hello\nrest\n").unwrap();
        drop(w); // EOF for `cat`
        let out = child.stdout.unwrap();
        set_nonblocking(out.as_fd(), false).unwrap();
        let mut s = String::new();
        std::fs::File::from(out).read_to_string(&mut s).unwrap();
        assert_eq!(s, "got hello\nrest\n");
        assert_eq!(wait_blocking(child.pid).unwrap(), WaitStatus::Exited(0));
    }

    /// The tag is in the child's environment (replacing an inherited variable of that name),
    /// beside what the spec sets; descendants inherit it.
    #[test]
    fn tag_is_added_to_the_environment() {
        for spec in [
            CommandSpec::shell("sh -c 'echo $PS_TAG_TEST'"),
            CommandSpec::shell("sh -c 'echo $PS_TAG_TEST $OTHER'").env("OTHER", "x"),
            CommandSpec::shell("echo $PS_TAG_TEST").env("PS_TAG_TEST", "overridden"),
        ] {
            let child = spawn_tagged(&spec, c"PS_TAG_TEST=42").unwrap();
            let out = child.stdout.unwrap();
            set_nonblocking(out.as_fd(), false).unwrap();
            let mut s = String::new();
            std::fs::File::from(out).read_to_string(&mut s).unwrap();
            assert!(s.starts_with("42"), "{s:?}");
            wait_blocking(child.pid).unwrap();
        }
        let (_, out, _) = output(&CommandSpec::shell("echo \"[$PS_TAG_TEST]\""));
        assert_eq!(out, "[]\n", "untagged spawns get no tag");
    }

    /// The child's environment is std's view of ours (`vars_os`, the snapshot taken under its
    /// lock) plus the tag, nothing else and nothing less.
    #[test]
    fn the_environment_is_std_s_snapshot_and_the_tag() {
        let child = spawn_tagged(&CommandSpec::new("env").arg("-0"), c"PS_ENV_TEST=1").unwrap();
        let out = child.stdout.unwrap();
        set_nonblocking(out.as_fd(), false).unwrap();
        let mut got = Vec::new();
        std::fs::File::from(out).read_to_end(&mut got).unwrap();
        wait_blocking(child.pid).unwrap();
        let mut got: Vec<&[u8]> = got.split(|&b| b == 0).filter(|v| !v.is_empty()).collect();
        got.sort();
        let mut want: Vec<Vec<u8>> = std::env::vars_os()
            .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
            .chain([b"PS_ENV_TEST=1".to_vec()])
            .collect();
        want.sort();
        assert_eq!(got, want.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }

    /// The late glibc file actions are found at run time here, and a missing symbol is `None`
    /// (the fallback path), never a failure to link.
    #[test]
    fn late_glibc_symbols_are_looked_up() {
        assert!(glibc::addclosefrom().is_some() && glibc::addchdir().is_some());
        assert_eq!(glibc::lookup(c"procsnap_no_such_symbol"), None);
    }

    #[test]
    fn stdin_is_dev_null() {
        let (st, out, _) = output(&CommandSpec::shell("cat; echo end"));
        assert_eq!((st, out.as_str()), (WaitStatus::Exited(0), "end\n"));
    }

    #[test]
    fn errors_name_the_operation() {
        let e = spawn(&CommandSpec::new("true").arg("a\0b")).unwrap_err();
        assert_eq!((e.op, e.kind()), ("argv", io::ErrorKind::InvalidInput));
        let e = spawn(&CommandSpec::new("true").env("A=B", "c")).unwrap_err();
        assert_eq!(e.op, "env");
        if let Some(host) = crate::sys::emulated() {
            eprintln!(
                "IGNORED (emulated on {host}): qemu-user runs vfork as fork, so posix_spawn \
                 cannot report a failed exec or chdir in the child"
            );
            return;
        }
        let e = spawn(&CommandSpec::new("definitely-not-a-program-xyz")).unwrap_err();
        assert_eq!((e.op, e.kind()), ("exec", io::ErrorKind::NotFound));
        assert!(
            e.to_string().contains("definitely-not-a-program-xyz"),
            "{e}"
        );
        let e = spawn(&CommandSpec::new("/etc/passwd")).unwrap_err();
        assert_eq!((e.op, e.raw_os_error()), ("exec", Some(libc::EACCES)));
        let e = spawn(&CommandSpec::new("true").cwd("/no/such/dir")).unwrap_err();
        assert_eq!((e.op, e.kind()), ("chdir", io::ErrorKind::NotFound));
    }
}
