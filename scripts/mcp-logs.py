#!/usr/bin/env python3
"""Size of a big log reply from `procsnap mcp`, and the server's memory around it.

    python3 scripts/mcp-logs.py [BINARY]     (default: target/release/procsnap)

30 Procfile scripts each print 130 lines of 16,000 bytes (each ring keeps its most recent 1 MiB:
65 lines); once they have finished, one logs_stream with limit 10000 asks for all of it. Prints
the JSON-RPC line's length, the entries kept, truncated/omitted, and the server's VmRSS and
VmHWM (peak) in KiB before and after the query.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/procsnap"
SCRIPTS = 30

project = tempfile.mkdtemp(prefix="procsnap-logs-")
with open(os.path.join(project, "Procfile"), "w") as f:
    for i in range(SCRIPTS):
        f.write(f"s{i}: awk 'BEGIN {{ p = \"0\"; while (length(p) < 16000) p = p p; "
                f"p = substr(p, 1, 16000); for (i = 0; i < 130; i++) print p }}'\n")

server = subprocess.Popen([binary, "mcp", "--dir", project],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
last_id = 0


def request(method, params):
    """The reply to one request, and the length of its line."""
    global last_id
    last_id += 1
    server.stdin.write(json.dumps({"jsonrpc": "2.0", "id": last_id, "method": method,
                                   "params": params}) + "\n")
    server.stdin.flush()
    while True:
        line = server.stdout.readline()
        reply = json.loads(line)
        if reply.get("id") == last_id:
            return reply, len(line)


def call(tool, arguments):
    return request("tools/call", {"name": tool, "arguments": arguments})


def memory():
    fields = {}
    with open(f"/proc/{server.pid}/status") as f:
        for entry in f:
            key, _, value = entry.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
    return f"VmRSS {fields['VmRSS']} VmHWM {fields['VmHWM']} KiB"


request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "mcp-logs", "version": "0"}})
for i in range(SCRIPTS):
    call("scripts_run", {"name": f"s{i}"})
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    status = call("scripts_status", {})[0]["result"]["structuredContent"]["processes"]
    if all(p["status"] == "success" for p in status):
        break
    time.sleep(0.05)
print(f"before the query: {memory()}")
reply, size = call("logs_stream", {"limit": 10000})
answer = reply["result"]["structuredContent"]
print(f"reply: {size} bytes on the wire, {len(answer['logs'])} entries, "
      f"truncated {answer.get('truncated')}, omitted {answer.get('omitted')}")
print(f"after the query: {memory()}")
server.stdin.close()
server.wait()
