#!/usr/bin/env bash
# The web protocols' cost next to gRPC's: unary Observe over gRPC (binary, h2c), Connect JSON,
# Connect binary and gRPC-Web binary (over h2c and over HTTP/1.1), against one release
# kato-server, rounds interleaving the modes. For each mode: requests per second and the
# server's CPU per call (utime + stime from /proc/PID/stat over the round / calls answered).
# Same concurrency in every mode: 64 calls in flight (h2c: 4 connections x 16 streams;
# HTTP/1.1, which has one request in flight per connection: 64 connections).
#
# Load: h2load (nghttp2-client) sending ObserveRequest{node_id: "bench", strings: ["hello",
# "world"]} to the node's default session, in each protocol's form. h2load counts HTTP statuses
# only (gRPC and gRPC-Web carry theirs in trailers), so every mode's request is first checked
# once with a reading client (grpcio for gRPC; the status in the body or header otherwise).
#
# Usage: benchmarks/web/run.sh [--write]   (--write updates docs/BENCHMARKS.md)
# Env: ROUNDS (3), N (100000 requests per mode and round), W (10000 warm-up),
#      SCRATCH (.build: the swift build scratch path), SKIP_BUILD (0), MODES (all)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
ROUNDS=${ROUNDS:-3} N=${N:-100000} W=${W:-10000}
SCRATCH=${SCRATCH:-.build}
PY=${PY:-$ROOT/.venv/bin/python}
MODES=${MODES:-"grpc connect-json connect-proto grpc-web connect-json-h1 grpc-web-h1"}
command -v h2load >/dev/null || { echo "h2load not found (apt-get install nghttp2-client)" >&2; exit 1; }

[ "${SKIP_BUILD:-0}" = 1 ] || swift build -c release --scratch-path "$SCRATCH" --product kato-server >&2
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/kato-server"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kato-web-bench.XXXXXX")
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
SERVER_PID=

# The four bodies: gRPC and gRPC-Web share the 5-byte envelope; Connect unary is the bare message.
PYTHONPATH="$ROOT/clients/python" "$PY" - "$WORK" <<'PYEOF'
import json, struct, sys
from kato_client._pb.kato.v2 import observe_pb2
work = sys.argv[1]
msg = observe_pb2.ObserveRequest(node_id="bench", strings=["hello", "world"]).SerializeToString()
open(f"{work}/framed.bin", "wb").write(b"\0" + struct.pack(">I", len(msg)) + msg)
open(f"{work}/bare.bin", "wb").write(msg)
open(f"{work}/body.json", "w").write(json.dumps({"nodeId": "bench", "strings": ["hello", "world"]}))
PYEOF

: > "$WORK/out"
KATO_IN_MEMORY=1 "$BIN" --port 0 --admin-port 0 >> "$WORK/out" 2> "$WORK/err" &
SERVER_PID=$!
ADDR=
for _ in $(seq 100); do
  ADDR=$(sed -n 's/^listening on //p' "$WORK/out" | head -1)
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { echo "server did not start" >&2; cat "$WORK/err" >&2; exit 1; }
URL="http://$ADDR/kato.v2.ObserveService/Observe"

# mode → h2load arguments in ARGS (body, headers, connections/streams, protocol)
args_for() {
  case $1 in
    grpc)            ARGS=(-d "$WORK/framed.bin" -H 'content-type: application/grpc' -H 'te: trailers' -c 4 -m 16) ;;
    connect-json)    ARGS=(-d "$WORK/body.json" -H 'content-type: application/json' -c 4 -m 16) ;;
    connect-proto)   ARGS=(-d "$WORK/bare.bin" -H 'content-type: application/proto' -c 4 -m 16) ;;
    grpc-web)        ARGS=(-d "$WORK/framed.bin" -H 'content-type: application/grpc-web+proto' -c 4 -m 16) ;;
    connect-json-h1) ARGS=(--h1 -d "$WORK/body.json" -H 'content-type: application/json' -c 64 -m 1) ;;
    grpc-web-h1)     ARGS=(--h1 -d "$WORK/framed.bin" -H 'content-type: application/grpc-web+proto' -c 64 -m 1) ;;
    *) echo "unknown mode $1" >&2; exit 2 ;;
  esac
}

# Each mode's call answered OK, read by a client that reads statuses.
PYTHONPATH="$ROOT/clients/python" "$PY" - "$ADDR" "$WORK" <<'PYEOF'
import http.client, json, struct, sys
import grpc
from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc
addr, work = sys.argv[1], sys.argv[2]
with grpc.insecure_channel(addr) as ch:
    observe_pb2_grpc.ObserveServiceStub(ch).Observe(observe_pb2.ObserveRequest(node_id="bench", strings=["hello", "world"]))
host, port = addr.rsplit(":", 1)
def call(body, ctype):
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("POST", "/kato.v2.ObserveService/Observe", body=body, headers={"content-type": ctype})
    r = c.getresponse()
    return r.status, r.read()
s, b = call(open(f"{work}/body.json", "rb").read(), "application/json")
assert s == 200 and "sessionId" in json.loads(b), (s, b)
s, b = call(open(f"{work}/bare.bin", "rb").read(), "application/proto")
assert s == 200 and observe_pb2.ObserveResponse.FromString(b).session_id, (s, b)
s, b = call(open(f"{work}/framed.bin", "rb").read(), "application/grpc-web+proto")
assert s == 200 and b"grpc-status:0" in b, (s, b)
print("checked: every mode's Observe answers OK", file=sys.stderr)
PYEOF

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

for mode in $MODES; do
  args_for "$mode"
  h2load "${ARGS[@]}" -n "$W" "$URL" > /dev/null
done
: > "$WORK/results"
for round in $(seq "$ROUNDS"); do
  for mode in $MODES; do
    before=$(cpu_ticks)
    args_for "$mode"
    h2load "${ARGS[@]}" -n "$N" "$URL" > "$WORK/h2load.out"
    after=$(cpu_ticks)
    rps=$(awk '/^finished in/ {print $4}' "$WORK/h2load.out")
    ok=$(awk '/^status codes:/ {print $3}' "$WORK/h2load.out")
    [ "$ok" = "$N" ] || { echo "$mode: only $ok of $N answered 2xx" >&2; cat "$WORK/h2load.out" >&2; exit 1; }
    cpu_us=$(( (after - before) * TICK_US / N ))
    echo "$mode $round $rps $cpu_us" | tee -a "$WORK/results" >&2
  done
done

# Medians per mode, and each mode's CPU per call relative to gRPC's.
TABLE=$(awk -v modes="$MODES" '
  { rps[$1] = rps[$1] " " $3; cpu[$1] = cpu[$1] " " $4 }
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    split(modes, m, " ")
    base = median(cpu["grpc"])
    print "| mode | rps (median) | server CPU per call (µs, median) | CPU per call vs gRPC |"
    print "|---|---|---|---|"
    for (i = 1; m[i] != ""; i++) {
      c = median(cpu[m[i]])
      printf "| %s | %.0f | %d | %.2f× |\n", m[i], median(rps[m[i]]), c, (base > 0 ? c / base : 0)
    }
  }' "$WORK/results")
echo "$TABLE"

if [ "${1:-}" = "--write" ]; then
  STAMP=$(date -u +%Y-%m-%dT%H:%MZ)
  BLOCK=$(printf '%s\n\n%s\n\n%s\n' \
    "Generated by \`benchmarks/web/run.sh --write\` on $STAMP at $(git rev-parse --short HEAD): $ROUNDS rounds per mode, interleaved, $N requests each after $W warm-up; 64 calls in flight in every mode (h2c: 4 connections × 16 streams; HTTP/1.1: 64 connections); release build, in-memory store, interceptors at their defaults. \`-h1\` modes are HTTP/1.1, the others h2c." \
    "$TABLE" \
    "CPU per call is the server process's utime + stime over the round (from /proc, 10 ms ticks) divided by the calls answered; the machine is shared and noisy, so the ratios in one run count, not the absolute numbers.")
  "$PY" - "$ROOT/docs/BENCHMARKS.md" "$BLOCK" <<'PYEOF'
import sys
path, block = sys.argv[1], sys.argv[2]
text = open(path).read()
start, end = "<!-- web-bench:start -->", "<!-- web-bench:end -->"
section = f"{start}\n{block}\n{end}"
if start in text:
    text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
else:
    text += f"\n## Web protocols: Connect and gRPC-Web next to gRPC (issue 17)\n\n{section}\n"
open(path, "w").write(text)
PYEOF
fi
