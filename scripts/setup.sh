#!/usr/bin/env bash
# Installs every Debian package trident needs to build, test and benchmark.
# Idempotent; run as root on Debian bookworm.
set -euo pipefail

BUILD_PKGS=(build-essential cmake ninja-build ccache pkg-config clang libclang-rt-dev
  clang-format libasio-dev libssl-dev openssl libnghttp2-dev zlib1g-dev libcli11-dev
  libprotobuf-dev libprotoc-dev protobuf-compiler grpc-proto)
# libgrpc++, protoc, grpc-proto and python3-grpcio are test peers and the grpc++
# benchmark anchor (tests/interop), never dependencies of trident itself.
TEST_PKGS=(libgtest-dev curl nghttp2-client python3 python3-pytest python3-h2
  python3-websockets chromium
  libgrpc++-dev protobuf-compiler-grpc python3-grpcio python3-protobuf)
BENCH_PKGS=(wrk nginx-light h2o liburing-dev)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
# The Node.js peers (tests/node for WebSocket, tests/interop/node for gRPC) need
# Node.js + npm; a node already on PATH (e.g. a newer one installed another way) is kept.
command -v node >/dev/null 2>&1 || want+=(nodejs npm)
[ "${1:-}" = "--bench" ] && want+=("${BENCH_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
