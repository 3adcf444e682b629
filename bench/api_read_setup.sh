# Sourced by bench/api_bench.sh and bench/api_instructions.sh: the data and
# policy both measure a read on. Needs BIN (the cloison binary), ROOT (the
# repository) and WORK (a scratch directory); sets D (the data directory),
# CODE (the structure), PID (the person read), PASS (the counsellor's
# password, changed from the bootstrap one), and writes $WORK/policy.toml and its field catalog.
api_read_setup() {
  D="$WORK/data"
  "$BIN" --data "$D" init >/dev/null
  "$BIN" --data "$D" generate --persons 2000 --seed 1 --no-files >/dev/null
  local row
  row=$(sqlite3 "$D/cloison.db" "select s.code, min(p.id) from persons p join structures s on s.id=p.referent_structure_id \
    where s.kind in ('mission_locale','agency') group by s.id order by count(*) desc limit 1")
  CODE=${row%|*}
  PID=${row#*|}
  PASS=$("$BIN" --data "$D" account bootstrap --username bench.counsellor --structure "$CODE" --role counsellor |
    sed -n '/initial password/{n;s/^ *//;p}')
  # A bootstrap password must be changed before the account may read.
  printf '%s\n' "$PASS" >"$WORK/pass.old"
  PASS="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')-Read"
  printf '%s\n' "$PASS" >"$WORK/pass.new"
  "$BIN" --data "$D" account passwd --as bench.counsellor --password-file "$WORK/pass.old" \
    --new-password-file "$WORK/pass.new" >/dev/null
  # One account reading one person tens of thousands of times a second is
  # exactly what the guard throttles: the benchmark's policy keeps the guard
  # in the path (its scoring is paid on every request) with its thresholds
  # raised out of reach, so that what is measured is the read path, not a 429.
  sed -E -e 's/^record_at = [0-9.]+/record_at = 100000/' -e 's/^alert_at = [0-9.]+/alert_at = 200000/' \
    -e 's/^step_up_at = [0-9.]+/step_up_at = 300000/' -e 's/^throttle_at = [0-9.]+/throttle_at = 400000/' \
    -e 's/^suspend_at = [0-9.]+/suspend_at = 500000/' "$ROOT/config/policy.toml" >"$WORK/policy.toml"
  grep -q '^suspend_at = 500000' "$WORK/policy.toml" || { echo "$(basename "$0"): could not raise the guard's thresholds" >&2; exit 2; }
  cp "$ROOT/config/field_catalog.toml" "$WORK/"  # the policy names its catalog relative to itself
}
