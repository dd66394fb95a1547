#!/usr/bin/env bash
# Several nodes (docs/service.md "Several nodes", "Locations", "Keys"): two
# `coffer serve` processes, a and b, share one PostgreSQL catalog and one
# radosgw with COMPLIANCE Object Lock, as a new user following the docs
# would run them. Tenants live in named locations (two buckets) and nothing
# of theirs lands anywhere else; both nodes answer about everything; a node
# SIGKILLed mid-backup loses the job to the other, which finishes it once
# the lease lapses (no restore point lost or taken twice); a node paused
# past its lease is fenced off and writes no point when it wakes; the
# scheduler makes each due job once with both nodes running; the backup
# credentials cannot delete; a unit is rolled back in place from the other
# node; PostgreSQL restarted under load and a slowed network path (a delaying
# proxy, so timeouts fire) cost no data; /v1/health says degraded while the
# catalog is down. Every store passes `check --read-data` at the end.
# Ports 18770-18779 (run.sh gives each script its own network namespace).
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
CEPH=$here/../servers/ceph.sh
PGSH=$here/../servers/postgres.sh
PROXY=$here/../servers/slowproxy.py
need_tools nodes curl jq python3 radosgw ceph-mon
SEED=nodes
RGW=18770        # radosgw (HTTP); 18771 is its HTTPS port
PGPORT=18772
PA=18773         # node a's API
PB=18774         # node b's API
PX=18775         # the slow proxy in front of radosgw, node a's path
# The nodes hold no credentials in the environment: the buckets' owner
# ("ci") makes them, and the locations' specs name the backup and deletion
# credential files (docs/s3.md "Credential sets").
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION
unset COFFER_S3_CREDENTIALS COFFER_S3_DELETE_CREDENTIALS
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
DELAY=$T/delay
echo 0 >"$DELAY"
PIDA= PIDB= PXPID=

stop_all() {
	if [ "$FAILED" != 0 ]; then
		for f in a b; do
			[ -f "$T/$f.err" ] && { echo "--- node $f:"; grep -v 'status=200' "$T/$f.err" | tail -15; } >&2
		done
	fi
	[ -n "$PIDA" ] && kill -9 "$PIDA" 2>/dev/null
	[ -n "$PIDB" ] && kill -9 "$PIDB" 2>/dev/null
	[ -n "$PXPID" ] && kill "$PXPID" 2>/dev/null
	"$PGSH" stop "$T/pg" >/dev/null 2>&1
	"$CEPH" stop "$T/ceph" >/dev/null 2>&1
	rm -rf "$T"
}
trap stop_all EXIT

if ! "$CEPH" start "$T/ceph" "$RGW" >"$T/ceph.log" 2>&1 ||
	! "$CEPH" user "$T/ceph" backup BACKUPACCESS BACKUPSECRET >>"$T/ceph.log" 2>&1 ||
	! "$CEPH" user "$T/ceph" deleter DELETERACCESS DELETERSECRET >>"$T/ceph.log" 2>&1; then
	not_ok "nodes: radosgw starts with its users" "$(tail -3 "$T/ceph.log" | tr '\n' ' ')"
	exit 1
fi
CAT=$("$PGSH" start "$T/pg" "$PGPORT" 2>"$T/pg.log") ||
	{ not_ok "nodes: PostgreSQL starts" "$(tail -3 "$T/pg.log" | tr '\n' ' ')"; exit 1; }
python3 "$PROXY" "$PX" "127.0.0.1:$RGW" "$DELAY" >"$T/proxy.log" 2>&1 &
PXPID=$!

declare -A SECRET=([CIACCESSKEY]=CISECRETKEY [BACKUPACCESS]=BACKUPSECRET
	[DELETERACCESS]=DELETERSECRET)
# as ACCESS_KEY ARGS...: curl with a SigV4-signed request of that user.
as() {
	local ak=$1; shift
	curl -s --aws-sigv4 "aws:amz:us-east-1:s3" -u "$ak:${SECRET[$ak]}" \
		-H "x-amz-content-sha256: $EMPTY_SHA" "$@"
}
s3() { as CIACCESSKEY "$@"; } # as the buckets' owner
creds() { printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$1" "$2"; }
creds BACKUPACCESS BACKUPSECRET >"$T/backup.creds"
creds DELETERACCESS DELETERSECRET >"$T/deleter.creds"
chmod 600 "$T"/*.creds
CREDS="credentials=$T/backup.creds&delete-credentials=$T/deleter.creds"
# Each bucket: made by its owner with Object Lock, under the policy
# `coffer s3-policy` recommends (the backup user may not delete).
for b in coffer-eu coffer-us; do
	"$COFFER" s3-policy "$b" --backup-user arn:aws:iam:::user/backup \
		--delete-user arn:aws:iam:::user/deleter >"$T/$b.policy"
	st1=$(s3 -o /dev/null -w '%{http_code}' -X PUT -H 'x-amz-bucket-object-lock-enabled: true' \
		"http://127.0.0.1:$RGW/$b")
	st2=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		-u CIACCESSKEY:CISECRETKEY -X PUT --data-binary "@$T/$b.policy" \
		-H "x-amz-content-sha256: $(sha256sum <"$T/$b.policy" | cut -c1-64)" \
		"http://127.0.0.1:$RGW/$b?policy=")
	[ "$st1" = 200 ] && [ "$st2" = 204 ] ||
		{ not_ok "nodes: bucket $b with Object Lock and coffer's policy" "$st1 $st2"; exit 1; }
done

# The config every node shares (docs/service.md "Several nodes").
cat >"$T/coffer.conf" <<EOF
catalog = $CAT
location.eu = s3+http://127.0.0.1:$RGW/coffer-eu?$CREDS
location.eu.object_lock = compliance 1
location.us = s3+http://127.0.0.1:$RGW/coffer-us?$CREDS
location.us.object_lock = compliance 1
default_location = eu
service_key = $T/service.key
workers = 2
tick_ms = 200
min_frequency = 1
lease = 5
source_allow = 127.0.0.1
EOF

# node NAME PORT [ARGS...]: starts node NAME (data $T/NAME); its pid in
# PIDA or PIDB. Node a reaches radosgw through the slow proxy.
node() {
	local name=$1 port=$2 i pid
	shift 2
	local extra=()
	[ "$name" = a ] && extra=(--location "eu=s3+http://127.0.0.1:$PX/coffer-eu?$CREDS")
	"$COFFER" serve --config "$T/coffer.conf" --data "$T/$name" --node "$name" \
		--listen "127.0.0.1:$port" ${extra[@]+"${extra[@]}"} "$@" \
		>>"$T/$name.out" 2>>"$T/$name.err" &
	pid=$!
	if [ "$name" = a ]; then PIDA=$pid; else PIDB=$pid; fi
	for i in $(seq 1 300); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/v1/health" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	not_ok "nodes: node $name starts" "$(tail -3 "$T/$name.err" | tr '\n' ' ')"
	exit 1
}
A=http://127.0.0.1:$PA
B=http://127.0.0.1:$PB
on() { BASE=$1; } # on NODE_URL: the next api calls go there
U=/v1/tenants

# keys BUCKET: every object name in the bucket, one per line.
keys() {
	s3 "http://127.0.0.1:$RGW/$1?list-type=2&max-keys=1000" |
		grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}

# ---------------------------------------------------------------------
# 1. Node a starts first (creating the service key), then tenants in two
# locations; node b joins and sees everything.
node a "$PA"
GTOK=$(grep -m1 '^cft_' "$T/a.out")
on "$A"
api "$GTOK" POST "$U" '{"name":"acme","location":"eu"}'
ACME=$(j .id)
if [ "$code" = 201 ] && [ "$(j .location)" = eu ]; then ok "nodes: a tenant is created in location eu"; else
	not_ok "nodes: a tenant is created in location eu" "$code $(cat "$T/resp")"; fi
api "$GTOK" POST "$U" '{"name":"zeta","location":"us"}'
ZETA=$(j .id)
expect "nodes: a tenant is created in location us" 201
api "$GTOK" POST "$U" '{"name":"nowhere","location":"mars"}'
if [ "$code" = 400 ] && grep -q "location 'mars'" "$T/resp"; then ok "nodes: an unknown location is refused, named"; else
	not_ok "nodes: an unknown location is refused, named" "$code $(cat "$T/resp")"; fi
api "$GTOK" PATCH "$U/$ACME" '{"location":"us"}'
if [ "$code" = 400 ] && grep -q "fixed" "$T/resp"; then ok "nodes: a tenant's location cannot be changed"; else
	not_ok "nodes: a tenant's location cannot be changed" "$code $(cat "$T/resp")"; fi
api "$GTOK" POST "$U/$ACME/tokens" '{"name":"admin","role":"tenantAdmin"}'
TOK=$(j .secret)
api "$GTOK" POST "$U/$ZETA/tokens" '{"name":"admin","role":"tenantAdmin"}'
ZTOK=$(j .secret)

# Folder units (the global admin names folders).
mkunit() { # TENANT NAME PATH -> $UID_
	api "$GTOK" POST "$U/$1/protectionUnits" \
		"{\"name\":\"$2\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$3\"}}"
	UID_=$(j .id)
}
mkdir -p "$T/small" "$T/big" "$T/z"
for i in $(seq 1 20); do gen "small$i" 20000 >"$T/small/f$i"; done
for i in $(seq 1 12); do gen "big$i" 400000 >"$T/big/f$i"; done
gen zeta 50000 >"$T/z/only"
mkunit "$ACME" small "$T/small"; SMALL=$UID_
mkunit "$ACME" big "$T/big"; BIG=$UID_
mkunit "$ZETA" z "$T/z"; Z=$UID_

# job_of TOKEN TENANT UNIT: the newest backup job of the unit (JSON).
job_of() {
	api "$1" GET "$U/$2/jobs?unit=$3&kind=backup&limit=1000"
	jq -c '.items | max_by(.id)' "$T/resp"
}
# backed UNIT N [TOKEN TENANT]: the unit has N live points.
backed() { [ "$(q "${3:-$TOK}" "$U/${4:-$ACME}/protectionUnits/$1/restorePoints?limit=1000" '.items | length')" = "$2" ]; }
api "$TOK" POST "$U/$ACME/protectionUnits/$SMALL/backup"
api "$ZTOK" POST "$U/$ZETA/protectionUnits/$Z/backup"
if until_true 60 backed "$SMALL" 1 && until_true 60 backed "$Z" 1 "$ZTOK" "$ZETA"; then
	ok "nodes: backups into S3 locations from node a"; else
	not_ok "nodes: backups into S3 locations from node a" "$(job_of "$TOK" "$ACME" "$SMALL") $(job_of "$ZTOK" "$ZETA" "$Z")"; fi

# ---------------------------------------------------------------------
# 2. Node a SIGKILLed mid-backup: b takes the job over and finishes it.
echo 40 >"$DELAY" # node a's path to radosgw crawls: the backup takes a while
api "$TOK" POST "$U/$ACME/protectionUnits/$BIG/backup"
running_on_a() { [ "$(job_of "$TOK" "$ACME" "$BIG" | jq -r '.state + "/" + .node')" = running/a ]; }
until_true 30 running_on_a || not_ok "nodes: the big backup runs on node a" "$(job_of "$TOK" "$ACME" "$BIG")"
sleep 1
node b "$PB"
kill -9 "$PIDA"; wait "$PIDA" 2>/dev/null; PIDA=
echo 0 >"$DELAY"
on "$B"
done_on_b() { [ "$(job_of "$TOK" "$ACME" "$BIG" | jq -r '.state + "/" + .node')" = succeeded/b ]; }
if until_true 90 done_on_b; then ok "nodes: node b takes over the killed node's backup once its lease lapses, and finishes it"; else
	not_ok "nodes: node b takes over the killed node's backup once its lease lapses, and finishes it" "$(job_of "$TOK" "$ACME" "$BIG")"; fi
job=$(job_of "$TOK" "$ACME" "$BIG")
jid=$(echo "$job" | jq -r .id)
if [ "$(echo "$job" | jq -r .attempts)" = 2 ] &&
	grep -q "node b took job $jid over (taken over from node a: its lease expired)" "$T/b.err"; then
	ok "nodes: attempt 2 of the job, and node b's log says it took it over from node a"; else
	not_ok "nodes: attempt 2 of the job, and node b's log says it took it over from node a" "$job $(grep -m1 'took job' "$T/b.err")"; fi
api "$TOK" GET "$U/$ACME/protectionUnits/$BIG/restorePoints?limit=1000"
if [ "$(j '[.items[].seq] | map(tostring) | join(" ")')" = 1 ]; then
	ok "nodes: exactly one restore point of the big unit, not two"; else
	not_ok "nodes: exactly one restore point of the big unit, not two" "$(cat "$T/resp")"; fi
api "$GTOK" GET "$U"
if [ "$(j '[.items[].id] | length')" = 2 ]; then ok "nodes: node b answers about tenants node a made"; else
	not_ok "nodes: node b answers about tenants node a made" "$(cat "$T/resp")"; fi
node a "$PA"

# ---------------------------------------------------------------------
# 3. Fencing: node a paused past its lease while it writes a point; b
# takes over and commits; a wakes and must not add a point.
kill -TERM "$PIDB"; wait "$PIDB" 2>/dev/null; PIDB= # only a may claim now
on "$A"
for i in 1 2 3; do gen "big2-$i" 300000 >"$T/big/f$i"; done
echo 40 >"$DELAY"
api "$TOK" POST "$U/$ACME/protectionUnits/$BIG/backup"
until_true 30 running_on_a || not_ok "nodes: the second big backup runs on node a" "$(job_of "$TOK" "$ACME" "$BIG")"
kill -STOP "$PIDA"
echo 0 >"$DELAY"
node b "$PB"
on "$B"
if until_true 90 done_on_b; then ok "nodes: a paused node's job is taken over by node b"; else
	not_ok "nodes: a paused node's job is taken over by node b" "$(job_of "$TOK" "$ACME" "$BIG")"; fi
kill -CONT "$PIDA"
fenced() { grep -q "event=job.lost" "$T/a.err"; }
until_true 30 fenced
sleep 2
api "$TOK" GET "$U/$ACME/protectionUnits/$BIG/restorePoints?limit=1000"
if fenced && [ "$(j '[.items[].seq] | map(tostring) | join(" ")')" = "1 2" ]; then
	ok "nodes: the woken node is fenced off (event=job.lost) and writes no point: points 1 2"; else
	not_ok "nodes: the woken node is fenced off (event=job.lost) and writes no point: points 1 2" "$(grep -m2 'job\.' "$T/a.err" | tr '\n' ' ') $(cat "$T/resp")"; fi

# ---------------------------------------------------------------------
# 4. The scheduler makes each due job once with both nodes running.
api "$TOK" POST "$U/$ACME/protectionPolicies" \
	"{\"name\":\"often\",\"kind\":\"account\",\"units\":[\"$SMALL\"],\"frequencySeconds\":3,\"state\":\"active\"}"
POL=$(j .id)
sleep 13
api "$TOK" PATCH "$U/$ACME/protectionPolicies/$POL" '{"state":"inactive"}'
sleep 1
api "$TOK" GET "$U/$ACME/jobs?unit=$SMALL&kind=backup&limit=1000"
# Jobs made by the policy: no two were created less than a period apart.
gaps=$(jq -r '[.items[] | .createdUnix] | sort | . as $t | [range(1; length) | $t[.] - $t[. - 1]] | map(select(. < 2)) | length' "$T/resp")
njobs=$(j '.items | length')
if [ "$gaps" = 0 ] && [ "$njobs" -ge 4 ]; then ok "nodes: two schedulers, each due backup queued once ($njobs jobs, none doubled)"; else
	not_ok "nodes: two schedulers, each due backup queued once" "gaps<2s: $gaps, jobs $njobs: $(jq -c '[.items[] | [.createdUnix, .node]]' "$T/resp")"; fi

# ---------------------------------------------------------------------
# 5. Each tenant's data is in its location and nowhere else.
keys coffer-eu >"$T/eu.keys"
keys coffer-us >"$T/us.keys"
if [ -s "$T/eu.keys" ] && ! grep -v "^$ACME/" "$T/eu.keys" | grep -q . &&
	[ -s "$T/us.keys" ] && ! grep -v "^$ZETA/" "$T/us.keys" | grep -q .; then
	ok "nodes: bucket coffer-eu holds only acme's store, coffer-us only zeta's"; else
	not_ok "nodes: bucket coffer-eu holds only acme's store, coffer-us only zeta's" "$(grep -v "^$ACME/" "$T/eu.keys" | head -3) $(grep -v "^$ZETA/" "$T/us.keys" | head -3)"; fi
if [ -z "$(ls -A "$T/a/stores" "$T/b/stores" 2>/dev/null | grep -v ':$' | grep .)" ]; then
	ok "nodes: no store data in either node's data folder"; else
	not_ok "nodes: no store data in either node's data folder" "$(ls -R "$T/a/stores" "$T/b/stores" | head -5)"; fi

# ---------------------------------------------------------------------
# 6. Deleting: the backup credentials may not (the bucket policy), the
# deletion credentials may not delete what COMPLIANCE still locks.
pack=$(grep "^$ACME/units/.*/packs/" "$T/eu.keys" | head -1)
vid=$(as BACKUPACCESS -I "http://127.0.0.1:$RGW/coffer-eu/$pack" | tr -d '\r' | sed -n 's/^x-amz-version-id: //Ip')
st=$(as BACKUPACCESS -o "$T/del.body" -w '%{http_code}' -X DELETE "http://127.0.0.1:$RGW/coffer-eu/$pack?versionId=$vid")
if [ -n "$pack" ] && [ -n "$vid" ] && [ "$st" = 403 ] && grep -q AccessDenied "$T/del.body"; then
	ok "nodes: deleting a pack version with the backup credentials: 403 AccessDenied"; else
	not_ok "nodes: deleting a pack version with the backup credentials: 403 AccessDenied" "$pack $vid -> $st $(cat "$T/del.body")"; fi
st=$(as DELETERACCESS -o "$T/del.body" -w '%{http_code}' -X DELETE "http://127.0.0.1:$RGW/coffer-eu/$pack?versionId=$vid")
if [ "$st" = 403 ]; then ok "nodes: deleting it with the deletion credentials: 403 (COMPLIANCE lock)"; else
	not_ok "nodes: deleting it with the deletion credentials: 403 (COMPLIANCE lock)" "$st $(cat "$T/del.body")"; fi
"$COFFER" catalog tenant-key "$ACME" --service-key "$T/service.key" --key-file-new "$T/acme.key" \
	--deletion-key-file-new "$T/acme.dkey"
ASPEC="s3+http://127.0.0.1:$RGW/coffer-eu/$ACME?$CREDS"
run "$COFFER" --store "$ASPEC" --key-file "$T/acme.key" forget --deletion-key-file "$T/acme.dkey" "$BIG@1"
if [ "$rc" = 5 ] && grep -qiE "retained|locked" "$T/err"; then ok "nodes: coffer forget by hand is refused (exit 5)"; else
	not_ok "nodes: coffer forget by hand is refused (exit 5)" "exit $rc $(cat "$T/err")"; fi

# ---------------------------------------------------------------------
# 7. Roll a unit back in place, from the node that did not back it up.
cp -a "$T/small" "$T/small.orig"
for i in 1 2 3; do echo "ransom" >"$T/small/f$i"; done
rm -f "$T/small/f4" "$T/small/f5"
seq_small=$(q "$TOK" "$U/$ACME/protectionUnits/$SMALL/restorePoints?limit=1000" '.items[0].seq')
on "$A"
api "$TOK" POST "$U/$ACME/restoreSessions" "{\"items\":[{\"unit\":\"$SMALL\",\"restorePoint\":$seq_small,\"mode\":\"inPlace\"}]}"
SID=$(j .id)
sdone() { local s; s=$(q "$TOK" "$U/$ACME/restoreSessions/$SID" .state); [ "$s" = succeeded ] || [ "$s" = failed ]; }
until_true 90 sdone
if [ "$(q "$TOK" "$U/$ACME/restoreSessions/$SID" .state)" = succeeded ] && diff -r "$T/small.orig" "$T/small" >/dev/null; then
	ok "nodes: a unit rolled back in place is byte-identical"; else
	not_ok "nodes: a unit rolled back in place is byte-identical" "$(cat "$T/resp") $(diff -rq "$T/small.orig" "$T/small" | head -3)"; fi

# ---------------------------------------------------------------------
# 7b. An erasure approved through node a holds on node b: the ledger is in
# the S3 store (records under Object Lock like every object).
on "$A"
api "$TOK" POST "$U/$ACME/tokens" '{"name":"dpo","role":"privacyOfficer"}'
PTOK=$(j .secret)
api "$PTOK" POST "$U/$ACME/erasureRequests" "{\"kind\":\"paths\",\"unit\":\"$SMALL\",\"paths\":[\"f6\"],\"reason\":\"art. 17\"}"
EID=$(j .id)
api "$TOK" POST "$U/$ACME/erasureRequests/$EID/approve"
st=$(j .state)
on "$B"
names=$(q "$TOK" "$U/$ACME/protectionUnits/$SMALL/restorePoints/$seq_small/items?path=" '[.items[].name] | join(" ")')
if [ "$st" = effective ] && ! echo " $names " | grep -q " f6 " && echo " $names " | grep -q " f7 " &&
	[ "$(j .withheld.items)" = 1 ]; then
	ok "nodes: an erasure approved on node a is withheld by node b (ledger in the S3 store)"
else
	not_ok "nodes: an erasure approved on node a is withheld by node b" "$st '$names' $(head -c 300 "$T/resp")"
fi

# ---------------------------------------------------------------------
# 8. PostgreSQL restarted under load; /v1/health says degraded meanwhile.
gen more 300000 >"$T/big/more"
api "$TOK" POST "$U/$ACME/protectionUnits/$BIG/backup"
"$PGSH" down "$T/pg" >/dev/null 2>&1
health_a=$(curl -s "$A/v1/health")
if [ "$(echo "$health_a" | jq -r .status)" = degraded ] && [ "$(echo "$health_a" | jq -r .node)" = a ]; then
	ok "nodes: /v1/health says degraded while the catalog is down"; else
	not_ok "nodes: /v1/health says degraded while the catalog is down" "$health_a"; fi
sleep 2
"$PGSH" up "$T/pg" >/dev/null 2>&1 || not_ok "nodes: PostgreSQL restarts" "$(tail -2 "$T/pg/log" 2>/dev/null)"
healthy() { [ "$(curl -s "$A/v1/health" | jq -r .status)" = ok ]; }
if until_true 30 healthy; then ok "nodes: health is ok again once the catalog is back"; else
	not_ok "nodes: health is ok again once the catalog is back" "$(curl -s "$A/v1/health")"; fi
three() { backed "$BIG" 3; }
if until_true 120 three; then ok "nodes: the backup queued before the restart ends in a restore point"; else
	api "$TOK" POST "$U/$ACME/protectionUnits/$BIG/backup"
	if until_true 90 three; then ok "nodes: the backup queued before the restart ends in a restore point"; else
		not_ok "nodes: the backup queued before the restart ends in a restore point" "$(job_of "$TOK" "$ACME" "$BIG")"; fi
fi

# ---------------------------------------------------------------------
# 9. A slow network path: node a's requests time out and say so; healed,
# the next backup succeeds. (b is stopped so that a takes the job.)
kill -TERM "$PIDB"; wait "$PIDB" 2>/dev/null; PIDB=
kill -TERM "$PIDA"; wait "$PIDA" 2>/dev/null; PIDA=
COFFER_S3_TIMEOUT=2 COFFER_S3_RETRIES=1 node a "$PA"
on "$A"
echo 3000 >"$DELAY"
gen slow 100000 >"$T/z/slow"
api "$ZTOK" POST "$U/$ZETA/protectionUnits/$Z/backup"
api "$TOK" POST "$U/$ACME/protectionUnits/$SMALL/backup"
failed_slow() { [ "$(job_of "$TOK" "$ACME" "$SMALL" | jq -r .state)" = failed ]; }
if until_true 90 failed_slow && job_of "$TOK" "$ACME" "$SMALL" | jq -r .error | grep -q "timed out"; then
	ok "nodes: over a path too slow, the backup fails naming the timeout"; else
	not_ok "nodes: over a path too slow, the backup fails naming the timeout" "$(job_of "$TOK" "$ACME" "$SMALL")"; fi
echo 0 >"$DELAY"
n_small=$(q "$TOK" "$U/$ACME/protectionUnits/$SMALL/restorePoints?limit=1000" '.items | length')
api "$TOK" POST "$U/$ACME/protectionUnits/$SMALL/backup"
more_small() { backed "$SMALL" $((n_small + 1)); }
if until_true 60 more_small; then ok "nodes: healed, the next backup succeeds"; else
	not_ok "nodes: healed, the next backup succeeds" "$(job_of "$TOK" "$ACME" "$SMALL")"; fi
# point_counts: how many points for the three units, as the catalog has them.
point_counts() {
	echo "$(q "$TOK" "$U/$ACME/protectionUnits/$SMALL/restorePoints?limit=1000" '.items | length')" \
		"$(q "$TOK" "$U/$ACME/protectionUnits/$BIG/restorePoints?limit=1000" '.items | length')" \
		"$(q "$ZTOK" "$U/$ZETA/protectionUnits/$Z/restorePoints?limit=1000" '.items | length')"
}
before=$(point_counts)
kill -TERM "$PIDA"; wait "$PIDA" 2>/dev/null; PIDA=

# The catalog's restore point rows come back from the buckets.
run "$COFFER" catalog rebuild --config "$T/coffer.conf" --data "$T/b"
node b "$PB"
on "$B"
if [ "$rc" = 0 ] && [ "$(jq -r .tenants "$T/out")" = 2 ] && [ "$(point_counts)" = "$before" ]; then
	ok "nodes: catalog rebuild brings back the points of tenants in S3 locations ($before)"; else
	not_ok "nodes: catalog rebuild brings back the points of tenants in S3 locations" "exit $rc $(cat "$T/out") $(tail -2 "$T/err") now $(point_counts), before $before"; fi
kill -TERM "$PIDB"; wait "$PIDB" 2>/dev/null; PIDB=

# ---------------------------------------------------------------------
# 10. Every store reads back whole.
run "$COFFER" --store "$ASPEC" --key-file "$T/acme.key" check --read-data
is_rc "nodes: check --read-data passes on acme's store in coffer-eu" 0
"$COFFER" catalog tenant-key "$ZETA" --service-key "$T/service.key" --key-file-new "$T/zeta.key"
run "$COFFER" --store "s3+http://127.0.0.1:$RGW/coffer-us/$ZETA?$CREDS" --key-file "$T/zeta.key" check --read-data
is_rc "nodes: check --read-data passes on zeta's store in coffer-us" 0
mkdir -p "$T/r1"
run "$COFFER" --store "$ASPEC" --key-file "$T/acme.key" restore "$BIG@1" --to "$T/r1"
if [ "$rc" = 0 ] && [ "$(cat "$T/r1"/f4 | sha256sum)" = "$(cat "$T/big/f4" | sha256sum)" ]; then
	ok "nodes: the point node b finished after the kill restores"; else
	not_ok "nodes: the point node b finished after the kill restores" "exit $rc $(cat "$T/err")"; fi
if sanitizer "$T/a.err" "$T/b.err" 2>/dev/null; then not_ok "nodes: no sanitizer report" "$(grep -m3 -E 'Sanitizer|runtime error' "$T/a.err" "$T/b.err")"; else
	ok "nodes: no sanitizer report"; fi
finish
