#!/usr/bin/env bash
# Symbol upload throughput: a zip of many .sym files, about SIZE_MB of .sym text (make_upload_zip.py:
# copies of the corpus under their own debug ids), sent with `breakwater symbols upload` to a real
# `breakwater serve` on loopback (HTTP, streamed to disk, inflated, hashed, checked, gzip'd into the
# store, fsync'd), against `unzip` of the same zip into a folder on the same disk (the baseline:
# inflate and write only). Also the server's peak RSS (bodies and entries stream through fixed
# buffers; each .sym is checked by the parser's check-only pass, which keeps no records).
# usage: bench/symbols/run_upload_bench.sh BUILD_DIR [RUNS] [SIZE_MB] [WORK_DIR]
set -euo pipefail
build="$(cd "${1:?build dir}" && pwd)"
runs="${2:-5}"
size_mb="${3:-400}"
work="${4:-/tmp/bw-upload-bench}"
here="$(cd "$(dirname "$0")" && pwd)"
corpus="$here/../../../shared/testdata/symbols"
bin="$build/cli/breakwater"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
zip_file="$work/upload-$size_mb.zip"
if [ ! -f "$zip_file" ]; then python3 "$here/make_upload_zip.py" "$corpus" "$zip_file" "$size_mb"; fi
ls -l "$zip_file"

data="$work/site"
rm -rf "$data" && mkdir -p "$data"
printf 'bench password\n' > "$work/password"
"$bin" admin user add bench --permission upload_symbols --password-file "$work/password" --data "$data" >/dev/null
token="$("$bin" admin token create --user bench --label bench --data "$data" | tail -1)"
"$bin" serve --data "$data" --listen 127.0.0.1:0 --set processor.workers=1 > "$work/serve.out" 2> "$work/serve.err" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "serving on http://" "$work/serve.out" && break; sleep 0.2; done
url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.out" | head -1)"
echo "serve at $url (pid $serve_pid), RSS after start $(awk '/VmRSS/ {print $2}' /proc/$serve_pid/status) kB"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/unzip.txt"
: > "$work/upload.txt"
for i in $(seq "$runs"); do
  rm -rf "$work/unzipped"
  start=$(date +%s.%N)
  unzip -q -o "$zip_file" -d "$work/unzipped"
  sync -f "$work/unzipped"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l | tee -a "$work/unzip.txt" | sed 's/^/unzip s: /'
  rm -rf "$data/symbols"  # new files each run, not skipped duplicates
  start=$(date +%s.%N)
  BREAKWATER_TOKEN="$token" "$bin" symbols upload "$zip_file" "$url" > "$work/answer.json" 2>/dev/null
  end=$(date +%s.%N)
  grep -q '"refused":\[\]' "$work/answer.json"
  echo "$end - $start" | bc -l | tee -a "$work/upload.txt" | sed 's/^/upload s: /'
done
unzip_s="$(median < "$work/unzip.txt")"
upload_s="$(median < "$work/upload.txt")"
echo "median unzip $unzip_s s (range $(sort -n "$work/unzip.txt" | head -1)-$(sort -n "$work/unzip.txt" | tail -1)), median upload $upload_s s (range $(sort -n "$work/upload.txt" | head -1)-$(sort -n "$work/upload.txt" | tail -1))"
echo "upload throughput / unzip throughput: $(echo "$unzip_s / $upload_s" | bc -l | cut -c1-5)"
echo "serve peak RSS (VmHWM): $(awk '/VmHWM/ {print $2}' /proc/$serve_pid/status) kB"
