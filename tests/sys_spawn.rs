//! The raw spawning layer with real processes: exit codes, signals, exec failures, groups.

mod common;

use common::{Groups, children, eventually, own_comm};
use procsnap::CommandSpec;
use procsnap::internals::sys::{self, WaitStatus};
use std::io::ErrorKind;
use std::time::Duration;

#[test]
fn exit_code_is_reported() {
    let c = sys::spawn(&CommandSpec::shell("exit 42")).unwrap();
    assert_eq!(sys::wait_blocking(c.pid).unwrap(), WaitStatus::Exited(42));
}

#[test]
fn death_by_signal_is_a_signal_not_a_code() {
    let c = sys::spawn(&CommandSpec::shell("kill -KILL $$")).unwrap();
    let st = sys::wait_blocking(c.pid).unwrap();
    assert_eq!(
        st,
        WaitStatus::Signaled {
            signal: libc::SIGKILL,
            core_dumped: false
        }
    );
    assert_eq!(st.exit(), Some(procsnap::Exit::Signal(libc::SIGKILL)));
}

/// glibc reaps a child whose exec failed before posix_spawn returns: no zombie carrying our
/// own `comm` (what a failed-exec child would be called) may appear.
#[test]
fn missing_binary_is_spawn_error_without_zombie() {
    if common::ignored_when_emulated(common::QEMU_VFORK) {
        return;
    }
    let comm = own_comm();
    for _ in 0..20 {
        let e = sys::spawn(&CommandSpec::new("/nonexistent/binary")).unwrap_err();
        assert_eq!((e.op, e.kind()), ("exec", ErrorKind::NotFound));
        let e = sys::spawn(&CommandSpec::new("true").cwd("/nonexistent")).unwrap_err();
        assert_eq!(e.op, "chdir");
    }
    let leftovers: Vec<_> = children().into_iter().filter(|c| c.2 == comm).collect();
    assert!(
        leftovers.is_empty(),
        "failed-exec children left: {leftovers:?}"
    );
}

#[test]
fn killpg_reaches_grandchildren_and_group_alive_sees_them_go() {
    let mut groups = Groups::default();
    let c = sys::spawn(&CommandSpec::shell("sleep 300 & sleep 300 & wait")).unwrap();
    let pg = groups.add(c.pid.as_raw());
    // At once on a real kernel (the spawn returns after the child's exec); under qemu-user,
    // which runs vfork as fork, the child may not have made its group yet.
    assert!(eventually(Duration::from_secs(5), || sys::group_alive(pg)));
    // Wait for both sleeps to exist, then kill the whole group.
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{}/task/{}/children", pg, pg))
            .map(|s| s.split_whitespace().count() == 2)
            .unwrap_or(false)
    }));
    sys::killpg(pg, libc::SIGTERM).unwrap();
    let st = sys::wait_blocking(c.pid).unwrap();
    assert_eq!(st.exit(), Some(procsnap::Exit::Signal(libc::SIGTERM)));
    assert!(
        eventually(Duration::from_secs(2), || !sys::group_alive(pg)),
        "group members survived"
    );
}

#[test]
fn waitpid_nohang_only_touches_its_pid() {
    let c = sys::spawn(&CommandSpec::new("sleep").arg("0.2")).unwrap();
    assert_eq!(sys::waitpid_nohang(c.pid).unwrap(), None);
    let pidfd = sys::pidfd_open(c.pid).unwrap();
    let ep = sys::Epoll::new().unwrap();
    let mut buf = sys::EpollBuffer::new(4);
    use std::os::fd::AsFd;
    ep.add(pidfd.as_fd(), sys::fd::READABLE, 7).unwrap();
    let ev: Vec<_> = ep.wait(&mut buf, 5000).unwrap().collect();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        sys::waitpid_nohang(c.pid).unwrap(),
        Some(WaitStatus::Exited(0))
    );
    // Reaped: asking again is ECHILD, not somebody else's child.
    assert_eq!(
        sys::waitpid_nohang(c.pid).unwrap_err().raw_os_error(),
        Some(libc::ECHILD)
    );
}

/// Only stdin, stdout and stderr cross into the child: a descriptor the host holds without
/// close-on-exec (here a dup of stderr at fd ≥ 100) is not inherited.
#[test]
fn child_gets_only_its_three_standard_descriptors() {
    // SAFETY: F_DUPFD on our own open stderr returns a new descriptor (>= 100) or -1; without
    // FD_CLOEXEC, as an inherited descriptor would be.
    let leaked = unsafe { libc::fcntl(2, libc::F_DUPFD, 100) };
    assert!(leaked >= 100);
    let sup = procsnap::Supervisor::new().unwrap();
    let p = sup
        .spawn("fds", CommandSpec::shell("ls /proc/$$/fd; true"))
        .unwrap();
    let end = sup.wait(p.id()).unwrap();
    // SAFETY: `leaked` is ours, opened above and closed once here.
    unsafe { libc::close(leaked) };
    assert_eq!(end.status, procsnap::Status::Success);
    let fds: Vec<String> = p
        .logs()
        .tail(100)
        .iter()
        .map(|l| l.text.to_string())
        .collect();
    assert_eq!(fds, ["0", "1", "2"], "the shell's descriptors");
}
