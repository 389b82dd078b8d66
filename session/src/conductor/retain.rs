//! Retention: how many finished runs a session keeps, with their output.
//!
//! After each start, the finished runs of each name beyond the newest `keep_finished` are
//! dropped; then, while the output kept by finished runs is over `finished_log_bytes`, fewer
//! are kept per name (down to one). Live processes are never dropped, and counts that matter
//! (restarts, the board's outcomes) live elsewhere, so a session that restarted a crashing
//! process 10,000 times holds what one that restarted it 10 times holds.

use procsnap::Processes;

use crate::session::SessionConfig;

/// Applies the retention rules of `cfg` to `registry`.
pub(crate) fn prune(registry: &Processes, cfg: &SessionConfig) {
    registry.prune_finished(cfg.keep_finished);
    let mut keep = cfg.keep_finished;
    while keep > 1 && finished_bytes(registry) > cfg.finished_log_bytes {
        keep -= 1;
        registry.prune_finished(keep);
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
