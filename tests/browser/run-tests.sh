#!/bin/sh
# The browser tests (CTest test browser.web): node's test runner, playwright-core driving Debian's
# chromium. scripts/test.sh installs the node modules; a bare ctest run installs them when missing.
# Needs BW_BREAKWATER_BIN (and BW_TESTDATA_DIR, BW_ARTIFACTS_DIR), which CTest sets.
set -eu
cd "$(dirname "$0")"
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi
# One file at a time: each starts its own server and browser, and the machine has 2 cores.
status=0
for file in *.test.mjs; do
  echo "== $file"
  node --test --test-reporter=spec "$file" || status=1
done
exit $status
