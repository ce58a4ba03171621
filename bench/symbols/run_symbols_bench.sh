#!/usr/bin/env bash
# The 400 MB .sym benchmark: first parse (time, peak memory) and reload from the cache file.
# usage: bench/symbols/run_symbols_bench.sh BUILD_DIR [RUNS] [WORK_DIR]
set -euo pipefail
build="${1:?build dir}"
runs="${2:-5}"
work="${3:-/tmp/bw-symbols-bench}"
here="$(cd "$(dirname "$0")" && pwd)"
store="$here/../../../shared/testdata/symbols"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
sym="$work/synthetic.sym"
cache="$work/synthetic.bwsymc"
if [ ! -f "$sym" ]; then python3 "$here/make_synthetic_sym.py" "$store" "$sym" 400; fi
ls -l "$sym"
bin="$build/bench/symbols/symbols_bench"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/parse.txt"
: > "$work/load.txt"
: > "$work/verify.txt"
for i in $(seq "$runs"); do "$bin" parse "$sym" "$cache" | tee -a "$work/parse.txt"; done
for i in $(seq "$runs"); do "$bin" load "$cache" "$sym" | tee -a "$work/load.txt"; done
for i in $(seq "$runs"); do "$bin" verify "$cache" "$sym" | tee -a "$work/verify.txt"; done
field() { grep -o " $1=[0-9.]*" "$2" | cut -d= -f2; }
echo "median first parse: $(field seconds "$work/parse.txt" | median) s wall, $(field cpu_seconds "$work/parse.txt" | median) s CPU, peak RSS $(field peak_rss_mb "$work/parse.txt" | median) MB, compact form $(field memory_mb "$work/parse.txt" | median) MB"
echo "median reload from cache: $(field seconds "$work/load.txt" | median) s wall, $(field cpu_seconds "$work/load.txt" | median) s CPU, RSS after load $(field load_rss_mb "$work/load.txt" | median) MB"
echo "median 16,000-offset probe: $(field probe_cpu_seconds "$work/parse.txt" | median) s CPU in memory after parse, $(field probe_cpu_seconds "$work/load.txt" | median) s CPU ($(field probe_seconds "$work/load.txt" | median) s wall) on the mapped cache, lazy block checks included"
echo "median load + check of every block: $(field seconds "$work/verify.txt" | median) s wall, $(field cpu_seconds "$work/verify.txt" | median) s CPU"
