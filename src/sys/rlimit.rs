//! Raising the soft `RLIMIT_NOFILE` to the hard limit.
//!
//! The supervisor holds three descriptors per live child (a pidfd and two pipe read ends), so the
//! common soft limit of 1024 would stop it near 340 children. Like Go (since 1.19), systemd's
//! recommendation and most servers, it raises the soft limit to the hard limit once, at
//! start-up. Limits of this choice: the raised limit is process-wide (code that still uses
//! `select(2)` with descriptors above 1023 breaks, as it would anyway) and, because
//! `posix_spawn` cannot change limits in the child, spawned children inherit the raised soft
//! limit too (Go restores the old one in its children; we cannot without a fork).

use std::io;

use super::cvt;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns `(old_soft, new_soft)`.
/// Does nothing (and returns the same value twice) when it is already there.
pub fn raise_nofile_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) })?;
    let old = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit; raising the soft limit up to the hard one is allowed.
        cvt(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) })?;
    }
    // `rlim_t` is 32 bits on some targets (i686): widened, never cut (on x86_64 the
    // conversion is the identity).
    #[allow(clippy::useless_conversion)]
    Ok((u64::from(old), u64::from(lim.rlim_cur)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn raise_is_idempotent() {
        let (_, first) = super::raise_nofile_limit().unwrap();
        let (old, second) = super::raise_nofile_limit().unwrap();
        assert_eq!((old, second), (first, first));
    }
}
