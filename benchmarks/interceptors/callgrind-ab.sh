#!/usr/bin/env bash
# Issue 13's speed gate as one command: instructions per call (callgrind, deterministic) of two
# builds, one after the other, for the rows the gate names — unary echo
# (benchmarks/grpc/callgrind.sh), Observe with every interceptor on, Observe with span export
# to a loopback OTLP sink (otlp_sink.py), and Observe with `--disable-interceptors` (what the
# interceptors cost is on − off) — then prints a table with the change.
#
#   benchmarks/interceptors/callgrind-ab.sh BEFORE_DIR AFTER_DIR [N]
#     *_DIR: folders holding a release kato-server and grpch2-echo-server; N: Observe calls (10000)
#   ROWS="echo on off otlp" picks rows; SIDES="before" (or "after") measures one side only: the
#   outputs stay in $SCRATCH/callgrind-ab/, so the two sides may be measured at different times
#   and the table printed by the second run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BEFORE=${1:?usage: callgrind-ab.sh BEFORE_DIR AFTER_DIR [N]} AFTER=${2:?} N=${3:-10000}
ROWS=${ROWS:-echo on off otlp}
export SCRATCH=${SCRATCH:-.build-cg}
SIDES=${SIDES:-before after}
OUT=$ROOT/$SCRATCH/callgrind-ab
mkdir -p "$OUT"
rm -f "$OUT/port"
SINK_PID=
cleanup() { [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null || true; }
trap cleanup EXIT
python3 benchmarks/interceptors/otlp_sink.py "$OUT/port" > "$OUT/sink.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.1; done
OTLP="--otlp-endpoint http://127.0.0.1:$(cat "$OUT/port")"
value() { sed -n "s/.*Ir\/call=\([0-9]*\).*/\1/p" "$1" | tail -1; }
run() {  # side row
  local dir=$1 row=$2 log=$OUT/$1-$2.out bin
  if [ "$1" = before ]; then bin=$BEFORE; else bin=$AFTER; fi
  case $row in
    echo) benchmarks/grpc/callgrind.sh "$bin/grpch2-echo-server" 20000 > "$log" 2>&1 ;;
    on | off) BIN=$bin/kato-server TAG=$1-$row benchmarks/interceptors/callgrind.sh "$row" "$N" > "$log" 2>&1 ;;
    otlp) BIN=$bin/kato-server TAG=$1-otlp EXTRA="$OTLP" benchmarks/interceptors/callgrind.sh on "$N" > "$log" 2>&1 ;;
  esac || { echo "$1 $row failed:" >&2; cat "$log" >&2; }
  echo "$1 $row: $(value "$log")" >&2
}
for row in $ROWS; do for side in $SIDES; do run "$side" "$row"; done; done
echo "| row | before | after | change |"
echo "|---|---:|---:|---:|"
for row in $ROWS; do
  b=$(value "$OUT/before-$row.out" 2>/dev/null || true) a=$(value "$OUT/after-$row.out" 2>/dev/null || true)
  b=${b:-0} a=${a:-0}
  awk -v r="$row" -v b="$b" -v a="$a" 'BEGIN {printf "| %s | %d | %d | %+.1f %% |\n", r, b, a, (b > 0 ? (a - b) * 100 / b : 0)}'
done
echo "(\`benchmarks/interceptors/callgrind-ab.sh $BEFORE $AFTER $N\`, $(date -u +%Y-%m-%dT%H:%MZ); echo: 20000 calls)"
