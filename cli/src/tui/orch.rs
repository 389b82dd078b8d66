//! What the list shows for a configured process (procsnap.yaml) beyond its process's status:
//! waiting for dependencies, starting (readiness checks not passed yet), ready, not ready,
//! in a restart backoff with its countdown, blocked, gave up.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use procsnap::Status;
use procsnap::orchestrate::{Health, Outcome, Phase};

use procsnap_session::conductor::{Board, UnitView, countdown, short};

/// A configured process's status cell, read once per frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Icon, word, and the status whose colour the word takes: when its phase says more than
    /// its process's status.
    pub look: Option<(&'static str, &'static str, Status)>,
    /// Restarts made by its restart policy (the restart column adds them to its process's).
    pub restarts: u32,
    /// Why it waits, is not ready, ended or gave up (the board's words).
    pub reason: Option<String>,
    /// Shown in the uptime column in its place (`in 4s` during a backoff).
    pub uptime: Option<String>,
    /// When that text changes.
    pub changes_in: Option<Duration>,
}

/// What a mark is made of: a configured process as a session's board shows it, or as the
/// owner of an attached session reports it (see [`crate::remote::mirror`]).
pub struct UnitLook<'a> {
    pub name: &'a str,
    pub phase: Phase,
    pub health: Health,
    /// Restarts made by its restart policy.
    pub restarts: u32,
    pub reason: Option<&'a str>,
}

impl<'a> From<&'a UnitView> for UnitLook<'a> {
    fn from(u: &'a UnitView) -> UnitLook<'a> {
        UnitLook {
            name: &u.name,
            phase: u.phase,
            health: u.health,
            restarts: u.restarts,
            reason: u.reason.as_deref(),
        }
    }
}

impl<'a> From<&'a crate::remote::mirror::Unit> for UnitLook<'a> {
    fn from(u: &'a crate::remote::mirror::Unit) -> UnitLook<'a> {
        UnitLook {
            name: &u.name,
            phase: u.phase,
            health: u.health,
            restarts: u.restarts,
            reason: u.reason.as_deref(),
        }
    }
}

/// The mark of a process that waits for the terminal (see [`crate::tty`]), over what its
/// configured process's mark said.
pub fn waiting_for_terminal(mark: Option<&Mark>) -> Mark {
    Mark {
        look: Some(("⏸", "needs tty", Status::Pending)),
        restarts: mark.map_or(0, |m| m.restarts),
        reason: Some(crate::tty::WAITING_UI.to_owned()),
        uptime: None,
        changes_in: None,
    }
}

/// The marks of a session's configured processes (see [`marks`]).
pub fn board_marks(board: &Board, now: Instant) -> HashMap<String, Mark> {
    marks(board.units.iter().map(UnitLook::from), now)
}

/// The marks of the configured processes whose state says more than their process's status
/// (a phase, policy restarts, a reason).
pub fn marks<'a>(units: impl Iterator<Item = UnitLook<'a>>, now: Instant) -> HashMap<String, Mark> {
    units
        .filter_map(|u| {
            let look = match (u.phase, u.health) {
                (Phase::Waiting, _) => ("…", "waiting", Status::Pending),
                (Phase::Starting, _) => ("…", "starting", Status::Pending),
                (Phase::Backoff { .. }, _) => ("↻", "backoff", Status::Pending),
                (Phase::Running, Health::Ready) => ("●", "ready", Status::Running),
                (Phase::Running, Health::NotReady) => ("●", "not ready", Status::Failed),
                (Phase::Running, Health::Unknown) => ("◌", "starting", Status::Pending),
                (Phase::Done(Outcome::Blocked), _) => ("✗", "blocked", Status::Failed),
                (Phase::Done(Outcome::GaveUp), _) => ("✗", "gave up", Status::Failed),
                _ if u.restarts > 0 || u.reason.is_some() => {
                    let mark = Mark {
                        look: None,
                        restarts: u.restarts,
                        reason: u.reason.map(str::to_owned),
                        uptime: None,
                        changes_in: None,
                    };
                    return Some((u.name.to_owned(), mark));
                }
                _ => return None,
            };
            let (uptime, changes_in) = match u.phase {
                Phase::Backoff { until } => {
                    let left = until.saturating_duration_since(now);
                    // The countdown shows whole seconds, rounded up: it changes at each one.
                    let next = Duration::from_nanos(u64::from(left.subsec_nanos()));
                    let next = if next.is_zero() {
                        Duration::from_secs(1)
                    } else {
                        next
                    };
                    (
                        Some(format!("in {}", short(countdown(until, now)))),
                        Some(next),
                    )
                }
                _ => (None, None),
            };
            let mark = Mark {
                look: Some(look),
                restarts: u.restarts,
                reason: u.reason.map(str::to_owned),
                uptime,
                changes_in,
            };
            Some((u.name.to_owned(), mark))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::App;
    use crate::tui::clock::Clock;
    use crate::tui::rows::{Catalog, Entry, snapshot};
    use crate::tui::theme::Theme;
    use crate::tui::view::{Scene, draw};
    use procsnap::orchestrate::Restart;
    use procsnap::{CommandSpec, Event, Registry};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::time::UNIX_EPOCH;

    fn unit(name: &str, phase: Phase, health: Health) -> UnitView {
        UnitView {
            name: name.to_owned(),
            phase,
            health,
            ready: health == Health::Ready,
            restarts: 0,
            max_restarts: 0,
            restart: Restart::No,
            next_restart: None,
            last_delay: None,
            reason: None,
            waiting_for: Vec::new(),
            process: None,
            owner: procsnap_session::Owner::Detached,
            origin: procsnap_session::Origin::Configured,
        }
    }

    /// The list shows readiness, waits, blocks and a backoff with its countdown.
    #[test]
    fn the_list_shows_readiness_and_backoff() {
        let now = Instant::now();
        let board = Board {
            units: vec![
                unit("db", Phase::Running, Health::Ready),
                unit("api", Phase::Running, Health::Unknown),
                unit(
                    "worker",
                    Phase::Backoff {
                        until: now + Duration::from_millis(3200),
                    },
                    Health::Unknown,
                ),
                UnitView {
                    reason: Some("waiting for api (process_healthy)".to_owned()),
                    ..unit("web", Phase::Waiting, Health::Unknown)
                },
                unit("e2e", Phase::Done(Outcome::Blocked), Health::Unknown),
                UnitView {
                    restarts: 2,
                    ..unit("plain", Phase::Running, Health::NoCheck)
                },
            ],
            ..Board::default()
        };
        let marks = board_marks(&board, now);
        assert_eq!(
            marks["plain"].look, None,
            "no check: its status says it all"
        );
        assert_eq!(marks["worker"].uptime.as_deref(), Some("in 4s"));
        assert_eq!(marks["worker"].changes_in, Some(Duration::from_millis(200)));

        let names = ["db", "api", "worker", "web", "e2e", "plain"];
        let reg = Registry::new();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for (i, n) in ["db", "api", "plain"].iter().enumerate() {
            let p = reg.insert(n, CommandSpec::shell("true"), 0);
            reg.apply(
                p.id(),
                Event::Started {
                    pid: 100 + i as u32,
                    at: t0,
                },
            )
            .unwrap();
        }
        let cat = Catalog::from_entries(
            names
                .iter()
                .map(|n| Entry {
                    name: n.to_string(),
                    spec: Ok(CommandSpec::shell("true")),
                })
                .collect(),
        );
        let mut app = App::default();
        let mut snap = snapshot(&reg, &cat, app.sort);
        snap.marks = marks;
        let scene = Scene {
            snap: &snap,
            catalog: &cat,
            title: "stack",
            clock: Clock::fixed(t0 + Duration::from_secs(5)),
            theme: Theme { color: false },
        };
        let mut term = Terminal::new(TestBackend::new(120, 20)).unwrap();
        let mut tick = None;
        term.draw(|f| tick = draw(f, &mut app, &scene)).unwrap();
        let screen: Vec<String> = (0..20)
            .map(|y| {
                (0..120)
                    .map(|x| term.backend().buffer()[(x, y)].symbol().to_owned())
                    .collect()
            })
            .collect();
        let row = |name: &str| {
            screen
                .iter()
                .find(|l| l.contains(&format!(" {name} ")))
                .unwrap_or_else(|| panic!("{name} not on screen:\n{}", screen.join("\n")))
                .clone()
        };
        assert!(row("db").contains("● ready"), "{}", row("db"));
        assert!(row("api").contains("◌ starting"), "{}", row("api"));
        assert!(
            row("worker").contains("↻ backoff") && row("worker").contains("in 4s"),
            "{}",
            row("worker")
        );
        assert!(row("web").contains("… waiting"), "{}", row("web"));
        assert!(row("e2e").contains("✗ blocked"), "{}", row("e2e"));
        assert!(row("plain").contains("● running"), "{}", row("plain"));
        assert!(
            row("plain").contains("↻2"),
            "policy restarts are counted: {}",
            row("plain")
        );
        assert!(
            tick.is_some_and(|t| t <= Duration::from_millis(200)),
            "the countdown redraws: {tick:?}"
        );
        // The selected process's reason is in the log pane's title, in the board's words.
        app.selected = crate::tui::app::Sel::Name("web".to_owned());
        term.draw(|f| tick = draw(f, &mut app, &scene)).unwrap();
        let screen: String = (0..20)
            .flat_map(|y| (0..120).map(move |x| (x, y)))
            .map(|(x, y)| term.backend().buffer()[(x, y)].symbol().to_owned())
            .collect();
        assert!(
            screen.contains("· waiting for api (process_healthy)"),
            "{screen}"
        );
    }
}
