#!/usr/bin/env bash
# The MCP Inspector CLI (@modelcontextprotocol/inspector 2.12.0, installed in clients/) against
# `procsnap mcp`, in both protocol eras: tools/list (with --strict schema portability checks)
# and one call per tool, plus the tool-error paths (exit code 5) and a concurrent-load run.
#
# Usage: inspector.sh PROCSNAP_BINARY PROJECT_DIR     (PROJECT_DIR: examples/demo)
# Each Inspector invocation starts a fresh server, so every call is checked on its own.
set -uo pipefail

BIN=$1
PROJECT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
checks=0

# check NAME WANT_EXIT NEEDLE ERA INSPECTOR_ARGS...
#   Runs the Inspector, expects exit code WANT_EXIT and NEEDLE somewhere in stdout+stderr.
check() {
    local name=$1 want=$2 needle=$3 era=$4
    shift 4
    checks=$((checks + 1))
    (cd "$HERE" && timeout 90 npx --no-install inspector --cli \
        --protocol-era "$era" --format json -q \
        -e "PATH=$PATH" -e "HOME=${HOME:-/tmp}" \
        "$@" -- "$BIN" mcp --dir "$PROJECT" --grace 2) >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ "$rc" -ne "$want" ] || ! grep -qF -- "$needle" "$TMP/out" "$TMP/err"; then
        echo "FAIL [$era] $name: exit $rc (want $want), looking for: $needle"
        sed 's/^/    out: /' "$TMP/out" | head -20
        sed 's/^/    err: /' "$TMP/err" | head -20
        failures=$((failures + 1))
    else
        echo "ok   [$era] $name"
    fi
}

call() { # call NAME WANT_EXIT NEEDLE ERA TOOL ARGS_JSON
    local name=$1 want=$2 needle=$3 era=$4 tool=$5 args=$6
    check "$name" "$want" "$needle" "$era" --method tools/call --tool-name "$tool" --tool-args-json "$args"
}

for era in legacy modern; do
    check "tools/list (--strict: portable schemas)" 0 '"logs_search"' "$era" --method tools/list --strict
    check "tools/list has scripts_restart" 0 '"scripts_restart"' "$era" --method tools/list
    call "scripts_list" 0 '"packageManager":"npm"' "$era" scripts_list '{}'
    call "scripts_run build" 0 '"duplicate":false' "$era" scripts_run '{"name":"build"}'
    call "scripts_status (fresh server: empty)" 0 '"processes":[]' "$era" scripts_status '{}'
    call "scripts_status name=dev" 0 '"processes":[]' "$era" scripts_status '{"name":"dev"}'
    call "logs_stream level=error" 0 '"logs":[]' "$era" logs_stream '{"level":"error","limit":5}'
    call "logs_search regex" 0 '"results":[]' "$era" logs_search '{"query":"built .*","regex":true,"since":"2000-01-01T00:00:00Z"}'
    # Tool errors: exit code 5, and the message says what is available.
    call "scripts_run unknown script" 5 'available scripts: dev, build, test, lint' "$era" scripts_run '{"name":"deploy"}'
    call "scripts_run arbitrary command" 5 'unknown script' "$era" scripts_run '{"name":"echo pwned"}'
    call "scripts_stop unknown processId" 5 'unknown processId \"dev-1\"' "$era" scripts_stop '{"processId":"dev-1"}'
    call "scripts_restart unknown processId" 5 'unknown processId' "$era" scripts_restart '{"processId":"build-7"}'
    call "logs_stream unknown processId" 5 'unknown processId' "$era" logs_stream '{"processId":"x"}'
    call "logs_search bad regex" 5 'invalid regex' "$era" logs_search '{"query":"(","regex":true}'
    call "logs_search bad since" 5 'RFC 3339' "$era" logs_search '{"query":"x","since":"yesterday"}'
    call "scripts_status unknown name" 5 'available scripts' "$era" scripts_status '{"name":"deploy"}'
    # A lone surrogate in a string (JSON.stringify sends it as "\ud800"): a protocol error
    # (exit 1) that says what is wrong and where. (`"arguments": [1]` cannot be sent: the
    # Inspector refuses non-object arguments itself; python_edges.py sends it.)
    call "lone surrogate: a parse error saying so" 1 'lone surrogate \\ud800 in a string at line 1, column' "$era" \
        scripts_run '{"name":"he\ud800llo"}'
    # 20 scripts_run calls, 10 at a time, in one session: none may fail.
    check "scripts_run under concurrent load" 0 '"ok":20,"toolErrors":0,"errors":0' "$era" \
        --method tools/call --tool-name scripts_run --tool-args-json '{"name":"dev"}' \
        --load --load-requests 20 --load-concurrency 10
done

# A client that starts the server and leaves before initializing: not an error.
checks=$((checks + 1))
if timeout 30 "$BIN" mcp --dir "$PROJECT" </dev/null >"$TMP/out" 2>"$TMP/err" && [ ! -s "$TMP/out" ]; then
    echo "ok   mcp < /dev/null exits 0"
else
    echo "FAIL mcp < /dev/null: exit $?, stdout $(wc -c <"$TMP/out") bytes"
    sed 's/^/    err: /' "$TMP/err" | head -5
    failures=$((failures + 1))
fi

echo "inspector: $((checks - failures))/$checks checks passed"
[ "$failures" -eq 0 ]
