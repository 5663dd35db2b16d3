#!/usr/bin/env bash
# make fuzz: builds each fuzz target with libFuzzer + AddressSanitizer (+ UBSan on the C code)
# in .build-fuzz and runs it for a bounded time, then minimises what it found into a corpus.
#
#   Fuzz/scripts/run.sh [target ...]          # default: every target, FUZZ_SECONDS (60) each
#   FUZZ_SECONDS=3600 Fuzz/scripts/run.sh connection
#   FUZZ_RUNS=1000000 Fuzz/scripts/run.sh record-codec     # a number of executions instead
#   FUZZ_UPDATE_CORPUS=1 ...                  # replace Fuzz/Corpus/<target> by the minimised corpus
#
# Findings (crash-*, leak-*, timeout-*, oom-*) land in .build-fuzz/artifacts/<target>/ and the
# script fails. A fixed finding is committed to Fuzz/Crashes/<target>/ with a named regression
# test: KatoFuzzTests replays it in `make test` (docs/FUZZING.md).
#
# KNOWN PROBLEM (docs/FUZZING.md, "Open problem"): with SwiftPM 6.3.1 the Swift objects of this
# build carry ASan but no SanitizerCoverage, so libFuzzer is guided by C edges only.
set -euo pipefail
cd "$(dirname "$0")/../.."

SCRATCH=.build-fuzz
# UBSan: swiftc has no -sanitize=undefined on Linux, so it covers the C targets only (clang's
# -fsanitize=undefined through -Xcc; its handlers come with the ASan runtime).
BUILD=(swift build -c debug --sanitize=fuzzer --sanitize=address
       -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined --scratch-path "$SCRATCH")
ALL=(connection grpc-messages proto-json config-files record-codec)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL[@]}")

product() {
    case "$1" in
        connection) echo FuzzConnection ;;
        grpc-messages) echo FuzzGRPCMessages ;;
        proto-json) echo FuzzProtoJSON ;;
        config-files) echo FuzzConfigFiles ;;
        record-codec) echo FuzzRecordCodec ;;
        *) echo "unknown fuzz target: $1" >&2; exit 2 ;;
    esac
}

# Per target: -max_len (bytes) and -rss_limit_mb. A connection input is a whole client session.
max_len() { case "$1" in connection) echo 16384 ;; grpc-messages|proto-json) echo 8192 ;; *) echo 4096 ;; esac; }
rss_limit() { case "$1" in connection) echo 3072 ;; *) echo 2048 ;; esac; }

export SWIFT_BACKTRACE=enable=no   # a crashing Swift target otherwise hangs in the backtracer
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

BIN=$("${BUILD[@]}" --show-bin-path)
status=0
for t in "${targets[@]}"; do
    p=$(product "$t")
    "${BUILD[@]}" --product "$p" 2>&1 | grep -v "Cannot export local symbol" | tail -n 3
    work="$SCRATCH/corpus/$t"; merged="$SCRATCH/merged/$t"; artifacts="$SCRATCH/artifacts/$t"
    mkdir -p "$work" "$artifacts"
    limit=(-max_total_time="${FUZZ_SECONDS:-60}")
    [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
    echo "== $t: ${limit[*]} -max_len=$(max_len "$t") -rss_limit_mb=$(rss_limit "$t")"
    if ! "$BIN/$p" "${limit[@]}" -max_len="$(max_len "$t")" -rss_limit_mb="$(rss_limit "$t")" \
        -timeout=20 -jobs=1 -workers=1 -print_final_stats=1 -dict="Fuzz/Dictionaries/$t.dict" \
        -artifact_prefix="$artifacts/" "$work" "Fuzz/Corpus/$t" 2>&1 | tee "$SCRATCH/$t.log" | grep -E "^#|DONE|ERROR|stat::|Test unit written"
    then :; fi
    if grep -qE "ERROR: libFuzzer|ERROR: AddressSanitizer|runtime error|Test unit written" "$SCRATCH/$t.log"; then
        echo "!! $t: finding in $artifacts (log: $SCRATCH/$t.log)"; status=1
    fi
    # Corpus minimisation: the smallest set of inputs that keeps every feature reached.
    rm -rf "$merged"; mkdir -p "$merged"
    "$BIN/$p" -merge=1 -max_len="$(max_len "$t")" -rss_limit_mb="$(rss_limit "$t")" "$merged" "Fuzz/Corpus/$t" "$work" \
        > "$SCRATCH/$t.merge.log" 2>&1 || true
    echo "   minimised corpus: $(ls "$merged" | wc -l) files, $(du -sh "$merged" | cut -f1) ($merged)"
    if [ -n "${FUZZ_UPDATE_CORPUS:-}" ]; then
        # Keep the named seeds (their names say what they are); libFuzzer's kept finds are
        # replaced by the minimised set (named by SHA-1, as libFuzzer names them).
        find "Fuzz/Corpus/$t" -type f ! -name 'seed-*' -delete
        seeds=$(sha1sum "Fuzz/Corpus/$t"/seed-* | cut -c1-40)
        for f in "$merged"/*; do
            h=$(sha1sum "$f" | cut -c1-40)
            grep -q "$h" <<< "$seeds" || cp "$f" "Fuzz/Corpus/$t/$h"
        done
    fi
done
exit $status
