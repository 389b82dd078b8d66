#!/bin/sh
# Fails on its first two runs (counted in .state/), then stays up.
mkdir -p .state
n=$(cat .state/flaky-runs 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > .state/flaky-runs
if [ "$n" -le 2 ]; then
    echo "run $n: cannot connect yet, giving up"
    exit 1
fi
echo "run $n: connected"
rm -f .state/flaky-runs
while :; do sleep 1; done
