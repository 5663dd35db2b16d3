#!/usr/bin/env bash
# Deterministic cost per call of grpch2-echo-server: instructions (valgrind callgrind) per
# unary echo at h2load -c 4 -m 64, so runtime changes can be compared on a noisy machine
# (no hardware counters for perf here, and wall-clock numbers move with the neighbours).
#
#   [C=4 M=64] benchmarks/grpc/callgrind.sh [BIN] [N]   BIN: release grpch2-echo-server, N: calls (20000)
#
# Counters are zeroed after a warm-up of 2000 calls and dumped right after the N calls, so
# start-up and shutdown are not counted. Prints "Ir/call"; the profile stays in
# .build/callgrind/ (callgrind_annotate it). Workarounds for valgrind 3.19: the binary is
# copied without its DWARF 5 debug info (which valgrind cannot read), and a preloaded shim
# gives libdispatch's sigsuspend a writable mask (see callgrind/sigsuspend_shim.c).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/.build/release/grpch2-echo-server}
N=${2:-20000}
C=${C:-4} M=${M:-64}  # h2load clients and streams per client
WORK=$ROOT/.build/callgrind
mkdir -p "$WORK"
gcc -shared -fPIC -O2 -o "$WORK/sigsuspend_shim.so" "$ROOT/benchmarks/grpc/callgrind/sigsuspend_shim.c"
STAMP=$(date +%H%M%S)
SERVER=$WORK/server-$STAMP
cp "$BIN" "$SERVER" && strip --strip-debug "$SERVER"
REQ=$WORK/req32.bin
python3 -c "import sys; p=b'x'*32; sys.stdout.buffer.write(bytes([0x12, len(p)]) + p)" > "$REQ"
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
OUT=$WORK/callgrind.out.$STAMP
LD_PRELOAD=$WORK/sigsuspend_shim.so valgrind --tool=callgrind --callgrind-out-file="$OUT" \
  "$SERVER" --port "$PORT" > "$WORK/server.log" 2>&1 &
VPID=$!
trap 'kill $VPID 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q '^listening on' "$WORK/server.log" && break; sleep 0.1; done
grep -q '^listening on' "$WORK/server.log" || { cat "$WORK/server.log"; exit 1; }
H=/work/shared/bench/h2load-grpc.sh
"$H" -c "$C" -m "$M" -n 2000 "127.0.0.1:$PORT" /grpch2.test.Echo/Unary "$REQ" > /dev/null
callgrind_control -z "$VPID" > /dev/null
"$H" -c "$C" -m "$M" -n "$N" "127.0.0.1:$PORT" /grpch2.test.Echo/Unary "$REQ" | grep -E '^RESULT|status codes' | sed 's/^/  /'
callgrind_control -d "$VPID" > /dev/null
kill "$VPID"; wait "$VPID" 2>/dev/null || true
rm -f "$SERVER"
# The explicit dump (part .1) holds exactly the N calls.
DUMP=$OUT.1
IR=$(callgrind_annotate "$DUMP" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(",", "", $1); print $1; done = 1}')
echo "profile: $DUMP"
echo "Ir=$IR calls=$N Ir/call=$(python3 -c "print(round($IR / $N))")"
