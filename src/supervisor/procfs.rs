//! Which process groups still have a *live* member, from `/proc`.
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
    fn finds_our_own_group() {
        let me = std::fs::read_to_string("/proc/self/stat").unwrap();
        let (_, pgrp) = parse_stat(&me).unwrap();
        let live = groups_with_live_members(&HashSet::from([pgrp, i32::MAX]));
        assert_eq!(live, HashSet::from([pgrp]));
    }
}
