#!/usr/bin/env python3
"""The control socket from the outside, against a release binary:

1. `procsnap ps` as a whole process (exec, connect, handshake, one call, print), p50 and p90
   of 50 runs, beside `procsnap --version` (the process floor) in the same run;
2. the owner's RSS with 10 clients following every process's events (session_events, scope
   all) while a script floods output, every 10 s for 40 s, beside its RSS before the clients.

    python3 scripts/control-bench.py target/release/procsnap
"""
import json, os, socket, statistics, subprocess, sys, tempfile, threading, time

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/procsnap")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def timed(argv, env, n=50):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.9)]


def follower(sock_path, stop, counts, i):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    f = s.makefile("rwb")

    def call(id_, method, params):
        f.write((json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}) + "\n").encode())
        f.flush()
        while True:
            msg = json.loads(f.readline())
            if msg.get("id") == id_:
                return msg

    call(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
    f.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    f.flush()
    n = 1
    while not stop.is_set():
        r = call(n, "tools/call", {"name": "session_events", "arguments": {"scope": "all", "waitMs": 500}})
        counts[i] += len(r["result"]["structuredContent"]["events"])
        n += 1
    s.close()


def main():
    d = tempfile.mkdtemp()
    run = os.path.join(d, "run")
    os.mkdir(run, 0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=run)
    with open(os.path.join(d, "procsnap.yaml"), "w") as f:
        f.write('processes:\n  web:\n    command: exec sleep 300\n  flood:\n    command: "yes flooding-the-session"\n')
    owner = subprocess.Popen([BIN, "up", "--color", "never", "--dir", d], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        sock = next(os.path.join(run, "procsnap", x) for x in os.listdir(os.path.join(run, "procsnap")) if x.endswith(".sock"))
        ps = timed([BIN, "ps", "--dir", d], env)
        floor = timed([BIN, "--version"], env)
        print(f"procsnap ps, whole process: p50 {ps[0]:.2f} ms, p90 {ps[1]:.2f} ms; "
              f"procsnap --version (the floor) p50 {floor[0]:.2f} ms, p90 {floor[1]:.2f} ms")
        before = rss_kib(owner.pid)
        stop = threading.Event()
        counts = [0] * 10
        threads = [threading.Thread(target=follower, args=(sock, stop, counts, i)) for i in range(10)]
        for t in threads:
            t.start()
        samples = []
        for _ in range(4):
            time.sleep(10)
            samples.append(rss_kib(owner.pid))
        stop.set()
        for t in threads:
            t.join()
        print(f"owner RSS: {before} KiB before; with 10 followers in a flood, at 10/20/30/40 s: "
              f"{'/'.join(map(str, samples))} KiB ({sum(counts)} events delivered)")
    finally:
        owner.terminate()
        owner.wait()


main()
