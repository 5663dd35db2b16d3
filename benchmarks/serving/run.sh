#!/usr/bin/env bash
# Serving benchmark (make bench-serving; issue 15 "Serving targets"; docs/BENCHMARKS.md "Serving").
#   1. sessions: 1,000,000 live sessions on one kato-server (RSS; create and observe rates at 100k and 1M)
#   2. fan-out: 1,000 sessions x 10 SubscribePredictions streams over 100 connections, predictions on,
#      a 1,000-pattern knowledge base, observes driving them; then the same with stuck subscribers;
#      against the C++ gRPC server-streaming echo (benchmarks/grpc/cpp) and grpch2-echo-server, same
#      client, same run, rounds alternating
#   3. c=1 m=1 unary latency: grpch2-echo-server vs the C++ echo server, alternating, medians
# All JSON lines go to .build/serving/results.jsonl; the summary is printed (paste it into
# docs/BENCHMARKS.md). ROUNDS (default 3), SESSIONS_CHECKPOINTS (default 100000,1000000),
# PARTS (default "sessions fanout latency"). KATO_BEFORE=path/to/another/kato-server: each fan-out round
# also runs that binary (recorded as server "kato-before") first, for a before/after in one run.
# The subscribers and the streaming references' readers are kato-serving-bench's counting client
# (raw HTTP/2, only each update's sequence read) unless RECEIVE=lean|full; the fan-out's observers
# are raw HTTP/2 unary calls (CountingObservers.swift) unless OBSERVE=grpc (GRPCClient).
# WRITE_DELAYS="2 5 10": each fan-out round also runs kato-server with --subscription-write-delay-ms
# set to each value (recorded as server "kato-delay-Nms"): the coalescing trade, delay against CPU.
# LATENCY_RT=1: the latency part runs both servers and h2load at real-time priority (chrt -f 20),
# so that other work on a shared machine does not delay their wake-ups (an idle machine's stand-in).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
ROUNDS=${ROUNDS:-3}
CHECKPOINTS=${SESSIONS_CHECKPOINTS:-100000,1000000}
PARTS=${PARTS:-sessions fanout latency}
RECEIVE=${RECEIVE:-counting}
OBSERVE=${OBSERVE:-counting}
H2LOAD_GRPC=${H2LOAD_GRPC:-/work/shared/bench/h2load-grpc.sh}
WORK=$ROOT/.build/serving
mkdir -p "$WORK"
RESULTS=$WORK/results.jsonl
: > "$RESULTS"

if [ -z "${SKIP_BUILD:-}" ]; then  # SKIP_BUILD=1: use the release binaries as they are
  for p in kato-server kato-serving-bench grpch2-echo-server; do
    swift build -c release --product "$p" 2>&1 | tail -1
  done
fi
BIN=${BIN:-$ROOT/.build/release}  # BIN=.build-NAME/release: binaries built with another scratch path
CPP_BIN=$("$ROOT/benchmarks/grpc/cpp/build.sh" "$WORK/cpp" | tail -1)
BENCH=$BIN/kato-serving-bench

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK/data"; }
trap cleanup EXIT
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
# start NAME CMD...: sets PID and PORT (the command gets the port as --port N, or as its last
# argument for the C++ server).
start() {
  local name=$1; shift
  local log=$WORK/$name.log
  for attempt in 1 2; do  # a second try on a fresh port: another process may take the free one first
    PORT=$(free_port)
    : > "$log"  # emptied here: the child's redirection may truncate it only after the first grep below
    if [ "$name" = cpp ]; then "$@" "$PORT" > "$log" 2>&1 & else "$@" --port "$PORT" > "$log" 2>&1 & fi
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 600); do grep -q '^listening on' "$log" && return; kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    echo "$name did not start (attempt $attempt, exit status $(kill -0 "$PID" 2>/dev/null && echo running || { wait "$PID"; echo $?; })):"; cat "$log"
    kill "$PID" 2>/dev/null || true
  done
  exit 1
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
kato() {
  local bin=${KATO_BIN:-$BIN/kato-server}
  rm -rf "$WORK/data"; mkdir -p "$WORK/data"
  start kato "$bin" --admin-port 0 --data-dir "$WORK/data" --log-level warning --max-sessions 1100000 --max-concurrent-calls 20000 "$@"
}
record() {  # part round server json...
  local part=$1 round=$2 server=$3; shift 3
  while read -r line; do
    echo "{\"part\": \"$part\", \"round\": $round, \"server\": \"$server\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"result\": $line}" | tee -a "$RESULTS"
  done
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), load $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ " $PARTS " == *" sessions "* ]]; then
  kato
  "$BENCH" sessions --port "$PORT" --server-pid "$PID" --checkpoints "$CHECKPOINTS" | tail -1 | record sessions 1 kato
  stop "$PID"
fi

if [[ " $PARTS " == *" fanout "* ]]; then
  for round in $(seq "$ROUNDS"); do
    if [ -n "${KATO_BEFORE:-}" ]; then
      KATO_BIN=$KATO_BEFORE kato
      "$BENCH" fanout --port "$PORT" --server-pid "$PID" --node "before-$round" --receive "$RECEIVE" --observe "$OBSERVE" | record fanout "$round" kato-before
      stop "$PID"
    fi
    kato
    "$BENCH" fanout --port "$PORT" --server-pid "$PID" --node "fanout-$round" --receive "$RECEIVE" --observe "$OBSERVE" | record fanout "$round" kato
    stop "$PID"
    for delay in ${WRITE_DELAYS:-}; do
      kato --subscription-write-delay-ms "$delay"
      "$BENCH" fanout --port "$PORT" --server-pid "$PID" --node "delay-$delay-$round" --receive "$RECEIVE" --observe "$OBSERVE" | record fanout "$round" "kato-delay-${delay}ms"
      stop "$PID"
    done
    kato
    BYTES=$(tail -1 "$RESULTS" | python3 -c "import json,sys; print(json.load(sys.stdin)['result']['update_bytes_mean'])")
    "$BENCH" fanout --port "$PORT" --server-pid "$PID" --node "stuck-$round" --stuck 100 --receive "$RECEIVE" --observe "$OBSERVE" | record fanout-stuck "$round" kato
    stop "$PID"
    start cpp "$CPP_BIN"
    "$BENCH" stream --port "$PORT" --server-pid "$PID" --payload "$BYTES" --receive "$RECEIVE" | record stream "$round" cpp
    stop "$PID"
    start ours "$BIN/grpch2-echo-server"
    "$BENCH" stream --port "$PORT" --server-pid "$PID" --payload "$BYTES" --receive "$RECEIVE" | record stream "$round" ours
    stop "$PID"
  done
fi

if [[ " $PARTS " == *" latency "* ]]; then
  REQ=$WORK/req32.bin
  python3 -c "import sys; p=b'x'*32; sys.stdout.buffer.write(bytes([0x12, len(p)]) + p)" > "$REQ"
  RT=(); [ -n "${LATENCY_RT:-}" ] && RT=(chrt -f 20)
  start cpp "${RT[@]}" "$CPP_BIN"; CPP_PID=$PID CPP_PORT=$PORT
  start ours "${RT[@]}" "$BIN/grpch2-echo-server"; OURS_PID=$PID OURS_PORT=$PORT
  for round in $(seq $((ROUNDS * 2))); do
    if [ $((round % 2)) = 1 ]; then order="ours cpp"; else order="cpp ours"; fi
    for s in $order; do
      if [ "$s" = ours ]; then port=$OURS_PORT; else port=$CPP_PORT; fi
      line=$("${RT[@]}" "$H2LOAD_GRPC" -c 1 -m 1 -n 20000 -w 2000 "127.0.0.1:$port" /grpch2.test.Echo/Unary "$REQ" | grep '^RESULT')
      python3 -c "import sys,json,re; d=dict(re.findall(r'(\w+)=([0-9.]+)', sys.argv[1])); print(json.dumps(d))" "$line" | record latency "$round" "$s"
    done
  done
fi

python3 "$ROOT/benchmarks/serving/summary.py" "$RESULTS"
