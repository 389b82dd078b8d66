//! [`Signal`]: a signal number that is known to be one.

use std::fmt;

/// A signal to send to a process: a number this platform knows, never 0 (which sends nothing)
/// nor a negative one. Made from a constant ([`Signal::TERM`]), a number
/// ([`Signal::from_raw`]) or a name ([`Signal::from_name`]).
///
/// ```
/// use procsnap::Signal;
/// assert_eq!(Signal::from_name("SIGINT"), Some(Signal::INT));
/// assert_eq!(Signal::from_name("term"), Some(Signal::TERM));
/// assert_eq!(Signal::from_raw(libc::SIGKILL), Some(Signal::KILL));
/// assert_eq!(Signal::from_raw(0), None);
/// assert_eq!(Signal::HUP.to_string(), "SIGHUP");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(libc::c_int);

/// The named signals, by number.
const NAMES: &[(libc::c_int, &str)] = &[
    (libc::SIGHUP, "HUP"),
    (libc::SIGINT, "INT"),
    (libc::SIGQUIT, "QUIT"),
    (libc::SIGILL, "ILL"),
    (libc::SIGTRAP, "TRAP"),
    (libc::SIGABRT, "ABRT"),
    (libc::SIGBUS, "BUS"),
    (libc::SIGFPE, "FPE"),
    (libc::SIGKILL, "KILL"),
    (libc::SIGUSR1, "USR1"),
    (libc::SIGSEGV, "SEGV"),
    (libc::SIGUSR2, "USR2"),
    (libc::SIGPIPE, "PIPE"),
    (libc::SIGALRM, "ALRM"),
    (libc::SIGTERM, "TERM"),
    (libc::SIGCHLD, "CHLD"),
    (libc::SIGCONT, "CONT"),
    (libc::SIGSTOP, "STOP"),
    (libc::SIGTSTP, "TSTP"),
    (libc::SIGTTIN, "TTIN"),
    (libc::SIGTTOU, "TTOU"),
    (libc::SIGURG, "URG"),
    (libc::SIGXCPU, "XCPU"),
    (libc::SIGXFSZ, "XFSZ"),
    (libc::SIGVTALRM, "VTALRM"),
    (libc::SIGPROF, "PROF"),
    (libc::SIGWINCH, "WINCH"),
    (libc::SIGIO, "IO"),
    (libc::SIGSYS, "SYS"),
];

/// The highest signal number: the kernel's real-time signals end at 64 on Linux.
#[cfg(any(target_os = "linux", target_os = "android"))]
const MAX: libc::c_int = 64;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const MAX: libc::c_int = 31;

impl Signal {
    /// `SIGHUP`: the terminal went away; many servers reload on it.
    pub const HUP: Signal = Signal(libc::SIGHUP);
    /// `SIGINT`: Ctrl-C; the graceful stop of many dev servers.
    pub const INT: Signal = Signal(libc::SIGINT);
    /// `SIGQUIT`.
    pub const QUIT: Signal = Signal(libc::SIGQUIT);
    /// `SIGKILL`: cannot be caught or ignored.
    pub const KILL: Signal = Signal(libc::SIGKILL);
    /// `SIGUSR1`.
    pub const USR1: Signal = Signal(libc::SIGUSR1);
    /// `SIGUSR2`.
    pub const USR2: Signal = Signal(libc::SIGUSR2);
    /// `SIGTERM`: the polite stop, the default of [`Supervisor::stop`](crate::Supervisor).
    pub const TERM: Signal = Signal(libc::SIGTERM);
    /// `SIGCONT`: resumes a stopped process.
    pub const CONT: Signal = Signal(libc::SIGCONT);
    /// `SIGSTOP`: stops a process; cannot be caught or ignored.
    pub const STOP: Signal = Signal(libc::SIGSTOP);
    /// `SIGTSTP`: Ctrl-Z, the stop a shell's job control sends.
    pub const TSTP: Signal = Signal(libc::SIGTSTP);
    /// `SIGWINCH`: the terminal's size changed.
    pub const WINCH: Signal = Signal(libc::SIGWINCH);

    /// The signal numbered `n`, if this platform has it (1 to 64 on Linux, real-time signals
    /// included).
    ///
    /// ```
    /// use procsnap::Signal;
    /// assert_eq!(Signal::from_raw(15), Some(Signal::TERM));
    /// assert_eq!(Signal::from_raw(-9), None);
    /// assert_eq!(Signal::from_raw(1000), None);
    /// ```
    pub fn from_raw(n: i32) -> Option<Signal> {
        (1..=MAX).contains(&n).then_some(Signal(n))
    }

    /// The signal called `name`: `TERM`, `SIGTERM`, `term` and `sigterm` all name SIGTERM.
    ///
    /// ```
    /// use procsnap::Signal;
    /// assert_eq!(Signal::from_name("SIGUSR1"), Some(Signal::USR1));
    /// assert_eq!(Signal::from_name("usr2"), Some(Signal::USR2));
    /// assert_eq!(Signal::from_name("SIGNOPE"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Signal> {
        let upper = name.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        NAMES
            .iter()
            .find(|(_, n)| *n == bare)
            .map(|&(num, _)| Signal(num))
    }

    /// Its number.
    ///
    /// ```
    /// assert_eq!(procsnap::Signal::KILL.as_raw(), libc::SIGKILL);
    /// ```
    pub fn as_raw(self) -> i32 {
        self.0
    }

    /// Its name without the `SIG` prefix (`"TERM"`), if it has one (real-time signals do not).
    ///
    /// ```
    /// use procsnap::Signal;
    /// assert_eq!(Signal::TERM.name(), Some("TERM"));
    /// assert_eq!(Signal::from_raw(40).unwrap().name(), None);
    /// ```
    pub fn name(self) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(n, _)| *n == self.0)
            .map(|&(_, name)| name)
    }
}

/// `SIGTERM`, or `signal 40` for one without a name.
impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "SIG{name}"),
            None => write!(f, "signal {}", self.0),
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_goes_both_ways() {
        for &(n, name) in NAMES {
            let s = Signal::from_raw(n).unwrap();
            assert_eq!(s.name(), Some(name));
            assert_eq!(Signal::from_name(name), Some(s));
            assert_eq!(
                Signal::from_name(&format!("sig{}", name.to_lowercase())),
                Some(s)
            );
            assert_eq!(s.to_string(), format!("SIG{name}"));
        }
        assert_eq!(Signal::from_name(""), None);
        assert_eq!(Signal::from_name("SIG"), None);
    }

    #[test]
    fn only_real_signal_numbers_are_signals() {
        assert_eq!(Signal::from_raw(0), None);
        assert_eq!(Signal::from_raw(-1), None);
        assert_eq!(Signal::from_raw(MAX + 1), None);
        assert_eq!(Signal::from_raw(MAX).map(Signal::as_raw), Some(MAX));
        assert_eq!(Signal::from_raw(1), Some(Signal::HUP));
        assert_eq!(
            format!("{:?}", Signal::from_raw(MAX).unwrap()),
            format!("signal {MAX}")
        );
    }
}
