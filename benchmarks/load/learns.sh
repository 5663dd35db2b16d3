#!/usr/bin/env bash
# Durable learns end to end with default sessions into a knowledge base past 100,000 patterns
# (make bench-learns, issue 15; docs/BENCHMARKS.md "Durable knowledge base").
#   benchmarks/load/learns.sh [BEFORE_BIN_DIR]
# Each run: a release kato-server on a fresh data directory (SQLite, durable); `kato-load --mode
# learn` first fills it with FILL patterns (sessions without predictions: quick), then 64 writers
# with default sessions (predictions after every observation) learn new patterns for SECONDS, each
# one ObserveSequence(3 events × 2 symbols, learn_at_end) acknowledged once on disk. Symbols are
# drawn uniformly from VOCAB (10,000) — the workload of the issue's ~1.1k/s row, at 100× the size.
# With BEFORE_BIN_DIR (a directory holding another build's kato-server, e.g. the issue-time
# commit 94f5c3c) the two servers run alternately, ROUNDS times each, in one run; prints one row
# per run and the medians with their ratio. Env: FILL, SECONDS_PER_RUN, ROUNDS, WRITERS, VOCAB.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BEFORE=${1:-}
FILL=${FILL:-100000}
SECS=${SECONDS_PER_RUN:-20}
ROUNDS=${ROUNDS:-2}
WRITERS=${WRITERS:-64}
VOCAB=${VOCAB:-10000}
swift build -c release --product kato-server >/dev/null
swift build -c release --product kato-load >/dev/null
BIN=$(swift build -c release --show-bin-path)
T=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT
OUT=$T/rows

run() { # label server-binary
  local D=$T/data-$RANDOM LOG PORT C0 C1 R F
  LOG=$D.log
  "$2" --port 0 --admin-port 0 --data-dir "$D" --log-level warning --access-log-level off >"$LOG" 2>&1 &
  PID=$!
  for _ in $(seq 300); do grep -q "listening on" "$LOG" && break; sleep 0.1; done
  PORT=$(grep -m1 '^listening on ' "$LOG" | grep -o '[0-9]*$')
  F=$("$BIN/kato-load" --mode learn --port "$PORT" --writers "$WRITERS" --learns "$FILL" --vocabulary "$VOCAB" \
      --learn-seed 1 --learn-predictions false --connections 4)
  C0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
  R=$("$BIN/kato-load" --mode learn --port "$PORT" --writers "$WRITERS" --seconds "$SECS" --vocabulary "$VOCAB" \
      --learn-seed 2 --learn-predictions true --learn-rpc sequence --connections 4)
  C1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
  kill "$PID"; wait "$PID" 2>/dev/null || true
  PID=""
  rm -rf "$D" "$LOG"
  echo "$1 $(cut -d' ' -f1 /proc/loadavg) $((C1 - C0)) $R $F" >>"$OUT"
  echo "$1: $R (server CPU $((C1 - C0)) ticks)" >&2
}

for _ in $(seq "$ROUNDS"); do
  [ -n "$BEFORE" ] && run before "$BEFORE/kato-server"
  run after "$BIN/kato-server"
done

python3 - "$OUT" "$FILL" "$SECS" "$WRITERS" "$VOCAB" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, load, ticks, rest = line.split(" ", 3)
    r = json.loads(rest[:rest.index("} ") + 1])
    fill = json.loads(rest[rest.index("} ") + 2:])
    per = int(ticks) * 10_000 / max(r["learns"], 1)  # clock ticks (10 ms) -> µs per learn
    rows.setdefault(label, []).append((r["learns_per_s"], r["learn_p50_ms"], r["learn_p99_ms"], per, r["errors"] + fill["errors"], float(load), r["learns"]))
fill, secs, writers, vocab = sys.argv[2:]
print(f"{int(fill):,} patterns filled, then {writers} writers with default sessions for {secs} s; vocabulary {int(vocab):,}")
print("| server | run | learns/s | p50 | p99 | server CPU per learn | errors | patterns at the end | load average |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, rs in rows.items():
    for i, (rate, p50, p99, per, err, load, n) in enumerate(rs, 1):
        print(f"| {label} | {i} | {rate:,.0f} | {p50:.1f} ms | {p99:.1f} ms | {per:,.0f} µs | {err} | ≈{int(fill) + n:,} | {load:.1f} |")
med = {k: (statistics.median(r[0] for r in v), statistics.median(r[3] for r in v)) for k, v in rows.items()}
for k, (rate, per) in med.items():
    print(f"median {k}: {rate:,.0f} learns/s, {per:,.0f} µs server CPU per learn")
if "before" in med and "after" in med:
    print(f"ratio after/before: {med['after'][0] / med['before'][0]:.2f}× learns/s, "
          f"{med['before'][1] / med['after'][1]:.2f}× less server CPU per learn")
PY
