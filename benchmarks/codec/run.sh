#!/usr/bin/env bash
# proto3 JSON codec (ProtoJSON) cost per message, next to the binary path (libprotobuf-c via
# KatoProto) measured in the same run: wall-clock µs/op (noisy on a shared machine) and
# instructions per op under callgrind (deterministic; the number to compare across changes).
#
# Usage: benchmarks/codec/run.sh            (prints both tables)
# Env:   SCRATCH (.build-codecs), ITERATIONS (2000), ROUNDS (5), CALLGRIND (1: also count instructions)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SCRATCH=${SCRATCH:-.build-codecs}
swift build -c release --scratch-path "$SCRATCH" --product kato-codec-bench >&2
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/kato-codec-bench"
FIX="$ROOT/Tests/ProtoJSONTests/Fixtures"

echo "### Wall clock (release, ${ITERATIONS:-2000} iterations × ${ROUNDS:-5} interleaved rounds)"
echo
"$BIN" --iterations "${ITERATIONS:-2000}" --rounds "${ROUNDS:-5}" --fixtures "$FIX"

[ "${CALLGRIND:-1}" = 1 ] || exit 0
command -v valgrind >/dev/null || { echo "valgrind not found: no instruction counts" >&2; exit 0; }
# valgrind 3.19 cannot read Swift's DWARF 5: count a copy without debug info.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kato-codec-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp "$BIN" "$WORK/bench" && strip --strip-debug "$WORK/bench"
count() {  # instructions of a whole run of case $1 with $2 iterations (plus one warm-up)
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$WORK/bench" --case "$1" --iterations "$2" --rounds 1 \
    --fixtures "$FIX" >/dev/null 2>"$WORK/cg.err"
  grep -o 'Collected : [0-9]*' "$WORK/cg.err" | grep -o '[0-9]*$'
}
echo
echo "### Instructions per operation (callgrind; (run of 11 − run of 1) / 10, so start-up cancels out)"
echo
echo "| case | instructions/op |"
echo "|---|---:|"
names=("ObserveRequest JSON → binary" "ObserveRequest binary → JSON" "GetPredictionsResponse ×100 binary → JSON"
       "GetPredictionsResponse ×100 JSON → binary" "reference: ObserveRequest protobuf-c decode"
       "reference: GetPredictionsResponse ×100 protobuf-c decode + encode")
for c in 1 2 3 4 5 6; do
  a=$(count "$c" 1); b=$(count "$c" 11)
  echo "| ${names[$((c - 1))]} | $(( (b - a) / 10 )) |"
done
