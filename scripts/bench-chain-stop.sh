#!/bin/bash
# A 300-deep `process_started` chain under `procsnap up`: Ctrl-C once the last one is up, then
# the time until procsnap exits, whether the processes got their SIGTERM in reverse order, and
# the gaps between consecutive stops (each process records when its trap ran, with bash's $EPOCHREALTIME: no exec).
# SHAPE=bg leaves a background child in each group (`sleep 600 & wait`): its zombie outlives
# the leader, and the supervisor's lingering-group check decides when the group is over.
# Usage: [SHAPE=fg|bg] scripts/bench-chain-stop.sh [target/release/procsnap] [depth]
set -euo pipefail
B=${1:-target/release/procsnap}
N=${2:-300}
SHAPE=${SHAPE:-fg}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
python3 - "$D" "$N" "$SHAPE" <<'PY'
import sys
d, n, shape = sys.argv[1], int(sys.argv[2]), sys.argv[3]
wait = "sleep 600 & wait" if shape == "bg" else "sleep 600"
lines = ["processes:"]
for i in range(n):
    lines.append(f"  p{i}:\n    command: \"trap 'echo {i} $EPOCHREALTIME >> order; exit 0' TERM; echo up; {wait}\"")
    if i:
        lines.append(f"    depends_on:\n      p{i-1}: {{condition: process_started}}")
open(f"{d}/procsnap.yaml", "w").write("\n".join(lines) + "\n")
PY
"$B" up --color never --dir "$D" > "$D/out.txt" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do grep -q "^p$((N - 1)) *| up" "$D/out.txt" 2>/dev/null && break; sleep 0.1; done
t0=$(date +%s.%N)
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
t1=$(date +%s.%N)
python3 - "$D/order" "$N" "$t0" "$t1" "$rc" <<'PY'
import sys
path, n, t0, t1, rc = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
rows = [l.split() for l in open(path)]
order = [int(r[0]) for r in rows]
t = [float(r[1]) for r in rows]
gaps = sorted(b - a for a, b in zip(t, t[1:]))
print(f"exit {rc}; stopped in {t1 - t0:.3f} s; reverse order: {order == list(range(n - 1, -1, -1))}; "
      f"gap between stops median {gaps[len(gaps) // 2] * 1000:.1f} ms, p90 {gaps[len(gaps) * 9 // 10] * 1000:.1f} ms")
want = list(range(n - 1, -1, -1))
if order != want:
    at = next((i for i, (a, b) in enumerate(zip(order, want)) if a != b), min(len(order), n))
    print(f"  {len(order)} recorded; first difference at {at}: {order[max(0, at - 3):at + 3]}")
PY
