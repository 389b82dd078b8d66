#!/usr/bin/env python3
"""Drive `procsnap mcp` with the official MCP Python SDK (mcp==2.3.0), once per protocol era.

Usage: python_client.py PROCSNAP_BINARY PROJECT_DIR

PROJECT_DIR must be examples/demo (scripts dev, build, test, lint). Every tool is called, with
its error paths; exits non-zero on the first failed check.
"""

import asyncio
import json
import os
import sys
import time
from datetime import datetime, timezone

from mcp import Client, StdioServerParameters

TOOLS = {
    "scripts_list",
    "scripts_run",
    "scripts_stop",
    "scripts_restart",
    "scripts_status",
    "logs_stream",
    "logs_search",
}


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def structured(result, tool):
    """The structured content, after checking the text content carries the same JSON."""
    check(not result.is_error, f"{tool} failed: {result}")
    data = result.structured_content
    check(isinstance(data, dict), f"{tool}: no structuredContent: {result}")
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    check(texts, f"{tool}: no text content")
    check(json.loads(texts[0]) == data, f"{tool}: text and structured content differ")
    return data


def error_text(result, tool):
    check(result.is_error, f"{tool} should have failed: {result}")
    return " ".join(c.text for c in result.content if getattr(c, "type", None) == "text")


def check_log_ids(logs):
    """Log entry ids are `<processId>-<seq>`, as the output schema says; in one answer (oldest
    first) the seqs are distinct and increasing."""
    seqs = []
    for e in logs:
        prefix = e["processId"] + "-"
        seq = e["id"][len(prefix):]
        check(e["id"].startswith(prefix) and seq.isdigit(), f"log id {e['id']!r} is not <processId>-<seq>: {e}")
        seqs.append(int(seq))
    check(all(a < b for a, b in zip(seqs, seqs[1:])), f"log ids not in capture order: {[e['id'] for e in logs]}")


async def call(c, tool, args=None):
    return structured(await c.call_tool(tool, args or {}), tool)


async def wait_finished(c, process_id, timeout=30):
    end = time.monotonic() + timeout
    while True:
        st = await call(c, "scripts_status", {})
        p = next(p for p in st["processes"] if p["processId"] == process_id)
        if p["status"] in ("stopped", "failed", "success"):
            return p
        check(time.monotonic() < end, f"{process_id} never finished: {p}")
        await asyncio.sleep(0.05)


async def wait_log(c, args, needle, timeout=30):
    end = time.monotonic() + timeout
    while True:
        res = await call(c, "logs_search", dict(args, query=needle))
        if res["results"]:
            return res["results"]
        check(time.monotonic() < end, f"{needle!r} never appeared in the logs ({args})")
        await asyncio.sleep(0.1)


async def session(binary, project, mode):
    # The SDK passes the server only a safe subset of the environment: npm needs PATH and HOME.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    params = StdioServerParameters(
        command=binary, args=["mcp", "--dir", project, "--grace", "2"], env=env
    )
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    async with Client(params, mode=mode, read_timeout_seconds=60) as c:
        # A 2026-era connection adopted without server/discover has no serverInfo unless the
        # server stamps it into result _meta (rmcp does not); legacy and auto (discover) have it.
        name = c.server_info.name if c.server_info else None
        print(f"[{mode}] connected: protocol {c.protocol_version}, server {name}")
        check(name == "procsnap" or (name is None and mode == "2026-07-28"), f"server name {name}")

        tools = (await c.list_tools()).tools
        check({t.name for t in tools} == TOOLS, f"tools: {[t.name for t in tools]}")
        for t in tools:
            check(t.input_schema.get("type") == "object", f"{t.name} input schema")
            check(t.output_schema and t.output_schema.get("type") == "object", f"{t.name} output schema")
        print(f"[{mode}] tools/list: {len(tools)} tools with input and output schemas")

        lst = await call(c, "scripts_list")
        check({"dev", "build", "test", "lint"} <= set(lst["scripts"]), f"scripts: {lst}")
        check(lst["packageManager"] == "npm", f"package manager: {lst}")
        print(f"[{mode}] scripts_list: {sorted(lst['scripts'])} via {lst['packageManager']}")

        ids = {}
        for name in ("build", "test", "lint"):
            r = await call(c, "scripts_run", {"name": name})
            check(r["duplicate"] is False and r["processId"].startswith(name + "-"), f"run {name}: {r}")
            ids[name] = r["processId"]
        b = await wait_finished(c, ids["build"])
        t = await wait_finished(c, ids["test"])
        lnt = await wait_finished(c, ids["lint"])
        check(b["status"] == "success" and b["exitCode"] == 0, f"build: {b}")
        check(t["status"] == "failed" and t["exitCode"] == 1, f"test: {t}")
        check(lnt["status"] == "success", f"lint: {lnt}")
        check(all(k in t for k in ("startTime", "endTime", "duration", "uptime")), f"test fields: {t}")
        print(f"[{mode}] scripts_run + scripts_status: build success, test failed (code 1) after {t['duration']}, lint success")

        await wait_log(c, {"processId": ids["lint"]}, "never used")
        errs = await call(c, "logs_stream", {"processId": ids["lint"], "level": "error"})
        check(errs["logs"] and all(e["isError"] for e in errs["logs"]), f"level=error: {errs}")
        check(any("never used" in e["content"] for e in errs["logs"]), f"lint stderr: {errs}")
        allout = await call(c, "logs_stream", {"processId": ids["lint"]})
        check(len(allout["logs"]) > len(errs["logs"]), "level=error must drop stdout lines")
        last = await call(c, "logs_stream", {"limit": 2})
        check(len(last["logs"]) == 2, f"limit: {last}")
        check_log_ids(allout["logs"])
        check_log_ids(last["logs"])
        print(f"[{mode}] logs_stream: level=error gave {len(errs['logs'])} stderr lines of {len(allout['logs'])}; limit honoured")

        await wait_log(c, {"processId": ids["build"]}, "built dist")
        rx = await call(c, "logs_search", {"query": r"^built dist/\S+\.js", "regex": True})
        lit = await call(c, "logs_search", {"query": r"^built dist/\S+\.js"})
        check(len(rx["results"]) == 1 and not lit["results"], f"regex vs substring: {rx} {lit}")
        nok = await call(c, "logs_search", {"query": "not ok", "level": "error", "processId": ids["test"]})
        check(len(nok["results"]) == 1 and nok["results"][0]["isError"], f"level search: {nok}")
        none = await call(c, "logs_search", {"query": "built", "since": "2999-01-01T00:00:00Z"})
        check(not none["results"], "since in the future must match nothing")
        print(f"[{mode}] logs_search: regex honoured (1 vs 0 as substring), level=error, since")

        # Two concurrent runs of the same script start one process.
        r1, r2 = await asyncio.gather(
            c.call_tool("scripts_run", {"name": "dev"}), c.call_tool("scripts_run", {"name": "dev"})
        )
        r1, r2 = structured(r1, "scripts_run"), structured(r2, "scripts_run")
        check(r1["processId"] == r2["processId"], f"race: {r1} {r2}")
        check(sorted([r1["duplicate"], r2["duplicate"]]) == [False, True], f"race: {r1} {r2}")
        dup = r1 if r1["duplicate"] else r2
        check("message" in dup and "startTime" in dup and "runtime" in dup, f"duplicate fields: {dup}")
        dev = r1["processId"]
        await wait_log(c, {"processId": dev, "since": started}, "listening on http://localhost:5173")
        print(f"[{mode}] scripts_run race: 2 concurrent calls -> 1 process ({dev}), 1 duplicate")

        rs = await call(c, "scripts_restart", {"processId": dev})
        check(rs["processId"] != dev and rs["previousProcessId"] == dev and rs["restarts"] == 1, f"restart: {rs}")
        old = await wait_finished(c, dev)
        check(old["status"] == "stopped", f"restarted process: {old}")
        stop = await call(c, "scripts_stop", {"processId": rs["processId"]})
        check(stop["success"] is True and stop["status"] == "stopped", f"stop: {stop}")
        print(f"[{mode}] scripts_restart {dev} -> {rs['processId']}; scripts_stop -> {stop['status']}")

        e = error_text(await c.call_tool("scripts_run", {"name": "deploy"}), "scripts_run")
        check("unknown script" in e and "dev" in e, e)
        e = error_text(await c.call_tool("scripts_stop", {"processId": "dev-999"}), "scripts_stop")
        check("unknown processId" in e and dev in e, e)
        e = error_text(await c.call_tool("scripts_restart", {"processId": "nope"}), "scripts_restart")
        check("unknown processId" in e, e)
        e = error_text(await c.call_tool("logs_search", {"query": "(", "regex": True}), "logs_search")
        check("invalid regex" in e, e)
        e = error_text(await c.call_tool("logs_stream", {"processId": "x-1"}), "logs_stream")
        check("unknown processId" in e, e)
        print(f"[{mode}] tool errors: unknown script, unknown processId (stop/restart/logs), bad regex")


async def main():
    binary, project = sys.argv[1], sys.argv[2]
    # legacy: initialize handshake; 2026-07-28: adopt the modern era directly (no handshake);
    # auto: server/discover, then the era it offers.
    for mode in ("legacy", "2026-07-28", "auto"):
        await session(binary, project, mode)
    print("python client: all checks passed (legacy, 2026-07-28, auto)")


if __name__ == "__main__":
    asyncio.run(main())
