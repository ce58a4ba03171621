#!/usr/bin/env bash
# Installs what Breakwater needs, builds it, and starts `breakwater serve` on its embedded defaults
# (data under ./var, listening on 127.0.0.1:8000). Extra arguments go to `breakwater serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake --preset release -DBW_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release -j "$(nproc)" --target breakwater
exec build/release/cli/breakwater serve "$@"
