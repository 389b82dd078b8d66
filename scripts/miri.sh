#!/usr/bin/env bash
# Optional: the cell and registry unit tests (concurrent ones included) under Miri, which sees
# use-after-free and data races that loom cannot. ~7 min on 2 cores; not part of test-all.sh.
# Tree Borrows (crossbeam-epoch trips Stacked Borrows), leaks ignored (epoch garbage may outlive
# the test), isolation off (SystemTime::now).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add miri rust-src --toolchain nightly
MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-ignore-leaks -Zmiri-disable-isolation" \
    cargo +nightly miri test --lib -p procsnap --target-dir target/miri -- cell:: registry:: "$@"
