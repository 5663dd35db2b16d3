#!/usr/bin/env bash
# make fuzz: builds each fuzz target with libFuzzer + AddressSanitizer (+ UBSan on the C code)
# in .build-fuzz and runs it for a bounded time, then minimises what it found into a corpus.
#
#   Fuzz/scripts/run.sh [target ...]          # default: every target, FUZZ_SECONDS (60) each
#   FUZZ_SECONDS=3600 Fuzz/scripts/run.sh connection
#   FUZZ_RUNS=1000000 Fuzz/scripts/run.sh record-codec     # a number of executions (make fuzz-long)
#   FUZZ_RUNS=1000000 FUZZ_SECONDS=4500 ...   # both: whichever limit comes first
#   FUZZ_SEED=1 ...                           # libFuzzer's -seed (default: random, printed in the log)
#   FUZZ_UPDATE_CORPUS=1 ...                  # replace Fuzz/Corpus/<target> by the minimised corpus
#   FUZZ_REPLAY=1 ...                         # no fuzzing: run every committed corpus file and crash
#                                             # reproducer once (make test-ubsan)
#
# Findings (crash-*, leak-*, timeout-*, oom-*) land in .build-fuzz/findings/<target>/ (not artifacts/: SwiftPM owns and wipes that folder) and the
# script fails. A fixed finding is committed to Fuzz/Crashes/<target>/ with a named regression
# test: KatoFuzzTests replays it in `make test` (docs/FUZZING.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

SCRATCH=.build-fuzz
# Sanitizers, spelled so that Swift code really gets SanitizerCoverage (docs/FUZZING.md, "The
# build"): `--sanitize=fuzzer --sanitize=address` makes SwiftPM 6.3 pass two `-sanitize=` options
# to swiftc in a random order (a Set), and the frontend keeps only the last one — half the builds
# had ASan without coverage. So one `--sanitize=fuzzer` (C: -fsanitize=fuzzer-no-link; link:
# libFuzzer) and a single combined `-sanitize=fuzzer,address` for swiftc, last on its command
# line; ASan for C through -Xcc. UBSan: swiftc has no -sanitize=undefined on Linux, so it covers
# the C targets only (clang's -fsanitize=undefined through -Xcc; its handlers come with the ASan
# runtime). The command line is the same on every call, so the products share one build.
BUILD=(swift build -c debug --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address
       -Xcc -fsanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined
       --scratch-path "$SCRATCH")
ALL=(connection http1 grpc-messages proto-json config-files record-codec)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL[@]}")

product() {
    case "$1" in
        connection) echo FuzzConnection ;;
        http1) echo FuzzHTTP1 ;;
        grpc-messages) echo FuzzGRPCMessages ;;
        proto-json) echo FuzzProtoJSON ;;
        config-files) echo FuzzConfigFiles ;;
        record-codec) echo FuzzRecordCodec ;;
        *) echo "unknown fuzz target: $1" >&2; exit 2 ;;
    esac
}

# Per target: -max_len (bytes) and -rss_limit_mb. A connection input is a whole client session.
max_len() { case "$1" in connection|http1) echo 16384 ;; grpc-messages|proto-json) echo 8192 ;; *) echo 4096 ;; esac; }
rss_limit() { case "$1" in connection|http1) echo 3072 ;; *) echo 2048 ;; esac; }

export SWIFT_BACKTRACE=enable=no   # a crashing Swift target otherwise hangs in the backtracer
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

BIN=$("${BUILD[@]}" --show-bin-path)
status=0
for t in "${targets[@]}"; do
    p=$(product "$t")
    "${BUILD[@]}" --product "$p" 2>&1 | grep -v "Cannot export local symbol" | tail -n 3
    # Guard against a build whose Swift code libFuzzer cannot see (the problem above): the
    # harness's own object must carry SanitizerCoverage counters.
    if [ "$(nm "$BIN/KatoFuzz.build/FuzzTarget.swift.o" 2>/dev/null | grep -c sancov)" = 0 ]; then
        echo "!! $BIN/KatoFuzz.build has no SanitizerCoverage: libFuzzer would run blind" >&2; exit 1
    fi
    work="$SCRATCH/corpus/$t"; merged="$SCRATCH/merged/$t"; artifacts="$SCRATCH/findings/$t"
    mkdir -p "$work" "$artifacts"
    if [ -n "${FUZZ_REPLAY:-}" ]; then
        # Each committed input once, under ASan (all code) and UBSan (C code): a report aborts.
        dirs=("Fuzz/Corpus/$t"); [ -d "Fuzz/Crashes/$t" ] && dirs+=("Fuzz/Crashes/$t")
        files=$(find "${dirs[@]}" -type f ! -name '.*' | sort)
        n=$(wc -l <<< "$files")
        if xargs -d '\n' "$BIN/$p" -rss_limit_mb="$(rss_limit "$t")" -timeout=60 <<< "$files" \
            > "$SCRATCH/$t.replay.log" 2>&1 && ! grep -qE "runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)" "$SCRATCH/$t.replay.log"; then
            echo "== $t: $n committed inputs replayed, no ASan/UBSan report"
        else
            echo "!! $t: replay failed (log: $SCRATCH/$t.replay.log)"; grep -m5 -E "runtime error|ERROR|SUMMARY" "$SCRATCH/$t.replay.log"; status=1
        fi
        continue
    fi
    # FUZZ_RUNS executions, or FUZZ_SECONDS (default 60); with both, whichever comes first.
    limit=()
    [ -n "${FUZZ_RUNS:-}" ] && limit+=(-runs="$FUZZ_RUNS")
    [ -z "${FUZZ_RUNS:-}" ] || [ -n "${FUZZ_SECONDS:-}" ] && limit+=(-max_total_time="${FUZZ_SECONDS:-60}")
    [ -n "${FUZZ_SEED:-}" ] && limit+=(-seed="$FUZZ_SEED")
    echo "== $t: ${limit[*]} -max_len=$(max_len "$t") -rss_limit_mb=$(rss_limit "$t")"
    if ! "$BIN/$p" "${limit[@]}" -max_len="$(max_len "$t")" -rss_limit_mb="$(rss_limit "$t")" \
        -timeout=20 -print_final_stats=1 -dict="Fuzz/Dictionaries/$t.dict" \
        -artifact_prefix="$artifacts/" "$work" "Fuzz/Corpus/$t" 2>&1 | tee "$SCRATCH/$t.log" | grep -E "^INFO: (Seed|Loaded)|^#.*(INITED|DONE|pulse)|ERROR|stat::|Test unit written"
    then :; fi
    if grep -qE "ERROR: libFuzzer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|Test unit written" "$SCRATCH/$t.log"; then
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
