//! Shared by the loom test binaries: a bounded model runner and the child-process check for
//! models that must fail.

#![allow(dead_code)] // each test binary uses a part

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The preemption bound when `LOOM_MAX_PREEMPTIONS` is unset: loom's own default is unbounded,
/// which never finishes for these models.
const DEFAULT_PREEMPTIONS: usize = 2;

/// Runs `f` under loom with the preemption bound from `LOOM_MAX_PREEMPTIONS` (default 2), capped
/// at `cap` for models whose state space explodes above it.
pub fn model<F>(cap: usize, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    let bound = builder
        .preemption_bound
        .unwrap_or(DEFAULT_PREEMPTIONS)
        .min(cap);
    builder.preemption_bound = Some(bound);
    let executions = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = executions.clone();
    let start = Instant::now();
    builder.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    let name = std::thread::current().name().unwrap_or("model").to_owned();
    eprintln!(
        "{name}: {} executions at preemption bound {bound} in {:.2?}",
        executions.load(Ordering::Relaxed),
        start.elapsed()
    );
}

/// Runs the `#[ignore]`d test `name` of this test binary in a child process and asserts that it
/// failed with a message containing `expected`.
///
/// `#[should_panic]` cannot be used: when a model panics, crossbeam-epoch's collector (a loom lazy
/// static) is dropped outside the model and loom aborts the whole process (SIGABRT, loom issues
/// 291/350). The child dies instead of the test runner, and its output says why.
pub fn assert_child_fails(name: &str, expected: &str) {
    let exe = std::env::current_exe().expect("path of this test binary");
    let out = Command::new(exe)
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the test binary again");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("running 1 test"),
        "the child did not run {name}:\n{text}"
    );
    assert!(
        !out.status.success(),
        "{name} passed, but loom should have caught it:\n{text}"
    );
    assert!(
        text.contains(expected),
        "{name} failed, but not with {expected:?} ({}):\n{text}",
        out.status
    );
}

/// Leaks one reference to each process in `list`, so that no `Process` is dropped by loom's
/// teardown of crossbeam-epoch's collector. Call it at the end of a registry model, before the
/// registry is dropped, with its final listing.
///
/// Why: the registry's replaced lists are deferred garbage holding `Arc<Process>` clones. A real
/// program never drops the global collector, but loom drops it (a loom lazy static) after every
/// execution, running the deferred destructors then; if one of them drops the last
/// `Arc<Process>`, that process's `StateCell` pins in its `Drop` while loom is tearing the
/// collector down, and loom panics ("attempted to access lazy_static during shutdown").
/// Flushing the collector at the end of the model does not help: loom lets the epoch loads read
/// stale values, so in some executions no number of flushes advances the epoch. The leaked
/// processes are plain heap memory (a few hundred bytes per execution), invisible to loom's leak
/// check, which tracks only loom objects.
pub fn outlive_teardown(list: &[std::sync::Arc<procsnap::Process>]) {
    std::mem::forget(list.to_vec());
}
