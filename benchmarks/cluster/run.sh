#!/usr/bin/env bash
# make bench-cluster (docs/BENCHMARKS.md, "Cluster (issue 12)"): the 10,000-session load of
# `make load` against one embedded replica and against 3 replicas + PostgreSQL + HAProxy,
# cross-replica visibility of a Learn, a replica joining 1,000,000 patterns in PostgreSQL.
# Release build. Flags go to bench.py (sizes: --sessions, --observations, --concurrency,
# --learns, --startup-patterns, --startup-runs; --skip load,visibility,startup), e.g.
#   benchmarks/cluster/run.sh --sessions 2000 --startup-patterns 100000
# BENCH_WRITE=1 replaces the generated part of the section in docs/BENCHMARKS.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
scripts/install-deps --python >/dev/null
swift build -c release --product kato-server >/dev/null
swift build -c release --product kato-load >/dev/null
BIN=$(swift build -c release --show-bin-path)
WRITE=()
[ "${BENCH_WRITE:-0}" = 1 ] && WRITE=(--write)
COMMAND="make bench-cluster"
[ $# -gt 0 ] && COMMAND="benchmarks/cluster/run.sh $*"
# BENCH_AUTOGROUP=-20 (make bench-join): the bench — and the servers it starts, and PostgreSQL's
# (bench.py moves it) — in an autogroup of its own at that nice, so other users of a shared
# machine weigh less on its wall times (root only; otherwise it runs as it is).
if [ -n "${BENCH_AUTOGROUP:-}" ]; then
    exec setsid -w bash -c 'echo "$0" > /proc/self/autogroup 2>/dev/null || true; exec "$@"' "$BENCH_AUTOGROUP" \
        .venv/bin/python benchmarks/cluster/bench.py --bin "$BIN" --command "$COMMAND" "${WRITE[@]}" "$@"
fi
exec .venv/bin/python benchmarks/cluster/bench.py --bin "$BIN" --command "$COMMAND" "${WRITE[@]}" "$@"
