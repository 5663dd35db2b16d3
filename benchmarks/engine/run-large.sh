#!/usr/bin/env bash
# Engine benchmark at scale (issue 15): the same workload and generator with N = 100,000 and 1,000,000
# patterns, with the fixed 500-symbol vocabulary and with the growing one (500 symbols per 10,000
# patterns), each in one piece and split over two cores (--partitions 2: the candidates' length test
# and scoring cut into pieces run by DispatchQueue.concurrentPerform, pieces of ≥ 256 candidates).
# One run at a time (≈ 1.2 GB per million patterns); 10-20 minutes on the 2-core machine. Prints a
# markdown table on stdout, the load average before each run on stderr.
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
  for vocabulary in "" --growing-vocabulary; do
    for partitions in 1 2; do
      echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg): N=$n $vocabulary --partitions $partitions" >&2
      row=$("$BIN" --bench "$n" $vocabulary --partitions "$partitions" --markdown)
      # The first cell says what ran: "N", "N (V symbols)", with ", 2 partitions" when split.
      [ "$partitions" = 1 ] || row=$(sed -E 's/^\| ([0-9]+) \(([0-9]+) symbols\) \|/| \1 (\2 symbols, 2 partitions) |/; s/^\| ([0-9]+) \|/| \1 (2 partitions) |/' <<<"$row")
      echo "$row"
    done
  done
done
