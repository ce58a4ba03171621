#!/usr/bin/env bash
# Installs the Debian packages Breakwater needs to build, run and test.
# Usage: scripts/install-deps.sh [build|test]
#   build: compiler and libraries only (enough for `breakwater serve`)
#   test : also the services and tools the test suite starts (RabbitMQ, PostgreSQL, clang/libFuzzer)
set -euo pipefail
mode="${1:-build}"

build_pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libboost-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  librabbitmq-dev libpq-dev libsqlite3-dev zlib1g-dev libdeflate-dev libcurl4-openssl-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libre2-dev libsodium-dev libzip-dev
)
test_pkgs=(
  clang libclang-rt-14-dev rabbitmq-server postgresql postgresql-client procps python3
  nginx  # peer of the collector benchmark (bench/collector)
  chromium  # browser tests (tests/browser, driven by playwright-core from npm)
)
# node and npm for the browser tests: Debian's when the machine has no node of its own.
if [ ! -x /usr/bin/node ]; then test_pkgs+=(nodejs npm); fi

pkgs=("${build_pkgs[@]}")
if [ "$mode" = "test" ]; then pkgs+=("${test_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Services must not start themselves from the package scripts; the tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
