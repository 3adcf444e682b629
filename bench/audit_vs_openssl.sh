#!/usr/bin/env bash
# Compares `verify` throughput (leaves per second, bench/audit_bench.cc
# BM_Verify) with what OpenSSL's own SHA-256 does on the same machine for
# the same work: per leaf, one hash of (1 + leaf bytes) and, amortised, one
# 65-byte node hash (0x01 || left || right). Prints both and the ratio
# (goal: at least 0.7).
#
# Usage: bash bench/audit_vs_openssl.sh [path/to/audit_bench]
#   Without an argument it uses, in this order, the first that exists:
#   $AUDIT_BENCH, build/release/bench/audit_bench, build/test/bench/audit_bench
#   (relative to the repository); if none does, it builds the target
#   `audit_bench` in build/release (or build/test, if only that tree is
#   configured; a fresh build/release tree otherwise), with ccache when
#   /root/.ccache_env exists.
# Needs: python3 (3.6 or later, standard library only: json) and the openssl
#   command-line tool (1.1.1 or 3.x: `speed -evp sha256 -bytes N -seconds S -mr`);
#   on Debian 12: apt-get install python3 openssl (scripts/setup.sh installs
#   openssl, not python3).
# Environment: OPENSSL_SECONDS (default 3) per OpenSSL measurement;
#   AUDIT_BENCH_DIR (default /tmp) where the benchmark writes its log.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=${OPENSSL_SECONDS:-3}

for tool in python3 openssl; do
  command -v "$tool" >/dev/null || { echo "audit_vs_openssl.sh: $tool is required (apt-get install $tool)" >&2; exit 3; }
done

find_bench() {
  local c
  for c in "${AUDIT_BENCH:-}" "$ROOT/build/release/bench/audit_bench" "$ROOT/build/test/bench/audit_bench"; do
    if [[ -n "$c" && -x "$c" ]]; then echo "$c"; return 0; fi
  done
  return 1
}

if [[ $# -ge 1 ]]; then
  BENCH=$1
elif ! BENCH=$(find_bench); then
  if [[ -f "$ROOT/build/release/CMakeCache.txt" || ! -f "$ROOT/build/test/CMakeCache.txt" ]]; then
    TREE="$ROOT/build/release" TYPE=Release
  else
    TREE="$ROOT/build/test" TYPE=Release
  fi
  echo "audit_vs_openssl.sh: no audit_bench binary found; building it in $TREE" >&2
  LAUNCHER=()
  if [[ -f /root/.ccache_env ]] && command -v ccache >/dev/null; then
    # shellcheck disable=SC1091
    source /root/.ccache_env
    LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  if [[ ! -f "$TREE/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$TREE" -G Ninja -DCMAKE_BUILD_TYPE="$TYPE" "${LAUNCHER[@]}" >/dev/null
  fi
  cmake --build "$TREE" -j "$(nproc)" --target audit_bench >&2
  BENCH="$TREE/bench/audit_bench"
fi
[[ -x "$BENCH" ]] || { echo "audit_vs_openssl.sh: $BENCH is not an executable" >&2; exit 2; }
echo "benchmark: $BENCH" >&2

out=$("$BENCH" --benchmark_filter='BM_Verify' --benchmark_format=json 2>/dev/null)
read -r leaves leaf_bytes < <(python3 -c '
import json,sys
b=[x for x in json.load(sys.stdin)["benchmarks"] if x["name"].startswith("BM_Verify")][0]
print(b["leaves_per_second"], b["leaf_bytes"])' <<<"$out")
leaf_block=$(python3 -c "print(int(round($leaf_bytes)) + 1)")

# hashes per second at one block size (machine-readable +F line: bytes/s).
rate() {
  openssl speed -evp sha256 -bytes "$1" -seconds "$SECS" -mr 2>/dev/null |
    awk -F: -v n="$1" '/^\+F:/ { printf "%.0f\n", $4 / n }'
}
leaf_rate=$(rate "$leaf_block")
node_rate=$(rate 65)
python3 - "$leaves" "$leaf_block" "$leaf_rate" "$node_rate" <<'PY'
import sys
leaves, block, leaf_rate, node_rate = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
openssl_leaves = 1.0 / (1.0 / leaf_rate + 1.0 / node_rate)
print(f"openssl speed -evp sha256: {leaf_rate:,.0f} hashes/s at {block} bytes, {node_rate:,.0f} hashes/s at 65 bytes")
print(f"  => {openssl_leaves:,.0f} leaves/s (one leaf hash + one node hash each)")
print(f"cloison audit verify:      {leaves:,.0f} leaves/s (leaf {block - 1} bytes, framed, CRC32C-checked)")
print(f"ratio verify/openssl:      {leaves / openssl_leaves:.2f}  (goal >= 0.7)")
PY
