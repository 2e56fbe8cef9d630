#!/usr/bin/env bash
# Configures and builds one flavour of trident into build*/ (Ninja, ccache).
#   scripts/build.sh            release build in build/
#   scripts/build.sh asan       ASan+UBSan build in build-asan/
#   scripts/build.sh fuzz       clang libFuzzer build in build-fuzz/
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
jobs=$(nproc)
case "$flavour" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DTRIDENT_SANITIZE=ON) ;;
  fuzz) dir=build-fuzz
        flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DTRIDENT_FUZZ=ON -DTRIDENT_TESTS=OFF) ;;
  *) echo "unknown flavour '$flavour' (release, asan, fuzz)" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir" -j "$jobs"
