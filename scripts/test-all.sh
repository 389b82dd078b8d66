#!/usr/bin/env bash
# The whole test suite: unit + integration tests, loom models, a fuzz smoke run, and the real MCP
# clients (official Python SDK, MCP Inspector CLI) against the release binary.
# Installs what it needs (pinned) when missing. Exit status: non-zero if any part failed.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==== %s ====\n' "$*"; }

step "unit, integration and doc tests (workspace)"
cargo test --workspace

step "loom models"
bash scripts/loom.sh

step "fuzz smoke (${FUZZ_SECS:-30}s per target)"
bash scripts/fuzz-smoke.sh

step "real MCP clients"
bash clients/run.sh

printf '\nall suites passed\n'
