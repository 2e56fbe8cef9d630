#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite: formatting check,
# unit + integration tests (release build), the same suite under ASan+UBSan,
# and a bounded libFuzzer run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Node.js peers of the WebSocket tests (npm ws, playwright-core driving Debian's
# chromium; playwright-core never downloads a browser): reinstall from the lock
# file when node_modules is missing or older than it.
if [ ! -d tests/node/node_modules ] || [ tests/node/package-lock.json -nt tests/node/node_modules ]; then
  (cd tests/node && npm ci --no-audit --no-fund)
fi
# Node.js gRPC interop peer (@grpc/grpc-js + @grpc/proto-loader), same rule.
if [ ! -d tests/interop/node/node_modules ] ||
   [ tests/interop/node/package-lock.json -nt tests/interop/node/node_modules ]; then
  (cd tests/interop/node && npm ci --no-audit --no-fund)
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fuzz_seconds=${TRIDENT_FUZZ_SECONDS:-60}

echo "== clang-format"
files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find src tools tests -name '*.[ch]pp')
clang-format --dry-run --Werror $files

logs=$(mktemp -d)
echo "== release build + tests"
bash scripts/build.sh release
ctest --test-dir build --output-on-failure | tee "$logs/release.txt"

echo "== ASan+UBSan build + tests"
bash scripts/build.sh asan
ctest --test-dir build-asan --output-on-failure | tee "$logs/asan.txt"

echo "== fuzzing (${fuzz_seconds}s per target)"
bash scripts/build.sh fuzz
for f in build-fuzz/tests/fuzz/*_fuzz; do
  work=$(mktemp -d)
  target=$(realpath "$f")
  if ! (cd "$work" && "$target" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
        >fuzz.log 2>&1); then
    cat "$work/fuzz.log"
    echo "fuzzing $f found a failure (reproducer saved under $work)" >&2
    exit 1
  fi
  grep -E "^Done|stat::number_of_executed_units" "$work/fuzz.log"
  rm -rf "$work"
done
# One plain closing line: unit tests and pytest cases, both builds.
units=$(cat "$logs"/*.txt | grep -E "Test +#[0-9]+: .* Passed" | grep -vc " integration " || true)
pytests=$(grep -hoE "^[0-9]+ passed" build*/Testing/Temporary/LastTest.log 2>/dev/null | awk '{s+=$1} END {print s+0}')
echo "== all checks passed"
echo "trident: $((units + pytests)) passed, 0 failed"
