#!/usr/bin/env bash
# Model-checks the real StateCell, EpochCell and Registry with loom (loom-tests/).
#
#   scripts/loom.sh                          # preemption bound 4: ~40 s of CPU after a ~35 s build
#   LOOM_MAX_PREEMPTIONS=3 scripts/loom.sh   # faster (~8 s of CPU); each step up is ~5x the work
#
# Release build in its own target dir: `--cfg crossbeam_loom` changes every crate's flags, so
# sharing target/ would rebuild the normal build each time. Models may cap the bound lower
# (loom-tests/tests/common/mod.rs `model(cap, ..)`); each prints its execution count and time.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg crossbeam_loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-4}"

if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run -p loom-tests --release --target-dir target/loom \
        --success-output final "$@"
else
    exec cargo test -p loom-tests --release --target-dir target/loom "$@"
fi
