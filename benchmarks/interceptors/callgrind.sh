#!/usr/bin/env bash
# Deterministic cost per call of the interceptors: instructions (valgrind callgrind) per unary
# Observe of the interceptor benchmark (run.sh's load and configurations), so changes can be
# compared on a noisy, shared machine. Valgrind runs the threads one at a time: lock
# contention does not show here (run.sh measures it), instruction and allocation costs do.
#
#   benchmarks/interceptors/callgrind.sh MODE [N]   MODE: off | on | on-nolog | noauth, N: calls (20000)
#   AUTH=x-api-key sends the key as `x-api-key` instead of `authorization: Bearer`.
#   EXTRA="--metrics false ..." adds server flags (to attribute the cost to one interceptor);
#   TAG names the profile (default MODE).
#
# The server runs with SWIFT_DETERMINISTIC_HASHING=1: with per-process hash seeds the engine's
# dictionaries probe differently from run to run (±4k instructions per call), as much as the
# differences measured here.
# Counters are zeroed after 2000 warm-up calls and dumped right after the N calls. Prints
# "Ir/call"; the profile stays in $SCRATCH/callgrind-interceptors/ (callgrind_annotate it).
# valgrind 3.19 workarounds: the binary is copied without its DWARF 5 debug info, and a
# preloaded shim gives libdispatch's sigsuspend a writable mask (benchmarks/grpc/callgrind/sigsuspend_shim.c, shared with the transport benchmark).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
MODE=${1:?usage: callgrind.sh off|on|on-nolog|noauth [N]} N=${2:-20000}
SCRATCH=${SCRATCH:-.build-obs}
PY=${PY:-$ROOT/.venv/bin/python}
BIN=${BIN:-"$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/kato-server"}  # BIN: a kato-server binary to measure instead
STAMP=$(date +%H%M%S)-${TAG:-$MODE}
OUTDIR=$ROOT/$SCRATCH/callgrind-interceptors
WORK=$OUTDIR/run-$STAMP-$$  # per run: two runs at once must not share server.out
mkdir -p "$WORK"
gcc -shared -fPIC -O2 -o "$WORK/sigsuspend_shim.so" "$ROOT/benchmarks/grpc/callgrind/sigsuspend_shim.c"
SERVER=$WORK/server
cp "$BIN" "$SERVER" && strip --strip-debug "$SERVER"
KEY=bench-key-0123456789abcdef
echo "[{\"principal\": \"bench\", \"key\": \"$KEY\", \"roles\": [\"writer\"], \"nodes\": [\"bench\"]}]" > "$WORK/keys.json"
PYTHONPATH="$ROOT/clients/python" "$PY" - "$WORK/frame.bin" <<'PYEOF'
import struct, sys
from kato_client._pb.kato.v2 import observe_pb2
msg = observe_pb2.ObserveRequest(node_id="bench", strings=["hello", "world"]).SerializeToString()
open(sys.argv[1], "wb").write(b"\0" + struct.pack(">I", len(msg)) + msg)
PYEOF
args=(--port 0 --admin-port=-1 --log-level info)
case $MODE in
  on) args+=(--auth-keys "$WORK/keys.json") ;;
  on-nolog) args+=(--auth-keys "$WORK/keys.json" --access-log-level off) ;;
  off) args+=(--disable-interceptors) ;;
  noauth) ;;  # every interceptor but authentication (off: loopback without keys)
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
# shellcheck disable=SC2206
[ -z "${EXTRA:-}" ] || args+=($EXTRA)
OUT=$OUTDIR/callgrind.out.$STAMP
: > "$WORK/server.out"
SWIFT_DETERMINISTIC_HASHING=1 KATO_IN_MEMORY=1 LD_PRELOAD=$WORK/sigsuspend_shim.so valgrind --tool=callgrind --callgrind-out-file="$OUT" \
  "$SERVER" "${args[@]}" > "$WORK/server.out" 2> "$WORK/server.err" &
VPID=$!
trap 'kill $VPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 600); do grep -q '^listening on' "$WORK/server.out" && break; sleep 0.1; done
ADDR=$(sed -n 's/^listening on //p' "$WORK/server.out" | head -1)
[ -n "$ADDR" ] || { cat "$WORK/server.err"; exit 1; }
if [ "${AUTH:-bearer}" = x-api-key ]; then CRED="x-api-key: $KEY"; else CRED="authorization: Bearer $KEY"; fi
hdrs=(-H 'content-type: application/grpc' -H 'te: trailers' -H "$CRED")
URL="http://$ADDR/kato.v2.ObserveService/Observe"
h2load -d "$WORK/frame.bin" "${hdrs[@]}" -c 4 -m 64 -t 1 -n 2000 "$URL" > /dev/null
callgrind_control -z "$VPID" > /dev/null
h2load -d "$WORK/frame.bin" "${hdrs[@]}" -c 4 -m 64 -t 1 -n "$N" "$URL" | grep -E '^requests:' | sed 's/^/  /'
callgrind_control -d "$VPID" > "$WORK/control.out" 2>&1 || { echo "callgrind_control -d failed:"; cat "$WORK/control.out"; }
DUMP=$OUT.1
# The dump may still be being written when callgrind_control returns (several runs at once):
# wait for its closing "totals:" line before stopping the server.
for _ in $(seq 600); do grep -qs '^totals:' "$DUMP" && break; sleep 0.1; done
kill "$VPID"; wait "$VPID" 2>/dev/null || true
# awk reads to the end (an early exit would SIGPIPE callgrind_annotate and, with pipefail, end the script).
IR=$(callgrind_annotate "$DUMP" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(",", "", $1); print $1; done = 1}')
# The engine's share (inclusive Predictor.run), which still moves by a few thousand per call
# between runs with the allocator's state: "outside" is the rest (transport + interceptors).
ENGINE=$(callgrind_annotate --inclusive=yes "$DUMP" 2>/dev/null | awk '/PredictorV3run/ && !done {gsub(",", "", $1); print $1; done = 1}')
echo "profile: $DUMP"
echo "mode=$MODE${EXTRA:+ ($EXTRA)} Ir=$IR calls=$N Ir/call=$(python3 -c "print(round($IR / $N))") outside-Predictor.run/call=$(python3 -c "print(round(($IR - ${ENGINE:-0}) / $N))")"
