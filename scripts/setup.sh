#!/usr/bin/env bash
# Installs every Debian package Cloison's build, tests and benchmarks need.
# Idempotent: runs `apt-get update` only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libsodium-dev libssl-dev liboath-dev libsqlite3-dev sqlite3 libpq-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libabsl-dev libboost-dev libboost-system-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  openssl
  curl jq oathtool   # the demo's printed commands (login with a TOTP code, JSON)
)
if [[ "${CLOISON_BENCH_DEPS:-0}" == "1" ]]; then
  PACKAGES+=(wrk nginx time python3 valgrind)   # bench/*.sh (valgrind: api_instructions.sh)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
