#!/usr/bin/env bash
# README command 1: install what is missing, build, and run `cloison demo`.
# Extra arguments go to `cloison demo` (e.g. --persons 1600000, --listen 127.0.0.1:9443,
# --no-serve). The demo keeps serving the API until Ctrl-C (exec: the signal reaches it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCLOISON_BUILD_TESTS=OFF -DCLOISON_BUILD_BENCH=OFF >/dev/null
cmake --build build/release --target cloison
exec build/release/cloison demo "$@"
