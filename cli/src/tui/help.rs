//! The keys: one table, [`KEYS`], from which the help overlay (`?`) is drawn and against which
//! the README's key table is checked (a test compares it with [`readme_table`]); each entry
//! also names the key presses it documents, and a test checks them against [`keys::action`]
//! both ways (every documented key does something, every key that does something is
//! documented).
//!
//! [`keys::action`]: super::keys::action

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::theme::Theme;

/// One row of the key table.
#[derive(Clone, Copy, Debug)]
pub struct KeyHelp {
    /// The keys as the table shows them.
    pub label: &'static str,
    /// What they do (at most [`WHAT_WIDTH`] columns, so the overlay fits 80 columns).
    pub what: &'static str,
    /// The key presses this row documents (in the list's normal mode).
    pub presses: &'static [(KeyCode, KeyModifiers)],
}

const fn plain(c: char) -> (KeyCode, KeyModifiers) {
    (KeyCode::Char(c), KeyModifiers::NONE)
}

const fn ctrl(c: char) -> (KeyCode, KeyModifiers) {
    (KeyCode::Char(c), KeyModifiers::CONTROL)
}

const fn key(code: KeyCode) -> (KeyCode, KeyModifiers) {
    (code, KeyModifiers::NONE)
}

/// The widest label.
const LABEL_WIDTH: usize = 15;

/// The widest description: the overlay is 72 columns, borders and label included.
pub const WHAT_WIDTH: usize = 72 - 2 - 1 - LABEL_WIDTH;

/// The keys of the terminal UI, in the order the help and the README list them.
pub const KEYS: &[KeyHelp] = &[
    KeyHelp {
        label: "j/k, ↓/↑",
        what: "select a row (list) · scroll a line (log pane)",
        presses: &[plain('j'), plain('k'), key(KeyCode::Down), key(KeyCode::Up)],
    },
    KeyHelp {
        label: "g/Home, G",
        what: "first/last row · top/end of the log",
        presses: &[plain('g'), key(KeyCode::Home), plain('G')],
    },
    KeyHelp {
        label: "Enter/Tab, Esc",
        what: "focus the log pane · back to the list",
        presses: &[
            key(KeyCode::Enter),
            key(KeyCode::Tab),
            key(KeyCode::Esc),
            key(KeyCode::BackTab),
        ],
    },
    KeyHelp {
        label: "PgUp/PgDn",
        what: "scroll the log a page",
        presses: &[key(KeyCode::PageUp), key(KeyCode::PageDown)],
    },
    KeyHelp {
        label: "r",
        what: "start the selected script, or restart its process",
        presses: &[plain('r')],
    },
    KeyHelp {
        label: "s",
        what: "stop: TERM (or shutdown.signal), KILL after the grace",
        presses: &[plain('s')],
    },
    KeyHelp {
        label: "x",
        what: "kill now: SIGKILL to the group, no SIGTERM first",
        presses: &[plain('x')],
    },
    KeyHelp {
        label: "R",
        what: "restart every running process",
        presses: &[plain('R')],
    },
    KeyHelp {
        label: "/ n N",
        what: "regex search; next older match, next newer match",
        presses: &[plain('/'), plain('n'), plain('N')],
    },
    KeyHelp {
        label: "F/End",
        what: "follow the output again",
        presses: &[plain('F'), key(KeyCode::End)],
    },
    KeyHelp {
        label: "w",
        what: "wrap long lines",
        presses: &[plain('w')],
    },
    KeyHelp {
        label: "t",
        what: "show each line's time (HH:MM:SS.mmm)",
        presses: &[plain('t')],
    },
    KeyHelp {
        label: "c",
        what: "clear the pane's view (the ring keeps its lines)",
        presses: &[plain('c')],
    },
    KeyHelp {
        label: "z",
        what: "zoom the log pane to the whole screen",
        presses: &[plain('z')],
    },
    KeyHelp {
        label: "o",
        what: "sort: declared, name, status, started",
        presses: &[plain('o')],
    },
    KeyHelp {
        label: "H",
        what: "hide or show the key hints",
        presses: &[plain('H')],
    },
    KeyHelp {
        label: "?",
        what: "this help (any key closes it)",
        presses: &[plain('?')],
    },
    KeyHelp {
        label: "q",
        what: "quit, stopping every group (asks while any runs)",
        presses: &[plain('q')],
    },
    KeyHelp {
        label: "Q, Ctrl-C ×2",
        what: "quit without asking; once more while stopping: kill",
        presses: &[plain('Q'), ctrl('c')],
    },
    KeyHelp {
        label: "Ctrl-Z",
        what: "suspend to the shell (the scripts run on); fg resumes",
        presses: &[ctrl('z')],
    },
];

/// The key hints on the bottom line of a wide terminal.
pub const HINTS: &str = "j/k select · ⏎ log · r start/restart · s stop · x kill · R restart all · / search · o sort · z zoom · ? help · q quit";

/// The key hints below [`WIDE`](super::view::WIDE) columns.
pub const SHORT_HINTS: &str =
    "j/k select · ⏎ log · r run · s stop · x kill · / search · ? help · q quit";

/// The README's key table, as [`KEYS`] gives it.
pub fn readme_table() -> String {
    let mut out = String::from("| key | what it does |\n|---|---|\n");
    for k in KEYS {
        out.push_str(&format!("| `{}` | {} |\n", k.label, k.what));
    }
    out
}

/// Draws the help overlay in the middle of the screen.
pub fn draw(f: &mut Frame, theme: Theme) {
    let area = f.area();
    let w = 72.min(area.width);
    let h = (KEYS.len() as u16 + 2).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let lines: Vec<Line<'static>> = KEYS
        .iter()
        .map(|k| {
            Line::from(vec![
                Span::styled(format!(" {:<LABEL_WIDTH$}", k.label), theme.bold()),
                Span::raw(k.what),
            ])
        })
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys · any key closes ")),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keys::{Keymap, action};
    use ratatui::crossterm::event::{Event, KeyEvent};
    use unicode_width::UnicodeWidthStr;

    fn act(code: KeyCode, mods: KeyModifiers) -> Option<crate::tui::keys::Action> {
        action(&Event::Key(KeyEvent::new(code, mods)), Keymap::Normal)
    }

    /// The README's table is the help's table: the `x` of one said "SIGKILL at once", of the
    /// other "SIGTERM then at once SIGKILL".
    #[test]
    fn the_readme_key_table_is_the_help_table() {
        let readme = include_str!("../../README.md");
        let table = readme_table();
        assert!(
            readme.contains(&table),
            "cli/README.md's key table differs from tui::help::KEYS; it should read:\n\n{table}"
        );
    }

    #[test]
    fn every_documented_key_does_something_and_every_key_is_documented() {
        for k in KEYS {
            for &(code, mods) in k.presses {
                assert!(
                    act(code, mods).is_some(),
                    "{} ({code:?}) does nothing",
                    k.label
                );
            }
        }
        let documented = |code: KeyCode, mods: KeyModifiers| {
            KEYS.iter().any(|k| k.presses.contains(&(code, mods)))
        };
        let specials = [
            KeyCode::Enter,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Esc,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Insert,
            KeyCode::Delete,
            KeyCode::Backspace,
        ];
        let chars = (' '..='~').map(KeyCode::Char);
        for code in specials.into_iter().chain(chars) {
            for mods in [KeyModifiers::NONE, KeyModifiers::CONTROL] {
                if act(code, mods).is_some() {
                    assert!(
                        documented(code, mods),
                        "{mods:?} {code:?} is not in the help"
                    );
                }
            }
        }
    }

    #[test]
    fn the_help_fits_80_columns() {
        for k in KEYS {
            assert!(k.label.width() <= LABEL_WIDTH, "{}", k.label);
            assert!(
                k.what.width() <= WHAT_WIDTH,
                "{}: {} columns",
                k.what,
                k.what.width()
            );
        }
    }
}
