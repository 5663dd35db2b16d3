#!/usr/bin/env bash
# Interceptor overhead on unary Observe, both configurations in the same run.
#
#   on:  API-key authentication (Bearer key, SHA-256 + constant-time compare), rate limits at
#        their defaults (principal + session token buckets, concurrency limit), go-grpc-prometheus
#        metrics, trace id + swift-distributed-tracing span hook + one access-log line per call
#        (info, to a file)
#   on-nolog: the same with --access-log-level off (shows what the access-log line costs)
#   off: --disable-interceptors (no interceptor at all)
#
# Same release kato-server binary, in-memory store, rounds alternate off/on. Load: h2load
# (-c 4 -m 64, one thread) sending ObserveRequest{node_id: "bench", strings: ["hello",
# "world"]} to the node's default session. h2load does not read grpc-status, so each server is
# first checked with grpcio (OK, and UNAUTHENTICATED without the key when on).
#
# Usage: benchmarks/interceptors/run.sh [--write]   (--write updates docs/BENCHMARKS.md)
# Env: ROUNDS (3), N (200000 requests per round), W (20000 warm-up), C (4), M (64),
#      SCRATCH (.build-obs: the swift build scratch path), SKIP_BUILD (0)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
ROUNDS=${ROUNDS:-3} N=${N:-200000} W=${W:-20000} C=${C:-4} M=${M:-64}
SCRATCH=${SCRATCH:-.build-obs}
PY=${PY:-$ROOT/.venv/bin/python}
command -v h2load >/dev/null || { echo "h2load not found (apt-get install nghttp2-client)" >&2; exit 1; }

# SKIP_BUILD=1 uses the binary already built (e.g. while other work edits the sources).
[ "${SKIP_BUILD:-0}" = 1 ] || swift build -c release --scratch-path "$SCRATCH" --product kato-server >&2
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/kato-server"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kato-interceptors.XXXXXX")
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
SERVER_PID=

KEY=bench-key-0123456789abcdef
echo "[{\"principal\": \"bench\", \"key\": \"$KEY\", \"roles\": [\"writer\"], \"nodes\": [\"bench\"]}]" > "$WORK/keys.json"
PYTHONPATH="$ROOT/clients/python" "$PY" - "$WORK/frame.bin" <<'PYEOF'
import struct, sys
from kato_client._pb.kato.v2 import observe_pb2
msg = observe_pb2.ObserveRequest(node_id="bench", strings=["hello", "world"]).SerializeToString()
open(sys.argv[1], "wb").write(b"\0" + struct.pack(">I", len(msg)) + msg)
PYEOF

start() {  # $1 = on|off; sets ADDR, SERVER_PID
  local args=(--port 0 --admin-port 0 --log-level info)
  case $1 in
    on) args+=(--auth-keys "$WORK/keys.json") ;;
    on-nolog) args+=(--auth-keys "$WORK/keys.json" --access-log-level off) ;;
    off) args+=(--disable-interceptors) ;;
  esac
  : > "$WORK/out.$1"  # truncate here: the child's redirect may come after the first read below
  KATO_IN_MEMORY=1 "$BIN" "${args[@]}" >> "$WORK/out.$1" 2> "$WORK/err.$1" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    ADDR=$(sed -n 's/^listening on //p' "$WORK/out.$1" | head -1)
    [ -n "$ADDR" ] && return 0
    sleep 0.1
  done
  echo "server ($1) did not start: $(cat "$WORK/err.$1")" >&2; exit 1
}

check() {  # real gRPC client: OK with the key (and UNAUTHENTICATED without it when on)
  PYTHONPATH="$ROOT/clients/python" "$PY" - "$ADDR" "$1" "$KEY" <<'PYEOF'
import sys, grpc
from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc
addr, mode, key = sys.argv[1:]
with grpc.insecure_channel(addr) as ch:
    stub = observe_pb2_grpc.ObserveServiceStub(ch)
    req = observe_pb2.ObserveRequest(node_id="bench", strings=["hello", "world"])
    r, call = stub.Observe.with_call(req, metadata=(("authorization", "Bearer " + key),))
    assert r.status == "okay" and call.code() == grpc.StatusCode.OK
    if mode.startswith("on"):
        try:
            stub.Observe(req)
            raise SystemExit("on: call without a key succeeded")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e
PYEOF
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }

load() {  # $1 = on|off -> "rps p50 p99 server-CPU-µs-per-call"
  local hdrs=(-H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $KEY")
  local url="http://$ADDR/kato.v2.ObserveService/Observe"
  h2load -d "$WORK/frame.bin" "${hdrs[@]}" -c "$C" -m "$M" -t 1 -n "$W" "$url" > /dev/null
  local t0; t0=$(cpu_ticks)
  h2load -d "$WORK/frame.bin" "${hdrs[@]}" -c "$C" -m "$M" -t 1 -n "$N" --log-file="$WORK/req.log" "$url" > "$WORK/h2load.out"
  local t1; t1=$(cpu_ticks)
  local cpu; cpu=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$N" 'BEGIN {printf "%.2f", d * 1e6 / hz / n}')
  local rps; rps=$(awk '/^finished in/ {print $4}' "$WORK/h2load.out")
  cut -f3 "$WORK/req.log" | sort -n | awk -v rps="$rps" -v cpu="$cpu" '{a[NR]=$1} END {
    p50=a[int(NR*0.50)]; p99=a[int(NR*0.99)]; printf "%s %d %d %s\n", rps, p50, p99, cpu }'
}

RESULTS="$WORK/results"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
  for mode in off on on-nolog; do
    start "$mode"
    check "$mode"
    line=$(load "$mode")
    echo "$mode $line" | tee -a "$RESULTS" >&2
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -v m="$1" -v c="$2" '$1==m {print $c}' "$RESULTS" | median; }
OFF_RPS=$(col off 2) ON_RPS=$(col on 2) OFF_P50=$(col off 3) ON_P50=$(col on 3) OFF_P99=$(col off 4) ON_P99=$(col on 4)
NL_RPS=$(col on-nolog 2) NL_P50=$(col on-nolog 3) NL_P99=$(col on-nolog 4)
OFF_CPU=$(col off 5) ON_CPU=$(col on 5) NL_CPU=$(col on-nolog 5)
CPU_COST=$(awk -v a="$ON_CPU" -v b="$OFF_CPU" 'BEGIN {printf "%.1f", (a/b-1)*100}')
NL_CPU_COST=$(awk -v a="$NL_CPU" -v b="$OFF_CPU" 'BEGIN {printf "%.1f", (a/b-1)*100}')
RATIO=$(awk -v a="$ON_RPS" -v b="$OFF_RPS" 'BEGIN {printf "%.3f", a/b}')
COST=$(awk -v a="$ON_RPS" -v b="$OFF_RPS" 'BEGIN {printf "%.1f", (1-a/b)*100}')
NL_RATIO=$(awk -v a="$NL_RPS" -v b="$OFF_RPS" 'BEGIN {printf "%.3f", a/b}')
NL_COST=$(awk -v a="$NL_RPS" -v b="$OFF_RPS" 'BEGIN {printf "%.1f", (1-a/b)*100}')
ROWS=$(awk '{printf "| %s | %s | %.0f | %d | %d | %s |\n", NR, $1, $2, $3, $4, $5}' "$RESULTS")

SECTION=$(cat <<MD
<!-- interceptors-bench:start -->
## Interceptors: all on vs off (unary Observe)

Generated by \`benchmarks/interceptors/run.sh --write\` on $(date -u +%Y-%m-%dT%H:%MZ): $ROUNDS rounds per configuration, interleaved (off, on, on without access log), $N requests per round after $W warm-up.

- Machine: 2 cores, **shared with the load generator** (h2load on the same cores) and with other work; load average at start / end: $LOAD_START / $LOAD_END.
- Load: \`h2load -c $C -m $M -t 1\`, \`/kato.v2.ObserveService/Observe\` with \`ObserveRequest{node_id: "bench", strings: ["hello", "world"]}\` on the node's default session (one session: every call takes its lock; the STM fills to its 1000-event cap and rolls), in-memory store, release build.
- **on**: API key auth (\`authorization: Bearer\`, SHA-256 + constant-time compare), rate limits at their defaults (principal and session token buckets, concurrency limit), go-grpc-prometheus metrics + message counters, trace id + span hook + one access-log line per call (\`info\`, stderr to a file). **off**: \`--disable-interceptors\`.
- Checked with grpcio before each round: OK with the key; on: UNAUTHENTICATED without it.

| configuration | rps | p50 (µs) | p99 (µs) | server CPU per call (µs) |
|---|---:|---:|---:|---:|
| off | $OFF_RPS | $OFF_P50 | $OFF_P99 | $OFF_CPU |
| on | $ON_RPS | $ON_P50 | $ON_P99 | $ON_CPU |
| on, access log off | $NL_RPS | $NL_P50 | $NL_P99 | $NL_CPU |

(medians over the rounds; server CPU per call = utime + stime of the server process during the measured h2load run, divided by its requests.)

**rps ratio on/off: $RATIO** (cost $COST %; target ≤ 10 %); p99 on/off: $ON_P99 / $OFF_P99 µs. Without the access-log line: ratio $NL_RATIO (cost $NL_COST %), p99 $NL_P99 µs. Server CPU per call: on +$CPU_COST %, on without access log +$NL_CPU_COST % over off — the number that does not depend on what else the shared machine runs.

**Where the cost goes.** Instructions per call from \`benchmarks/interceptors/callgrind.sh\`
(deterministic, unlike the rates above; measured on this code on 2026-11-25): off 398.7k, on
494.8k (+96k), on without the access log 488.7k, on with \`x-api-key\` instead of
\`authorization: Bearer\` 470.4k. Before this round of work on was +202k over off.

- **off** is almost all engine work. \`Session.mutate\` no longer copies the session state (an
  in-place transaction with an undo record; the copy-and-write-back of a 1000-event STM cost
  about 6 µs per observe), but with an empty knowledge base \`Predictor.run\` still flattens
  the whole 1000-event STM (2,000 strings copied and retained, ~330k instructions) before it
  finds no pattern to match, and \`ObserveService\` draws each observation id from
  \`SystemRandomNumberGenerator\` (two \`getrandom\` system calls per call, in both
  configurations).
- **What the interceptors add**, largest first: ~24k in \`Authenticator.authenticate\`, which
  trims the bearer token with Foundation's \`trimmingCharacters(in: .whitespaces)\` (through
  \`NSString\` and UTF-16; the \`x-api-key\` path skips it); ~16k of async machinery: each
  interceptor level adds async frames and closures, every hop runs \`swift_task_switch\`,
  which reads the task-executor preference under the task's status-record lock (a pthread
  mutex), and the deeper frames overflow the task allocator's first slab (malloc); on top,
  GRPCH2's general call path (buffering sink, response writer, message observers), which its
  interceptor-less unary fast path skips; ~9k for \`ServerContext.Attributes\` (a dictionary of
  existentials: now two inserts and about six reads per call, each a hash lookup and a dynamic
  cast); ~6k for the API key (SHA-256 and the constant-time compare); ~6k for the access-log
  line; the rest is metadata lookups, the trace id, trailing metadata, counters, histograms
  and the two rate-limit buckets (~1.6k each).
- **Contention** is gone from the interceptors' per-call path: rate-limit buckets are GCRA on
  one atomic per key (one compare-and-swap) found through per-thread caches (the shared table
  is locked only on a thread's first call for a key); \`grpc_server_handling_seconds\` and
  \`kato_predictions_seconds\` are lock-free histograms sharded per thread and summed at
  scrape; access-log lines are formatted straight into a per-thread buffer (timestamp
  formatted once a second) that a background thread writes out (no \`write\` per line). The
  one lock every call still takes in both configurations is the hot session's own mutex
  around the engine work — and **on** makes it contend more: with more work outside the
  lock, the two event loops arrive at it interleaved, and a contended Swift \`Mutex\` on Linux
  sleeps in the kernel (priority-inheritance futex: \`rt_mutex_slowlock\` and context switches
  show up in perf for on, not for off). Counters remain swift-prometheus's atomics (four to
  five relaxed adds per call on cache lines both event loops share).
- **Instructions understate the CPU.** perf (cpu-clock samples over the same 20,000 calls):
  samples in the engine's observe rise by a quarter from off to on (2,246 → 2,782: the
  session lock's interleaving), everything else by 3.8× (847 → 3,209) — +25 % instructions
  become +50–65 % server CPU, because the added code runs at a much lower IPC than the
  engine's copy loops (retain/release of objects both cores touch, malloc/free, async
  frames, the session lock's sleeps).
- **Next steps, outside this change's files**: a trim without Foundation (same characters: Unicode space separators and tab) in
  \`Authenticator\` (~24k); one fused interceptor (one async frame instead of four) or a GRPCH2
  chain without a closure per level (most of the ~16k); typed per-call attribute storage in
  GRPCH2 (~9k); in the engine, skipping the STM flattening when the knowledge base is empty
  (this would make off several times cheaper, and the ratio correspondingly worse).

<details><summary>every round</summary>

| round | configuration | rps | p50 (µs) | p99 (µs) | CPU/call (µs) |
|---|---|---:|---:|---:|---:|
$ROWS

</details>
<!-- interceptors-bench:end -->
MD
)
echo "$SECTION"
if [ "${1:-}" = --write ]; then
  DOC="$ROOT/docs/BENCHMARKS.md"
  [ -f "$DOC" ] || printf '# Benchmarks\n' > "$DOC"
  SECTION="$SECTION" "$PY" - "$DOC" <<'PYEOF'
import os, re, sys
path = sys.argv[1]
doc = open(path).read()
section = os.environ["SECTION"]
pattern = re.compile(r"<!-- interceptors-bench:start -->.*?<!-- interceptors-bench:end -->", re.S)
doc = pattern.sub(lambda _: section, doc) if pattern.search(doc) else doc.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(doc)
PYEOF
fi
