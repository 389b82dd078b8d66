//! What `/proc` tells the reaper: which process groups still have a *live* member, and which
//! processes carry a supervisor's environment tag.
//!
//! `kill(-pgid, 0)` counts zombies: a grandchild killed with its group is reparented to init
//! and stays a zombie until init reaps it. A proper init does that at once; some container
//! inits only every second or so, which would make every stop of a group with grandchildren
//! wait for them. A zombie runs nothing and holds nothing but its pid (which, being unreaped,
//! also keeps the group id from being reused), so for "is anything of this group left?" the
//! reaper falls back to this scan when a group lingers: one pass over `/proc` answers for every
//! lingering group at once.

use std::collections::HashSet;

/// The groups among `pgids` that have at least one process that is not a zombie.
pub(crate) fn groups_with_live_members(pgids: &HashSet<i32>) -> HashSet<i32> {
    let mut live = HashSet::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        // No /proc: assume everything is alive; the kernel's answer (ESRCH) still ends it.
        return pgids.clone();
    };
    let mut path = String::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        path.clear();
        path.push_str("/proc/");
        path.push_str(pid);
        path.push_str("/stat");
        let Ok(stat) = std::fs::read_to_string(&path) else {
            continue; // gone meanwhile
        };
        if let Some((state, pgrp)) = parse_stat(&stat) {
            if pgids.contains(&pgrp) && state != 'Z' && state != 'X' {
                live.insert(pgrp);
            }
        }
    }
    live
}

/// The value of the environment variable `name` (`PROCSNAP_…`, without `=`) as a number, in
/// every process that carries it and whose environment we may read (ours, same user), as
/// `(pid, value)`; zombies have no environment left and never appear. Our own process is
/// skipped.
pub(crate) fn tagged(name: &[u8]) -> Vec<(i32, u64)> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    let me = std::process::id() as i32;
    let mut buf = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Some(value) = tag_of(pid, name, &mut buf) {
            found.push((pid, value));
        }
    }
    found
}

/// The value of `name` in the environment of `pid`, if it carries it; `buf` is scratch.
pub(crate) fn tag_of(pid: i32, name: &[u8], buf: &mut Vec<u8>) -> Option<u64> {
    use std::io::Read;
    buf.clear();
    let mut file = std::fs::File::open(format!("/proc/{pid}/environ")).ok()?;
    file.read_to_end(buf).ok()?;
    find_tag(buf, name)
}

/// `name=DIGITS` among the NUL-separated `KEY=VALUE` entries of `environ`.
fn find_tag(environ: &[u8], name: &[u8]) -> Option<u64> {
    environ.split(|&b| b == 0).find_map(|entry| {
        let value = entry.strip_prefix(name)?.strip_prefix(b"=")?;
        std::str::from_utf8(value).ok()?.parse().ok()
    })
}

/// `(state, pgrp)` of `pid`, from `/proc/PID/stat`.
pub(crate) fn state_and_group(pid: i32) -> Option<(char, i32)> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `(state, pgrp)` from a `/proc/PID/stat` line: `pid (comm) state ppid pgrp …`, where `comm`
/// may contain spaces and parentheses (hence the last `)`).
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_odd_comm() {
        assert_eq!(
            parse_stat("42 (a) b (c)) S 1 4242 4242 0 -1"),
            Some(('S', 4242))
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn tags_are_found_whole_and_by_name() {
        let env = b"A=1\0PROCSNAP_AB=17\0XPROCSNAP_AB=3\0PROCSNAP_ABC=9\0";
        assert_eq!(find_tag(env, b"PROCSNAP_AB"), Some(17));
        assert_eq!(find_tag(env, b"PROCSNAP_ABC"), Some(9));
        assert_eq!(find_tag(env, b"PROCSNAP_A"), None);
        assert_eq!(find_tag(b"PROCSNAP_AB=x1\0", b"PROCSNAP_AB"), None);
        assert_eq!(find_tag(b"", b"PROCSNAP_AB"), None);
    }

    #[test]
    fn tagged_processes_are_found() {
        let child = crate::sys::spawn_tagged(
            &crate::CommandSpec::new("sleep").arg("30"),
            c"PROCSNAP_PROCFS_TEST=5",
        )
        .unwrap();
        let pid = child.pid.as_raw();
        // posix_spawn returns once the child's exec has begun; its new environment is in
        // place a moment later.
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut found = tagged(b"PROCSNAP_PROCFS_TEST");
        while found.is_empty() && std::time::Instant::now() < end {
            std::thread::yield_now();
            found = tagged(b"PROCSNAP_PROCFS_TEST");
        }
        assert_eq!(
            state_and_group(pid).map(|s| s.1),
            Some(pid),
            "it leads its group"
        );
        let _ = crate::sys::kill(child.pid, libc::SIGKILL);
        let _ = crate::sys::wait_blocking(child.pid);
        assert_eq!(found, [(pid, 5)]);
    }

    #[test]
    fn finds_our_own_group() {
        let me = std::fs::read_to_string("/proc/self/stat").unwrap();
        let (_, pgrp) = parse_stat(&me).unwrap();
        let live = groups_with_live_members(&HashSet::from([pgrp, i32::MAX]));
        assert_eq!(live, HashSet::from([pgrp]));
    }
}
