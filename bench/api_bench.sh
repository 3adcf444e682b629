#!/usr/bin/env bash
# API read throughput: wrk against `cloison serve --insecure-http --threads 1`
# reading one person (authenticate + policy + quota + durable audit append +
# decrypting store read), versus nginx (one worker) serving a static JSON file
# of the same size. Both on loopback, plain HTTP.
#
#   bash bench/api_bench.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
#
# Needs wrk and nginx (CLOISON_BENCH_DEPS=1 bash scripts/setup.sh).
set -euo pipefail
BUILD=${1:-build}
SECS=${2:-10}
CONNS=${3:-16}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "$ROOT/$BUILD/cloison" 2>/dev/null || realpath "$BUILD/cloison")
WORK=$(mktemp -d /tmp/cloison_api_bench.XXXXXX)
API_PORT=18080
NGINX_PORT=18081
cleanup() {
  [[ -n "${SERVE_PID:-}" ]] && kill -TERM "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true
  [[ -f "$WORK/nginx.pid" ]] && kill -TERM "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

D="$WORK/data"
"$BIN" --data "$D" init >/dev/null
"$BIN" --data "$D" generate --persons 2000 --seed 1 --no-files >/dev/null
ROW=$(sqlite3 "$D/cloison.db" "select s.code, min(p.id) from persons p join structures s on s.id=p.referent_structure_id \
  where s.kind in ('mission_locale','agency') group by s.id order by count(*) desc limit 1")
CODE=${ROW%|*}
PID=${ROW#*|}
PASS=$("$BIN" --data "$D" account bootstrap --username bench.counsellor --structure "$CODE" --role counsellor |
  sed -n '/initial password/{n;s/^ *//;p}')
"$BIN" --data "$D" serve --listen 127.0.0.1:$API_PORT --insecure-http --threads 1 >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:$API_PORT/v1/healthz >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf http://127.0.0.1:$API_PORT/v1/sessions -H 'Content-Type: application/json' \
  -d "{\"username\":\"bench.counsellor\",\"password\":\"$PASS\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
URL="http://127.0.0.1:$API_PORT/v1/people/$PID?purpose=accompaniment"
mkdir -p "$WORK/www"
chmod 755 "$WORK" "$WORK/www"  # nginx workers run unprivileged
curl -sf "$URL" -H "Authorization: Bearer $TOKEN" >"$WORK/www/person.json"
chmod 644 "$WORK/www/person.json"
SIZE=$(stat -c %s "$WORK/www/person.json")

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
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; keepalive_requests 1000000; }
}
CONF
mkdir -p "$WORK/tmp"
nginx -c "$WORK/nginx.conf" -p "$WORK"

echo "payload: $SIZE bytes (person $PID, purpose accompaniment); wrk -t1 -c$CONNS -d${SECS}s; disk: $(df -T "$WORK" | awk 'NR==2{print $2}')"
echo "--- cloison serve --insecure-http --threads 1 (auth + policy + quota + durable audit append + decrypting read)"
wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -H "Authorization: Bearer $TOKEN" "$URL" | sed -n '/Latency/,/Transfer/p'
echo "--- nginx, 1 worker, static file of the same size"
wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$NGINX_PORT/person.json" | sed -n '/Latency/,/Transfer/p'
echo "audit entries after the run: $(curl -sf http://127.0.0.1:$API_PORT/v1/healthz)"
