//! The environment tag: how the supervisor (and its watchdog) recognise every process of its
//! trees, also those that left their process group.
//!
//! Each supervisor picks a random name, `PROCSNAP_` and 16 hex digits, and every process it
//! starts gets `NAME=ID` (its [`ProcId`]) in its environment at `posix_spawn` time, so the tag
//! is there from the child's first instruction. Descendants inherit the environment, so a
//! grandchild that calls `setsid`, `setpgid(0, 0)` or double-forks to daemonise still carries
//! it: `/proc/PID/environ` names its supervisor and its process. Nested supervisors use
//! different names, so a grandchild of two carries both tags.
//!
//! A process that clears its environment (`env -i`) loses the tag: if it has also left its
//! group, it is out of reach (the README's guarantee table says so).

use std::ffi::CString;
use std::hash::{BuildHasher, Hasher};

use crate::registry::ProcId;

/// One supervisor's tag name.
#[derive(Debug)]
pub(crate) struct Tag {
    /// `PROCSNAP_` and 16 upper-case hex digits.
    name: String,
}

impl Tag {
    /// A fresh, random name: std's per-process random hash keys, mixed with the pid and the
    /// time, so two supervisors (in one process or not) never share one.
    pub(crate) fn new() -> Tag {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        h.write_u128(now.as_nanos());
        Tag {
            name: format!("PROCSNAP_{:016X}", h.finish()),
        }
    }

    /// The variable's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// `NAME=ID`, for the environment of process `id`.
    pub(crate) fn for_process(&self, id: ProcId) -> CString {
        CString::new(format!("{}={}", self.name, id.get()))
            .expect("no NUL in a hex name and a number")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_well_formed() {
        let (a, b) = (Tag::new(), Tag::new());
        assert_ne!(a.name(), b.name());
        assert_eq!(a.name().len(), "PROCSNAP_".len() + 16);
        assert!(
            a.name()["PROCSNAP_".len()..]
                .bytes()
                .all(|c| c.is_ascii_hexdigit())
        );
        let id = ProcId::from_label("x-42").unwrap();
        assert_eq!(
            a.for_process(id).to_str().unwrap(),
            format!("{}=42", a.name())
        );
    }
}
