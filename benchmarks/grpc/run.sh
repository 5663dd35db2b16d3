#!/usr/bin/env bash
# Transport benchmark (make bench-grpc): grpch2-echo-server against a C++ gRPC server (callback
# API, Debian's libgrpc++) on the same unary echo, same load, same machine, in one run.
#
#   benchmarks/grpc/run.sh            ROUNDS=5 by default (each configuration, alternating servers)
#   OURS_BIN=...                      measure this grpch2-echo-server instead of building one
#   BEFORE_BIN=...                    also measure another grpch2-echo-server ("before": e.g. a
#                                     build of main) in the same rounds, alternating with the
#                                     others; the section is then printed, not written
#
# Load: /work/shared/bench/h2load-grpc.sh (override with H2LOAD_GRPC=...), method
# /grpch2.test.Echo/Unary, request = EchoRequest{payload: 32 bytes}.
#   throughput: -c 4 -m 64 -n 400000 -w 50000      latency: -c 1 -m 1 -n 20000
# Server CPU per call = (utime+stime of the server process, from /proc/PID/stat, read right
# before and right after one h2load-grpc.sh invocation) / (n + w): the warm-up requests run
# inside the measured window, so they are counted. Medians over ROUNDS runs are reported.
# Writes the section between <!-- grpc-bench:start --> and <!-- grpc-bench:end --> of
# docs/BENCHMARKS.md (created if missing). Bounded: ~2-4 minutes once built.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
ROUNDS=${ROUNDS:-5}
H2LOAD_GRPC=${H2LOAD_GRPC:-/work/shared/bench/h2load-grpc.sh}
WORK=$ROOT/.build/bench-grpc
DOC=$ROOT/docs/BENCHMARKS.md
METHOD=/grpch2.test.Echo/Unary
THROUGHPUT_ARGS=(-c 4 -m 64 -n 400000 -w 50000)
LATENCY_ARGS=(-c 1 -m 1 -n 20000)
mkdir -p "$WORK"

# ---- 1. dependencies (apt-get only for what is missing) -------------------------------------
missing=()
for pkg in libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev nghttp2-client pkg-config g++; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get install -y "${missing[@]}" || { $SUDO apt-get update && $SUDO apt-get install -y "${missing[@]}"; }
fi
[ -x "$H2LOAD_GRPC" ] || { echo "load helper not found: $H2LOAD_GRPC" >&2; exit 1; }

# ---- 2./3. build both servers ---------------------------------------------------------------
echo "building the C++ gRPC echo server"
CPP_BIN=$("$ROOT/benchmarks/grpc/cpp/build.sh" "$WORK/cpp" | tail -1)
if [ -z "${OURS_BIN:-}" ]; then
  echo "building grpch2-echo-server (release)"
  swift build -c release --product grpch2-echo-server 2>&1 | tail -1
  OURS_BIN=$(swift build -c release --show-bin-path)/grpch2-echo-server
fi
SERVERS=(ours cpp)
[ -z "${BEFORE_BIN:-}" ] || SERVERS=(before ours cpp)

# EchoRequest{payload (field 2, bytes) = 32 x 'x'}: tag 0x12, length 32, payload.
REQ=$WORK/req32.bin
python3 -c "import sys; p=b'x'*32; sys.stdout.buffer.write(bytes([0x12, len(p)]) + p)" > "$REQ"

# ---- servers ----------------------------------------------------------------------------------
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
declare -A PID PORT
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_server() {  # name command...
  local name=$1; shift
  local port; port=$(free_port)
  local log=$WORK/$name.log
  if [ "$name" = cpp ]; then "$@" "$port" > "$log" 2>&1 & else "$@" --port "$port" > "$log" 2>&1 & fi
  local pid=$!
  PIDS+=("$pid")
  # Up to 30 s: on a loaded machine the C++ server once took over 10 s to print its address.
  for _ in $(seq 300); do grep -q '^listening on' "$log" && break; sleep 0.1; done
  grep -q '^listening on' "$log" || { echo "$name did not start:"; cat "$log"; exit 1; }
  PID[$name]=$pid PORT[$name]=$port
}
start_server ours "$OURS_BIN"
[ -z "${BEFORE_BIN:-}" ] || start_server before "$BEFORE_BIN"
start_server cpp "$CPP_BIN"

# ---- correctness, once per server, with real clients -------------------------------------------
FRAME=$WORK/frame.bin
{ printf '\000\000\000\000'; printf "\\$(printf '%03o' "$(wc -c < "$REQ")")"; cat "$REQ"; } > "$FRAME"
for s in "${SERVERS[@]}"; do
  out=$(nghttp -v -d "$FRAME" -H 'content-type: application/grpc' -H 'te: trailers' \
          "http://127.0.0.1:${PORT[$s]}$METHOD" 2>&1 | tr -d '\000' || true)
  echo "$out" | grep -aq 'grpc-status: 0' || { echo "$s: nghttp did not get grpc-status: 0"; echo "$out" | tail -20; exit 1; }
  echo "$s: nghttp -> grpc-status: 0"
  if [ -x "$ROOT/.venv/bin/python" ]; then
    PYTHONPATH=$ROOT/Tests/python "$ROOT/.venv/bin/python" - "${PORT[$s]}" <<'EOF'
import sys, grpc
from echo_pb.grpch2.test import echo_pb2, echo_pb2_grpc
with grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}") as ch:
    reply, call = echo_pb2_grpc.EchoStub(ch).Unary.with_call(echo_pb2.EchoRequest(payload=b"x" * 32), timeout=10)
assert call.code() == grpc.StatusCode.OK and reply.payload == b"x" * 32, (call.code(), reply)
print("  grpcio Unary -> OK, payload echoed")
EOF
  fi
done

# ---- measurement ------------------------------------------------------------------------------
TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
RESULTS=$WORK/results.tsv   # config server round rps p50_us p99_us cpu_us_per_call loadgen_cpu_s
: > "$RESULTS"

run_one() {  # config server round args...
  local config=$1 server=$2 round=$3; shift 3
  local n w=0 a=("$@") i
  for ((i = 0; i < ${#a[@]}; i++)); do
    case ${a[i]} in -n) n=${a[i+1]};; -w) w=${a[i+1]};; esac
  done
  local pid=${PID[$server]} t0 t1 out lg
  t0=$(cpu_ticks "$pid")
  lg=$( { TIMEFORMAT='%U %S'; time "${H2PREFIX[@]}" "$H2LOAD_GRPC" "$@" "127.0.0.1:${PORT[$server]}" "$METHOD" "$REQ" > "$WORK/run.out"; } 2>&1 )
  t1=$(cpu_ticks "$pid")
  out=$(grep '^RESULT' "$WORK/run.out")
  grep -q 'status codes: [0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx' "$WORK/run.out" || { echo "non-2xx responses:"; cat "$WORK/run.out"; exit 1; }
  local rps p50 p99 cpu lgcpu
  rps=$(sed -E 's/.* rps=([0-9.]+).*/\1/' <<< "$out")
  p50=$(sed -E 's/.* p50=([0-9]+)us.*/\1/' <<< "$out")
  p99=$(sed -E 's/.* p99=([0-9]+)us.*/\1/' <<< "$out")
  cpu=$(python3 -c "print('%.3f' % (($t1 - $t0) / $TCK / ($n + $w) * 1e6))")
  lgcpu=$(awk '{printf "%.2f", $1 + $2}' <<< "$lg")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$config" "$server" "$round" "$rps" "$p50" "$p99" "$cpu" "$lgcpu" >> "$RESULTS"
  printf '  %-10s %-4s round %s: rps=%-9s p50=%6sus p99=%6sus server CPU/call=%6sus loadgen CPU=%ss\n' \
    "$config" "$server" "$round" "$rps" "$p50" "$p99" "$cpu" "$lgcpu"
}

# "pinned": the same throughput load with the server's threads on core 0 and h2load on core 1,
# so neither server competes with the load generator for a core (on 2 cores, unpinned, the
# faster server leaves more CPU to h2load, and h2load's one thread caps what it can show).
H2PREFIX=()
run_pinned() {  # server round args...
  local pid=${PID[$1]} last=$(( $(nproc) - 1 ))
  taskset -a -p -c 0 "$pid" > /dev/null
  H2PREFIX=(taskset -c "$last")
  run_one pinned "$@"
  H2PREFIX=()
  taskset -a -p -c "0-$last" "$pid" > /dev/null
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u +%Y-%m-%dT%H:%MZ)
for round in $(seq "$ROUNDS"); do
  # Alternate which server goes first, so neither always runs right after the other.
  order=("${SERVERS[@]}")
  if [ $((round % 2)) = 0 ]; then order=(); for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do order+=("${SERVERS[i]}"); done; fi
  for s in "${order[@]}"; do run_one throughput "$s" "$round" "${THROUGHPUT_ARGS[@]}"; done
  for s in "${order[@]}"; do run_one latency "$s" "$round" "${LATENCY_ARGS[@]}"; done
  for s in "${order[@]}"; do run_pinned "$s" "$round" "${THROUGHPUT_ARGS[@]}"; done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -------------------------------------------------------------------------------------
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
SECTION=$(python3 - "$RESULTS" <<EOF
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    c, s, r, rps, p50, p99, cpu, lg = line.split('\t')
    rows[(c, s)].append(dict(rps=float(rps), p50=float(p50), p99=float(p99), cpu=float(cpu), lg=float(lg)))
med = lambda c, s, k: statistics.median(x[k] for x in rows[(c, s)])
name = {'ours': 'GRPCH2 (grpch2-echo-server)', 'cpp': 'C++ gRPC 1.51, callback API', 'before': 'GRPCH2 before (BEFORE_BIN)'}
servers = [s for s in ('before', 'ours', 'cpp') if (('throughput', s) in rows)]
out = []
P = out.append
P('## Transport: GRPCH2 vs C++ gRPC (unary echo)')
P('')
P('Generated by \`make bench-grpc\` (benchmarks/grpc/run.sh) on $START, $ROUNDS rounds per configuration, servers alternating.')
P('')
P('- Machine: ' + '$(nproc)' + ' cores ($CPU_MODEL), **shared with the load generator** (h2load runs on the same 2 cores); load average at start / end: $LOAD_START / $LOAD_END.')
P('- Method \`$METHOD\`, request \`EchoRequest{payload: 32 bytes}\` (34-byte message, 39 bytes framed), plaintext h2c over loopback, both servers at MAX_CONCURRENT_STREAMS 1000.')
P('- Throughput: \`h2load-grpc.sh ${THROUGHPUT_ARGS[*]} HOST:PORT $METHOD req32.bin\`; latency: \`h2load-grpc.sh ${LATENCY_ARGS[*]} ...\`.')
P('- Pinned: the throughput load again with every server thread on core 0 (\`taskset -a -p -c 0 PID\`) and h2load on core 1 (\`taskset -c 1\`): one core each for server and load generator, the same for both servers.')
P('- Server CPU per call: utime+stime of the server process (/proc/PID/stat) across one h2load-grpc.sh invocation, divided by all requests it sent (warm-up included). "Load generator CPU": h2load plus the helper script, same window.')
P('- Correctness checked once per server before measuring: \`nghttp -v\` sees \`grpc-status: 0\`, and grpcio gets OK with the payload echoed (h2load itself only sees HTTP 200).')
P('')
for c, title in (('throughput', 'Throughput, c=4 m=64 (medians)'), ('latency', 'Latency, c=1 m=1 (medians)'),
                 ('pinned', 'Throughput, c=4 m=64, server pinned to core 0 and h2load to core 1 (medians)')):
    P('### ' + title)
    P('')
    P('| server | rps | p50 (µs) | p99 (µs) | server CPU per call (µs) | load generator CPU (s) |')
    P('|---|---:|---:|---:|---:|---:|')
    for s in servers:
        P('| %s | %.0f | %.0f | %.0f | %.2f | %.2f |' % (name[s], med(c, s, 'rps'), med(c, s, 'p50'), med(c, s, 'p99'), med(c, s, 'cpu'), med(c, s, 'lg')))
    P('')
    rr = med(c, 'ours', 'rps') / med(c, 'cpp', 'rps')
    cr = med(c, 'ours', 'cpu') / med(c, 'cpp', 'cpu')
    pr = med(c, 'ours', 'p99') / med(c, 'cpp', 'p99')
    P('Ratios (ours / C++): **rps %.2fx**, **CPU per call %.2fx**, **p99 %.2fx**, p50 %.2fx.' % (rr, cr, pr, med(c, 'ours', 'p50') / med(c, 'cpp', 'p50')))
    P('')
    if 'before' in servers:
        P('After / before (ours / BEFORE_BIN): rps %.3fx, CPU per call %.3fx, p99 %.3fx, p50 %.3fx.' % tuple(
            med(c, 'ours', k) / med(c, 'before', k) for k in ('rps', 'cpu', 'p99', 'p50')))
        P('')
    verdict = lambda ok: 'met' if ok else '**not met**'
    P('Against the targets: rps >= 2x %s; CPU per call <= 0.33x %s; p99 <= 1x %s.' % (verdict(rr >= 2), verdict(cr <= 1 / 3), verdict(pr <= 1)))
    P('')
P('Targets (issue): rps >= 2x C++, CPU per call <= 1/3 of C++ (0.33x), p99 no worse (<= 1x), at c=4 m=64.')
P('')
P('<details><summary>Every run</summary>')
P('')
P('| config | server | round | rps | p50 (µs) | p99 (µs) | CPU/call (µs) |')
P('|---|---|---:|---:|---:|---:|---:|')
for line in open(sys.argv[1]):
    c, s, r, rps, p50, p99, cpu, lg = line.strip().split('\t')
    P('| %s | %s | %s | %.0f | %s | %s | %s |' % (c, s, r, float(rps), p50, p99, cpu))
P('')
P('</details>')
print('\n'.join(out))
EOF
)
echo
echo "$SECTION"

[ -z "${BEFORE_BIN:-}" ] || { echo "(BEFORE_BIN set: $DOC not written)"; exit 0; }
mkdir -p "$(dirname "$DOC")"
[ -f "$DOC" ] || printf '# Benchmarks\n\n' > "$DOC"
python3 - "$DOC" "$SECTION" <<'EOF'
import sys, re
path, section = sys.argv[1], sys.argv[2]
start, end = '<!-- grpc-bench:start -->', '<!-- grpc-bench:end -->'
text = open(path).read()
block = start + '\n' + section + '\n' + end
if start in text and end in text:
    text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip('\n') + '\n\n' + block + '\n'
open(path, 'w').write(text)
EOF
echo "wrote $DOC"
