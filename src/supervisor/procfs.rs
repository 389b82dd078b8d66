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

/// What a pass over `/proc` found: the processes that carry the tag `name` (`PROCSNAP_…`,
/// without `=`) and whose environment we may read (ours, same user), as `(pid, value)`, and
/// the processes caught in the middle of an `exec`, whose environment could not be told yet.
/// Zombies have no environment left and never appear; our own process is skipped.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub(crate) tagged: Vec<(i32, u64)>,
    pub(crate) in_exec: Vec<i32>,
}

/// One pass over `/proc` for the tag `name` (see [`Scan`]).
pub(crate) fn scan_tagged(name: &[u8]) -> Scan {
    let mut scan = Scan::default();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return scan;
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
        match read_tag(pid, name, &mut buf) {
            Tag::Carries(value) => scan.tagged.push((pid, value)),
            Tag::InExec => scan.in_exec.push(pid),
            Tag::Absent => {}
        }
    }
    scan
}

/// The tag `name` of one process, as far as `/proc` can tell now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Carries(u64),
    /// Not carried, not readable (another user's process), or the process is gone.
    Absent,
    /// In the middle of an `exec`: the new program's environment is not in place yet (see
    /// [`read_tag`]). Asked again a moment later, it says.
    InExec,
}

/// The tag `name` of `pid`; `buf` is scratch.
///
/// Between the moment an `exec` installs the new program's memory and the moment it writes
/// the environment there (microseconds, longer when the CPU is busy), `/proc/PID/environ`
/// reads as empty, as it does for a kernel thread, a zombie, and a program started with an
/// empty environment. `/proc/PID/stat` tells them apart: in that window the new memory's
/// `env_end` (field 51) is still 0, while a program with an empty environment has it set.
pub(crate) fn read_tag(pid: i32, name: &[u8], buf: &mut Vec<u8>) -> Tag {
    if !read_environ(pid, buf) {
        return Tag::Absent;
    }
    if buf.is_empty() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        match memory_of(&stat) {
            Memory::InExec => return Tag::InExec,
            Memory::None => return Tag::Absent,
            // Past the window by now (or never in it): this read sees the new environment.
            Memory::Settled if !read_environ(pid, buf) => return Tag::Absent,
            Memory::Settled => {}
        }
    }
    find_tag(buf, name).map_or(Tag::Absent, Tag::Carries)
}

/// The value of `name` in the environment of `pid`, if it carries it; `buf` is scratch.
pub(crate) fn tag_of(pid: i32, name: &[u8], buf: &mut Vec<u8>) -> Option<u64> {
    match read_tag(pid, name, buf) {
        Tag::Carries(value) => Some(value),
        Tag::Absent | Tag::InExec => None,
    }
}

/// Reads `/proc/pid/environ` into `buf`; false if it cannot be read (gone, not ours).
fn read_environ(pid: i32, buf: &mut Vec<u8>) -> bool {
    use std::io::Read;
    buf.clear();
    std::fs::File::open(format!("/proc/{pid}/environ"))
        .and_then(|mut file| file.read_to_end(buf))
        .is_ok()
}

/// What a process's memory is, as its `/proc/PID/stat` line tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Memory {
    /// None: a kernel thread, a zombie, an exiting process, or one gone (an unreadable line).
    None,
    /// A user process's, without its environment placed yet (`env_end` 0): in an `exec`.
    InExec,
    /// A user process's, in place (or a kernel too old to say, before 3.5).
    Settled,
}

fn memory_of(stat: &str) -> Memory {
    /// `PF_EXITING` and `PF_KTHREAD` in the `flags` field: an exiting process has dropped
    /// its memory, a kernel thread never had any.
    const EXITING_OR_KERNEL: u64 = 0x0000_0004 | 0x0020_0000;
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Memory::None;
    };
    // Fields from the state (field 3) on: flags is field 9, env_end field 51.
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    let dead = fields.first().is_none_or(|s| matches!(*s, "Z" | "X" | "x"));
    if dead || field(9).is_none_or(|f| f & EXITING_OR_KERNEL != 0) {
        return Memory::None;
    }
    match field(51) {
        Some(0) => Memory::InExec,
        _ => Memory::Settled,
    }
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

    /// A stat line: `state`, `flags` (field 9) and `env_end` (field 51); the rest zeros.
    fn stat_line(state: &str, flags: u64, env_end: u64) -> String {
        let mut fields = vec!["0".to_owned(); 52 - 2];
        fields[0] = state.to_owned();
        fields[9 - 3] = flags.to_string();
        fields[51 - 3] = env_end.to_string();
        format!("42 (a) b (c)) {}", fields.join(" "))
    }

    #[test]
    fn only_a_user_process_without_environment_placed_is_in_exec() {
        assert_eq!(memory_of(&stat_line("R", 0x0040_0000, 0)), Memory::InExec);
        assert_eq!(memory_of(&stat_line("D", 0, 0)), Memory::InExec);
        // An empty environment that is in place: env_end set.
        assert_eq!(
            memory_of(&stat_line("S", 0x0040_0000, 0x7ffe_0000)),
            Memory::Settled
        );
        assert_eq!(memory_of(&stat_line("Z", 0, 0)), Memory::None, "a zombie");
        assert_eq!(
            memory_of(&stat_line("I", 0x0020_8040, 0)),
            Memory::None,
            "a kernel thread"
        );
        assert_eq!(
            memory_of(&stat_line("R", 0x0040_0004, 0)),
            Memory::None,
            "exiting"
        );
        // A kernel without the field (before 3.5): not told apart. A line cut short, or none
        // (the process is gone): no memory.
        assert_eq!(memory_of("42 (a) R 1 42 42 0 -1 0"), Memory::Settled);
        assert_eq!(memory_of("42 (a) R"), Memory::None);
        assert_eq!(memory_of(""), Memory::None);
    }

    /// A process of ours that is not in an `exec`: its tag, or absent; never "in exec".
    #[test]
    fn a_settled_process_reads_as_carrying_or_absent() {
        let me = std::process::id() as i32;
        let mut buf = Vec::new();
        assert_eq!(
            read_tag(me, b"PROCSNAP_NOT_SET_ANYWHERE", &mut buf),
            Tag::Absent
        );
        assert_eq!(
            read_tag(i32::MAX, b"PROCSNAP_X", &mut buf),
            Tag::Absent,
            "no such pid"
        );
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
        let mut found = scan_tagged(b"PROCSNAP_PROCFS_TEST").tagged;
        while found.is_empty() && std::time::Instant::now() < end {
            std::thread::yield_now();
            found = scan_tagged(b"PROCSNAP_PROCFS_TEST").tagged;
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
