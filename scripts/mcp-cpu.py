#!/usr/bin/env python3
"""CPU time `procsnap mcp` spends per request, for two builds compared in one run.

    python3 scripts/mcp-cpu.py NEW_BINARY OLD_BINARY [ROUNDS]     (default: 3 rounds)

Each round starts each binary on a project of 100 `sleep 300` scripts, runs them all, and
times 1000 calls each of `scripts_status` (all 100), `scripts_status name=s7` and `ping`, one
at a time. What is measured is the server's own CPU time (every thread's time on a CPU, from
/proc/PID/task/*/schedstat), so other load on the machine barely moves it, unlike wall time.
Prints the median round of each binary and the ratio NEW / OLD.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

new, old = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
CALLS = 1000
SCRIPTS = 100

project = tempfile.mkdtemp(prefix="procsnap-cpu-")
with open(os.path.join(project, "Procfile"), "w") as f:
    for i in range(SCRIPTS):
        f.write(f"s{i}: sleep 300\n")


def cpu_ns(pid):
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def measure(binary):
    server = subprocess.Popen([binary, "mcp", "--dir", project], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    next_id = [0]

    def request(method, params):
        next_id[0] += 1
        server.stdin.write((json.dumps({"jsonrpc": "2.0", "id": next_id[0], "method": method,
                                        "params": params}) + "\n").encode())
        server.stdin.flush()
        while True:
            reply = json.loads(server.stdout.readline())
            if reply.get("id") == next_id[0]:
                return reply

    def call(tool, args):
        return request("tools/call", {"name": tool, "arguments": args})

    request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "mcp-cpu", "version": "0"}})
    for i in range(SCRIPTS):
        call("scripts_run", {"name": f"s{i}"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        procs = call("scripts_status", {})["result"]["structuredContent"]["processes"]
        if sum(p["status"] == "running" for p in procs) == SCRIPTS:
            break
        time.sleep(0.05)
    out = {}
    for label, method, params in [
        ("scripts_status", "tools/call", {"name": "scripts_status", "arguments": {}}),
        ("scripts_status name=s7", "tools/call", {"name": "scripts_status", "arguments": {"name": "s7"}}),
        ("ping", "ping", {}),
    ]:
        before = cpu_ns(server.pid)
        for _ in range(CALLS):
            request(method, params)
        out[label] = (cpu_ns(server.pid) - before) / CALLS / 1000
    server.stdin.close()
    server.wait(timeout=60)
    return out


runs = {new: [], old: []}
for _ in range(rounds):
    for binary in (new, old):
        runs[binary].append(measure(binary))
medians = {b: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for b, rs in runs.items()}
for b in (new, old):
    print(b)
    for k, v in medians[b].items():
        print(f"  {k:24s} {v:8.1f} µs of server CPU per call")
print("new / old: " + ", ".join(f"{k} {medians[new][k] / medians[old][k]:.2f}×" for k in medians[new]))
