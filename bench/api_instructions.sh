#!/usr/bin/env bash
# Instructions per API read, counted by valgrind's callgrind: the same read
# as bench/api_bench.sh (a counsellor reading one person for accompaniment,
# through authentication, policy, quota, guard, durable audit append and
# the decrypting store read), with wrk as the client.
#
# Why: on a shared 2-core VM requests/s move by 10-20% from one run to the
# next, so a change worth 5% cannot be seen in them. Instruction counts are
# repeatable for the same binary and input, whatever else the machine is
# doing. They are not time: valgrind runs the code ~50x slower and without
# the CPU's SHA extensions, so hashing weighs more here than on the CPU.
# Compare binaries with it; quote requests/s from api_bench.sh.
#
#   bash bench/api_instructions.sh [BUILD_DIR|BINARY] [SECONDS]
#
# Prints, per server thread that ran more than a million instructions, its
# instructions per read (the I/O thread is the largest), and the reads
# counted. Needs valgrind, wrk, curl, python3, sqlite3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ARG=${1:-build/test}
SECS=${2:-6}
if [[ -x "$ARG" && ! -d "$ARG" ]]; then BIN=$ARG
else
  [[ -d "$ARG" ]] || ARG=$ROOT/$ARG
  BIN=$ARG/cloison
fi
[[ -x "$BIN" ]] || { echo "api_instructions: $BIN not found (run README command 2, or pass BUILD_DIR)" >&2; exit 2; }
for tool in valgrind callgrind_control wrk curl python3 sqlite3; do
  command -v "$tool" >/dev/null || { echo "api_instructions: $tool missing: CLOISON_BENCH_DEPS=1 bash scripts/setup.sh" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/cloison_api_instr.XXXXXX)
PORT=18082
SERVE_PID=""
cleanup() {
  if [[ -n "$SERVE_PID" ]]; then kill -TERM "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=bench/api_read_setup.sh
source "$ROOT/bench/api_read_setup.sh"
api_read_setup

valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" --separate-threads=yes \
  "$BIN" --data "$D" serve --listen 127.0.0.1:$PORT --threads 1 --policy "$WORK/policy.toml" --insecure-http \
  >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/v1/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/v1/healthz" >/dev/null || { echo "api_instructions: server did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
TOKEN=$(curl -sf "http://127.0.0.1:$PORT/v1/sessions" -H 'Content-Type: application/json' \
  -d "{\"username\":\"bench.counsellor\",\"password\":\"$PASS\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
URL="http://127.0.0.1:$PORT/v1/people/$PID?purpose=accompaniment"
entries() { curl -sf "http://127.0.0.1:$PORT/v1/healthz" | python3 -c 'import sys,json; print(json.load(sys.stdin)["audit_entries"])'; }

# Warm-up (caches, the session cache, the guard's state), then count only
# what the measured run does.
wrk -t1 -c16 -d2s -H "Authorization: Bearer $TOKEN" "$URL" >/dev/null
sleep 1
callgrind_control -z "$SERVE_PID" >/dev/null 2>&1
E0=$(entries)
out=$(wrk -t1 -c16 -d"${SECS}s" -H "Authorization: Bearer $TOKEN" "$URL")
grep -q "Non-2xx" <<<"$out" && { echo "api_instructions: non-2xx answers during the run" >&2; exit 1; }
sleep 1
E1=$(entries)
callgrind_control -d "$SERVE_PID" >/dev/null 2>&1
sleep 1
READS=$((E1 - E0))  # healthz is not audited: every entry between is a read
[[ $READS -gt 0 ]] || { echo "api_instructions: no reads counted" >&2; exit 1; }
echo "cloison serve --threads 1 under callgrind, wrk -c16 for ${SECS}s: $READS reads"
for f in "$WORK"/cg.out*; do
  t=$(grep -E "^(summary|totals):" "$f" | head -1 | awk '{print $2}' || true)
  if [[ -n "$t" && $t -gt 1000000 ]]; then
    echo "  thread ${f##*-}: $((t / READS)) instructions per read"
  fi
done
