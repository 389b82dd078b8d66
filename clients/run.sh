#!/usr/bin/env bash
# Installs the pinned real MCP clients (idempotently) and runs them against the procsnap binary:
#   - the official Python SDK, mcp==2.3.0, in clients/.venv     (python_client.py, python_edges.py)
#   - the MCP Inspector CLI 2.12.0, in clients/node_modules      (inspector.sh)
# Both protocol eras each. Exits non-zero on any failure.
#
# The binary: $PROCSNAP_BIN if set, else the release binary, built (incrementally) with
# `cargo build --release -p procsnap-cli`; `--debug` as first argument uses the debug build.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PROJECT="$ROOT/examples/demo"

if [ -z "${PROCSNAP_BIN:-}" ]; then
    profile=release
    flags=(--release)
    if [ "${1:-}" = "--debug" ]; then
        profile=debug
        flags=()
    fi
    (cd "$ROOT" && cargo build -q -p procsnap-cli "${flags[@]}")
    PROCSNAP_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$profile/procsnap"
fi
[ -x "$PROCSNAP_BIN" ] || { echo "no procsnap binary at $PROCSNAP_BIN" >&2; exit 1; }
echo "clients: testing $PROCSNAP_BIN on $PROJECT"

# Python SDK, pinned.
if ! "$HERE/.venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("mcp") != "2.3.0")' 2>/dev/null; then
    echo "clients: installing mcp==2.3.0 into clients/.venv"
    python3 -m venv "$HERE/.venv"
    "$HERE/.venv/bin/pip" install -q "mcp==2.3.0"
fi

# Inspector CLI, pinned by clients/package.json + package-lock.json.
if ! (cd "$HERE" && node -p 'require("./node_modules/@modelcontextprotocol/inspector/package.json").version' 2>/dev/null | grep -qx 2.12.0); then
    echo "clients: installing @modelcontextprotocol/inspector@2.12.0 into clients/node_modules"
    (cd "$HERE" && npm ci --no-fund --no-audit --loglevel=error)
fi

status=0
echo "== Python SDK mcp 2.3.0 =="
"$HERE/.venv/bin/python" "$HERE/python_client.py" "$PROCSNAP_BIN" "$PROJECT" || status=1
"$HERE/.venv/bin/python" "$HERE/python_edges.py" "$PROCSNAP_BIN" "$PROJECT" || status=1
echo "== MCP Inspector CLI 2.12.0 =="
bash "$HERE/inspector.sh" "$PROCSNAP_BIN" "$PROJECT" || status=1

if [ "$status" -eq 0 ]; then echo "clients: all passed"; else echo "clients: FAILED" >&2; fi
exit "$status"
