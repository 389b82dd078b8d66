//! Shutdown signals: the ones that end a process by default, by number or name (Linux
//! numbering). Signals that only stop, continue or notify (`STOP`, `TSTP`, `CONT`, `CHLD`,
//! `WINCH`, …) cannot end a process and are refused.

/// `(number, name)` of every signal accepted as a shutdown signal.
const TABLE: &[(i32, &str)] = &[
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGINT, "SIGINT"),
    (libc::SIGQUIT, "SIGQUIT"),
    (libc::SIGABRT, "SIGABRT"),
    (libc::SIGKILL, "SIGKILL"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
    (libc::SIGPIPE, "SIGPIPE"),
    (libc::SIGALRM, "SIGALRM"),
    (libc::SIGTERM, "SIGTERM"),
];

/// The names, for error messages.
pub const NAMES: [&str; 10] = [
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGABRT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGPIPE",
    "SIGALRM", "SIGTERM",
];

/// The name of an accepted signal number.
pub fn name(sig: i32) -> Option<&'static str> {
    TABLE.iter().find(|(n, _)| *n == sig).map(|(_, s)| *s)
}

/// `"SIGINT"`, `"INT"`, `"int"` or `"2"`.
pub fn parse(text: &str) -> Option<i32> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i32>() {
        return name(n).map(|_| n);
    }
    let upper = t.to_ascii_uppercase();
    let upper = upper.strip_prefix("SIG").unwrap_or(&upper);
    TABLE
        .iter()
        .find(|(_, s)| &s[3..] == upper)
        .map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("SIGINT"), Some(2));
        assert_eq!(parse("int"), Some(2));
        assert_eq!(parse("15"), Some(15));
        assert_eq!(parse("SIGSTOP"), None, "stops, does not end");
        assert_eq!(parse("19"), None);
        assert_eq!(parse("0"), None);
        assert_eq!(parse("SIGNOPE"), None);
        assert_eq!(TABLE.len(), NAMES.len());
        for (n, s) in TABLE {
            assert_eq!(parse(s), Some(*n));
            assert!(NAMES.contains(s));
        }
    }
}
