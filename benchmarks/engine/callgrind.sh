#!/usr/bin/env bash
# Instructions per observe-with-predictions query (the timed step of the engine workload), counted by
# callgrind: deterministic, independent of machine load. Deterministic hashing makes runs repeatable.
# Usage: benchmarks/engine/callgrind.sh [N] [--growing-vocabulary] [--consumer in-place|per-symbol|arrays|wire|none]  (default N = 10000)
# The timed query is observe + get_predictions + reading every field of the response (the consumer,
# in place by default; EngineBenchmark+Consumer.swift).
# Prints: "N=<n> queries=<q> instructions/query=<ir>" and keeps the profile in $OUT (default /tmp).
# callgrind_annotate "$OUT/callgrind.out.<n>" shows where the instructions go.
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-10000}"
shift || true
SCRATCH="${SCRATCH:-.build-engine}"
OUT="${OUT:-/tmp}"
swift build -c release --scratch-path "$SCRATCH" --product kato-conformance >&2
# valgrind 3.19 cannot read DWARF 5: profile a copy without debug info (symbols stay).
BIN="$OUT/kato-conformance-callgrind"
cp "$SCRATCH/release/kato-conformance" "$BIN" && strip --strip-debug "$BIN"
FILE="$OUT/callgrind.out.engine-$N"
SWIFT_DETERMINISTIC_HASHING=1 valgrind --tool=callgrind --callgrind-out-file="$FILE" \
  --toggle-collect='*predictionQuery*' "$BIN" --bench "$N" "$@" > "$OUT/callgrind-engine-$N.txt" 2>/dev/null
Q=$([ "$N" -le 1000 ] && echo 200 || echo 100)
IR=$(awk '/^totals:/ {print $2}' "$FILE")
echo "N=$N $* queries=$Q instructions/query=$((IR / Q)) (profile: $FILE)"
