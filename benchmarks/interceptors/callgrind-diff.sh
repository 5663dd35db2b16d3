#!/usr/bin/env bash
# Where the interceptors' instructions went, by function: the self cost per call of each
# function in (on − off) of the "after" build minus (on − off) of the "before" build, from the
# profiles callgrind.sh leaves (both threads' dumps of each run). Subtracting the off rows leaves
# out the per-call work that is not the interceptors' (the engine, the transport).
#
#   benchmarks/interceptors/callgrind-diff.sh BEFORE_ON BEFORE_OFF AFTER_ON AFTER_OFF [N] [MIN]
#     *_ON / *_OFF: a callgrind.out.* path without its ".1" (the run's two dumps are summed);
#     N: calls of the runs (10000); MIN: smallest |change| printed (40 instructions per call)
# Prints "change before after function" (instructions per call), demangled, largest first.
# ICF-merged value witnesses keep one arbitrary name ("destroy for ClosedRange<>.Index",
# "outlined destroy of ServerInterceptor?"): follow them with `callgrind_annotate --tree=caller`.
set -euo pipefail
BON=${1:?usage: callgrind-diff.sh BEFORE_ON BEFORE_OFF AFTER_ON AFTER_OFF [N] [MIN]} BOFF=${2:?} AON=${3:?} AOFF=${4:?}
N=${5:-10000} MIN=${6:-40}
self_costs() {  # exclusive Ir per function, both dumps of one run
  for f in "$1" "$1.1"; do [ -f "$f" ] && callgrind_annotate --threshold=100 "$f"; done |
    awk '/^ *[0-9,]+ +\(/ && /:/ {n=$1; gsub(",", "", n); s=$0; sub(/^[^:]*:/, "", s); sub(/ \[.*$/, "", s); a[s]+=n}
         END {for (k in a) print a[k] "\t" k}'
}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
self_costs "$BON" > "$TMP/bon"; self_costs "$BOFF" > "$TMP/boff"
self_costs "$AON" > "$TMP/aon"; self_costs "$AOFF" > "$TMP/aoff"
awk -F'\t' -v n="$N" -v min="$MIN" '
  FILENAME ~ /bon$/ {bon[$2] = $1; k[$2]; next} FILENAME ~ /boff$/ {boff[$2] = $1; k[$2]; next}
  FILENAME ~ /aon$/ {aon[$2] = $1; k[$2]; next} {aoff[$2] = $1; k[$2]}
  END {
    for (s in k) {
      if (s ~ /start_thread|ThreadOpsPosix|setupThread|NIOThreadC/) continue  # callgrind counts thread roots as self
      b = (bon[s] - boff[s]) / n; a = (aon[s] - aoff[s]) / n
      if (a - b >= min || b - a >= min) printf "%7.0f %7.0f %7.0f\t%s\n", a - b, b, a, s
    }
  }' "$TMP/bon" "$TMP/boff" "$TMP/aon" "$TMP/aoff" | sort -rn | swift demangle --simplified | cut -c1-200
