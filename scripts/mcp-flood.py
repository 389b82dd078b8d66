#!/usr/bin/env python3
"""Memory of `procsnap mcp` under a client that floods requests and reads nothing.

    python3 scripts/mcp-flood.py [BINARY] [SECONDS]   (default: target/release/procsnap, 40)

After the handshake, a thread writes `ping` requests (each with its own id) as fast as the
server takes them, and nothing reads the replies. Prints the server's VmRSS every 5 s, the peak
(VmHWM), how many requests the server took in, and how it ended (a bounded server stops
reading; its stdio client is waited for, so it runs until killed at the end: a client of the
control socket would be dropped once it had read nothing for 30 s).
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/procsnap"
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 40.0

project = tempfile.mkdtemp(prefix="procsnap-flood-")
with open(os.path.join(project, "Procfile"), "w") as f:
    f.write("hello: echo hello\n")
server = subprocess.Popen([binary, "mcp", "--dir", project], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
server.stdin.write((json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "mcp-flood", "version": "0"}}}) + "\n").encode())
server.stdin.flush()
server.stdout.readline()
sent = 0


def flood():
    global sent
    try:
        while True:
            batch = "".join(json.dumps({"jsonrpc": "2.0", "id": sent + i + 1, "method": "ping"}) + "\n"
                            for i in range(100))
            server.stdin.write(batch.encode())
            server.stdin.flush()
            sent += 100
    except (BrokenPipeError, ValueError, OSError):
        pass


def memory():
    fields = {}
    try:
        with open(f"/proc/{server.pid}/status") as f:
            for entry in f:
                key, _, value = entry.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    fields[key] = int(value.split()[0])
    except FileNotFoundError:
        return None
    return fields


threading.Thread(target=flood, daemon=True).start()
start = time.monotonic()
peak = 0
while time.monotonic() - start < seconds and server.poll() is None:
    time.sleep(5)
    m = memory()
    if m is None or server.poll() is not None:
        break
    peak = max(peak, m["VmHWM"])
    print(f"{time.monotonic() - start:5.1f} s: VmRSS {m['VmRSS']} KiB, {sent} requests written")
ended = server.poll()
if ended is None:
    server.kill()
    server.wait()
    print(f"still running after {seconds:.0f} s (killed); peak VmHWM {peak} KiB, {sent} requests written")
else:
    err = server.stderr.read().decode().strip().splitlines()
    print(f"exited {ended} after {time.monotonic() - start:.1f} s; peak VmHWM {peak} KiB, "
          f"{sent} requests written; {err[-1] if err else ''}")
