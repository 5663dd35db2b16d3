# kato — see README.md. `make run` serves on embedded defaults; `make test` runs every test.
SHELL := /bin/bash
SWIFT ?= swift
PY := .venv/bin/python
DEBUG_BIN = $(shell $(SWIFT) build --show-bin-path)
RELEASE_BIN = $(shell $(SWIFT) build -c release --show-bin-path)

.PHONY: run test test-asan test-tsan soak fuzz fuzz-seeds deps build build-release swift-test python-test proto bench-grpc bench-engine bench-engine-large bench-store bench-interceptors bench-codec load cluster test-cluster-long test-rollback bench-handover clean

run: build-release
	$(RELEASE_BIN)/kato-server --host 127.0.0.1 --port 50051 --admin-port 50052 --data-dir ./data

deps:
	scripts/install-deps

build: deps
	$(SWIFT) build

build-release: deps
	$(SWIFT) build -c release --product kato-server

test: build
	scripts/install-deps --python
	$(SWIFT) test
	KATO_BIN_DIR=$(DEBUG_BIN) $(PY) -m pytest -q Tests/python $(SEPARATE_PYTESTS)

swift-test: build
	$(SWIFT) test

# Files with make targets of their own, not collected by `make test` (they would only skip there):
# test_rollback.py needs the previous release built (`make test-rollback`).
SEPARATE_PYTESTS = --ignore=Tests/python/test_rollback.py

python-test: build
	scripts/install-deps --python
	KATO_BIN_DIR=$(DEBUG_BIN) $(PY) -m pytest -q Tests/python $(SEPARATE_PYTESTS)

# The interop suite and the kato.v2 end-to-end tests against AddressSanitizer builds of
# grpch2-echo-server and kato-server (.build-asan); any ASan/LSan report fails the run
# (docs/SANITIZERS.md).
ASAN_SWIFT = $(SWIFT) build --scratch-path .build-asan --sanitize=address
ASAN_TESTS = Tests/python/test_grpch2_interop.py Tests/python/test_grpch2_lifecycle.py \
	Tests/python/test_grpch2_tls.py Tests/python/test_grpch2_tools.py Tests/python/test_kato_e2e.py
test-asan: deps
	scripts/install-deps --python
	$(ASAN_SWIFT) --product grpch2-echo-server
	$(ASAN_SWIFT) --product kato-server
	KATO_ASAN=1 KATO_BIN_DIR=$$($(ASAN_SWIFT) --show-bin-path) SWIFT_BACKTRACE=enable=no \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1 $(PY) -m pytest -q $(ASAN_TESTS)

# libFuzzer targets (Fuzz/, docs/FUZZING.md): each built with libFuzzer + ASan (+ UBSan on the C
# code) in .build-fuzz and run FUZZ_SECONDS (default 60) with corpus minimisation; findings fail
# the run. `make test` replays the committed corpora and reproducers (KatoFuzzTests).
#   make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS="connection record-codec"
fuzz: deps
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) Fuzz/scripts/run.sh $(FUZZ_TARGETS)

# The long runs recorded in docs/FUZZING.md: FUZZ_RUNS (default 1,000,000) executions per target
# (FUZZ_SECONDS, if given, caps each run's time as well).
#   make fuzz-long FUZZ_TARGETS=connection FUZZ_SEED=1
.PHONY: fuzz-long test-ubsan
fuzz-long: deps
	FUZZ_RUNS=$(or $(FUZZ_RUNS),1000000) FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/scripts/run.sh $(FUZZ_TARGETS)

# UndefinedBehaviorSanitizer on the C code (docs/SANITIZERS.md; swiftc has none on Linux):
# a debug build with UBSan on every C target (.build-ubsan) running the XCTest suites of the
# protobuf-c bridge, GRPCH2 (nghttp2) and the corpus replay, and the interop suite against its
# servers; then every committed fuzz input once through the fuzz build (.build-fuzz: UBSan on
# C + ASan on all). -fno-sanitize-recover: any report aborts, so it fails the run.
UBSAN_SWIFT_FLAGS = --scratch-path .build-ubsan -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined \
	-Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined
UBSAN_XCTESTS = 'ProtobufCBridgeTests|GRPCH2Tests|GRPCH2CoreTests|KatoFuzzTests'
UBSAN_PYTESTS = Tests/python/test_grpch2_interop.py Tests/python/test_kato_e2e.py
test-ubsan: deps
	scripts/install-deps --python
	$(SWIFT) build $(UBSAN_SWIFT_FLAGS) --build-tests
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 SWIFT_BACKTRACE=enable=no \
	$(SWIFT) test $(UBSAN_SWIFT_FLAGS) --skip-build --filter $(UBSAN_XCTESTS)
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 SWIFT_BACKTRACE=enable=no \
	KATO_BIN_DIR=$$($(SWIFT) build $(UBSAN_SWIFT_FLAGS) --show-bin-path) $(PY) -m pytest -q $(UBSAN_PYTESTS)
	FUZZ_REPLAY=1 Fuzz/scripts/run.sh $(FUZZ_TARGETS)

# Regenerates the hand-made seed corpora (Fuzz/Corpus/*/seed-*; recorded grpcio sessions:
# Fuzz/scripts/record-grpcio.py).
fuzz-seeds:
	scripts/install-deps --python
	$(PY) Fuzz/scripts/make-seeds.py

# Regenerates protoc-c / grpcio-tools / Swift message code from proto/ (committed).
proto:
	scripts/install-deps --python
	scripts/gen-proto

# Transport benchmark against the C++ gRPC server (docs/BENCHMARKS.md).
bench-grpc:
	benchmarks/grpc/run.sh
# The same suites against ThreadSanitizer builds (.build-tsan); any data race or other TSan
# report fails the run (docs/SANITIZERS.md). TSAN_OPTIONS adds suppressions for third-party
# code only (Tests/python/tsan.supp, each line explained in docs/SANITIZERS.md).
TSAN_SWIFT = $(SWIFT) build --scratch-path .build-tsan --sanitize=thread
TSAN_TESTS = $(ASAN_TESTS)
test-tsan: deps
	scripts/install-deps --python
	$(TSAN_SWIFT) --product grpch2-echo-server
	$(TSAN_SWIFT) --product kato-server
	KATO_TSAN=1 KATO_BIN_DIR=$$($(TSAN_SWIFT) --show-bin-path) SWIFT_BACKTRACE=enable=no \
	TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1 $(PY) -m pytest -q $(TSAN_TESTS)

# Soak: a mixed workload for SOAK_MINUTES (default 60) against a plaintext and a TLS
# kato-server; fails on RSS growth over 1 MiB/min in the second half, fds not back to their
# baseline, or a lost acknowledged learn (docs/BENCHMARKS.md "Soak"). A 2-minute version runs
# in make test (Tests/python/test_soak.py). SOAK_OUT keeps the CSV; benchmarks/soak/plot.py draws it.
SOAK_MINUTES ?= 60
SOAK_OUT ?= soak-out
soak: build
	scripts/install-deps --python
	$(PY) benchmarks/soak/soak.py --minutes $(SOAK_MINUTES) --bin-dir $(DEBUG_BIN) --out $(SOAK_OUT)

# proto3 JSON codec per message vs protobuf-c, wall clock and callgrind (docs/BENCHMARKS.md).
bench-codec:
	benchmarks/codec/run.sh

# Engine benchmark (docs/BENCHMARKS.md).
bench-engine:
	benchmarks/engine/run.sh

# 100,000 and 1,000,000 patterns (fixed and growing vocabulary, 1 and 2 partitions): 10-20 minutes, ~3 GB.
bench-engine-large:
	benchmarks/engine/run-large.sh

# Store benchmarks: durable learns per second, start-up with 1M patterns (docs/BENCHMARKS.md).
bench-store: deps
	scripts/install-deps --python
	benchmarks/store/run.sh --write

# Interceptors all on vs off on unary Observe (docs/BENCHMARKS.md); instruction counts per
# interceptor: benchmarks/interceptors/callgrind-all.sh (needs valgrind).
bench-interceptors: deps
	scripts/install-deps --python
	benchmarks/interceptors/run.sh --write

# Serving targets (issue 15): 1M sessions' RSS, 10,000 subscribers vs a C++ gRPC streaming
# reference, c=1 unary latency vs C++ (docs/BENCHMARKS.md "Serving"); ~10 minutes, ~2 GB.
.PHONY: bench-serving
bench-serving: deps
	benchmarks/serving/run.sh

# Connect (JSON, binary) and gRPC-Web next to gRPC: rps and server CPU per call (docs/BENCHMARKS.md).
.PHONY: bench-web
bench-web: deps
	scripts/install-deps --python
	benchmarks/web/run.sh --write

# The full 10,000-session load test (a small version runs in make test).
load:
	benchmarks/load/run.sh

# Durable learns with default sessions into a knowledge base past 100,000 patterns (issue 15).
# BEFORE=<dir with another build's kato-server>: both alternately in one run, with the ratio.
.PHONY: bench-learns
bench-learns: deps
	benchmarks/load/learns.sh $(BEFORE)

# PostgreSQL + 3 kato-server replicas + HAProxy on loopback; prints the clients' address; Ctrl-C stops all.
cluster: build
	scripts/install-deps --python
	KATO_BIN_DIR=$(DEBUG_BIN) scripts/cluster

# Cluster benchmark (docs/BENCHMARKS.md, issue 12): make load's 10,000 sessions embedded vs 3
# replicas + PostgreSQL + HAProxy, cross-replica visibility, a replica joining 1M patterns.
# BENCH_CLUSTER_FLAGS: sizes (benchmarks/cluster/run.sh); BENCH_WRITE=1 writes the section.
.PHONY: bench-cluster
bench-cluster:
	benchmarks/cluster/run.sh $(BENCH_CLUSTER_FLAGS)

# Only its join part: a replica joining 1M patterns in PostgreSQL (docs/BENCHMARKS.md, "Cluster").
# BENCH_JOIN_FLAGS: e.g. --startup-patterns 100000, --before-bin DIR (a previous build, same run).
.PHONY: bench-join
bench-join:
	BENCH_AUTOGROUP=-20 benchmarks/cluster/run.sh --skip load,visibility $(BENCH_JOIN_FLAGS)

# The cluster's rolling restart, 5 rounds of 3 replicas under load (one round runs in make test).
test-cluster-long: build
	KATO_ROLLING_ROUNDS=5 KATO_BIN_DIR=$(DEBUG_BIN) $(PY) -m pytest -q Tests/python/test_cluster_rolling_restart.py

# The previous release's own kato-server against this one (binary rollback and hand-over both
# ways); builds it first (a cold build: 10–20 minutes here). PREVIOUS_REF=<git ref> picks it.
test-rollback: build
	KATO_PREVIOUS_BIN_DIR=$$(scripts/build-previous-release $(PREVIOUS_REF)) KATO_BIN_DIR=$(DEBUG_BIN) $(PY) -m pytest -q Tests/python/test_rollback.py

# The pause of a restart by hand-over at 1k/10k/100k live sessions (docs/BENCHMARKS.md).
bench-handover: build-release
	$(SWIFT) build -c release --product kato-load
	KATO_BEFORE_BIN_DIR=$(BEFORE) $(PY) benchmarks/handover/handover_pause.py $(RELEASE_BIN) 1000 10000 100000
	$(RELEASE_BIN)/kato-server bench-handover-sessions --sessions 10000 --sessions 100000

clean:
	rm -rf .build
