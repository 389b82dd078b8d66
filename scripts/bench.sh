#!/usr/bin/env bash
# Runs the benchmarks and prints the core's figures against their targets.
#
#   scripts/bench.sh                 iai-callgrind counts, then the criterion run (~70 s), then ratios
#   scripts/bench.sh --iai           only the instruction counts (~5 s after the build)
#   scripts/bench.sh --criterion     only the criterion run and the ratios
#   scripts/bench.sh --strict        exit 1 when a target is missed
#
# Instruction counts are stable and comparable across machines of one architecture; criterion
# times are not, so only same-run ratios are extracted. Needs iai-callgrind-runner 0.16.1 and
# valgrind for the first part (`cargo install iai-callgrind-runner --version 0.16.1 --locked`;
# valgrind from the system packages, e.g. `apt-get install valgrind`).
set -euo pipefail
cd "$(dirname "$0")/.."

run_iai=1 run_crit=1 strict=0
for arg in "$@"; do
  case "$arg" in
    --iai) run_crit=0 ;;
    --criterion) run_iai=0 ;;
    --strict) strict=1 ;;
    *) echo "usage: $0 [--iai|--criterion] [--strict]" >&2; exit 2 ;;
  esac
done

target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_dir=${target_dir:-target}
missed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# verdict VALUE OP LIMIT -> "ok" or "MISSED" (OP is <= or >=)
verdict() {
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    ok = (op == "<=") ? (v <= t) : (v >= t); print (ok ? "ok" : "MISSED") }'
}

if [[ $run_iai == 1 ]]; then
  echo "== iai-callgrind: cargo bench --bench iai"
  IAI_CALLGRIND_COLOR=never cargo bench --bench iai 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$log/iai.txt" || {
    cat "$log/iai.txt"; echo "iai bench failed" >&2; exit 1; }
  # "iai::GROUP::NAME ID:SETUP" then "  Instructions:   NEW|OLD (...)": keep NAME (with the
  # bench id for the steady-state pair) and NEW.
  awk '/^iai::/ { split($1, p, "::"); name = p[3]; split($2, id, ":");
                  if (name == "statecell_update_steady") name = name "_" id[1] }
       /^ *Instructions:/ && name != "" { split($2, v, "|"); print name, v[1]; name = "" }' \
    "$log/iai.txt" >"$log/ir.txt"
  if [[ ! -s "$log/ir.txt" ]]; then
    cat "$log/iai.txt"; echo "no Instructions: lines found in the iai output" >&2; exit 1
  fi
  # Every measured call runs 1000 operations (the list: 10 listings x 100 processes).
  printf '%-28s %10s %10s  %s\n' operation "instr/op" target verdict
  while read -r name ir; do
    per=$(awk -v ir="$ir" 'BEGIN { printf "%.1f", ir / 1000 }')
    case "$name" in
      statecell_update_steady_*) continue ;; # reported below, as a difference
      statecell_load_held_guard) t=14 ;;
      statecell_snapshot) t=60 ;;
      reader_read) t=20 ;;
      statecell_update) t=500 ;;
      registry_list | reader_list | registry_list_status) t=15 ;;
      proto_*) t=proto ;;
      registry_start_remove) t=write ;;
      *) t= ;;
    esac
    if [[ $t == write ]]; then
      printf '%-28s %10s %10s  %s\n' "$name" "$per" "-" "info: 2 registry writes + 2 updates"
      continue
    fi
    if [[ $t == proto ]]; then
      printf '%-28s %10s %10s  %s\n' "$name" "$per" "-" "prototype (bench-only)"
      continue
    fi
    if [[ -n $t ]]; then
      v=$(verdict "$per" "<=" "$t")
      [[ $v == ok ]] || missed=1
      [[ $name == statecell_snapshot ]] && v="$v (aim 45: $(verdict "$per" "<=" 45))"
      printf '%-28s %10s %10s  %s\n' "$name" "$per" "<= $t" "$v"
    else
      printf '%-28s %10s %10s  %s\n' "$name" "$per" "-" "rival"
    fi
  done <"$log/ir.txt"
  # Steady-state update: (Ir of 200k updates - Ir of 100k) / 100k, reclamation included.
  a=$(awk '$1 == "statecell_update_steady_n100k" { print $2 }' "$log/ir.txt")
  b=$(awk '$1 == "statecell_update_steady_n200k" { print $2 }' "$log/ir.txt")
  if [[ -n $a && -n $b ]]; then
    per=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (b - a) / 100000 }')
    v=$(verdict "$per" "<=" 450)
    [[ $v == ok ]] || missed=1
    printf '%-28s %10s %10s  %s\n' "update (steady, 100k delta)" "$per" "<= 450" "$v"
  fi
  echo "(registry_list, reader_list: per process, copying each 48-byte state once;"
  echo " registry_list_status reads two fields per process)"
  echo
fi

if [[ $run_crit == 1 ]]; then
  echo "== criterion: cargo bench --bench cell (short warm-up and measurement)"
  crit="$target_dir/criterion"
  stamp="$log/stamp"
  touch "$stamp"
  sleep 1 # so any estimate written by this run is strictly newer than the stamp
  cargo bench --bench cell >"$log/crit.txt" 2>&1 || {
    tail -40 "$log/crit.txt"; echo "criterion bench failed" >&2; exit 1; }
  grep -E '^cpu_share ' "$log/crit.txt" >"$log/share.txt" || true

  # median ID -> the median time (ns per iteration) of target/criterion/ID/new/estimates.json,
  # refusing an estimate left over from an earlier run.
  median() {
    local f="$crit/$1/new/estimates.json"
    if [[ ! -f $f || ! $f -nt $stamp ]]; then
      echo "missing or stale: $f" >&2; return 1
    fi
    if command -v python3 >/dev/null; then
      python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"])' "$f"
    else
      tr -d ' \n' <"$f" | sed -E 's/.*"median":\{"confidence_interval":\{[^}]*\},"point_estimate":([-0-9.eE+]+).*/\1/'
    fi
  }
  share() { awk -v id="$1" '$2 == id { print $3 }' "$log/share.txt"; }
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

  snap=$(median single/snapshot/statecell_snapshot)
  mutex=$(median single/snapshot/lockedcell)
  held=$(median single/load_held_guard/statecell)
  arc=$(median single/snapshot/arcswap_load)
  r_snap=$(ratio "$snap" "$mutex")
  v=$(verdict "$r_snap" "<=" 0.7)
  [[ $v == ok ]] || missed=1
  printf '%-52s %8s %10s  %s\n' figure measured target verdict
  printf '%-52s %7sx %10s  %s\n' "snapshot time / Mutex-cell read time (single)" "$r_snap" "<= 0.7x" "$v"
  printf '%-52s %7sx %10s  %s\n' "load under held guard / Mutex-cell read (single)" "$(ratio "$held" "$mutex")" "-" "info"
  printf '%-52s %7sx %10s  %s\n' "snapshot time / arc-swap load() time (single)" "$(ratio "$snap" "$arc")" "-" "info"
  reader=$(median single/snapshot/reader)
  r_reader=$(ratio "$reader" "$mutex")
  v=$(verdict "$r_reader" "<=" 0.3)
  [[ $v == ok ]] || missed=1
  printf '%-52s %7sx %10s  %s\n' "Reader::read time / Mutex-cell read time (single)" "$r_reader" "<= 0.3x" "$v"

  # Same number of reads per iteration, so a throughput ratio is the inverse time ratio.
  t_ours=$(median two_readers/statecell_snapshot)
  t_mutex=$(median two_readers/lockedcell)
  t_batch=$(median two_readers/statecell_batch_repin256)
  t_arc=$(median two_readers/arcswap_load)
  r_two=$(ratio "$t_mutex" "$t_ours")
  v=$(verdict "$r_two" ">=" 3)
  [[ $v == ok ]] || missed=1
  printf '%-52s %7sx %10s  %s\n' "2 readers: snapshot throughput / Mutex cell's" "$r_two" ">= 3x" "$v"
  printf '%-52s %7sx %10s  %s\n' "2 readers: batch (repin 256) throughput / Mutex's" "$(ratio "$t_mutex" "$t_batch")" "-" "info"
  printf '%-52s %7sx %10s  %s\n' "2 readers: snapshot throughput / arc-swap's" "$(ratio "$t_arc" "$t_ours")" "-" "info"
  t_reader=$(median two_readers/reader)
  r_two_reader=$(ratio "$t_mutex" "$t_reader")
  v=$(verdict "$r_two_reader" ">=" 30)
  [[ $v == ok ]] || missed=1
  printf '%-52s %7sx %10s  %s\n' "2 readers: Reader throughput / Mutex cell's" "$r_two_reader" ">= 30x" "$v"
  s_ours=$(share two_readers/statecell_snapshot) s_mutex=$(share two_readers/lockedcell)
  echo "2-reader CPU share (1.00 = both readers always on a core): snapshot ${s_ours:-?}, mutex ${s_mutex:-?}"
  if awk -v a="${s_ours:-0}" -v b="${s_mutex:-0}" 'BEGIN { exit !(a < 0.9 || b < 0.9) }'; then
    echo "WARNING: the readers were not running in parallel (busy machine): the 2-reader ratio is not"
    echo "         a contention figure; rerun on an idle machine with >= 3 free cores."
  fi
  echo
  echo "criterion medians (ns per iteration; two_readers iterations are 2 reads):"
  for id in single/load_held_guard/statecell single/snapshot/statecell_snapshot single/snapshot/reader \
    single/snapshot/lockedcell two_readers/reader \
    single/snapshot/arcswap_load single/update/statecell single/update/lockedcell \
    two_readers/statecell_snapshot two_readers/lockedcell reader_writer/statecell_snapshot \
    reader_writer/lockedcell registry_list/statecell/100 registry_list/lockedcell/100; do
    printf '  %-44s %10.2f\n' "$id" "$(median "$id")"
  done
fi

if [[ $missed == 1 ]]; then
  echo "some targets were MISSED"
  [[ $strict == 1 ]] && exit 1
fi
exit 0
