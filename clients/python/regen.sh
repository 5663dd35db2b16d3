#!/usr/bin/env bash
# Regenerates kato_client/_pb (grpcio-tools stubs of proto/kato/v2 and google.rpc) together with
# every other file derived from proto/, via the repository's scripts/gen-proto.
#
#   clients/python/regen.sh           rewrite the generated files in place
#   clients/python/regen.sh --check   fail if any generated file is stale
#
# Needs protoc, protoc-c and a Python with grpcio-tools (PYTHON=..., default: the repo's .venv).
# Tests/python/test_generated_code.py runs the --check form, so a stale _pb fails the tests.
set -euo pipefail
exec "$(cd "$(dirname "$0")" && pwd)/../../scripts/gen-proto" "$@"
