#!/usr/bin/env bash
# Compares `verify` throughput (leaves per second, bench/audit_bench.cc
# BM_Verify) with what OpenSSL's own SHA-256 does on the same machine for
# the same work: per leaf, one hash of (1 + leaf bytes) and, amortised, one
# 65-byte node hash (0x01 || left || right). Prints both and the ratio
# (goal: at least 0.7).
#
# Usage: bench/audit_vs_openssl.sh [path/to/audit_bench]
set -euo pipefail
BENCH=${1:-build-audit/bench/audit_bench}
SECS=${OPENSSL_SECONDS:-3}

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
