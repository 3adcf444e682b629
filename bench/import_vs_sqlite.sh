#!/usr/bin/env bash
# Generating + importing N people with encryption and blind indexes, against
# sqlite3's own `.import` of the same CSV into a plain table, on the same
# machine in the same run. Prints both times, the ratios and peak memory.
#
#   bash bench/import_vs_sqlite.sh [N]     (default 1600000)
#   RUNS=3 bash bench/import_vs_sqlite.sh  (runs per contender, default 2:
#                                           the best of them counts, for all)
#
# Goal (issue "Records core"): at most 2x sqlite3's time.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1600000}
RUNS=${RUNS:-2}
SEED=${SEED:-2025}
CLOISON_BENCH_DEPS=1 bash scripts/setup.sh >/dev/null
# The Release binary of README command 2 if it is there, else a Release build
# of `cloison` alone (BUILD_DIR=... to choose).
if [[ -n "${BUILD_DIR:-}" ]]; then BIN=$(realpath "$BUILD_DIR")/cloison
elif [[ -x build/test/cloison ]]; then BIN=$PWD/build/test/cloison
else
  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCLOISON_BUILD_TESTS=OFF -DCLOISON_BUILD_BENCH=OFF >/dev/null
  cmake --build build/release --target cloison >/dev/null
  BIN=$PWD/build/release/cloison
fi
WORK=$(mktemp -d /tmp/cloison-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export CLOISON_MASTER_KEY=$(openssl rand -hex 32)

# measure LABEL CMD...: runs CMD under /usr/bin/time, records seconds and peak RSS (KiB).
# Each run starts on a quiet disk: `sync` first, so that no contender pays for
# the write-back of what the previous step wrote (the CSV, the other stores).
# And each starts with the same memory: only the CSV (and, for the import,
# the network's store) in the page cache. What a finished step wrote and no
# later step reads is deleted before the next run (the CSV step's JSON Lines
# files, sqlite3's database, generate's store). On the 2-core VM a page the
# guest touches for the first time costs about 1.5 s per GB: a contender
# that ran while 1.5-2.5 GB of earlier output still held the page cache
# wrote its own 1.2 GB into such pages (import 10.6-11 s) where one writing
# into freed pages took 8.6 s; sqlite3, which writes 300 MB, did not move.
# Called RUNS times per contender: keeps the best time (the host's noise only
# ever adds time; every contender gets the same number of tries), the
# largest peak, and every run's time for the report.
measure() {
  local label=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$WORK/$label.time" "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" || {
    echo "$label failed:"; cat "$WORK/$label.err"; exit 1; }
  read -r secs kib <"$WORK/$label.time"
  local best_var=${label}_s kib_var=${label}_kib runs_var=${label}_runs
  if [[ -z "${!best_var:-}" ]] || awk -v a="$secs" -v b="${!best_var}" 'BEGIN { exit !(a < b) }'; then
    printf -v "$best_var" '%s' "$secs"
  fi
  if [[ -z "${!kib_var:-}" ]] || (( kib > ${!kib_var} )); then printf -v "$kib_var" '%s' "$kib"; fi
  printf -v "$runs_var" '%s%s ' "${!runs_var:-}" "$secs"
}

echo "people: $N (seed $SEED), cores: $(nproc)"
# The CSV every contender reads (not timed).
"$BIN" --data "$WORK/files" generate --persons "$N" --seed "$SEED" --out "$WORK/files/out" --no-store >/dev/null
CSV="$WORK/files/out/people.csv"
echo "csv: $(du -h "$CSV" | cut -f1)"
rm -f "$WORK/files/out/people.jsonl" "$WORK/files/out/orientations.jsonl"  # not read by any contender

# 1. sqlite3 .import into a plain table (its own CSV reader, no encryption, no index).
cat >"$WORK/sqlite.sql" <<SQL
PRAGMA journal_mode=WAL;
.mode csv
.import $CSV people
SELECT count(*) FROM people;
SQL
for _ in $(seq "$RUNS"); do
  rm -f "$WORK/plain.db" "$WORK/plain.db-wal" "$WORK/plain.db-shm"
  measure sqlite sqlite3 "$WORK/plain.db" ".read $WORK/sqlite.sql"
done
plain_mib=$(( $(stat -c %s "$WORK/plain.db") / 1048576 ))
rm -f "$WORK/plain.db" "$WORK/plain.db-wal" "$WORK/plain.db-shm"

# 2. cloison generate straight into the store (generate + encrypt + blind-index + insert).
for _ in $(seq "$RUNS"); do
  rm -rf "$WORK/gen"
  measure generate "$BIN" --data "$WORK/gen" generate --persons "$N" --seed "$SEED" --no-files
done
gen_mib=$(( $(stat -c %s "$WORK/gen/cloison.db") / 1048576 ))
rm -rf "$WORK/gen"

# 3. cloison import of the same CSV into a store holding the same network.
for _ in $(seq "$RUNS"); do
  rm -rf "$WORK/imp"
  "$BIN" --data "$WORK/imp" generate --persons "$N" --seed "$SEED" --network-only --no-files >/dev/null
  measure import "$BIN" --data "$WORK/imp" import "$CSV"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.01; printf "%.2f", a / b }'; }
printf '%-44s %8s %10s %8s\n' "run" "seconds" "peak MiB" "ratio"
printf '%-44s %8.2f %10d %8s\n' "sqlite3 .import (plain table)" "$sqlite_s" $((sqlite_kib / 1024)) "1.00"
printf '%-44s %8.2f %10d %8s\n' "cloison generate -> store (encrypted)" "$generate_s" $((generate_kib / 1024)) "$(ratio "$generate_s" "$sqlite_s")"
printf '%-44s %8.2f %10d %8s\n' "cloison import CSV -> store (encrypted)" "$import_s" $((import_kib / 1024)) "$(ratio "$import_s" "$sqlite_s")"
echo "best of $RUNS runs each; every run (s): sqlite3 ${sqlite_runs}| generate ${generate_runs}| import ${import_runs}"
echo "database size: sqlite3 ${plain_mib} MiB, cloison $gen_mib MiB (generate), $(( $(stat -c %s "$WORK/imp/cloison.db") / 1048576 )) MiB (import)"
echo "goal: ratio <= 2.00"
