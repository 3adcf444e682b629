#!/usr/bin/env bash
# API read throughput (issue 5): wrk against `cloison serve --threads 1`
# reading one person (authenticate + policy + quota + guard + durable audit
# append + decrypting store read), versus nginx (one worker) serving a static
# JSON file of the same size, in the same run, both on loopback with
# keep-alive. Prints requests/s, p50 and p99 for both and the ratio (goal:
# cloison >= 0.5x nginx over plain HTTP), then the same over TLS (both
# servers with the same self-signed certificate).
#
#   bash bench/api_bench.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
#
# BUILD_DIR defaults to build/test (README command 2), else build/release.
# Needs wrk, nginx, curl and python3: CLOISON_BENCH_DEPS=1 bash scripts/setup.sh
# Every response is checked: a run with non-2xx answers (a quota, a guard
# throttle) is reported as such, never counted as throughput.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-}
SECS=${2:-10}
CONNS=${3:-16}
if [[ -z "$BUILD" ]]; then
  for b in build/test build/release; do [[ -x "$ROOT/$b/cloison" ]] && BUILD=$ROOT/$b && break; done
fi
[[ -n "$BUILD" ]] || { echo "api_bench: no cloison binary (run README command 2, or pass BUILD_DIR)" >&2; exit 2; }
[[ -d "$BUILD" ]] || BUILD=$ROOT/$BUILD
BIN=$BUILD/cloison
[[ -x "$BIN" ]] || { echo "api_bench: $BIN not found" >&2; exit 2; }
for tool in wrk nginx curl python3 sqlite3; do
  command -v "$tool" >/dev/null || { echo "api_bench: $tool missing: CLOISON_BENCH_DEPS=1 bash scripts/setup.sh" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/cloison_api_bench.XXXXXX)
API_PORT=18080
NGINX_PORT=18081
SERVE_PID=""
cleanup() {
  if [[ -n "$SERVE_PID" ]]; then kill -TERM "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true; fi
  if [[ -f "$WORK/nginx.pid" ]]; then kill -TERM "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=bench/api_read_setup.sh
source "$ROOT/bench/api_read_setup.sh"
api_read_setup

# The Lua script prints one machine-readable line per run. Answers that are
# not 2xx are in wrk's own "Non-2xx or 3xx responses" line (printed only when
# there are some); no response() hook, which would slow wrk down.
cat >"$WORK/check.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout))
end
LUA
thread_ticks() {  # "tid ticks" for every thread of the cloison server
  local t
  [[ -n "$SERVE_PID" ]] || return 0
  for t in /proc/$SERVE_PID/task/*; do
    [[ -r $t/stat ]] && echo "${t##*/} $(awk '{print $14+$15}' "$t/stat" 2>/dev/null || echo 0)"
  done | sort
}
audit_append() {  # "sum_seconds count" of the server's audit append histogram (/metrics)
  curl -sfk "$SCHEME://127.0.0.1:$API_PORT/metrics" 2>/dev/null |
    awk '/^cloison_audit_append_duration_seconds_sum/{s=$2} /^cloison_audit_append_duration_seconds_count/{c=$2} END{print s+0, c+0}'
}
cpu_ticks() {  # utime+stime of the cloison server, in clock ticks
  if [[ -n "$SERVE_PID" && -r /proc/$SERVE_PID/stat ]]; then awk '{print $14+$15}' "/proc/$SERVE_PID/stat"; else echo 0; fi
}
run_wrk() {  # label url [header]
  local label=$1 url=$2 out t0 t1 th0 th1 a0 a1 extra=""
  shift 2
  t0=$(cpu_ticks)
  th0=$(thread_ticks)
  [[ $label == cloison* ]] && a0=$(audit_append)
  out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$WORK/check.lua" "$@" "$url")
  local non2xx
  t1=$(cpu_ticks)
  th1=$(thread_ticks)
  non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
  if [[ $label == cloison* ]]; then
    # Which regime the run was in: the busiest thread's share of the run
    # (the I/O thread; near 100% when CPU-bound) and the mean durable audit
    # append (sync-bound when it is long and that thread is idle).
    a1=$(audit_append)
    extra=$(python3 - "$SECS" "$a0" "$a1" "$th0" "$th1" <<'PY'
import os, sys
secs = float(sys.argv[1]); a0 = sys.argv[2].split(); a1 = sys.argv[3].split()
def ticks(s): return dict(l.split() for l in s.splitlines() if len(l.split()) == 2)
t0, t1 = ticks(sys.argv[4]), ticks(sys.argv[5])
busiest = max((int(v) - int(t0.get(k, 0)) for k, v in t1.items()), default=0)
busy = busiest / os.sysconf("SC_CLK_TCK") / secs * 100
n = float(a1[1]) - float(a0[1]) if len(a0) == 2 and len(a1) == 2 else 0
mean = (float(a1[0]) - float(a0[0])) / n * 1e6 if n > 0 else 0
print(f" busiest_thread_pct={busy:.0f} audit_append_us={mean:.0f}")
PY
)
  fi
  echo "$out" | sed -n 's/^RESULT /'"$label"' /p' | sed "s/\$/ non2xx=${non2xx:-0} cpu_ticks=$((t1 - t0))${extra}/"
}

serve() {  # extra flags for cloison serve
  "$BIN" --data "$D" serve --listen 127.0.0.1:$API_PORT --threads 1 --policy "$WORK/policy.toml" "$@" >"$WORK/serve.log" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 100); do
    curl -sfk "$SCHEME://127.0.0.1:$API_PORT/v1/healthz" >/dev/null && return 0
    sleep 0.1
  done
  echo "api_bench: cloison serve did not start:" >&2
  cat "$WORK/serve.log" >&2
  exit 1
}
stop_serve() { kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || true; SERVE_PID=""; }
token() {
  curl -sfk "$SCHEME://127.0.0.1:$API_PORT/v1/sessions" -H 'Content-Type: application/json' \
    -d "{\"username\":\"bench.counsellor\",\"password\":\"$PASS\"}" |
    python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])'
}

nginx_conf() {  # listen directive
  cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $WORK/nginx.pid;
error_log $WORK/nginx_error.log;
events { worker_connections 1024; }
http {
  access_log off;
  types { application/json json; }
  client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
  uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
  server {
    $1
    root $WORK/www; keepalive_requests 1000000;
  }
}
CONF
  mkdir -p "$WORK/tmp"
  if [[ -f "$WORK/nginx.pid" ]]; then nginx -c "$WORK/nginx.conf" -p "$WORK" -s reload; sleep 0.5
  else nginx -c "$WORK/nginx.conf" -p "$WORK"; fi
}

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }
cpu_per_request() {  # wrk result line -> server CPU microseconds per request
  python3 -c "import sys,os; t,r=float(sys.argv[1]),float(sys.argv[2]); print(f'{t*1e6/os.sysconf(\"SC_CLK_TCK\")/r:.1f}' if r else 'n/a')" \
    "$(field cpu_ticks "$1")" "$(field requests "$1")"
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
report() {  # title cloison-line nginx-line
  local c=$2 n=$3
  echo "$1"
  printf '  %-34s %10s req/s  p50 %6s us  p99 %6s us  non-2xx %s\n' "cloison (1 I/O thread, full path)" \
    "$(field rps "$c")" "$(field p50_us "$c")" "$(field p99_us "$c")" "$(field non2xx "$c")"
  printf '  %-34s %10s req/s  p50 %6s us  p99 %6s us  non-2xx %s\n' "nginx (1 worker, static file)" \
    "$(field rps "$n")" "$(field p50_us "$n")" "$(field p99_us "$n")" "$(field non2xx "$n")"
  echo "  ratio cloison / nginx: $(ratio "$(field rps "$c")" "$(field rps "$n")")"
  echo "  cloison server CPU per request: $(cpu_per_request "$c") us (user + system, all its threads)"
  echo "  cloison busiest thread (the I/O thread) busy $(field busiest_thread_pct "$c")% of the run;" \
    "mean durable audit append $(field audit_append_us "$c") us (a long append with an idle I/O thread: sync-bound)"
  if [[ "$(field non2xx "$c")" != "0" ]]; then echo "  WARNING: cloison answered non-2xx during the run; the figure is not a read throughput"; fi
}

echo "wrk -t1 -c$CONNS -d${SECS}s, keep-alive, loopback; disk: $(df -T "$WORK" | awk 'NR==2{print $2}'); $(nproc) cores"
echo "cloison serve --threads 1 (one I/O thread; a read is answered from it once its audit entry is"
echo "durable, without the thread waiting: concurrent reads share one fdatasync); nginx worker_processes 1"

# --- plain HTTP
SCHEME=http
serve --insecure-http
TOKEN=$(token)
URL="http://127.0.0.1:$API_PORT/v1/people/$PID?purpose=accompaniment"
mkdir -p "$WORK/www"
chmod 755 "$WORK" "$WORK/www"  # nginx workers run unprivileged
curl -sf "$URL" -H "Authorization: Bearer $TOKEN" >"$WORK/www/person.json"
chmod 644 "$WORK/www/person.json"
SIZE=$(stat -c %s "$WORK/www/person.json")
echo "payload: $SIZE bytes (person $PID, purpose accompaniment, counsellor of $CODE)"
nginx_conf "listen 127.0.0.1:$NGINX_PORT;"
C=$(run_wrk cloison "$URL" -H "Authorization: Bearer $TOKEN")
N=$(run_wrk nginx "http://127.0.0.1:$NGINX_PORT/person.json")
report "plain HTTP" "$C" "$N"
ENTRIES=$(curl -sf http://127.0.0.1:$API_PORT/v1/healthz || true)
stop_serve
# For comparison: reads on the worker pool, each worker waiting for its
# read's sync (--sync-reads), then everything on the one I/O thread, one
# fdatasync per read (--sync-reads --handler-threads 0).
for variant in "--sync-reads" "--sync-reads --handler-threads 0"; do
  # shellcheck disable=SC2086
  serve --insecure-http $variant
  TOKEN=$(token)
  C0=$(run_wrk cloison0 "$URL" -H "Authorization: Bearer $TOKEN")
  printf '  %-34s %10s req/s  p50 %6s us  p99 %6s us  CPU %s us/request\n' "cloison $variant" \
    "$(field rps "$C0")" "$(field p50_us "$C0")" "$(field p99_us "$C0")" "$(cpu_per_request "$C0")"
  stop_serve
done

# --- TLS: cloison's self-signed certificate for both
SCHEME=https
serve
TOKEN=$(token)
cp "$D/tls/cert.pem" "$D/tls/key.pem" "$WORK/"
chmod 644 "$WORK/cert.pem" "$WORK/key.pem"
nginx_conf "listen 127.0.0.1:$NGINX_PORT ssl; ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem;"
C=$(run_wrk cloison "https://127.0.0.1:$API_PORT/v1/people/$PID?purpose=accompaniment" -H "Authorization: Bearer $TOKEN")
N=$(run_wrk nginx "https://127.0.0.1:$NGINX_PORT/person.json")
report "TLS (same certificate, keep-alive: one handshake per connection)" "$C" "$N"
stop_serve
echo "healthz after the plain run: $ENTRIES"
