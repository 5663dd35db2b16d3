#!/usr/bin/env bash
# Interceptor overhead on unary Observe, both configurations in the same run.
#
#   on:  API-key authentication (Bearer key; SHA-256 or the per-thread key cache), rate limits at
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
MET=$(awk -v r="$RATIO" 'BEGIN {print (r >= 0.9) ? "met" : "**not met**"}')
NL_RATIO=$(awk -v a="$NL_RPS" -v b="$OFF_RPS" 'BEGIN {printf "%.3f", a/b}')
NL_COST=$(awk -v a="$NL_RPS" -v b="$OFF_RPS" 'BEGIN {printf "%.1f", (1-a/b)*100}')
# Per round (off, on and on-nolog run back to back): on/off rps; the median of these is the
# ratio least moved by load that changes between rounds.
PAIR_RATIO=$(awk '$1=="off" {off=$2} $1=="on" {printf "%.3f\n", $2/off}' "$RESULTS" | median)
NL_PAIR_RATIO=$(awk '$1=="off" {off=$2} $1=="on-nolog" {printf "%.3f\n", $2/off}' "$RESULTS" | median)
PAIR_MET=$(awk -v r="$PAIR_RATIO" 'BEGIN {print (r >= 0.9) ? "met" : "**not met**"}')
# The lowest CPU per call of each mode: other work on the machine only adds to it (a preempted
# lock holder makes the waiting loop spin longer).
mincol() { awk -v m="$1" -v c="$2" '$1==m {print $c}' "$RESULTS" | sort -n | head -1; }
OFF_MIN=$(mincol off 5) ON_MIN=$(mincol on 5) NL_MIN=$(mincol on-nolog 5)
MIN_COST=$(awk -v a="$ON_MIN" -v b="$OFF_MIN" 'BEGIN {printf "%.1f", (a/b-1)*100}')
NL_MIN_COST=$(awk -v a="$NL_MIN" -v b="$OFF_MIN" 'BEGIN {printf "%.1f", (a/b-1)*100}')
ROWS=$(awk '{printf "| %s | %s | %.0f | %d | %d | %s |\n", NR, $1, $2, $3, $4, $5}' "$RESULTS")

SECTION=$(cat <<MD
<!-- interceptors-bench:start -->
## Interceptors: all on vs off (unary Observe)

Generated by \`benchmarks/interceptors/run.sh --write\` on $(date -u +%Y-%m-%dT%H:%MZ): $ROUNDS rounds per configuration, interleaved (off, on, on without access log), $N requests per round after $W warm-up.

- Machine: 2 cores, **shared with the load generator** (h2load on the same cores) and with other work; load average at start / end: $LOAD_START / $LOAD_END.
- Load: \`h2load -c $C -m $M -t 1\`, \`/kato.v2.ObserveService/Observe\` with \`ObserveRequest{node_id: "bench", strings: ["hello", "world"]}\` on the node's default session (one session: every call takes its lock; the STM fills to its 1000-event cap and rolls), in-memory store, release build.
- **on**: API key auth (\`authorization: Bearer\`: SHA-256 + constant-time compare on a thread's first call, then the per-thread key cache's constant-time compare), rate limits at their defaults (principal and session token buckets, concurrency limit), go-grpc-prometheus metrics + message counters, trace id + span hook + one access-log line per call (\`info\`, stderr to a file). **off**: \`--disable-interceptors\`.
- Checked with grpcio before each round: OK with the key; on: UNAUTHENTICATED without it.

| configuration | rps | p50 (µs) | p99 (µs) | server CPU per call (µs) |
|---|---:|---:|---:|---:|
| off | $OFF_RPS | $OFF_P50 | $OFF_P99 | $OFF_CPU |
| on | $ON_RPS | $ON_P50 | $ON_P99 | $ON_CPU |
| on, access log off | $NL_RPS | $NL_P50 | $NL_P99 | $NL_CPU |

(medians over the rounds; server CPU per call = utime + stime of the server process during the measured h2load run, divided by its requests.)

**rps ratio on/off: $RATIO** (cost $COST %; target ≤ 10 %: $MET); p99 on/off: $ON_P99 / $OFF_P99 µs. Without the access-log line: ratio $NL_RATIO (cost $NL_COST %), p99 $NL_P99 µs. Per round (the three modes run back to back), the median on/off rps ratio: **$PAIR_RATIO** (target: $PAIR_MET), without the access log $NL_PAIR_RATIO. Server CPU per call, medians: on +$CPU_COST %, on without access log +$NL_CPU_COST % over off; lowest over the rounds (other work only adds to it: a preempted lock holder makes the other loop spin longer): off $OFF_MIN µs, on $ON_MIN µs (+$MIN_COST %), on without access log $NL_MIN µs (+$NL_MIN_COST %).

**Where the cost goes.** Instructions per call from \`benchmarks/interceptors/callgrind.sh\`
(deterministic, unlike the rates above; 10,000 calls after 2,000 warm-up, same binary for every
mode, measured on this code on 2026-11-25): off 391.1k, **on 430.4k (+39.3k, +10.0 %)**, on
without the access log 425.6k, on with \`x-api-key\` instead of \`authorization: Bearer\` 427.8k.
At the start of this round of work on was 493.3k against off 393.6k (+99.7k); before the
previous round, +202k.

- **What this round changed** (callgrind on → on): one fused interceptor
  (\`KatoInterceptor\`: trace, metrics, auth, rate limits, degradation as stages of one async
  frame instead of a chain of closures and frames), the bearer token parsed on its bytes
  (Foundation's \`trimmingCharacters\` went through \`NSString\` and UTF-16), a per-thread
  API-key cache (the last key that authenticated on the thread, compared in constant time,
  emptied on reload: no SHA-256 per call; see SECURITY.md), metadata lookups without
  \`lowercased()\`, the principal kept in the call's record (one attribute less), observation
  ids without \`getrandom\` (both modes): 493.3k → 445.3k (off 393.6k → 391.2k); service lists
  as arrays, the cache compare over a span: → 441.9k; the fused interceptor run inside kato's
  typed unary methods rather than as a router interceptor, so GRPCH2 keeps its direct unary
  path (no request stream, response writer or buffering sink per call): → 430.4k.
- **What the remaining +39k is**: ~16k the interceptor's own work — trace id, \`CallRecord\`,
  its attribute insert and the \`x-trace-id\` trailer metadata (~5.6k), span end and the
  access-log line (~6k, of which ~5k is the line), auth (~4k: metadata lookups, bearer parse,
  cache compare, role check), rate limits (~1.4k: concurrency counter, principal bucket),
  metrics (~1.5k), the async frame (~1.5k); **~10k the \`x-trace-id\` trailer on the wire**: it
  takes GRPCH2's trailers off their prepared, pre-encoded form (~3k to build the name/value
  list) and nghttp2 HPACK-indexes every (unique) trace id, searching, inserting into and
  evicting from the dynamic table (~7k); ~5k attribute reads by the handler (\`callRecord\`
  for the principal, twice, the session limiter and the session/node record: each a hash and
  a dynamic cast); the rest retain/release and malloc spread over these.
- **Since then** (2026-11-25, 16:50–17:00): the \`x-trace-id\` trailer and status details are
  sent as never-indexed HPACK literals and the prepared trailers are kept when metadata follows
  them: on 430.5k → 426.1k; GRPCH2's header-size accounting and reserved-metadata checks
  landed in the same window (off 391.1k → 395.5k); counters sharded per thread and the access
  line's \`duration_ms\` written digit by digit: on → 424.1k (+28.6k over off, +7.2 %).
- **The hot session's lock.** Every call of this benchmark observes into one session, whose
  lock is held around the engine work (~20 µs, most of it \`Predictor.run\` flattening the
  1000-event STM), so the two event loops contend on every call. perf (cpu-clock samples) on
  the earlier build: of on's extra CPU over off, a third was threads spinning for that lock
  (\`rt_mutex_slowlock_block\`, \`_MutexHandle._lockSlow\`): a contended
  \`Synchronization.Mutex\` on Linux spins, then waits on a priority-inheritance futex whose
  unlock hands the lock to the waiter, so once the loops collide they alternate and each
  handover moves the STM's cache lines to the other core — the slower a call, the worse.
  Interleaved rounds on a quiet machine (load ≈1, 3 rounds each) showed it as a convoy:
  with \`Mutex\`, off 38.8k / 40.5k / **13.8k** rps and CPU per call 45–**139 µs**, on 37.5k /
  26.4k / 38.3k. The session lock is now a glibc mutex (\`NIOLockedValueBox\`: waiters sleep,
  no hand-off): off 30.3k–32.4k, on 26.4k–29.5k, CPU per call 38–47 µs, no collapsed round.
  The best single-session rate is lower than \`Mutex\`'s good rounds (waiters sleep rather
  than spin) — the price of never falling into the convoy.
- **What is left of the cost** (≈ +3–4 µs CPU per call, +28.6k instructions): the interceptor's
  own work (trace id, \`CallRecord\`, span end, access-log line, auth with the per-thread key
  cache, rate limits, metrics), ~5k of attribute reads by the handler (a hash and a dynamic
  cast each; typed per-call storage in GRPCH2 would remove them), and cache lines both event
  loops write on every call: the concurrency limiter's counter and the principal and session
  GCRA buckets (one CAS each). The go-grpc-prometheus counters (\`grpc_server_started_total\`,
  \`_handled_total\`, \`_msg_received/sent_total\`, \`kato_observations_total\`) are now sharded per
  thread like the histograms (\`Metrics/ShardedCounters.swift\`); this run is the first with them.
  The access-log line is the largest single item left (on vs on-nolog above).
- **The machine**: this section's run had the machine to itself (see the load averages);
  absolute rates still move between rounds, so compare the interleaved rounds' ratios.
  The median-of-medians ratio and the per-round ratio differ by about as much as the target
  allows: the result is at the edge of 10 %, not clearly under it.

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
