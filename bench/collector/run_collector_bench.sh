#!/usr/bin/env bash
# The collector under load next to its near-physical-limit peer, in the same run: nginx reading
# the same request bodies and writing each to a file (client_body_in_file_only; its DAV PUT
# handler is nginx's built-in content handler that stores a body as a file). Both get the same
# 400 KiB gzip'd multipart crash from 64 keep-alive connections; the collector parses, inflates,
# hashes and stores each crash durably (fsync) before answering, nginx does none of that.
#
# Usage: bench/collector/run_collector_bench.sh [BUILD_DIR] [SECONDS] [CONNECTIONS] [ROUNDS]
#   defaults: build/release 20 64 3. Needs nginx (scripts/install-deps.sh test installs it).
# Prints one JSON line per run and a summary with medians; exits non-zero if a run had errors.
#
# Two collectors against each other instead of against nginx (a change's before and after):
#   bench/collector/run_collector_bench.sh --compare BEFORE_BW AFTER_BW [BUILD_DIR] [SECONDS] [CONNECTIONS] [ROUNDS]
# BEFORE_BW and AFTER_BW are `breakwater` binaries (each with its breakwater-all beside it, which
# it execs for `collector`); the load generator comes from BUILD_DIR. Each round runs both with the
# same load, one right after the other (before first in odd rounds, after first in even ones), so
# the machine's noise hits both alike; the summary gives medians, min-max ranges and the
# after/before ratios, overall and per round. nginx is not needed in this mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
compare=0
if [ "${1:-}" = "--compare" ]; then
  [ $# -ge 3 ] || { echo "usage: $0 --compare BEFORE_BW AFTER_BW [BUILD_DIR] [SECONDS] [CONNECTIONS] [ROUNDS]" >&2; exit 2; }
  compare=1
  bw_before="$2"; bw_after="$3"
  shift 3
fi
build="${1:-build/release}"
seconds="${2:-20}"
conns="${3:-64}"
rounds="${4:-3}"
bw="$build/cli/breakwater"
gen="$build/bench/collector/collector_loadgen"
if [ "$compare" = 1 ]; then
  for f in "$bw_before" "$bw_after"; do
    [ -x "$f" ] || { echo "missing $f" >&2; exit 2; }
    [ -x "$(dirname "$f")/breakwater-all" ] || { echo "missing $(dirname "$f")/breakwater-all (breakwater execs it for collector)" >&2; exit 2; }
  done
  [ -x "$gen" ] || { echo "missing $gen: build the collector_loadgen target" >&2; exit 2; }
else
  for f in "$bw" "$gen"; do [ -x "$f" ] || { echo "missing $f: build the breakwater and collector_loadgen targets" >&2; exit 2; }; done
  command -v nginx >/dev/null || { echo "nginx is not installed" >&2; exit 2; }
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/bw-collector-bench.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listening on $1" >&2; return 1
}

# CPU seconds (user + system) used so far by a process and its live children, from /proc.
cpu_seconds() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] || continue
    total=$(awk -v t="$total" -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print t + ($12 + $13) / hz}' "/proc/$p/stat")
  done
  echo "$total"
}
# Adds the server's CPU milliseconds per answered crash to the load generator's JSON line.
with_cpu() {
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["server_cpu_ms_per_crash"]=float(sys.argv[2])*1000/max(1,r["ok"]); print(json.dumps(r))' "$1" "$2"
}

# run_collector [BREAKWATER]: one run against that binary ($bw unless given).
run_collector() {
  local bin="${1:-$bw}"
  local port; port="$(free_port)"
  rm -rf "$work/bw"
  "$bin" collector --listen "127.0.0.1:$port" --data "$work/bw" --log-level warn --set http.access_log=false \
    >"$work/bw.out" 2>"$work/bw.err" &
  local pid=$!; pids+=("$pid")
  wait_port "$port"
  local out; out="$("$gen" --port "$port" --connections "$conns" --seconds "$seconds" --body-kb 400)"
  with_cpu "$out" "$(cpu_seconds "$pid")"
  kill "$pid"; wait "$pid" || true
}

run_nginx() {
  local port; port="$(free_port)"
  rm -rf "$work/nginx"; mkdir -p "$work/nginx/store/submit" "$work/nginx/body" "$work/nginx/logs"
  cat >"$work/nginx/nginx.conf" <<CONF
user root;
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  server {
    listen 127.0.0.1:$port;
    location /submit/ {
      root $work/nginx/store;
      client_body_in_file_only clean;
      client_body_buffer_size 16k;
      client_max_body_size 30m;
      dav_methods PUT;
    }
  }
}
CONF
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -e "$work/nginx/logs/error.log" &
  local pid=$!; pids+=("$pid")
  wait_port "$port"
  local out; out="$("$gen" --port "$port" --connections "$conns" --seconds "$seconds" --body-kb 400 --method PUT --path /submit --per-connection-path)"
  with_cpu "$out" "$(cpu_seconds "$pid")"
  kill "$pid"; wait "$pid" || true
}

: >"$work/results"
if [ "$compare" = 1 ]; then
  for r in $(seq 1 "$rounds"); do
    # Odd rounds run before first, even rounds after first (ABBA): a load that rises or falls
    # during the run does not always favour the same binary.
    if [ $((r % 2)) = 1 ]; then order="before after"; else order="after before"; fi
    for who in $order; do
      if [ "$who" = before ]; then bin="$bw_before"; else bin="$bw_after"; fi
      echo "$who $(run_collector "$bin")" | tee -a "$work/results"
    done
  done
  python3 - "$work/results" <<'PY'
import json, statistics, sys
runs = {"before": [], "after": []}
for line in open(sys.argv[1]):
    who, js = line.split(" ", 1)
    runs[who].append(json.loads(js))
keys = [("per_second", "crashes/s", 1), ("p50_ms", "p50 ms", 1), ("p99_ms", "p99 ms", 1),
        ("server_cpu_ms_per_crash", "CPU ms/crash", 2)]
def vals(who, key): return [r[key] for r in runs[who]]
def med(who, key): return statistics.median(vals(who, key))
errors = sum(r["errors"] for rs in runs.values() for r in rs)
print(f"body {runs['before'][0]['body_bytes']} bytes, {runs['before'][0]['connections']} connections, "
      f"{len(runs['before'])} rounds, before and after alternating (median [min-max])")
print(f"{'':14} {'before':>24} {'after':>24} {'after/before':>13}")
for key, label, d in keys:
    b, a = med("before", key), med("after", key)
    rb = f"{b:.{d}f} [{min(vals('before', key)):.{d}f}-{max(vals('before', key)):.{d}f}]"
    ra = f"{a:.{d}f} [{min(vals('after', key)):.{d}f}-{max(vals('after', key)):.{d}f}]"
    print(f"{label:14} {rb:>24} {ra:>24} {a / b if b else float('nan'):13.3f}")
per_round = [a["per_second"] / b["per_second"] for b, a in zip(runs["before"], runs["after"])]
print(f"throughput after/before per round: {', '.join(f'{x:.3f}' for x in per_round)}"
      f" (median {statistics.median(per_round):.3f}, range {min(per_round):.3f}-{max(per_round):.3f})   errors: {errors}")
sys.exit(1 if errors else 0)
PY
  exit $?
fi
for r in $(seq 1 "$rounds"); do
  echo "collector $(run_collector)" | tee -a "$work/results"
  echo "nginx $(run_nginx)" | tee -a "$work/results"
done

python3 - "$work/results" <<'PY'
import json, statistics, sys
runs = {"collector": [], "nginx": []}
for line in open(sys.argv[1]):
    who, js = line.split(" ", 1)
    runs[who].append(json.loads(js))
def med(who, key): return statistics.median(r[key] for r in runs[who])
errors = sum(r["errors"] for rs in runs.values() for r in rs)
print(f"body {runs['collector'][0]['body_bytes']} bytes, {runs['collector'][0]['connections']} connections, {len(runs['collector'])} rounds (medians)")
print(f"{'':10} {'crashes/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/crash':>13}")
for who in ("collector", "nginx"):
    print(f"{who:10} {med(who,'per_second'):10.1f} {med(who,'p50_ms'):8.1f} {med(who,'p99_ms'):8.1f} {med(who,'server_cpu_ms_per_crash'):13.2f}")
print(f"ratio collector/nginx: {med('collector','per_second')/med('nginx','per_second'):.2f}   errors: {errors}")
sys.exit(1 if errors else 0)
PY
