//! A process removed from the registry (and its log ring) is freed within one registry write,
//! not after 64 of them.
//!
//! Each registry write replaces the listing, and the replaced listing (which holds an `Arc` of
//! every process it lists) is deferred to the epoch collector. Deferred values wait in a
//! thread-local bag that reaches the collector only when it is flushed: with nothing to flush
//! it, a thread's last 63 replaced listings, and every process they list, stay allocated
//! however long the program runs.
//!
//! One test function, so no other test thread of this binary is pinned: a thread pinned in an
//! older epoch would (rightly) hold reclamation back and make the figures depend on timing.

use std::sync::{Arc, Weak};
use std::time::SystemTime;

use procsnap::{CommandSpec, Event, Exit, Process, Registry, Stream};

fn finish(r: &Registry, p: &Process) {
    let at = SystemTime::now();
    r.apply(p.id(), Event::Started { pid: 1, at }).unwrap();
    let exit = Exit::Code(0);
    r.apply(p.id(), Event::Exited { exit, at }).unwrap();
}

/// A finished process holding `kib` KiB of output, known to the caller only through a `Weak`.
fn finished_with_output(r: &Registry, name: &str, kib: usize) -> Weak<Process> {
    let p = r.insert(name, CommandSpec::new("true"), 0);
    let line = "x".repeat(1023);
    for _ in 0..kib {
        r.push_line(p.id(), Stream::Stdout, &line, false).unwrap();
    }
    finish(r, &p);
    Arc::downgrade(&p)
}

#[test]
fn removed_processes_are_freed_within_one_registry_write() {
    // Every case runs (each starts from a fresh registry) and all the failures are reported.
    let failures: Vec<&str> = [
        pruned_process_is_freed_by_the_next_write(),
        removed_process_is_freed_by_the_next_write(),
        a_write_to_any_registry_frees_it(),
        dropped_registry_frees_its_processes(),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(failures.is_empty(), "still allocated: {failures:#?}");
}

/// `Some(what)` when the process behind `weak` is still allocated.
fn still_allocated(weak: &Weak<Process>, what: &'static str) -> Option<&'static str> {
    (weak.strong_count() != 0).then_some(what)
}

/// `prune_finished`, as the MCP server does after each start: the pruned process is gone once
/// the next registry write on this thread has returned.
fn pruned_process_is_freed_by_the_next_write() -> Option<&'static str> {
    let r = Registry::new();
    let old = finished_with_output(&r, "build", 256);
    let _kept = r.insert("dev", CommandSpec::new("true"), 0);
    drop(r.prune_finished(0));
    r.insert("build", CommandSpec::new("true"), 0);
    still_allocated(
        &old,
        "a pruned process (and its 256 KiB ring) after the next registry write",
    )
}

fn removed_process_is_freed_by_the_next_write() -> Option<&'static str> {
    let r = Registry::new();
    let old = finished_with_output(&r, "test", 64);
    drop(r.remove_finished());
    r.insert("test", CommandSpec::new("true"), 0);
    still_allocated(
        &old,
        "a process taken by remove_finished, after the next write",
    )
}

/// The collector is global: writes to another registry free it just as well.
fn a_write_to_any_registry_frees_it() -> Option<&'static str> {
    let r = Registry::new();
    let old = finished_with_output(&r, "lint", 16);
    drop(r.prune_finished(0));
    Registry::new().insert("other", CommandSpec::new("true"), 0);
    still_allocated(&old, "a pruned process, after a write to another registry")
}

/// A dropped registry's processes are freed by the next registry write, like removed ones.
fn dropped_registry_frees_its_processes() -> Option<&'static str> {
    let r = Registry::new();
    let p = finished_with_output(&r, "serve", 64);
    drop(r);
    Registry::new().insert("next", CommandSpec::new("true"), 0);
    still_allocated(&p, "a dropped registry's process, after the next write")
}
