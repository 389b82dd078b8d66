//! The search line, `n`/`N`, and showing what a search found.

use regex::Regex;

use super::{App, Command, Ctx, Mode, Search, Sel};
use crate::tui::keys::Action;
use crate::tui::logview::{Pos, Sources};

impl App {
    pub(super) fn on_search_line(
        &mut self,
        action: Action,
        mut text: String,
        ctx: &Ctx<'_>,
    ) -> Vec<Command> {
        match action {
            Action::Input(c) => {
                text.push(c);
                self.mode = Mode::Search(text);
            }
            Action::Backspace => {
                text.pop();
                self.mode = Mode::Search(text);
            }
            Action::Cancel => self.mode = Mode::Normal,
            Action::Submit => {
                self.mode = Mode::Normal;
                if text.is_empty() {
                    self.search = None;
                    return Vec::new();
                }
                // Smart case: a pattern without capitals ignores case.
                let source = if text.chars().any(char::is_uppercase) {
                    text.clone()
                } else {
                    format!("(?i){text}")
                };
                match Regex::new(&source) {
                    Ok(re) => {
                        self.search = Some(Search {
                            pattern: text,
                            re,
                            current: None,
                        });
                        return self.search_step(true, ctx);
                    }
                    Err(e) => self.say(format!("invalid regex /{text}/: {e}")),
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// `n` (older) / `N` (newer): from the current match, else from the pane's bottom line.
    pub(super) fn search_step(&mut self, older: bool, _ctx: &Ctx<'_>) -> Vec<Command> {
        let Some(search) = &self.search else {
            self.say("no search yet (/ to search)");
            return Vec::new();
        };
        let view = self.view();
        let from = match (search.current, view.pos) {
            (Some(c), _) => c,
            (None, Pos::Follow) => u64::MAX,
            (None, Pos::Paused { bottom, .. }) => bottom.saturating_add(u64::from(older)),
        };
        vec![Command::Search {
            view: self.selected.clone(),
            re: search.re.clone(),
            older,
            from,
            floor: view.floor,
        }]
    }

    /// The answer to a [`Command::Search`]: show the match `seq` of pane `view`, or say
    /// there is none. An answer for a pane no longer selected is dropped.
    pub fn found(&mut self, view: &Sel, older: bool, seq: Option<u64>, src: &Sources<'_>) {
        if *view != self.selected {
            return;
        }
        let Some(search) = &mut self.search else {
            return;
        };
        match seq {
            Some(s) => {
                search.current = Some(s);
                let page = self.geometry.log_rows.max(1);
                self.view_mut().pos = src.around(s, page);
            }
            None => {
                let dir = if older { "older" } else { "newer" };
                let text = format!("no {dir} match for /{}/", search.pattern);
                self.say(text);
            }
        }
    }
}
