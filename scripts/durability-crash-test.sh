#!/usr/bin/env bash
# The long crash test (docs/DURABILITY.md): 100 cycles of kill -9 while 4 clients learn
# continuously, then every acknowledged learn must be on disk with its frequency and
# `kato-server verify` must pass. `make test` runs the same test with 20 cycles.
#   scripts/durability-crash-test.sh [CYCLES]   (default 100; writes docs/durability-crash-100.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES=${1:-100}
SCRATCH=${SCRATCH:-.build}
swift build --scratch-path "$SCRATCH" --product kato-server >/dev/null
BIN=$(swift build --scratch-path "$SCRATCH" --show-bin-path)
OUT=docs/durability-crash-${CYCLES}.txt
{
  echo "# $(date -u +%FT%TZ) — ${CYCLES} kill -9 cycles (scripts/durability-crash-test.sh)"
  DURABILITY_CYCLES=$CYCLES KATO_BIN_DIR=$BIN .venv/bin/python -m pytest -q -s -p no:warnings \
    "Tests/python/test_durability.py::test_kill_9_loses_no_acknowledged_learn" 2>&1 | tail -3
} | tee "$OUT"
