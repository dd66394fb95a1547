#!/bin/bash
# coffer serve end to end (docs/service.md): policies over folder units with
# a test frequency, inclusion rules, a failing unit retried with back-off;
# thinning and expiry on a simulated clock (also of points the storage
# server still locks); a restart in the middle of a
# large backup; the catalog rebuilt from the stores. Real servers on
# loopback ports 18600-18649, driven with curl and jq.
#
# COFFER_TEST_CATALOG=pg: every service's catalog is a database of its own
# on a PostgreSQL 15 the script starts (port 18649), not DATA/catalog.db.
. "$(dirname "$0")/lib.sh"

# catalog_args NAME: the catalog option of service NAME (none: SQLite in
# its data folder).
CATALOG_KIND=${COFFER_TEST_CATALOG:-sqlite}
catalog_args() {
	[ "$CATALOG_KIND" = pg ] || return 0
	printf '%s\n' --catalog "$(pg_db "$1")"
}
if [ "$CATALOG_KIND" = pg ]; then
	pg_start 18649 || { not_ok "service: PostgreSQL starts for the catalog" "see $T/pg/log"; exit 1; }
	ok "service: the catalogs are on PostgreSQL ($PG_URL)"
fi

for tool in curl jq python3; do
	command -v $tool >/dev/null || { not_ok "service: $tool is installed" "missing"; exit 1; }
done
SEED=service

# serve NAME PORT [ARGS...]: starts coffer serve on DATA=$T/NAME (stdout in
# $T/NAME.out, stderr in $T/NAME.err) and waits for /v1/health.
serve() {
	local name=$1 port=$2
	shift 2
	# (imap units here point at loopback: allowed as in tests/e2e/ssrf.sh)
	local cat
	mapfile -t cat < <(catalog_args "$name")
	serve_start "$name" "http://127.0.0.1:$port" --data "$T/$name" ${cat[@]+"${cat[@]}"} \
		--listen "127.0.0.1:$port" \
		--workers 2 --tick-ms 200 --min-frequency 1 --source-allow 127.0.0.1 "$@" && return 0
	not_ok "service: coffer serve $name starts" "$(serve_why "$name")"
	exit 1
}

# unit NAME PATH: creates a folder unit of kind account; its id in $UID_.
# The global admin does: without folder_root, tenants name no folders.
unit() {
	api "$GTOK" POST "/v1/tenants/$TID/protectionUnits" \
		"{\"name\":\"$1\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$2\"}}"
	UID_=$(jq -r .id "$T/resp")
	[ "$code" = 201 ] || [ "$code" = 200 ]
}

U=/v1/tenants
# (forgotten points counted too, unlike lib.sh's rp_count)
rp_count() { q "$TOK" "$U/$TID/protectionUnits/$1/restorePoints?limit=1000&includeForgotten=true" '.items | length'; }
unit_by_name() { q "$TOK" "$U/$TID/protectionUnits?limit=1000" ".items[] | select(.name == \"$1\") | .id"; }

# ---------------------------------------------------------------------
# 0. The config file: bad lines are refused naming file, line and key.
printf '# test\nworkers = 2\nbogus = 1\n' >"$T/bad.conf"
run "$COFFER" serve --config "$T/bad.conf" --data "$T/d0"
if [ "$rc" = 2 ] && grep -q "bad.conf:3: unknown setting 'bogus'" "$T/err"; then
	ok "service: an unknown config key is refused naming file and line"; else
	not_ok "service: an unknown config key is refused naming file and line" "exit $rc $(cat "$T/err")"; fi
printf 'workers = many\n' >"$T/bad.conf"
run "$COFFER" serve --config "$T/bad.conf" --data "$T/d0"
if [ "$rc" = 2 ] && grep -q "setting 'workers': 'many' is not a whole number" "$T/err"; then
	ok "service: a bad config value is refused naming the key"; else
	not_ok "service: a bad config value is refused naming the key" "exit $rc $(cat "$T/err")"; fi
# An empty config file is no settings (it was read past its end).
: >"$T/empty.conf"
run "$COFFER" serve --config "$T/empty.conf" --data "$T/d0" --workers many
if [ "$rc" = 2 ] && grep -q "setting 'workers': 'many'" "$T/err"; then
	ok "service: an empty config file is read as no settings"; else
	not_ok "service: an empty config file is read as no settings" "exit $rc $(head -3 "$T/err")"; fi
# Locations (docs/service.md "Locations"): names, specs and locks checked
# at the start, naming the setting.
printf 'location.EU = /srv/x\n' >"$T/bad.conf"
run "$COFFER" serve --config "$T/bad.conf" --data "$T/d0"
if [ "$rc" = 2 ] && grep -q "location name 'EU': only a-z" "$T/err"; then
	ok "service: a bad location name is refused"; else
	not_ok "service: a bad location name is refused" "exit $rc $(cat "$T/err")"; fi
printf 'location.arch = /srv/arch\nlocation.arch.object_lock = compliance 30\n' >"$T/bad.conf"
run "$COFFER" serve --config "$T/bad.conf" --data "$T/d0"
if [ "$rc" = 2 ] && grep -q "location 'arch': object_lock needs an S3 location" "$T/err"; then
	ok "service: Object Lock on a folder location is refused"; else
	not_ok "service: Object Lock on a folder location is refused" "exit $rc $(cat "$T/err")"; fi
run "$COFFER" serve --data "$T/d0" --location "eu=ftp://host/x"
if [ "$rc" = 2 ] && grep -q "location.eu" "$T/err" && grep -q "ftp" "$T/err"; then
	ok "service: a location with an unknown scheme is refused"; else
	not_ok "service: a location with an unknown scheme is refused" "exit $rc $(cat "$T/err")"; fi
run "$COFFER" serve --data "$T/d0" --default-location mars
if [ "$rc" = 2 ] && grep -q "default_location 'mars'" "$T/err"; then
	ok "service: a default_location that is not configured is refused"; else
	not_ok "service: a default_location that is not configured is refused" "exit $rc $(cat "$T/err")"; fi
# The file sets the data folder and a slow tick; flags override the tick.
printf 'data = "%s"\ntick_ms = 100000\nmin_frequency = 600\nfolder_root = "%s"\n' "$T/d1" "$T/fr" >"$T/good.conf"

# ---------------------------------------------------------------------
# 1. A policy over 3 folder units (explicit + a subfolders rule).
D1=$T/d1
# With folder_root every folder of a tenant is inside FOLDER_ROOT/<tenant
# name>/, whoever names it (here the global admin names ann's, the tenant's
# rule the home folders).
HOMES=$T/fr/acme/home
ANNDIR=$T/fr/acme/src/ann
mkdir -p "$ANNDIR" "$HOMES/cat" "$HOMES/dan"
ln -s "$T/fr/acme/home" "$T/home"
ln -s "$T/fr/acme/src" "$T/src"
for d in src/ann home/cat home/dan; do
	gen "$d" 200000 >"$T/$d/data.bin"
	echo "hello $d" >"$T/$d/note.txt"
done
serve d1 18601 --config "$T/good.conf"
GTOK=$(grep -m1 '^cft_' "$T/d1.out")
if [ -n "$GTOK" ]; then ok "service: first start prints a global admin token"; else
	not_ok "service: first start prints a global admin token" "$(head -2 "$T/d1.out")"; fi
if tenant acme; then ok "service: tenant and tenant admin token created"; else
	not_ok "service: tenant and tenant admin token created" "$code $(cat "$T/resp")"; fi
# Tenants' keys derive from the service key (docs/service.md "Keys"): no
# file per tenant, and `coffer catalog tenant-key` writes one for work by hand.
if [ ! -e "$T/d1/keys/$TID.key" ]; then ok "service: no tenant key file is kept"; else
	not_ok "service: no tenant key file is kept" "$(ls "$T/d1/keys")"; fi
run "$COFFER" catalog tenant-key "$TID" --data "$T/d1" --key-file-new "$T/k1"
if [ "$rc" = 0 ] && [ "$(stat -c %a "$T/k1")" = 600 ]; then ok "service: catalog tenant-key writes a 0600 key file"; else
	not_ok "service: catalog tenant-key writes a 0600 key file" "exit $rc $(cat "$T/err")"; fi
run "$COFFER" catalog tenant-key "$TID" --data "$T/d1" --key-file-new "$T/k1"
if [ "$rc" != 0 ] && grep -q "k1" "$T/err"; then ok "service: catalog tenant-key never overwrites a file"; else
	not_ok "service: catalog tenant-key never overwrites a file" "exit $rc"; fi
unit ann "$ANNDIR"; ANN=$UID_
api "$TOK" POST "$U/$TID/protectionPolicies" \
	"{\"name\":\"homes\",\"kind\":\"account\",\"units\":[\"$ANN\"],\"rules\":[{\"type\":\"subfolders\",\"path\":\"$HOMES\"}],\"frequencySeconds\":2,\"state\":\"active\"}"
POL=$(jq -r .id "$T/resp")
st=$(jq -r .state "$T/resp")
if [ "$code" = 201 ] && [ "$st" = activating ]; then ok "service: an activated policy starts activating"; else
	not_ok "service: an activated policy starts activating" "$code $(cat "$T/resp")"; fi
pol_state() { [ "$(q "$TOK" "$U/$TID/protectionPolicies/$POL" .state)" = "$1" ]; }
if until_true 60 pol_state active; then ok "service: the policy goes from activating to active"; else
	not_ok "service: the policy goes from activating to active" "$(cat "$T/resp")"; fi
CAT=$(unit_by_name cat); DAN=$(unit_by_name dan)
if [ -n "$CAT" ] && [ -n "$DAN" ]; then ok "service: the subfolders rule made units cat and dan"; else
	not_ok "service: the subfolders rule made units cat and dan" "$(cat "$T/resp")"; fi
all_have() { local u; for u in "$@"; do [ "$(rp_count "$u")" -ge "${MIN:-1}" ] || return 1; done; }
if MIN=1 all_have "$ANN" "$CAT" "$DAN"; then ok "service: every unit of the policy has a restore point"; else
	not_ok "service: every unit of the policy has a restore point" "ann $(rp_count "$ANN") cat $(rp_count "$CAT") dan $(rp_count "$DAN")"; fi
if MIN=3 until_true 30 all_have "$ANN" "$CAT" "$DAN"; then
	ok "service: restore points keep coming at the policy's frequency"; else
	not_ok "service: restore points keep coming at the policy's frequency" "ann $(rp_count "$ANN") cat $(rp_count "$CAT")"; fi
if [ "$(unit_field "$CAT" state)" = protected ]; then ok "service: a backed-up unit is protected"; else
	not_ok "service: a backed-up unit is protected" "$(cat "$T/resp")"; fi

mkdir -p "$HOMES/eve" "$HOMES/cat.restored-1"; echo eve >"$HOMES/eve/a.txt"
has_eve() { EVE=$(unit_by_name eve); [ -n "$EVE" ] && [ "$(rp_count "$EVE")" -ge 1 ]; }
if until_true 30 has_eve; then ok "service: a new subfolder is picked up and backed up"; else
	not_ok "service: a new subfolder is picked up and backed up" "$(cat "$T/resp")"; fi
if [ -z "$(unit_by_name cat.restored-1)" ]; then
	ok "service: a restore session's copy beside a unit (cat.restored-1) is not made a unit"; else
	not_ok "service: a restore session's copy beside a unit is not made a unit" "it was"; fi
rmdir "$HOMES/cat.restored-1"

# A unit whose folder goes away fails, shows why, is retried; others go on.
mv "$ANNDIR" "$ANNDIR.gone"
failing() { [ "$(unit_field "$ANN" failures)" -ge 2 ] && [ "$(unit_field "$ANN" lastError)" != null ]; }
before=$(rp_count "$CAT")
if until_true 40 failing; then ok "service: a unit whose folder is missing fails, is retried and shows last_error"; else
	not_ok "service: a unit whose folder is missing fails, is retried and shows last_error" "$(cat "$T/resp")"; fi
err=$(unit_field "$ANN" lastError)
case "$err" in *"$ANNDIR"*) ok "service: the last error names the folder" ;;
*) not_ok "service: the last error names the folder" "$err" ;; esac
if [ "$(rp_count "$CAT")" -gt "$before" ]; then ok "service: the other units go on while one fails"; else
	not_ok "service: the other units go on while one fails" "cat stayed at $before"; fi
mv "$ANNDIR.gone" "$ANNDIR"
recovered() { [ "$(unit_field "$ANN" failures)" = 0 ] && [ "$(unit_field "$ANN" lastError)" = null ]; }
if until_true 200 recovered; then ok "service: the unit recovers when its folder is back"; else
	not_ok "service: the unit recovers when its folder is back" "$(cat "$T/resp")"; fi

api "$TOK" POST "$U/$TID/protectionPolicies" '{"name":"bad","kind":"account","frequencySeconds":0}'
if [ "$code" = 400 ] && grep -q frequencySeconds "$T/resp"; then ok "service: a frequency below the minimum is refused"; else
	not_ok "service: a frequency below the minimum is refused" "$code $(cat "$T/resp")"; fi
api "$TOK" POST "$U/$TID/protectionUnits" '{"name":"x","kind":"drive","source":{"type":"folder","path":"/tmp"}}'
if [ "$code" = 400 ] && grep -q "drive" "$T/resp"; then ok "service: an unknown unit kind is refused"; else
	not_ok "service: an unknown unit kind is refused" "$code $(cat "$T/resp")"; fi
api "$TOK" POST "$U/$TID/protectionUnits" \
	'{"name":"mail","kind":"mailbox","source":{"type":"imap","host":"127.0.0.1","user":"ann","secret":"hunter2-secret"}}'
if [ "$code" = 201 ] && ! grep -q hunter2 "$T/resp"; then ok "service: an imap unit is created and its secret not shown"; else
	not_ok "service: an imap unit is created and its secret not shown" "$code $(cat "$T/resp")"; fi
if [ "$CATALOG_KIND" = pg ]; then
	if pg_dump "$(pg_db d1)" | grep -q hunter2; then
		not_ok "service: the secret is sealed in the catalog" "found in clear"; else
		ok "service: the secret is sealed in the catalog"; fi
elif command -v sqlite3 >/dev/null; then
	if sqlite3 "$D1/catalog.db" .dump | grep -q hunter2; then
		not_ok "service: the secret is sealed in the catalog" "found in clear"; else
		ok "service: the secret is sealed in the catalog"; fi
fi
if grep -q hunter2 "$T/d1.err" "$D1/tenants/$TID/units/"*.json; then
	not_ok "service: the secret is in no log or descriptor" "found"; else
	ok "service: the secret is in no log or descriptor"; fi

api "$GTOK" GET /metrics
if [ "$code" = 200 ] && grep -q "coffer_restore_points_total{tenant=\"$TID\",unit=\"$CAT\",result=\"ok\"} [1-9]" "$T/resp" &&
	grep -q 'coffer_restore_points_total{.*result="failed"} [1-9]' "$T/resp" &&
	grep -q "coffer_store_bytes{tenant=\"$TID\"} [1-9]" "$T/resp" &&
	grep -q 'coffer_job_duration_seconds_count{kind="backup"} [1-9]' "$T/resp" &&
	grep -q "coffer_last_success_timestamp_seconds{tenant=\"$TID\",unit=\"$CAT\"}" "$T/resp" &&
	grep -q '^coffer_queue_depth [0-9]' "$T/resp"; then
	ok "service: /metrics counts restore points, failures, bytes, durations, queue"; else
	not_ok "service: /metrics counts restore points, failures, bytes, durations, queue" "$code $(head -c 300 "$T/resp")"; fi
serve_stop TERM
if [ "$stop_rc" = 0 ] && ! sanitizer "$T/d1.err"; then ok "service: SIGTERM stops the server cleanly"; else
	not_ok "service: SIGTERM stops the server cleanly" "exit $stop_rc $(grep -m1 -E 'Sanitizer|runtime error' "$T/d1.err")"; fi

# ---------------------------------------------------------------------
# 2. Thinning and expiry on a simulated clock, over 400 days.
D2=$T/d2
CLOCK=$T/clock
T0=1700000000
echo $T0 >"$CLOCK"
mkdir -p "$T/docs" "$T/snap"
gen base 100000 >"$T/docs/base.bin"
serve d2 18602 --clock-file "$CLOCK"
GTOK=$(grep -m1 '^cft_' "$T/d2.out")
tenant thin
unit docs "$T/docs"; DOCS=$UID_
cp -a "$T/docs" "$T/snap/$T0"
api "$TOK" POST "$U/$TID/protectionPolicies" \
	"{\"name\":\"docs\",\"kind\":\"account\",\"units\":[\"$DOCS\"],\"frequencySeconds\":31622400,\"recentDays\":14,\"retentionDays\":365,\"state\":\"active\"}"
POL=$(jq -r .id "$T/resp")
until_true 60 pol_state active || not_ok "service: the clock-driven policy activates" "$(cat "$T/resp")"
# Weekly points, a dense stretch in the middle (thinned to one a week),
# and daily points at the end.
days="$(seq 3 7 199) $(seq 200 220) $(seq 227 7 381) $(seq 386 400)"
n=1
for d in $days; do
	now=$((T0 + d * 86400 + 3600))
	# Data first, then the clock: whatever backup runs at `now` sees it.
	echo "day $d" >"$T/docs/day.txt"
	gen "day$d" 3000 >"$T/docs/changing.bin"
	rm -rf "$T/snap/$now"; cp -a "$T/docs" "$T/snap/$now"
	echo $now >"$CLOCK"
	api "$TOK" POST "$U/$TID/protectionUnits/$DOCS/backup"
	n=$((n + 1))
	took() { [ "$(rp_count "$DOCS")" -ge $n ]; }
	until_true 30 took || { not_ok "service: an on-demand backup at day $d" "$(cat "$T/resp")"; break; }
done
NOW=$((T0 + 401 * 86400 + 1800))
echo $NOW >"$CLOCK"
# The rule, restated here: every point of the last 14 days, the last one of
# each ISO week until 365 days, nothing older; never the newest one.
expected() {
	python3 - "$T/resp" "$NOW" <<'EOF'
import json, sys, datetime
items = json.load(open(sys.argv[1]))["items"]
now = int(sys.argv[2])
pts = sorted(((it["timeNs"] // 10**9, it["seq"]) for it in items))
keep = set()
for i, (t, seq) in enumerate(pts):
    age = now - t
    if i == len(pts) - 1 or age < 14 * 86400:
        keep.add(seq); continue
    if age > 365 * 86400:
        continue
    week = datetime.datetime.utcfromtimestamp(t).isocalendar()[:2]
    later = [s for (u, s) in pts[i + 1:] if datetime.datetime.utcfromtimestamp(u).isocalendar()[:2] == week]
    if not later:
        keep.add(seq)
print(" ".join(str(s) for s in sorted(keep)))
EOF
}
live() { q "$TOK" "$U/$TID/protectionUnits/$DOCS/restorePoints?limit=1000" '[.items[].seq] | map(tostring) | join(" ")'; }
settled() {
	api "$TOK" GET "$U/$TID/protectionUnits/$DOCS/restorePoints?limit=1000&includeForgotten=true"
	want=$(expected); got=$(live)
	[ "$want" = "$got" ]
}
if until_true 60 settled; then ok "service: expiry keeps exactly what the thinning rule says ($(echo $got | wc -w) of $n points)"; else
	not_ok "service: expiry keeps exactly what the thinning rule says" "want [$want] got [$got]"; fi
api "$TOK" GET "$U/$TID/protectionUnits/$DOCS/restorePoints?limit=1000"
recent=$(jq "[.items[] | select(.timeNs / 1e9 > $NOW - 14*86400)] | length" "$T/resp")
old=$(jq "[.items[] | select(.timeNs / 1e9 < $NOW - 365*86400)] | length" "$T/resp")
want_recent=0
for d in $days; do [ $((NOW - T0 - d * 86400 - 3600)) -lt $((14 * 86400)) ] && want_recent=$((want_recent + 1)); done
if [ "$recent" = "$want_recent" ] && [ "$old" = 0 ]; then ok "service: all $want_recent points of the last 14 days kept, none past retention"; else
	not_ok "service: all points of the last 14 days kept, none past retention" "recent $recent of $want_recent, old $old"; fi
weeks=$(jq -r '.items[] | .timeNs / 1e9 | floor' "$T/resp" | while read -r t; do
	[ $((NOW - t)) -ge $((14 * 86400)) ] && date -u -d "@$t" +%G-%V; done | sort | uniq -d | wc -l)
if [ "$weeks" = 0 ]; then ok "service: at most one point per ISO week before the last 14 days"; else
	not_ok "service: at most one point per ISO week before the last 14 days" "$weeks weeks with more"; fi
api "$TOK" GET "$U/$TID/protectionUnits/$DOCS/restorePoints?limit=1000&includeForgotten=true"
nforgotten=$(jq '[.items[] | select(.forgotten)] | length' "$T/resp")
if [ "$nforgotten" -ge 20 ]; then ok "service: expired points are listed as forgotten ($nforgotten)"; else
	not_ok "service: expired points are listed as forgotten" "$nforgotten"; fi
api "$TOK" GET "$U/$TID/auditLog?limit=1000"
if grep -q restorePoint.expire "$T/resp"; then ok "service: expiry is audited"; else
	not_ok "service: expiry is audited" "$(head -c 300 "$T/resp")"; fi

api "$TOK" GET "$U/$TID/protectionUnits/$DOCS/restorePoints?limit=1000"
KEPT=$(jq -r '.items[] | "\(.seq):\(.timeNs / 1000000000 | floor)"' "$T/resp")
FIRST=$(echo "$KEPT" | head -1 | cut -d: -f1)
api "$TOK" DELETE "$U/$TID/protectionUnits/$DOCS/restorePoints/$FIRST"
if [ "$code" = 403 ] && grep -q "inside retention until" "$T/resp"; then
	ok "service: deleting a point inside retention is refused, even for the tenant admin"; else
	not_ok "service: deleting a point inside retention is refused, even for the tenant admin" "$code $(cat "$T/resp")"; fi
serve_stop TERM
"$COFFER" catalog tenant-key "$TID" --data "$D2" --key-file-new "$T/k2"
c() { "$COFFER" --store "$D2/stores/$TID" --key-file "$T/k2" "$@"; }
run c check --read-data
is_rc "service: coffer check passes on the tenant store after expiry" 0
for kt in $(echo "$KEPT" | sed -n '1p;8p;$p'); do
	seq=${kt%%:*}; t=${kt#*:}
	verify_restore "$DOCS@$seq" "$T/snap/$t" "service: kept point"
done

# ---------------------------------------------------------------------
# 3. Restart in the middle of a large backup.
D3=$T/d3
mkdir -p "$T/big"
for i in 1 2 3 4; do gen "big$i" 60000000 >"$T/big/f$i.bin"; done
serve d3 18603
GTOK=$(grep -m1 '^cft_' "$T/d3.out")
tenant big
unit big "$T/big"; BIG=$UID_
api "$TOK" POST "$U/$TID/protectionUnits/$BIG/backup"
JOB=$(jq -r .id "$T/resp")
job_state() { q "$TOK" "$U/$TID/jobs?unit=$BIG&limit=1000" ".items[] | select(.id == $JOB) | .state"; }
running() { [ "$(job_state)" = running ]; }
if until_true 30 running; then ok "service: the large backup job runs"; else
	not_ok "service: the large backup job runs" "$(cat "$T/resp")"; fi
sleep 0.5
serve_stop KILL
serve d3 18603
if grep -q "event=jobs.requeue count=1 reason=\"interrupted: the service stopped while it ran\"" "$T/d3.err"; then
	ok "service: after SIGKILL the next start requeues the job with the reason"; else
	not_ok "service: after SIGKILL the next start requeues the job with the reason" "$(grep -m2 requeue "$T/d3.err")"; fi
done_ok() { [ "$(job_state)" = succeeded ]; }
if until_true 120 done_ok; then ok "service: the interrupted job finishes after the restart"; else
	not_ok "service: the interrupted job finishes after the restart" "$(cat "$T/resp")"; fi
att=$(q "$TOK" "$U/$TID/jobs?unit=$BIG&limit=1000" ".items[] | select(.id == $JOB) | .attempts")
if [ "${att:-0}" -ge 2 ]; then ok "service: the job ran twice (attempts $att)"; else
	not_ok "service: the job ran twice" "attempts $att"; fi
# SIGTERM during a second backup: it finishes or is requeued, never lost.
echo more >"$T/big/more.txt"
gen big5 30000000 >"$T/big/f5.bin"
api "$TOK" POST "$U/$TID/protectionUnits/$BIG/backup"
JOB=$(jq -r .id "$T/resp")
until_true 30 running
serve_stop TERM
if [ "$stop_rc" = 0 ]; then ok "service: SIGTERM during a backup stops cleanly"; else
	not_ok "service: SIGTERM during a backup stops cleanly" "exit $stop_rc"; fi
serve d3 18603
if until_true 120 done_ok; then ok "service: the job stopped by SIGTERM is not lost"; else
	not_ok "service: the job stopped by SIGTERM is not lost" "$(cat "$T/resp")"; fi
"$COFFER" catalog tenant-key "$TID" --data "$D3" --key-file-new "$T/k3"
c() { "$COFFER" --store "$D3/stores/$TID" --key-file "$T/k3" "$@"; }
api "$TOK" GET "$U/$TID/protectionUnits/$BIG/restorePoints?limit=1000"
SEQS=$(jq -r '.items[].seq' "$T/resp")
last=$(echo "$SEQS" | tail -1)
if [ "$(echo "$SEQS" | wc -l)" -ge 2 ]; then ok "service: both restore points are listed"; else
	not_ok "service: both restore points are listed" "$SEQS"; fi
verify_restore "$BIG@$last" "$T/big" "service: after restarts"
for s in $SEQS; do
	run c restore "$BIG@$s" --to "$T/r$s"
	is_rc "service: $BIG@$s restores" 0
	rm -rf "$T/r$s"
done

# ---------------------------------------------------------------------
# 4. Catalog rebuild: the same restore points after losing catalog.db.
for u in "$BIG"; do
	q "$TOK" "$U/$TID/protectionUnits/$u/restorePoints?limit=1000&includeForgotten=true" \
		'.items[] | "\(.unit) \(.seq) \(.timeNs) \(.hash) \(.forgotten)"' >"$T/before.txt"
done
serve_stop TERM
rm -f "$D3/catalog.db" "$D3/catalog.db-wal" "$D3/catalog.db-shm"
if [ "$CATALOG_KIND" = pg ]; then
	psql -q "$PG_URL" -c "DROP DATABASE d3" >/dev/null
fi
mapfile -t CAT3 < <(catalog_args d3)
run "$COFFER" catalog rebuild --data "$D3" ${CAT3[@]+"${CAT3[@]}"}
is_rc "service: coffer catalog rebuild runs" 0
if [ "$(jq -r .restorePoints "$T/out")" = "$(wc -l <"$T/before.txt")" ]; then ok "service: rebuild counts every restore point"; else
	not_ok "service: rebuild counts every restore point" "$(cat "$T/out")"; fi
: >"$T/d3.out"
serve d3 18603
GTOK=$(grep -m1 '^cft_' "$T/d3.out")
api "$GTOK" POST "/v1/tenants/$TID/tokens" '{"name":"admin2","role":"tenantAdmin"}'
TOK=$(jq -r .secret "$T/resp")
q "$TOK" "$U/$TID/protectionUnits/$BIG/restorePoints?limit=1000&includeForgotten=true" \
	'.items[] | "\(.unit) \(.seq) \(.timeNs) \(.hash) \(.forgotten)"' >"$T/after.txt"
if [ -s "$T/before.txt" ] && cmp -s "$T/before.txt" "$T/after.txt"; then
	ok "service: after a rebuild the same restore points (numbers, times, hashes) are listed"; else
	not_ok "service: after a rebuild the same restore points are listed" "$(diff "$T/before.txt" "$T/after.txt" | head -4 | tr '\n' ' ')"; fi
if [ "$(q "$GTOK" "/v1/tenants/$TID" .name)" = big ] && [ "$(unit_field "$BIG" name)" = big ]; then
	ok "service: rebuild restores the tenant's and unit's names"; else
	not_ok "service: rebuild restores the tenant's and unit's names" "$(cat "$T/resp")"; fi
serve_stop TERM

# ---------------------------------------------------------------------
# 5. Where a tenant's folders may be: never the data folder (every tenant's
# keys and stores), with --folder-root only FOLDER_ROOT/<tenant name>/; no
# command run on the server for an IMAP secret unless allowed.
mkdir -p "$T/roots/acme/ann" "$T/roots/zeta/bob" "$T/elsewhere"
ln -s "$T/roots/zeta/bob" "$T/roots/acme/sneaky"
: >"$T/d4.out"
serve d4 18604 --folder-root "$T/roots"
GTOK=$(grep -m1 '^cft_' "$T/d4.out")
tenant acme
place() { # NAME PATH WANT [TOKEN]: a folder unit made by the tenant admin (or TOKEN)
	api "${4:-$TOK}" POST "$U/$TID/protectionUnits" \
		"{\"name\":\"$1\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$2\"}}"
	expect "service: a folder unit at ${2#"$T"/} is $3${4:+ (global admin)}" "$3"
}
place ann "$T/roots/acme/ann" 201
place other "$T/roots/zeta/bob" 400
place root "$T/roots/acme" 400
place escape "$T/roots/acme/../zeta/bob" 400
place link "$T/roots/acme/sneaky" 400
place out "$T/elsewhere" 400
place data "$T/d4/stores" 400
api "$TOK" POST "$U/$TID/protectionPolicies" \
	"{\"name\":\"p\",\"kind\":\"account\",\"rules\":[{\"type\":\"subfolders\",\"path\":\"$T/roots\"}]}"
expect "service: a subfolders rule above the tenant's root is refused" 400
api "$TOK" POST "$U/$TID/protectionUnits" \
	'{"name":"m","kind":"mailbox","source":{"type":"imap","host":"127.0.0.1","user":"a","secretCommand":"id > /tmp/pwned"}}'
if [ "$code" = 400 ] && grep -q allow_secret_command "$T/resp"; then
	ok "service: an imap secretCommand is refused unless the server allows it"
else
	not_ok "service: an imap secretCommand is refused unless the server allows it" "$code $(cat "$T/resp")"
fi
serve_stop TERM
: >"$T/d5.out"
serve d5 18605
GTOK=$(grep -m1 '^cft_' "$T/d5.out")
tenant solo
# Without folder_root a tenant admin names no folder at all (it could name
# /etc or another tenant's); the global admin does, never the data folder.
place mine "$T/elsewhere" 403
if grep -q folder_root "$T/resp"; then ok "service: the refusal says folder_root would allow it"; else
	not_ok "service: the refusal says folder_root would allow it" "$(cat "$T/resp")"; fi
place etc /etc 403
api "$TOK" POST "$U/$TID/protectionPolicies" \
	"{\"name\":\"p\",\"kind\":\"account\",\"rules\":[{\"type\":\"subfolders\",\"path\":\"$T/elsewhere\"}]}"
expect "service: without folder_root a tenant admin's subfolders rule is refused" 403
place mine "$T/elsewhere" 201 "$GTOK"
place above "$T" 400 "$GTOK"
place inside "$T/d5/keys" 400 "$GTOK"
api "$GTOK" POST "$U/$TID/protectionUnits" \
	'{"name":"m2","kind":"mailbox","source":{"type":"imap","host":"mail.example.com","user":"a","secret":"x"}}'
expect "service: the global admin creates no mailbox unit (it holds no tenant secrets)" 403
serve_stop TERM
# ---------------------------------------------------------------------
# 6. Retention a tenant admin cannot shorten. The attack: PATCH the policy
# to retentionDays 1, recentDays 1, and the next expiry forgets every point
# but the newest. Now each point's keepUntil/retainUntil are fixed when it
# is taken, and no policy goes below the tenant's minimum (global admin).
CLOCK6=$T/clock6
T6=1700000000
echo $T6 >"$CLOCK6"
mkdir -p "$T/ret"
echo v0 >"$T/ret/f.txt"
: >"$T/d6.out"
serve d6 18606 --clock-file "$CLOCK6"
GTOK=$(grep -m1 '^cft_' "$T/d6.out")
tenant keep
unit ret "$T/ret"; RET=$UID_
api "$TOK" POST "$U/$TID/protectionPolicies" \
	"{\"name\":\"ret\",\"kind\":\"account\",\"units\":[\"$RET\"],\"frequencySeconds\":31622400,\"recentDays\":14,\"retentionDays\":365,\"state\":\"active\"}"
POL=$(jq -r .id "$T/resp")
until_true 60 pol_state active || not_ok "service: the retention policy activates" "$(cat "$T/resp")"
live6() { q "$TOK" "$U/$TID/protectionUnits/$RET/restorePoints?limit=1000" '[.items[].seq] | map(tostring) | join(" ")'; }
# point_at DAY: a backup at T6 + DAY days, waited for.
point_at() {
	local want=$(($(rp_count "$RET") + 1))
	echo "v$1" >"$T/ret/f.txt"
	echo $((T6 + $1 * 86400)) >"$CLOCK6"
	api "$TOK" POST "$U/$TID/protectionUnits/$RET/backup"
	took6() { [ "$(rp_count "$RET")" -ge "$want" ]; }
	until_true 30 took6 || not_ok "service: a backup at day $1" "$(cat "$T/resp")"
}
# expiry_at DAY: moves the clock and waits for an expire job made then to
# end. A unit has one expire job at a time, so one still running from an
# earlier day takes the place of the new one; then the next day is tried.
expiry_at() {
	local d at
	for d in $1 $(($1 + 1)) $(($1 + 2)); do
		at=$((T6 + d * 86400))
		echo $at >"$CLOCK6"
		ran6() { [ "$(q "$TOK" "$U/$TID/jobs?limit=1000" \
			"[.items[] | select(.kind == \"expire\" and .state == \"succeeded\" and .createdUnix >= $at)] | length")" -gt 0 ]; }
		until_true 20 ran6 && return 0
	done
	not_ok "service: an expire job runs from day $1 on" "$(cat "$T/resp")"
}
for d in 1 2 3; do point_at $d; done
api "$TOK" GET "$U/$TID/protectionUnits/$RET/restorePoints?limit=1000"
fixed=$(jq -r '[.items[] | "\(.keepUntilUnix - (.timeNs / 1e9 | floor)):\(.retainUntilUnix - (.timeNs / 1e9 | floor))"] | unique | join(" ")' "$T/resp")
if [ "$fixed" = "$((14 * 86400)):$((365 * 86400))" ]; then
	ok "service: each restore point shows keepUntil/retainUntil fixed from the policy when taken"; else
	not_ok "service: each restore point shows keepUntil/retainUntil fixed from the policy when taken" "$fixed"; fi
api "$TOK" PATCH "$U/$TID/protectionPolicies/$POL" '{"retentionDays":1,"recentDays":1}'
if [ "$code" = 403 ] && grep -q "minimum of 365 days" "$T/resp"; then
	ok "service: a tenant admin cannot take retention below the tenant's minimum"; else
	not_ok "service: a tenant admin cannot take retention below the tenant's minimum" "$code $(cat "$T/resp")"; fi
api "$TOK" PATCH "$U/$TID" '{"minRetentionDays":1}'
expect "service: a tenant admin cannot lower the tenant's minimum" 403
api "$GTOK" PATCH "$U/$TID" '{"minRetentionDays":1}'
expect "service: the global admin sets the tenant's minimum" 200
api "$TOK" PATCH "$U/$TID/protectionPolicies/$POL" '{"retentionDays":1,"recentDays":1}'
expect "service: with the minimum lowered, the tenant admin shortens the policy" 200
expiry_at 5
if [ "$(live6)" = "1 2 3 4" ]; then
	ok "service: a shortened policy does not shorten the points already taken"; else
	not_ok "service: a shortened policy does not shorten the points already taken" "live: $(live6)"; fi
point_at 6
api "$TOK" GET "$U/$TID/protectionUnits/$RET/restorePoints/5"
if [ "$(jq '.retainUntilUnix - (.timeNs / 1e9 | floor)' "$T/resp")" = 86400 ]; then
	ok "service: a new point takes the shorter retention"; else
	not_ok "service: a new point takes the shorter retention" "$(cat "$T/resp")"; fi
point_at 9
expiry_at 10
if [ "$(live6)" = "1 2 3 4 6" ]; then
	ok "service: expiry forgets a new point past its own retention, keeps the old ones"; else
	not_ok "service: expiry forgets a new point past its own retention, keeps the old ones" "live: $(live6)"; fi
api "$TOK" GET "$U/$TID/auditLog?limit=1000"
if [ "$(jq '[.items[] | select(.action == "tenant.update" or .action == "protectionPolicy.update")] | length' "$T/resp")" -ge 2 ]; then
	ok "service: the minimum and the policy changes are audited"; else
	not_ok "service: the minimum and the policy changes are audited" "$(head -c 300 "$T/resp")"; fi
if [ "$(jq '[.items[] | select(.action == "store.deletion" and .detail.tool == "service" and .detail.restorePoints == [5])] | length' "$T/resp")" = 1 ]; then
	ok "service: expiry's own deletion record is in the audit log"; else
	not_ok "service: expiry's own deletion record is in the audit log" "$(jq -c '[.items[] | select(.action == "store.deletion")]' "$T/resp")"; fi

# The store key alone deletes nothing; whoever deletes with the deletion
# key by hand shows in the tenant's audit log, and the catalog follows.
D6K=$T/k6.delete
"$COFFER" catalog tenant-key "$TID" --data "$T/d6" --key-file-new "$T/k6" --deletion-key-file-new "$D6K"
if [ "$(stat -c %a "$D6K" 2>/dev/null)" = 600 ] && [ ! -e "$T/d6/keys/$TID.delete.key" ]; then
	ok "service: the tenant's deletion key is derived, and written only on demand (0600)"; else
	not_ok "service: the tenant's deletion key is derived, and written only on demand (0600)" "$(ls -l "$T/d6/keys")"; fi
c6() { "$COFFER" --store "$T/d6/stores/$TID" --key-file "$T/k6" "$@"; }
run c6 forget "$RET@1"
if [ "$rc" != 0 ] && grep -q "deletion key" "$T/err" && [ "$(live6)" = "1 2 3 4 6" ]; then
	ok "service: coffer forget with the store key alone is refused"; else
	not_ok "service: coffer forget with the store key alone is refused" "exit $rc $(cat "$T/err") live $(live6)"; fi
run c6 forget --deletion-key-file "$D6K" "$RET@1"
is_rc "service: coffer forget with the tenant's deletion key" 0
api "$TOK" POST "$U/$TID/protectionUnits/$RET/backup"
imported() {
	api "$TOK" GET "$U/$TID/auditLog?action=store.deletion&limit=1000"
	[ "$(jq '[.items[] | select(.detail.tool == "cli" and .detail.restorePoints == [1])] | length' "$T/resp")" = 1 ]
}
if until_true 30 imported && [ "$(live6 | cut -d' ' -f1)" = 2 ]; then
	ok "service: a forget by hand reaches the audit log and the catalog at the next job"; else
	not_ok "service: a forget by hand reaches the audit log and the catalog at the next job" "live $(live6) $(head -c 300 "$T/resp")"; fi
serve_stop TERM

# ---------------------------------------------------------------------
# 7. Expiry of points whose manifests the storage server still locks (S3
# Object Lock; injected with COFFER_FAULTS, docs/testing.md): they are kept,
# the job succeeds and says so once (log, job detail "locked"), and the
# next expiry once the lock is gone forgets them.
CLOCK7=$T/clock7
echo $T6 >"$CLOCK7"
mkdir -p "$T/lk"
: >"$T/d7.out"
COFFER_FAULTS="lock@/rp/:1+:locked" serve d7 18607 --clock-file "$CLOCK7"
GTOK=$(grep -m1 '^cft_' "$T/d7.out")
tenant lk
api "$GTOK" PATCH "$U/$TID" '{"minRetentionDays":1}'
unit lk "$T/lk"; LK=$UID_
api "$TOK" POST "$U/$TID/protectionPolicies" \
	"{\"name\":\"lk\",\"kind\":\"account\",\"units\":[\"$LK\"],\"frequencySeconds\":31622400,\"recentDays\":1,\"retentionDays\":1,\"state\":\"active\"}"
POL=$(jq -r .id "$T/resp")
until_true 60 pol_state active || not_ok "service: the lock policy activates" "$(cat "$T/resp")"
live7() { q "$TOK" "$U/$TID/protectionUnits/$LK/restorePoints?limit=1000" '[.items[].seq] | map(tostring) | join(" ")'; }
for d in 1 2 3; do
	want=$(($(rp_count "$LK") + 1))
	echo "v$d" >"$T/lk/f.txt"
	echo $((T6 + d * 86400)) >"$CLOCK7"
	api "$TOK" POST "$U/$TID/protectionUnits/$LK/backup"
	took7() { [ "$(rp_count "$LK")" -ge "$want" ]; }
	until_true 30 took7 || not_ok "service: a backup at day $d (lock section)" "$(cat "$T/resp")"
done
# expiry7 DAY: moves the clock and waits for a succeeded expire job made then.
expiry7() {
	local d at
	for d in $1 $(($1 + 1)) $(($1 + 2)); do
		at=$((T6 + d * 86400))
		echo $at >"$CLOCK7"
		ran7() { [ "$(q "$TOK" "$U/$TID/jobs?limit=1000" \
			"[.items[] | select(.kind == \"expire\" and .state == \"succeeded\" and .createdUnix >= $at)] | length")" -gt 0 ]; }
		until_true 20 ran7 && return 0
	done
	not_ok "service: an expire job succeeds from day $1 on (lock section)" "$(cat "$T/resp")"
}
# (the policy's own first backup may add a point: count what is there)
before7=$(live7)
newest7=${before7##* }
expiry7 10
if [ "$(live7)" = "$before7" ] && [ "$before7" != "$newest7" ]; then
	ok "service: expiry keeps points whose manifests the server locks, and succeeds"; else
	not_ok "service: expiry keeps points whose manifests the server locks, and succeeds" "live: $(live7), before: $before7"; fi
api "$TOK" GET "$U/$TID/jobs?limit=1000"
if [ "$(jq -r '[.items[] | select(.kind == "expire" and .state == "succeeded") | .detail.locked // empty] | last | map(tostring) | join(" ")' "$T/resp")" = "${before7% *}" ]; then
	ok "service: the expire job's detail names the locked points"; else
	not_ok "service: the expire job's detail names the locked points" "$(jq -c '[.items[] | select(.kind == "expire") | .detail]' "$T/resp")"; fi
if grep -q "event=expire.kept .*restore_point=1 .*locked by Object Lock until" "$T/d7.err"; then
	ok "service: the log says why a point was kept"; else
	not_ok "service: the log says why a point was kept" "$(grep -m2 expire "$T/d7.err")"; fi
serve_stop TERM
serve d7 18607 --clock-file "$CLOCK7"
expiry7 14
if [ "$(live7)" = "$newest7" ]; then
	ok "service: once the lock is gone, the next expiry forgets them"; else
	not_ok "service: once the lock is gone, the next expiry forgets them" "live: $(live7)"; fi
serve_stop TERM

# ---------------------------------------------------------------------
# 8. Legal hold on a unit (docs/api.md): while held, expiry with the clock
# far past retention keeps every point (job detail "skipped": "legal
# hold"), forgetting by hand is refused, and both the hold and its release
# are audited with the reason; once released, the next expiry forgets. A
# folder store (the S3 side, holds on the objects, is tests/e2e/s3lock.sh's).
CLOCK8=$T/clock8
echo $T6 >"$CLOCK8"
mkdir -p "$T/lh"
: >"$T/d8.out"
serve d8 18608 --clock-file "$CLOCK8"
GTOK=$(grep -m1 '^cft_' "$T/d8.out")
tenant lh
api "$GTOK" PATCH "$U/$TID" '{"minRetentionDays":1}'
unit lh "$T/lh"; LH=$UID_
api "$TOK" POST "$U/$TID/protectionPolicies" \
	"{\"name\":\"lh\",\"kind\":\"account\",\"units\":[\"$LH\"],\"frequencySeconds\":31622400,\"recentDays\":1,\"retentionDays\":1,\"state\":\"active\"}"
POL=$(jq -r .id "$T/resp")
until_true 60 pol_state active || not_ok "service: the legal hold policy activates" "$(cat "$T/resp")"
api "$TOK" POST "$U/$TID/tokens" '{"name":"op","role":"restoreOperator"}'
OPTOK=$(jq -r .secret "$T/resp")
api "$OPTOK" PUT "$U/$TID/protectionUnits/$LH/legalHold" '{"reason":"case 42"}'
expect "service: a restoreOperator cannot set a legal hold" 403
printf '%s\n' "$TOK" >"$T/lh.tok"
C8() { "$COFFER" --server "http://127.0.0.1:18608" --token-file "$T/lh.tok" "$@"; }
run C8 --json unit legal-hold "$LH" --reason "case 42: litigation"
is_rc "service: coffer unit legal-hold --reason sets the hold" 0
api "$TOK" GET "$U/$TID/protectionUnits/$LH"
if [ "$(j .legalHold.reason)" = "case 42: litigation" ] && [ "$(j .legalHold.since)" != null ]; then
	ok "service: the unit shows its legal hold (reason, since)"; else
	not_ok "service: the unit shows its legal hold (reason, since)" "$(cat "$T/resp")"; fi
live8() { q "$TOK" "$U/$TID/protectionUnits/$LH/restorePoints?limit=1000" '[.items[].seq] | map(tostring) | join(" ")'; }
for d in 1 2 3; do
	want=$(($(rp_count "$LH") + 1))
	echo "v$d" >"$T/lh/f.txt"
	echo $((T6 + d * 86400)) >"$CLOCK8"
	api "$TOK" POST "$U/$TID/protectionUnits/$LH/backup"
	took8() { [ "$(rp_count "$LH")" -ge "$want" ]; }
	until_true 30 took8 || not_ok "service: a backup at day $d (legal hold section)" "$(cat "$T/resp")"
done
# expiry8 DAY: moves the clock and waits for a succeeded expire job made then.
expiry8() {
	local d at
	for d in $1 $(($1 + 1)) $(($1 + 2)); do
		at=$((T6 + d * 86400))
		echo $at >"$CLOCK8"
		ran8() { [ "$(q "$TOK" "$U/$TID/jobs?limit=1000" \
			"[.items[] | select(.kind == \"expire\" and .state == \"succeeded\" and .createdUnix >= $at)] | length")" -gt 0 ]; }
		until_true 20 ran8 && return 0
	done
	not_ok "service: an expire job succeeds from day $1 on (legal hold section)" "$(cat "$T/resp")"
}
before8=$(live8)
expiry8 10
if [ "$(live8)" = "$before8" ] && [ "$(echo "$before8" | wc -w)" -ge 3 ]; then
	ok "service: expiry far past retention keeps every point of a held unit"; else
	not_ok "service: expiry far past retention keeps every point of a held unit" "live: $(live8), before: $before8"; fi
api "$TOK" GET "$U/$TID/jobs?limit=1000"
if [ "$(jq -r '[.items[] | select(.kind == "expire" and .state == "succeeded") | .detail.skipped // empty] | last' "$T/resp")" = "legal hold" ]; then
	ok "service: the expire job's detail says \"legal hold\""; else
	not_ok "service: the expire job's detail says \"legal hold\"" "$(jq -c '[.items[] | select(.kind == "expire") | .detail]' "$T/resp")"; fi
api "$TOK" DELETE "$U/$TID/protectionUnits/$LH/restorePoints/1"
expect "service: forgetting a point of a held unit by hand is refused" 403
says "service: and the refusal names the hold" "legal hold"
api "$TOK" GET "$U/$TID/auditLog?action=unit.legalHold&limit=1000"
if [ "$(jq -r '[.items[] | select(.action == "unit.legalHold.set") | .detail.reason] | join(",")' "$T/resp")" = "case 42: litigation" ]; then
	ok "service: the audit log has unit.legalHold.set with the reason"; else
	not_ok "service: the audit log has unit.legalHold.set with the reason" "$(head -c 400 "$T/resp")"; fi
run C8 unit legal-hold "$LH" --release
is_rc "service: coffer unit legal-hold --release" 0
api "$TOK" GET "$U/$TID/protectionUnits/$LH"
if [ "$(j .legalHold)" = null ]; then ok "service: released, the unit shows no hold"; else
	not_ok "service: released, the unit shows no hold" "$(cat "$T/resp")"; fi
api "$TOK" DELETE "$U/$TID/protectionUnits/$LH/legalHold"
expect "service: releasing a unit without a hold is 404" 404
api "$TOK" GET "$U/$TID/auditLog?action=unit.legalHold.release&limit=1000"
if [ "$(jq -r '[.items[] | .detail.reason] | join(",")' "$T/resp")" = "case 42: litigation" ]; then
	ok "service: the audit log has unit.legalHold.release with the reason"; else
	not_ok "service: the audit log has unit.legalHold.release with the reason" "$(head -c 400 "$T/resp")"; fi
newest8=${before8##* }
expiry8 14
if [ "$(live8)" = "$newest8" ]; then
	ok "service: once released, the next expiry forgets the points past retention"; else
	not_ok "service: once released, the next expiry forgets the points past retention" "live: $(live8)"; fi
serve_stop TERM

if sanitizer "$T/d1.err" "$T/d2.err" "$T/d3.err" "$T/d4.err" "$T/d5.err" "$T/d6.err" "$T/d7.err" \
	"$T/d8.err"; then
	not_ok "service: no sanitizer report in the server logs" "$(grep -h -m1 -E 'Sanitizer|runtime error' "$T"/d?.err)"; else
	ok "service: no sanitizer report in the server logs"; fi
exit $FAILED
