#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test:
#  1. the regular build (Release) with unit + integration tests, and
#     the benchmarks compiled (not run: speed goals live in bench/);
#  2. an AddressSanitizer + UndefinedBehaviorSanitizer build of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

echo "== regular build and tests"
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/test -j "$jobs"
ctest --test-dir build/test --output-on-failure -j "$jobs"

echo "== ASan + UBSan build and tests"
# -O1 -g1: sanitizer builds compile twice as slowly; this keeps usable stack
# traces within the CI time budget.
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" \
  -DCLOISON_SANITIZE=ON -DCLOISON_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs"
