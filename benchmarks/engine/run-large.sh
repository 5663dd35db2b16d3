#!/usr/bin/env bash
# Engine benchmark at scale (issue 15): the same workload and generator with N = 100,000 and 1,000,000
# patterns, with the fixed 500-symbol vocabulary and with the growing one (500 symbols per 10,000
# patterns), the latter also split over two cores (--partitions 2). Needs ≈ 3 GB of memory and
# 10-20 minutes on the 2-core machine. Prints a markdown table on stdout.
# Usage: benchmarks/engine/run-large.sh [N...]      (default: 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH="${SCRATCH:-.build-engine}"
swift build -c release --scratch-path "$SCRATCH" --product kato-conformance >&2
BIN="$SCRATCH/release/kato-conformance"
"$BIN" --bench --verify benchmarks/engine/workload_fixture.json >&2
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 1000000)
echo "| KB patterns | learn (patterns/s) | observe p50 / p99 (ms, no predictions) | observe+predict, STM=2 events p50 / p99 (ms) | same, CPU time p50 / p99 (ms) | get_predictions p50 / p99 (µs) | mean #predictions | mean #future potentials | memory (bytes/pattern) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "${SIZES[@]}"; do
  "$BIN" --bench "$n" --markdown
  "$BIN" --bench "$n" --growing-vocabulary --markdown
  "$BIN" --bench "$n" --growing-vocabulary --partitions 2 --markdown | sed 's/^| \([0-9]*\) (\([0-9]*\) symbols)/| \1 (\2 symbols, 2 partitions)/'
done
