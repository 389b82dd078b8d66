//! Keys and mouse → [`Action`]s. Pure: which action a key means depends only on the key and
//! the input mode, never on the terminal.

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `k`/↑: the previous row, or a line up in the log pane.
    Up,
    /// `j`/↓.
    Down,
    /// `g`/Home: the first row, or the top of the log.
    First,
    /// `G`: the last row, or the end of the log (following).
    Last,
    PageUp,
    PageDown,
    /// `Enter`/`Tab`.
    FocusLog,
    /// `Esc`.
    FocusList,
    /// `r`: start the selected script, or restart its running process.
    Start,
    /// `s`: TERM → grace → KILL of the selected process's group.
    Stop,
    /// `x`: SIGKILL of the selected process's group.
    Kill,
    /// `R`: restart every running process.
    RestartAll,
    /// `/`.
    SearchStart,
    /// `n`: the next match (older).
    SearchNext,
    /// `N`: the previous match (newer).
    SearchPrev,
    /// `F`/End.
    Follow,
    /// `w`.
    Wrap,
    /// `t`.
    Timestamps,
    /// `z`.
    Zoom,
    /// `o`.
    Sort,
    /// `?`.
    Help,
    /// `c`: clear the pane's view (not the ring).
    Clear,
    /// `H`: hide or show the key hints.
    Hints,
    /// `q` (asks first while anything runs).
    Quit,
    /// `Q`: quit without asking.
    QuitNow,
    /// Ctrl-C: like `q`; a second one confirms.
    Interrupt,
    /// Ctrl-Z (in every mode): suspend the UI to the shell, as a terminal's Ctrl-Z would.
    Suspend,
    /// `q`/`y` on the confirm line.
    Confirm,
    /// Typing in the search line.
    Input(char),
    Backspace,
    Submit,
    /// Any other key on a prompt: leave it.
    Cancel,
    Click {
        col: u16,
        row: u16,
    },
    Wheel {
        up: bool,
        col: u16,
        row: u16,
    },
    Resize,
}

/// What keys mean right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keymap {
    Normal,
    /// Typing a search pattern.
    Search,
    /// The "stop N processes and quit?" line.
    Confirm,
}

/// The action for terminal event `ev` under `map`, if any.
pub fn action(ev: &Event, map: Keymap) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => key(k, map),
        Event::Mouse(m) => mouse(m),
        Event::Resize(..) => Some(Action::Resize),
        _ => None,
    }
}

fn key(k: &KeyEvent, map: Keymap) -> Option<Action> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let ctrl_c = ctrl && k.code == KeyCode::Char('c');
    if ctrl && k.code == KeyCode::Char('z') {
        return Some(Action::Suspend);
    }
    match map {
        Keymap::Search => Some(match k.code {
            _ if ctrl_c => Action::Cancel,
            KeyCode::Enter => Action::Submit,
            KeyCode::Esc => Action::Cancel,
            KeyCode::Backspace => Action::Backspace,
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => Action::Input(c),
            _ => return None,
        }),
        Keymap::Confirm => Some(match k.code {
            _ if ctrl_c => Action::Confirm,
            KeyCode::Char('q' | 'y') => Action::Confirm,
            KeyCode::Char('Q') => Action::QuitNow,
            _ => Action::Cancel,
        }),
        Keymap::Normal if ctrl_c => Some(Action::Interrupt),
        Keymap::Normal if k.modifiers.contains(KeyModifiers::CONTROL) => None,
        Keymap::Normal => normal(k.code),
    }
}

fn normal(code: KeyCode) -> Option<Action> {
    Some(match code {
        KeyCode::Char('j') | KeyCode::Down => Action::Down,
        KeyCode::Char('k') | KeyCode::Up => Action::Up,
        KeyCode::Char('g') | KeyCode::Home => Action::First,
        KeyCode::Char('G') => Action::Last,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Enter | KeyCode::Tab => Action::FocusLog,
        KeyCode::Esc | KeyCode::BackTab => Action::FocusList,
        KeyCode::Char('r') => Action::Start,
        KeyCode::Char('s') => Action::Stop,
        KeyCode::Char('x') => Action::Kill,
        KeyCode::Char('R') => Action::RestartAll,
        KeyCode::Char('/') => Action::SearchStart,
        KeyCode::Char('n') => Action::SearchNext,
        KeyCode::Char('N') => Action::SearchPrev,
        KeyCode::Char('F') | KeyCode::End => Action::Follow,
        KeyCode::Char('w') => Action::Wrap,
        KeyCode::Char('t') => Action::Timestamps,
        KeyCode::Char('z') => Action::Zoom,
        KeyCode::Char('o') => Action::Sort,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('c') => Action::Clear,
        KeyCode::Char('H') => Action::Hints,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('Q') => Action::QuitNow,
        _ => return None,
    })
}

fn mouse(m: &MouseEvent) -> Option<Action> {
    let (col, row) = (m.column, m.row);
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click { col, row }),
        MouseEventKind::ScrollUp => Some(Action::Wheel { up: true, col, row }),
        MouseEventKind::ScrollDown => Some(Action::Wheel {
            up: false,
            col,
            row,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn c(ch: char) -> Event {
        k(KeyCode::Char(ch))
    }

    fn ctrl(ch: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::CONTROL))
    }

    #[test]
    fn the_documented_default_keys() {
        let n = |e: Event| action(&e, Keymap::Normal);
        use Action::*;
        let table = [
            (c('j'), Down),
            (k(KeyCode::Down), Down),
            (c('k'), Up),
            (k(KeyCode::Up), Up),
            (c('g'), First),
            (c('G'), Last),
            (k(KeyCode::Enter), FocusLog),
            (k(KeyCode::Tab), FocusLog),
            (k(KeyCode::Esc), FocusList),
            (c('r'), Start),
            (c('s'), Stop),
            (c('x'), Kill),
            (c('R'), RestartAll),
            (c('/'), SearchStart),
            (c('n'), SearchNext),
            (c('N'), SearchPrev),
            (c('F'), Follow),
            (k(KeyCode::End), Follow),
            (c('w'), Wrap),
            (c('t'), Timestamps),
            (c('z'), Zoom),
            (c('o'), Sort),
            (c('?'), Help),
            (c('c'), Clear),
            (c('q'), Quit),
            (c('Q'), QuitNow),
            (ctrl('c'), Interrupt),
        ];
        for (ev, want) in table {
            assert_eq!(n(ev.clone()), Some(want), "{ev:?}");
        }
        assert_eq!(n(ctrl('z')), Some(Suspend));
        assert_eq!(n(c('%')), None);
        assert_eq!(n(ctrl('x')), None);
    }

    #[test]
    fn prompts_take_text_and_confirmations() {
        let s = |e: Event| action(&e, Keymap::Search);
        assert_eq!(s(c('q')), Some(Action::Input('q')));
        assert_eq!(s(c('/')), Some(Action::Input('/')));
        assert_eq!(s(k(KeyCode::Enter)), Some(Action::Submit));
        assert_eq!(s(k(KeyCode::Backspace)), Some(Action::Backspace));
        assert_eq!(s(k(KeyCode::Esc)), Some(Action::Cancel));
        assert_eq!(s(ctrl('c')), Some(Action::Cancel));
        let q = |e: Event| action(&e, Keymap::Confirm);
        assert_eq!(q(c('q')), Some(Action::Confirm));
        assert_eq!(q(c('y')), Some(Action::Confirm));
        assert_eq!(q(ctrl('c')), Some(Action::Confirm));
        assert_eq!(q(c('Q')), Some(Action::QuitNow));
        assert_eq!(q(c('n')), Some(Action::Cancel));
        assert_eq!(q(k(KeyCode::Esc)), Some(Action::Cancel));
        // Ctrl-Z suspends from a prompt too.
        assert_eq!(s(ctrl('z')), Some(Action::Suspend));
        assert_eq!(q(ctrl('z')), Some(Action::Suspend));
    }

    #[test]
    fn mouse_and_resize() {
        let ev = |kind| {
            Event::Mouse(MouseEvent {
                kind,
                column: 3,
                row: 4,
                modifiers: KeyModifiers::NONE,
            })
        };
        let n = |e: Event| action(&e, Keymap::Normal);
        assert_eq!(
            n(ev(MouseEventKind::Down(MouseButton::Left))),
            Some(Action::Click { col: 3, row: 4 })
        );
        assert_eq!(
            n(ev(MouseEventKind::ScrollDown)),
            Some(Action::Wheel {
                up: false,
                col: 3,
                row: 4
            })
        );
        assert_eq!(n(ev(MouseEventKind::Moved)), None);
        assert_eq!(n(Event::Resize(80, 24)), Some(Action::Resize));
        let release = Event::Key(KeyEvent::new_with_kind(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
            KeyEventKind::Release,
        ));
        assert_eq!(n(release), None);
    }
}
