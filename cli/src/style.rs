//! How `procsnap run` prints: a padded, coloured name prefix per process and one status line
//! when each ends. Colour is off when stdout is not a terminal or `NO_COLOR` is set non-empty.
//! Names and notices come from the project: they are shown through [`escape`].

use std::io::IsTerminal;
use std::time::Duration;

use procsnap::{Exit, Status};

use crate::safe::escape;
use crate::timefmt::human;

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always colour (even into a pipe).
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Resolves `auto` against the environment.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                !no_color && std::io::stdout().is_terminal()
            }
        }
    }
}

/// Foreground colours cycled per process (bright cyan, magenta, green, yellow, blue, red).
const PALETTE: &[&str] = &["96", "95", "92", "93", "94", "91"];

/// Prints prefixes for a fixed set of names, padded to the longest.
#[derive(Debug)]
pub struct Prefixer {
    width: usize,
    color: bool,
}

impl Prefixer {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>, color: bool) -> Prefixer {
        let width = names
            .into_iter()
            .map(|n| escape(n).chars().count())
            .max()
            .unwrap_or(0);
        Prefixer { width, color }
    }

    /// `name  | ` (coloured by `slot`, the process's position on the command line), the name
    /// escaped.
    pub fn prefix(&self, name: &str, slot: usize) -> String {
        let name = escape(name);
        let pad = self.width.saturating_sub(name.chars().count());
        if self.color {
            let c = PALETTE[slot % PALETTE.len()];
            format!("\x1b[{c}m{name}{:pad$} |\x1b[0m ", "")
        } else {
            format!("{name}{:pad$} | ", "")
        }
    }

    /// The one-line status printed when a process ends.
    pub fn status(
        &self,
        name: &str,
        slot: usize,
        status: Status,
        exit: Option<Exit>,
        ran: Option<Duration>,
    ) -> String {
        let how = describe_end(status, exit);
        let after = ran
            .map(|d| format!(" after {}", human(d)))
            .unwrap_or_default();
        let text = format!("{how}{after}");
        if self.color {
            let c = if status == Status::Success {
                "32"
            } else {
                "31"
            };
            format!("{}\x1b[{c}m{text}\x1b[0m", self.prefix(name, slot))
        } else {
            format!("{}{text}", self.prefix(name, slot))
        }
    }
}

impl Prefixer {
    /// A notice about `name` (`ready`, `restarting in 2s …`): its prefix, then `text` (escaped:
    /// it may name other processes, or quote an error) in colour `code` (an SGR number) when
    /// colouring.
    pub fn note(&self, name: &str, slot: usize, text: &str, code: &str) -> String {
        let text = escape(text);
        if self.color {
            format!("{}\x1b[{code}m{text}\x1b[0m", self.prefix(name, slot))
        } else {
            format!("{}{text}", self.prefix(name, slot))
        }
    }
}

/// Appends one output line to `out`: `prefix` (from [`Prefixer::prefix`]), the text, a marker
/// when the line was truncated, and `\n`. Stderr lines are not told apart. No allocation: this
/// is `procsnap run`'s per-line path.
pub fn write_line(out: &mut Vec<u8>, prefix: &str, text: &str, truncated: bool) {
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(text.as_bytes());
    if truncated {
        out.extend_from_slice(b" [line truncated]");
    }
    out.push(b'\n');
}

/// `exited with code 0`, `failed with code 1`, `stopped (SIGTERM)`, `killed by SIGKILL`, …
pub fn describe_end(status: Status, exit: Option<Exit>) -> String {
    match (status, exit) {
        (Status::Success, _) => "exited with code 0".to_owned(),
        (Status::Stopped, Some(Exit::Code(c))) => format!("stopped (exit code {c})"),
        (Status::Stopped, Some(Exit::Signal(s))) => format!("stopped ({})", signal_name(s)),
        (Status::Stopped, _) => "stopped".to_owned(),
        (_, Some(Exit::Code(c))) => format!("failed with code {c}"),
        (_, Some(Exit::Signal(s))) => format!("killed by {}", signal_name(s)),
        // `Exit` may grow: an exit this version does not know reads as unknown.
        (_, Some(_)) => "ended (exit status unknown)".to_owned(),
        (Status::Failed, None) => "failed to start".to_owned(),
        (s, None) => s.as_str().to_owned(),
    }
}

/// `SIGTERM` for 15 and so on (Linux numbering); `signal N` for the rest.
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return format!("signal {sig}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_padded_and_plain_without_colour() {
        let p = Prefixer::new(["dev", "build"], false);
        assert_eq!(p.prefix("dev", 0), "dev   | ");
        assert_eq!(p.prefix("build", 1), "build | ");
        let mut out = Vec::new();
        write_line(&mut out, &p.prefix("dev", 0), "hello", false);
        write_line(&mut out, &p.prefix("dev", 0), "x", true);
        assert_eq!(out, b"dev   | hello\ndev   | x [line truncated]\n");
    }

    /// A hostile script name is shown escaped in its prefix, status line and notices, and
    /// the padding counts what is shown.
    #[test]
    fn names_and_notices_are_escaped() {
        let p = Prefixer::new(["a\nb", "c\u{1b}[2Jd"], false);
        assert_eq!(p.prefix("a\nb", 0), "a\\nb      | ");
        assert_eq!(p.prefix("c\u{1b}[2Jd", 1), "c\\x1b[2Jd | ");
        let line = p.status("a\nb", 0, Status::Success, Some(Exit::Code(0)), None);
        assert_eq!(line, "a\\nb      | exited with code 0");
        let note = p.note("a\nb", 0, "waiting for c\u{1b}[2Jd", "2");
        assert_eq!(note, "a\\nb      | waiting for c\\x1b[2Jd");
        let p = Prefixer::new(["a\nb"], true);
        assert_eq!(p.prefix("a\nb", 0), "\x1b[96ma\\nb |\x1b[0m ");
    }

    #[test]
    fn colour_cycles_per_slot() {
        let p = Prefixer::new(["a"], true);
        assert_eq!(p.prefix("a", 0), "\x1b[96ma |\x1b[0m ");
        assert_eq!(p.prefix("a", 6), p.prefix("a", 0));
        assert_ne!(p.prefix("a", 1), p.prefix("a", 0));
    }

    #[test]
    fn endings_say_code_or_signal() {
        let d = |s, e| describe_end(s, e);
        assert_eq!(
            d(Status::Success, Some(Exit::Code(0))),
            "exited with code 0"
        );
        assert_eq!(d(Status::Failed, Some(Exit::Code(2))), "failed with code 2");
        assert_eq!(
            d(Status::Failed, Some(Exit::Signal(9))),
            "killed by SIGKILL"
        );
        assert_eq!(
            d(Status::Stopped, Some(Exit::Signal(15))),
            "stopped (SIGTERM)"
        );
        assert_eq!(
            d(Status::Stopped, Some(Exit::Code(143))),
            "stopped (exit code 143)"
        );
        assert_eq!(d(Status::Failed, None), "failed to start");
        assert_eq!(
            d(Status::Failed, Some(Exit::Unknown)),
            "ended (exit status unknown)"
        );
        assert_eq!(signal_name(64), "signal 64");
        let p = Prefixer::new(["test"], false);
        assert_eq!(
            p.status(
                "test",
                0,
                Status::Failed,
                Some(Exit::Code(1)),
                Some(Duration::from_millis(1234))
            ),
            "test | failed with code 1 after 1.2s"
        );
    }
}
