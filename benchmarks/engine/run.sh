#!/usr/bin/env bash
# Engine benchmark (bench/README.md "Engine workload"): builds kato-conformance in release mode and runs
# the workload for N = 100, 1 000, 10 000 patterns, then the nothing-to-match cases (issue 15) at 10 000;
# prints markdown tables on stdout.
# Usage: benchmarks/engine/run.sh            (from anywhere; uses the scratch path .build-engine)
# Larger knowledge bases (100,000 and 1,000,000 patterns): benchmarks/engine/run-large.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH="${SCRATCH:-.build-engine}"
swift build -c release --scratch-path "$SCRATCH" --product kato-conformance >&2
BIN="$SCRATCH/release/kato-conformance"
"$BIN" --bench --verify benchmarks/engine/workload_fixture.json >&2
echo "| KB patterns | learn (patterns/s) | observe p50 / p99 (ms, no predictions) | observe+predict, STM=2 events p50 / p99 (ms) | same, CPU time p50 / p99 (ms) | get_predictions p50 / p99 (µs) | mean #predictions | mean #future potentials | memory (bytes/pattern) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in 100 1000 10000; do
  "$BIN" --bench "$n" --markdown
done
echo
echo "Nothing to match (issue 15): observe with predictions on, µs"
echo "| case | KB patterns | STM when predicting | p50 / p99 (µs) | CPU p50 / p99 (µs) |"
echo "|---|---:|---|---:|---:|"
for c in empty unknown long-unknown; do
  "$BIN" --bench 10000 --nothing-to-match "$c" --markdown
done
