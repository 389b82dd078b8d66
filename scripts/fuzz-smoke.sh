#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a short, bounded time; exits non-zero on a crash.
#
#   scripts/fuzz-smoke.sh                        # 30 s per target, all targets
#   FUZZ_SECONDS=60 scripts/fuzz-smoke.sh cell_vs_mutex
#   FUZZ_SANITIZER=address scripts/fuzz-smoke.sh # ASan (nightly only; ~20-35x slower)
#
# Without a sanitizer cargo-fuzz works on stable; a nightly toolchain is used when one is
# installed (FUZZ_TOOLCHAIN overrides: "stable", "nightly", ...). Each run starts from the
# committed seeds and regression inputs in fuzz/corpus/<target>/ (read only) and writes what it
# learns to fuzz/target/smoke-corpus/<target>/ (ignored by git). A crash leaves its input in
# fuzz/artifacts/<target>/; reproduce it with `cargo fuzz run --sanitizer none <target> <file>`,
# and once fixed, copy it into fuzz/corpus/<target>/ as a regression input.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
sanitizer="${FUZZ_SANITIZER:-none}"

if [[ -n "${FUZZ_TOOLCHAIN:-}" ]]; then
    toolchain="+$FUZZ_TOOLCHAIN"
elif cargo +nightly --version >/dev/null 2>&1; then
    toolchain="+nightly"
elif [[ "$sanitizer" != none ]]; then
    echo "fuzz-smoke: --sanitizer $sanitizer needs a nightly toolchain; skipping" >&2
    exit 0
else
    toolchain=""
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz 0.13.2" >&2
    if ! cargo install cargo-fuzz --version 0.13.2 --locked; then
        echo "fuzz-smoke: cargo-fuzz could not be installed; skipping" >&2
        exit 0
    fi
fi

# Extra libFuzzer flags per target. The concurrent target needs long inputs, else the two
# threads barely overlap: libFuzzer starts with short inputs and grows them slowly.
flags_for() {
    case "$1" in
        cell_vs_mutex) echo "-len_control=0 -max_len=4096" ;;
        *) echo "" ;;
    esac
}

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

failed=()
for target in "${targets[@]}"; do
    work="fuzz/target/smoke-corpus/$target"
    seeds="fuzz/corpus/$target"
    mkdir -p "$work" "$seeds"
    echo "fuzz-smoke: $target for ${seconds}s (${toolchain:-default toolchain}, sanitizer $sanitizer)" >&2
    # shellcheck disable=SC2046 # the flags are meant to split
    if ! cargo $toolchain fuzz run --sanitizer "$sanitizer" "$target" "$work" "$seeds" -- \
        -max_total_time="$seconds" -timeout=30 -print_final_stats=1 $(flags_for "$target"); then
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz-smoke: all ${#targets[@]} targets ran ${seconds}s without a crash" >&2
