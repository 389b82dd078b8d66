#!/usr/bin/env bash
# Optional: the cell and registry unit tests (concurrent ones included) under Miri, which sees
# use-after-free and data races that loom cannot. ~8 min on 2 cores; not part of test-all.sh.
# Then the broken twin of `Reader`, which must be reported as undefined behaviour.
# Tree Borrows (crossbeam-epoch trips Stacked Borrows), leaks ignored (epoch garbage may outlive
# the test), isolation off (SystemTime::now).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add miri rust-src --toolchain nightly
export MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-ignore-leaks -Zmiri-disable-isolation"
cargo +nightly miri test --lib -p procsnap --target-dir target/miri -- cell:: registry:: "$@"

# The broken twin: a reader that reads a state after its unpin. Miri must call it undefined
# behaviour (the test itself would pass, reading freed memory, without Miri).
echo "== the broken reader must be reported"
if out=$(cargo +nightly miri test --lib -p procsnap --target-dir target/miri -- \
    --ignored --exact cell::tests::broken_reader_reads_after_unpin 2>&1); then
    echo "$out" | tail -20
    echo "Miri did not catch the read after unpin" >&2
    exit 1
fi
if ! grep -q "Undefined Behavior" <<<"$out"; then
    echo "$out" | tail -20
    echo "the broken reader failed, but not with Miri's Undefined Behavior report" >&2
    exit 1
fi
echo "caught: $(grep -m1 'Undefined Behavior' <<<"$out")"
