#!/usr/bin/env bash
# Store benchmarks (docs/BENCHMARKS.md, store section): durable learns/s at the store with
# concurrent writers, end to end over gRPC, and startup time with 100k / 1M patterns.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${SCRATCH:-.build}
swift build -c release --scratch-path "$SCRATCH" --product kato-server >/dev/null
B=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/kato-server
T=$(mktemp -d)
for w in 1 64 256; do
  "$B" bench-store --data-dir "$T/w$w" --writers "$w" --learns $([ "$w" = 1 ] && echo 500 || echo 100000)
done
for n in 100000 1000000; do
  "$B" bench-store --data-dir "$T/s$n" --startup-patterns "$n"
  .venv/bin/python - "$B" "$T/s$n" <<'PY'
import subprocess, sys, time
t = time.time()
p = subprocess.Popen([sys.argv[1], "--port", "0", "--data-dir", sys.argv[2], "--log-level", "warning"], stdout=subprocess.PIPE, text=True)
p.stdout.readline()
print(f"kato-server SERVING after {time.time() - t:.2f} s ({sys.argv[2]})")
p.terminate(); p.wait()
PY
done
.venv/bin/python benchmarks/store/e2e_learns.py "$B" 64 10
rm -rf "$T"
