#!/usr/bin/env python3
"""`procsnap mcp` at the protocol's edges, with the official MCP Python SDK (mcp==2.3.0).

Usage: python_edges.py PROCSNAP_BINARY PROJECT_DIR     (PROJECT_DIR: examples/demo)

- a client that starts the server and leaves before initializing: exit 0, nothing on stdout;
- `"arguments": [1]`: -32602 invalid params naming the tool (sent through the SDK's session
  as a raw request: its typed `call_tool` refuses a list client-side);
- a lone surrogate in a string: -32700 that says so and where (line and column); the SDK
  cannot send one (pydantic refuses to encode it), so it goes on a raw pipe after the SDK's
  own initialize request, as a client written in a language that can would send it;
- a log reply as sent, structured and text content together, within 4 MiB, saying what it
  left out (`truncated`, `omitted`), the text content carrying the same JSON.
Exits non-zero on the first failed check.
"""

import asyncio
import json
import re
import os
import shutil
import sys
import tempfile
import time

from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

MAX_REPLY = 4 << 20


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def env():
    # The SDK passes the server only a safe subset of the environment: npm needs PATH and HOME.
    return {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}


async def leaves_before_initialize(binary, project):
    proc = await asyncio.create_subprocess_exec(
        binary, "mcp", "--dir", project,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    check(proc.returncode == 0, f"mcp < /dev/null: exit {proc.returncode}: {err.decode()}")
    check(out == b"", f"mcp < /dev/null wrote {out!r}")
    print(f"edges: a client that leaves before initializing: exit 0 ({err.decode().strip()})")


async def raw_error(c, method, params):
    """The error a raw request gets; fails if it succeeds."""
    try:
        result = await c.session._dispatcher.send_raw_request(method, params, {"timeout": 30})
    except MCPError as e:
        return e.error
    raise AssertionError(f"{method} {params} should have failed: {result}")


async def bad_requests(binary, project):
    params = StdioServerParameters(command=binary, args=["mcp", "--dir", project], env=env())
    async with Client(params, mode="legacy", read_timeout_seconds=60) as c:
        e = await raw_error(c, "tools/call", {"name": "scripts_run", "arguments": [1]})
        check(e.code == -32602, f"arguments [1]: {e}")
        check('"scripts_run"' in e.message and "must be an object" in e.message, e.message)
        print(f"edges: arguments [1] -> {e.code}: {e.message}")

        lst = await c.call_tool("scripts_list", {})
        check(not lst.is_error and "dev" in lst.structured_content["scripts"], f"still serving: {lst}")


async def lone_surrogate(binary, project):
    proc = await asyncio.create_subprocess_exec(
        binary, "mcp", "--dir", project,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "python-edges", "version": "0"}}}
    # json.dumps escapes the lone surrogate as \ud800, which is what reaches the server.
    bad = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
           "params": {"name": "scripts_run", "arguments": {"name": "he\ud800llo"}}}
    ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
    for m in (init, bad, ping):
        proc.stdin.write((json.dumps(m) + "\n").encode())
    await proc.stdin.drain()
    replies = {}
    while len(replies) < 3:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        check(line, f"the server closed stdout; replies so far: {replies}")
        reply = json.loads(line)
        replies[reply.get("id")] = reply
    proc.stdin.close()
    await asyncio.wait_for(proc.wait(), 30)
    e = replies[2]["error"]
    check(e["code"] == -32700, f"lone surrogate: {e}")
    check("lone surrogate \\ud800" in e["message"] and "column" in e["message"], e["message"])
    check("result" in replies[3], f"then ping: {replies[3]}")
    print(f"edges: lone surrogate -> {e['code']}: {e['message']}")


def big_logs_project():
    """Six scripts of 2000 lines of ~500 bytes, quotes and backslashes in each line."""
    d = tempfile.mkdtemp(prefix="procsnap-edges-")
    with open(os.path.join(d, "Procfile"), "w") as f:
        for i in range(6):
            f.write(f"s{i}: awk 'BEGIN {{ p = sprintf(\"%0470d\", 0); for (i = 1; i <= 2000; i++) "
                    f"printf \"s{i} %05d \\\"q\\\" \\\\ %s\\n\", i, p }}'\n")
    return d


async def log_reply_cap(binary):
    project = big_logs_project()
    try:
        params = StdioServerParameters(command=binary, args=["mcp", "--dir", project], env=env())
        async with Client(params, mode="legacy", read_timeout_seconds=60) as c:
            for i in range(6):
                r = await c.call_tool("scripts_run", {"name": f"s{i}"})
                check(not r.is_error, f"run s{i}: {r}")
            end = time.monotonic() + 60
            while True:
                st = (await c.call_tool("scripts_status", {})).structured_content
                if all(p["status"] == "success" for p in st["processes"]):
                    break
                check(time.monotonic() < end, f"scripts never finished: {st}")
                await asyncio.sleep(0.1)
            r = await c.call_tool("logs_stream", {"limit": 10000})
            data = r.structured_content
            text = r.content[0].text
            check(json.loads(text) == data, "text and structured content differ")
            # The reply as the server sent it: the result, in its JSON-RPC envelope.
            result = r.model_dump(by_alias=True, mode="json", exclude_none=True)
            line = json.dumps({"jsonrpc": "2.0", "id": 99, "result": result}, separators=(",", ":"),
                              ensure_ascii=False)
            size = len(line.encode())
            check(size <= MAX_REPLY, f"logs_stream reply: {size} bytes")
            check(data["truncated"] is True and data["omitted"] > 0, f"truncated/omitted: {data['truncated']} {data['omitted']}")
            check(data["omitted"] + len(data["logs"]) == 10000, f"omitted {data['omitted']} + {len(data['logs'])}")
            # The newest line kept is some script's last (they run side by side: any may end last).
            last = data["logs"][-1]["content"]
            check(re.match(r's[0-5] 02000 "q" \\ ', last) is not None, last[:20])
            print(f"edges: logs_stream limit 10000 -> {size} bytes as sent, {len(data['logs'])} entries, "
                  f"omitted {data['omitted']}, droppedLines {sum(data['droppedLines'].values())}")
    finally:
        shutil.rmtree(project, ignore_errors=True)


async def main():
    binary, project = sys.argv[1], sys.argv[2]
    await leaves_before_initialize(binary, project)
    await bad_requests(binary, project)
    await lone_surrogate(binary, project)
    await log_reply_cap(binary)
    print("python edges: all checks passed")


if __name__ == "__main__":
    asyncio.run(main())
