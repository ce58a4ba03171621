#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test: the release build under CTest, then
# the sanitizer build (ASan + UBSan, clang) with the fuzz targets run for a short fixed time.
# Usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=1
[ "${1:-}" = "--no-sanitize" ] && sanitize=0

scripts/install-deps.sh test
# The browser tests' node modules (playwright-core, pinned by tests/browser/package-lock.json).
npm ci --prefix tests/browser --no-audit --no-fund
jobs="$(nproc)"

# After a failed run: the end of each failed test's output again (a CI log may keep only the
# tail of the whole run, where ctest printed it in the middle) and, base64, every input a fuzz
# run saved, so a rare find can be replayed (base64 -d > input; fuzz_<name> input).
report_failures() {
  local dir="build/$1"
  local failed="$dir/Testing/Temporary/LastTestsFailed.log"
  [ -f "$failed" ] || return 0
  echo "== what the failed tests of the $1 run printed last"
  while IFS=: read -r _ name; do
    echo "-- $name"
    awk -v t="$name" '$0 ~ ("Test: " t "$") {on = 1} on && /^<end of output>/ {exit} on' \
      "$dir/Testing/Temporary/LastTest.log" | grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' | tail -n 60
  done < "$failed"
  local f
  for f in "$dir"/fuzz/*-crash-* "$dir"/fuzz/*-leak-* "$dir"/fuzz/*-oom-* "$dir"/fuzz/*-timeout-* \
           "$dir"/fuzz/*-slow-unit-*; do
    [ -f "$f" ] || continue
    echo "-- saved input $f, base64:"
    base64 -w 0 "$f" | head -c 40000
    echo
  done
}

echo "== release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs" || { report_failures release; exit 1; }

if [ "$sanitize" = 1 ]; then
  echo "== sanitizer build (ASan + UBSan) and tests, fuzz targets included"
  cmake --preset sanitize >/dev/null
  cmake --build --preset sanitize -j "$jobs"
  ctest --preset sanitize -j "$jobs" || { report_failures sanitize; exit 1; }
fi
