//! Colours and marks. Every status has an icon and a word, so colour is never the only signal;
//! with `NO_COLOR` (or `color: false`) no colour is used at all, only attributes (bold, dim,
//! reversed).

use procsnap::Status;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, BorderType};

/// Name prefix colours in the "all" pane, one per declared position, as `procsnap run` uses
/// (bright cyan, magenta, green, yellow, blue, red).
const PALETTE: [Color; 6] = [
    Color::LightCyan,
    Color::LightMagenta,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightRed,
];

/// The icon and word of a status; `None` is a script never started.
pub fn status_mark(status: Option<Status>) -> (&'static str, &'static str) {
    match status {
        None => ("○", "idle"),
        Some(Status::Pending) => ("…", "pending"),
        Some(Status::Running) => ("●", "running"),
        Some(Status::Stopping) => ("◐", "stopping"),
        Some(Status::Stopped) => ("■", "stopped"),
        Some(Status::Failed) => ("✗", "failed"),
        Some(Status::Success) => ("✓", "success"),
        Some(other) => ("?", other.as_str()),
    }
}

/// Styles, with or without colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    /// A status's icon and word.
    pub fn status(self, status: Option<Status>) -> Style {
        match status {
            None => self.dim(),
            Some(Status::Running) => self.fg(Color::Green),
            Some(Status::Pending | Status::Stopping) => self.fg(Color::Yellow),
            Some(Status::Failed) => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Some(Status::Stopped) => self.fg(Color::Magenta),
            Some(Status::Success) => self.fg(Color::Blue),
            Some(_) => self.dim(),
        }
    }

    /// The name prefix of the process in declared position `slot`.
    pub fn prefix(self, slot: usize) -> Style {
        self.fg(PALETTE[slot % PALETTE.len()])
    }

    pub fn dim(self) -> Style {
        Style::default().add_modifier(Modifier::DIM)
    }

    pub fn bold(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    /// The selected row.
    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    /// A search match; `current` for the match jumped to.
    pub fn found(self, current: bool) -> Style {
        match (self.color, current) {
            (true, false) => Style::default().fg(Color::Black).bg(Color::Yellow),
            (true, true) => Style::default()
                .fg(Color::Black)
                .bg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
            (false, false) => Style::default().add_modifier(Modifier::REVERSED),
            (false, true) => Style::default()
                .add_modifier(Modifier::REVERSED)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        }
    }

    /// The bottom line when it asks something.
    pub fn prompt(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// The border of the focused pane (it is also drawn thick).
    pub fn focused(self) -> Style {
        self.fg(Color::Cyan)
    }

    /// A pane's frame: thick and highlighted while it has the focus, plain and dim otherwise.
    pub fn pane(self, focused: bool) -> Block<'static> {
        let (border, style) = match focused {
            true => (BorderType::Thick, self.focused()),
            false => (BorderType::Plain, self.dim()),
        };
        Block::bordered().border_type(border).border_style(style)
    }
}
