#!/usr/bin/env python3
"""Memory of a long `procsnap mcp` session: RUNS sequential runs of a script printing 3 MB.

    python3 scripts/mcp-rss.py [BINARY] [RUNS]     (defaults: target/release/procsnap 400)

Speaks raw JSON-RPC over the server's stdio: each run is started with scripts_run and polled with
scripts_status until it has succeeded, then the next one starts. Prints the server's VmRSS,
RssAnon and RssFile (KiB, from /proc/PID/status) when idle, every 100 runs, and at the end. The
server keeps the 5 most recent finished runs of a script, each with at most 1 MiB of output.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/procsnap"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 400

project = tempfile.mkdtemp(prefix="procsnap-rss-")
line = "0123456789" * 10
with open(os.path.join(project, "Procfile"), "w") as f:
    f.write(f"big: yes {line} | head -c 3000000\n")

server = subprocess.Popen([binary, "mcp", "--dir", project],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
last_id = 0


def send(message):
    server.stdin.write(json.dumps(message) + "\n")
    server.stdin.flush()


def request(method, params):
    global last_id
    last_id += 1
    send({"jsonrpc": "2.0", "id": last_id, "method": method, "params": params})
    while True:
        reply = json.loads(server.stdout.readline())
        if reply.get("id") == last_id:
            return reply


def call(tool, arguments):
    return request("tools/call", {"name": tool, "arguments": arguments})["result"]["structuredContent"]


def memory():
    fields = {}
    with open(f"/proc/{server.pid}/status") as f:
        for entry in f:
            key, _, value = entry.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0])
    return " ".join(f"{k} {fields[k]}" for k in ("VmRSS", "RssAnon", "RssFile"))


request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "mcp-rss", "version": "0"}})
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
print(f"idle: {memory()} KiB")
started = time.monotonic()
for i in range(1, runs + 1):
    pid = call("scripts_run", {"name": "big"})["processId"]
    while not any(p["processId"] == pid and p["status"] == "success"
                  for p in call("scripts_status", {"name": "big"})["processes"]):
        time.sleep(0.005)
    if i % 100 == 0 or i == runs:
        print(f"after {i} runs ({time.monotonic() - started:.1f} s): {memory()} KiB")
server.stdin.close()
server.wait()
