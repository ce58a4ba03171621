#!/usr/bin/env bash
# Rewrites the key table in docs/configuration.md from `breakwater config --keys`.
# Usage: scripts/gen-config-docs.sh [path/to/breakwater]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build/release/cli/breakwater}"
table="$("$bin" config --keys)"
python3 - "$table" <<'PY'
import sys, re
table = sys.argv[1]
path = "docs/configuration.md"
text = open(path).read()
text = re.sub(r"<!-- keys:begin -->.*<!-- keys:end -->",
              "<!-- keys:begin -->\n" + table + "\n<!-- keys:end -->", text, flags=re.S)
open(path, "w").write(text)
PY
