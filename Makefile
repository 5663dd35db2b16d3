# kato — see README.md. `make run` serves on embedded defaults; `make test` runs every test.
SHELL := /bin/bash
SWIFT ?= swift
PY := .venv/bin/python
DEBUG_BIN = $(shell $(SWIFT) build --show-bin-path)
RELEASE_BIN = $(shell $(SWIFT) build -c release --show-bin-path)

.PHONY: run test deps build build-release swift-test python-test proto bench-grpc bench-engine load clean

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
	KATO_BIN_DIR=$(DEBUG_BIN) $(PY) -m pytest -q Tests/python

swift-test: build
	$(SWIFT) test

python-test: build
	scripts/install-deps --python
	KATO_BIN_DIR=$(DEBUG_BIN) $(PY) -m pytest -q Tests/python

# Regenerates protoc-c / grpcio-tools / Swift message code from proto/ (committed).
proto:
	scripts/install-deps --python
	scripts/gen-proto

# Transport benchmark against the C++ gRPC server (docs/BENCHMARKS.md).
bench-grpc:
	benchmarks/grpc/run.sh

# Engine benchmark (docs/BENCHMARKS.md).
bench-engine:
	benchmarks/engine/run.sh

# The full 10,000-session load test (a small version runs in make test).
load:
	benchmarks/load/run.sh

clean:
	rm -rf .build
