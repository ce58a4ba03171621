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
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build/release}"
seconds="${2:-20}"
conns="${3:-64}"
rounds="${4:-3}"
bw="$build/cli/breakwater"
gen="$build/bench/collector/collector_loadgen"
for f in "$bw" "$gen"; do [ -x "$f" ] || { echo "missing $f: build the breakwater and collector_loadgen targets" >&2; exit 2; }; done
command -v nginx >/dev/null || { echo "nginx is not installed" >&2; exit 2; }

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

run_collector() {
  local port; port="$(free_port)"
  rm -rf "$work/bw"
  "$bw" collector --listen "127.0.0.1:$port" --data "$work/bw" --log-level warn --set http.access_log=false \
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
