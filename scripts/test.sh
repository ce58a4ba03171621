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

echo "== release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

if [ "$sanitize" = 1 ]; then
  echo "== sanitizer build (ASan + UBSan) and tests, fuzz targets included"
  cmake --preset sanitize >/dev/null
  cmake --build --preset sanitize -j "$jobs"
  ctest --preset sanitize -j "$jobs"
fi
