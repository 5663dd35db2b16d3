#!/usr/bin/env bash
# Runs callgrind.sh for off, on and on with each interceptor left out (three at a time: the
# counts do not depend on the machine's load) and writes the table that run.sh --write puts in
# docs/BENCHMARKS.md: benchmarks/interceptors/callgrind-results.md.
#
#   benchmarks/interceptors/callgrind-all.sh [N]   (N calls per mode, 10000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${1:-10000}
SCRATCH=${SCRATCH:-.build-obs}
swift build -c release --scratch-path "$SCRATCH" --product kato-server >&2
OUT=$(mktemp -d "${TMPDIR:-/tmp}/kato-callgrind-all.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$OUT"' EXIT  # KEEP=1 keeps the raw outputs
NORL="--rate-limit-principal-rate 0 --rate-limit-session-rate 0 --max-concurrent-calls 0"
# label|mode|EXTRA|AUTH
RUNS=(
  "off (\`--disable-interceptors\`)|off||"
  "on|on||"
  "on, \`x-api-key\` instead of \`authorization: Bearer\`|on||x-api-key"
  "on without the access-log line|on-nolog||"
  "on without authentication|noauth||"
  "on without rate limits|on|$NORL|"
  "on without metrics|on|--metrics false|"
  "trace id, record and trailer only (no auth, rate limits, metrics or access log)|noauth|--metrics false --access-log-level off $NORL|"
)
i=0
for run in "${RUNS[@]}"; do
  IFS='|' read -r label mode extra auth <<< "$run"
  (TAG="all$i" EXTRA="$extra" AUTH="${auth:-bearer}" benchmarks/interceptors/callgrind.sh "$mode" "$N" \
    > "$OUT/$i.out" 2>&1 || { echo "callgrind.sh $mode failed:" >&2; cat "$OUT/$i.out" >&2; }) &
  i=$((i + 1))
  if (( i % 3 == 0 )); then wait; fi
done
wait
value() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$OUT/$1.out" | tail -1; }
OFF_TOTAL=$(value 0 'Ir\/call') OFF_OUT=$(value 0 'outside-Predictor.run\/call')
{
  echo "| configuration | instructions per call | outside \`Predictor.run\` | vs off, outside |"
  echo "|---|---:|---:|---:|"
  i=0
  for run in "${RUNS[@]}"; do
    IFS='|' read -r label _ <<< "$run"
    total=$(value $i 'Ir\/call') outside=$(value $i 'outside-Predictor.run\/call')
    delta=$(awk -v a="$outside" -v b="$OFF_OUT" 'BEGIN {d=a-b; printf "%s%.1fk", (d>=0?"+":""), d/1000}')
    awk -v l="$label" -v t="$total" -v o="$outside" -v d="$delta" 'BEGIN {printf "| %s | %.1fk | %.1fk | %s |\n", l, t/1000, o/1000, d}'
    i=$((i + 1))
  done
  echo
  echo "(\`benchmarks/interceptors/callgrind-all.sh $N\` at $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ); off total $OFF_TOTAL.)"
} > benchmarks/interceptors/callgrind-results.md
cat benchmarks/interceptors/callgrind-results.md
