#!/usr/bin/env bash
# `procsnap run` of `seq 1 N` into a file, beside the peers on the same work in the same run:
# concurrently 9 (npm) and honcho (PyPI). For each tool: wall time and peak RSS (GNU time), and
# whether every line arrived, in order. Prints medians and the time ratio to concurrently.
#
#   scripts/bench-output.sh [LINES] [RUNS]      defaults: 1000000 lines, 5 runs
#
# honcho needs ~20-50 s per run here: it runs once unless HONCHO_RUNS says otherwise.
# Installs the peers on first use under target/peers (npm and python3 -m venv needed; a peer
# that cannot be installed is skipped). Builds procsnap in release.
set -euo pipefail
cd "$(dirname "$0")/.."

lines=${1:-1000000}
runs=${2:-5}
root=$(pwd)
peers="$root/target/peers"
mkdir -p "$peers"

cargo build --release -q -p procsnap-cli
procsnap="$root/target/release/procsnap"

if [[ ! -x $peers/node_modules/.bin/concurrently ]]; then
  (cd "$peers" && npm install --silent --no-audit --no-fund concurrently@9 >/dev/null 2>&1) ||
    echo "(concurrently could not be installed: skipped)" >&2
fi
if [[ ! -x $peers/venv/bin/honcho ]]; then
  (python3 -m venv "$peers/venv" && "$peers/venv/bin/pip" install -q honcho >/dev/null 2>&1) ||
    echo "(honcho could not be installed: skipped)" >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'seq: seq 1 %s\n' "$lines" >"$work/Procfile"

# check FILE: "ok" when the numbers after each prefix are exactly 1..LINES in order.
check() {
  awk -v n="$lines" '
    { v = $NF }                                  # the number is the last field
    v ~ /^[0-9]+$/ && i < n { if (v != ++i) { bad = 1; exit } }
    END { if (bad || i != n) printf "MISSING (%d of %d in order)\n", i, n; else print "ok" }' "$1"
}

# run NAME RUNS CMD...: RUNS runs; prints "NAME median_s median_rss_kib verdict".
run() {
  local name=$1 n=$2
  shift 2
  local times=() rss=() verdict=ok
  for _ in $(seq "$n"); do
    (cd "$work" && /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>/dev/null) || true
    read -r t m <"$work/time"
    times+=("$t")
    rss+=("$m")
    v=$(check "$work/out")
    [[ $v == ok ]] || verdict=$v
  done
  local mt mr
  mt=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  mr=$(printf '%s\n' "${rss[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  echo "$name $mt $mr $verdict"
}

results=$work/results
: >"$results"
run procsnap "$runs" "$procsnap" run seq >>"$results"
if [[ -x $peers/node_modules/.bin/concurrently ]]; then
  run concurrently "$runs" "$peers/node_modules/.bin/concurrently" -n seq "seq 1 $lines" >>"$results"
fi
if [[ -x $peers/venv/bin/honcho ]]; then
  run honcho "${HONCHO_RUNS:-1}" "$peers/venv/bin/honcho" start seq >>"$results"
fi

echo "seq 1 $lines > file, median of $runs runs (honcho: ${HONCHO_RUNS:-1}), $(nproc) cores"
printf '%-14s %10s %12s %14s  %s\n' tool "time (s)" "RSS (MiB)" "vs concurrently" "all lines, in order"
conc=$(awk '$1 == "concurrently" { print $2 }' "$results")
while read -r name t m v; do
  ratio=-
  [[ -n $conc ]] && ratio=$(awk -v a="$t" -v b="$conc" 'BEGIN { printf "%.2fx", a / b }')
  printf '%-14s %10s %12s %14s  %s\n' "$name" "$t" "$(awk -v k="$m" 'BEGIN { printf "%.1f", k / 1024 }')" "$ratio" "$v"
done <"$results"
