#!/usr/bin/env bash
# A session's memory under a crash loop: `procsnap up` of a process that exits at once under
# `restart: always` with no backoff, its owner's RSS sampled at FIRST and LAST seconds (default
# 5 and 60), and the restarts done by then. Retention keeps the last runs per name, so the two
# figures should be within a couple of MiB whatever the number of restarts.
#   bash scripts/crash-loop-rss.sh [FIRST] [LAST]        (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
first=${1:-5}
last=${2:-60}
cargo build --release -p procsnap-cli -q
bin=$PWD/target/release/procsnap
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
printf 'processes:\n  crash:\n    command: "echo crashing; exit 1"\n    availability: {restart: always, backoff_seconds: 0}\n' >"$dir/procsnap.yaml"
XDG_RUNTIME_DIR=$dir "$bin" up --color never --dir "$dir" >/dev/null 2>&1 &
pid=$!
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
restarts() { XDG_RUNTIME_DIR=$dir "$bin" ps --json --dir "$dir" | python3 -c 'import json,sys; print(json.load(sys.stdin)["orchestrated"][0]["restarts"])'; }
sleep "$first"
a=$(rss); ra=$(restarts)
sleep $((last - first))
b=$(rss); rb=$(restarts)
echo "owner RSS at ${first}s: ${a} KiB (${ra} restarts); at ${last}s: ${b} KiB (${rb} restarts); difference $(((b - a))) KiB"
