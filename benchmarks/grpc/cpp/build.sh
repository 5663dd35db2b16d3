#!/usr/bin/env bash
# Builds the C++ gRPC echo server into OUT_DIR (default: .build/bench-grpc-cpp, git-ignored).
# Generated code (protoc --cpp_out / --grpc_out) goes there too; nothing generated is committed.
# Needs: libgrpc++-dev, protobuf-compiler-grpc, libprotobuf-dev, pkg-config, g++.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/.build/bench-grpc-cpp}
PROTO_DIR=$ROOT/Tests/EchoProtoC/proto
# Installed here (apt-get, only what is missing): both benchmarks that run this server
# (make bench-grpc, make bench-serving) then work on a fresh machine.
missing=()
for pkg in libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev pkg-config g++; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing: ${missing[*]}" >&2
  { $SUDO apt-get install -y -qq "${missing[@]}" || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}"; }; } >&2
fi
mkdir -p "$OUT/gen"
protoc -I "$PROTO_DIR" --cpp_out="$OUT/gen" --grpc_out="$OUT/gen" \
  --plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" "$PROTO_DIR/grpch2/test/echo.proto"
# -O2 as Debian builds libgrpc++; the server binary is what the benchmark runs.
g++ -std=c++17 -O2 -I "$OUT/gen" \
  "$HERE/echo_server.cc" "$OUT/gen/grpch2/test/echo.pb.cc" "$OUT/gen/grpch2/test/echo.grpc.pb.cc" \
  $(pkg-config --cflags --libs grpc++ protobuf) -o "$OUT/echo_server"
echo "$OUT/echo_server"
