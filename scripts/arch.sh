#!/usr/bin/env bash
# The library's unit and integration tests on two more architectures:
#
#   i686     32-bit x86, built with the cross gcc and run natively (the x86_64 kernel runs it)
#   aarch64  cross-built and run under qemu-user
#
#   scripts/arch.sh                        # both (about 10 minutes on 2 cores, builds included)
#   ARCH_TARGETS=aarch64 scripts/arch.sh   # one of them
#   ARCH_TEST_SECONDS=600 scripts/arch.sh  # the limit for each test (default 300)
#   ARCH_FILTER=scale:: scripts/arch.sh     # only the tests whose binary::name contains this
#
# Installs what it lacks: the Rust targets (rustup) and, through apt-get, qemu-user, the
# aarch64 and i686 cross gccs and their C libraries. Not gcc-multilib: on Debian it conflicts
# with every cross gcc, so i686 is linked with gcc-i686-linux-gnu.
#
# Every test runs in a process of its own under `timeout`, so a test that hangs fails with its
# name instead of stalling the run. A test that meets an emulator's artefact detects that it
# runs emulated (`procsnap::sys::emulated`) and prints `IGNORED (emulated on HOST): reason`, or
# `EMULATED (on HOST): ...` when it runs with smaller counts: the summary lists both.
#
# What an emulated run proves: the ABI (struct layouts, integer widths, syscall numbers and
# their arguments) and the atomics' code generation on the target. What it cannot: weak-memory
# interleavings (qemu-user runs the guest's threads on an x86 host, whose memory model is
# stronger) — that is what the loom models are for (scripts/loom.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=${ARCH_TARGETS:-"i686 aarch64"}
limit=${ARCH_TEST_SECONDS:-300}
filter=${ARCH_FILTER:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR_CROSS:-target/cross}
export CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_LINKER=i686-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# Also what the tests that start a copy of themselves run it with (tests/common).
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"

# What each target needs: its Rust triple, the commands that must exist, the Debian packages
# that provide them, and the runner ("" runs natively).
triple() { case $1 in i686) echo i686-unknown-linux-gnu ;; aarch64) echo aarch64-unknown-linux-gnu ;; esac; }
needs() { case $1 in i686) echo i686-linux-gnu-gcc ;; aarch64) echo "aarch64-linux-gnu-gcc qemu-aarch64" ;; esac; }
packages() {
    case $1 in
        i686) echo gcc-i686-linux-gnu libc6-dev-i386-cross libc6-i386 lib32gcc-s1 ;;
        aarch64) echo qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
    esac
}
runner() { case $1 in i686) echo "" ;; aarch64) echo "$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER" ;; esac; }

install() {
    local t=$1 missing=()
    for cmd in $(needs "$t"); do
        command -v "$cmd" >/dev/null || missing+=("$cmd")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing for $t (missing: ${missing[*]}): $(packages "$t")"
        if ! command -v apt-get >/dev/null; then
            echo "cannot install ${missing[*]}: no apt-get here" >&2
            return 1
        fi
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq >/dev/null
        # shellcheck disable=SC2046
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $(packages "$t") >/dev/null
    fi
    rustup target add "$(triple "$t")" >/dev/null 2>&1 || rustup target add "$(triple "$t")"
}

# Runs test `$2` of executable `$1` (through the target's runner) in a session of its own,
# under the time limit, its output in "$out"; returns its exit status (124: timed out).
# Whatever is left in that session afterwards (a process the test or the emulator left behind,
# which would also hold our output open) is killed.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
one_test() {
    local rc=0
    setsid --wait timeout -k 10 "$limit" "${run[@]}" "$1" --exact "$2" --test-threads=1 \
        --nocapture >"$out" 2>&1 </dev/null &
    local sid=$!
    wait $sid || rc=$?
    local stat pid
    for stat in /proc/[0-9]*/stat; do
        # pid (comm) state ppid pgrp session ...: the fields after the last ')'.
        read -r -a f <<<"$(sed 's/.*) //' "$stat" 2>/dev/null)" || continue
        [ "${f[3]:-}" = "$sid" ] || continue
        pid=${stat#/proc/}
        kill -KILL "${pid%/stat}" 2>/dev/null || true
    done
    [ $rc -eq 137 ] && rc=124 # killed by timeout's -k
    return $rc
}

failed=()
summary=()
for t in $targets; do
    printf '\n==== %s (%s) ====\n' "$t" "$(triple "$t")"
    install "$t"
    # The test executables, from cargo's "Executable ... (path)" lines.
    build=$(mktemp)
    if ! cargo test -p procsnap --tests --target "$(triple "$t")" --no-run >"$build" 2>&1; then
        cat "$build"
        rm -f "$build"
        exit 1
    fi
    mapfile -t exes < <(sed -n 's/^ *Executable .*(\(.*\))$/\1/p' "$build")
    rm -f "$build"
    echo "${#exes[@]} test executables built"
    read -r -a run <<<"$(runner "$t")"
    passed=0
    for exe in "${exes[@]}"; do
        mapfile -t tests < <("${run[@]}" "$exe" --list --format terse 2>/dev/null | sed -n 's/: test$//p')
        for name in "${tests[@]}"; do
            where="$(basename "$exe" | sed 's/-[0-9a-f]*$//')::$name"
            [[ $where == *"$filter"* ]] || continue
            rc=0
            one_test "$exe" "$name" || rc=$?
            if [ $rc -eq 124 ] && [ -n "${run[*]}" ]; then
                # Under qemu-user a spawn is a fork of the emulator, which can deadlock in the
                # child before its exec (a lock another emulator thread held at the fork): the
                # child never runs and its test waits for it. A hang of ours hangs again.
                echo "timed out under the emulator: $t: $where; once more"
                rc=0
                one_test "$exe" "$name" || rc=$?
                [ $rc -eq 0 ] && summary+=("$t: $where: passed on a second run after a timeout (qemu-user: a forked child that deadlocked before its exec)")
            fi
            if [ $rc -eq 0 ]; then
                passed=$((passed + 1))
                note=$(grep -aoE '(IGNORED|EMULATED) \(emulated on [^)]*\): .*|EMULATED \(on [^)]*\): .*' "$out" | head -1 || true)
                if [ -n "$note" ]; then
                    summary+=("$t: $where: $note")
                fi
            elif [ $rc -eq 124 ]; then
                echo "TIMEOUT after ${limit}s: $t: $where"
                failed+=("$t: $where (timed out after ${limit}s)")
            else
                echo "FAILED: $t: $where"
                tail -n 30 "$out"
                failed+=("$t: $where")
            fi
        done
    done
    echo "$t: $passed tests passed"
    summary+=("$t: $passed tests passed")
done

printf '\n==== other architectures: summary ====\n'
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'failed:\n'
    printf '  %s\n' "${failed[@]}"
    exit 1
fi
echo "all passed"
