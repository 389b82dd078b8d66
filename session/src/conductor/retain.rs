//! Retention: how many finished runs a session keeps, with their output.
//!
//! After each start, the finished runs of each name beyond the newest `keep_finished` are
//! dropped; then, while the output kept by finished runs is over `finished_log_bytes`, fewer
//! are kept per name (down to one). Live processes are never dropped, and counts that matter
//! (restarts, the board's outcomes) live elsewhere, so a session that restarted a crashing
//! process 10,000 times holds what one that restarted it 10 times holds.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use procsnap::{ProcId, Processes};

use super::lock;
use crate::session::SessionConfig;

/// The names of the newest processes dropped by retention.
///
/// A process can be dropped while events about it still wait in an observer's queue (its
/// lines and its end, behind a slow reader), and whoever reads them needs its name. An
/// observer holds at most a few thousand events, so the newest [`DEPARTED`] cover them.
#[derive(Default)]
pub(crate) struct Departed {
    names: Mutex<Names>,
}

/// By id: the name and the label (`name-N`); and the ids, oldest first.
type Names = (HashMap<ProcId, (Box<str>, Box<str>)>, VecDeque<ProcId>);

/// How many dropped processes' names are remembered.
const DEPARTED: usize = 4096;

impl Departed {
    pub(crate) fn name(&self, id: ProcId) -> Option<String> {
        lock(&self.names).0.get(&id).map(|(n, _)| n.to_string())
    }

    pub(crate) fn label(&self, id: ProcId) -> Option<String> {
        lock(&self.names).0.get(&id).map(|(_, l)| l.to_string())
    }

    fn remember(&self, dropped: Vec<std::sync::Arc<procsnap::Process>>) {
        if dropped.is_empty() {
            return;
        }
        let (names, order) = &mut *lock(&self.names);
        for p in dropped {
            if order.len() >= DEPARTED
                && let Some(old) = order.pop_front()
            {
                names.remove(&old);
            }
            names.insert(p.id(), (p.name().into(), p.label().into()));
            order.push_back(p.id());
        }
    }
}

/// Applies the retention rules of `cfg` to `registry`, remembering what it drops.
pub(crate) fn prune(registry: &Processes, cfg: &SessionConfig, departed: &Departed) {
    departed.remember(registry.prune_finished(cfg.keep_finished));
    let mut keep = cfg.keep_finished;
    while keep > 1 && finished_bytes(registry) > cfg.finished_log_bytes {
        keep -= 1;
        departed.remember(registry.prune_finished(keep));
    }
}

/// Output bytes held by finished processes.
fn finished_bytes(registry: &Processes) -> usize {
    procsnap::Reader::new()
        .list(registry)
        .filter(|(_, s)| s.is_finished())
        .map(|(p, _)| p.logs().bytes())
        .sum()
}
