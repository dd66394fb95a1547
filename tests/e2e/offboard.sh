#!/usr/bin/env bash
# Source gone, a tenant's legal hold, tenant offboarding and its signed
# deletion certificate (docs/privacy.md 6, 7, 8), on a simulated clock:
# a tenant with two folder units (retention 1 day); one folder removed:
# its unit shows sourceGone (and the list filters on it), and once past
# retention every point of it expires, the newest too; the folder back, the
# next backup clears it. Offboarding: a wrong confirmation is refused;
# during the grace period no new point is taken (scheduled or on demand),
# creating a unit or a policy is a 409, a restore and a content read still
# work; a tenant legal hold set before the due date keeps everything past
# it, and so does a unit's; their release lets the purge run: the store
# folder is gone, the catalog holds nothing of the tenant but its
# certificate and audit entries, its token is dead. The
# certificate verifies offline (with and without --public-key, the key of
# GET /v1/certificateKey); one byte flipped in its body, or in its
# signature, fails.
. "$(dirname "$0")/lib.sh"

need_tools offboard curl jq sqlite3
PORT=18671
CLOCK=$T/clock
T0=1700000000
DAY=86400
echo $T0 >"$CLOCK"
at_day() { echo $((T0 + $1 * DAY)) >"$CLOCK"; }
U=/v1/tenants

serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
	--workers 2 --tick-ms 100 --min-frequency 1 --clock-file "$CLOCK" ||
	{ not_ok "offboard: coffer serve starts" "$(serve_why serve)"; exit 1; }
GTOK=$(grep -m1 '^cft_' "$T/serve.out")
tenant acme || { not_ok "offboard: a tenant is created" "$(cat "$T/resp")"; exit 1; }
UA=$U/$TID

api "$GTOK" PATCH "$UA" '{"minRetentionDays":1,"offboardGraceDays":30}'
if [ "$code" = 200 ] && [ "$(j .offboardGraceDays)" = 30 ]; then
	ok "offboard: the global admin sets the grace period (offboardGraceDays)"; else
	not_ok "offboard: the global admin sets the grace period" "$code $(cat "$T/resp")"; fi
api "$TOK" PATCH "$UA" '{"offboardGraceDays":1}'
expect "offboard: a tenant's admin cannot change its grace period" 403

mkdir -p "$T/src/alice/docs" "$T/src/bob"
echo "alice 1" >"$T/src/alice/docs/a.txt"
echo "bob 1" >"$T/src/bob/b.txt"
unit() {
	api "$GTOK" POST "$UA/protectionUnits" \
		"{\"name\":\"$1\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$T/src/$1\"}}"
	jq -r .id "$T/resp"
}
A=$(unit alice)
B=$(unit bob)
api "$TOK" POST "$UA/protectionPolicies" \
	"{\"name\":\"p\",\"kind\":\"account\",\"units\":[\"$A\",\"$B\"],\"frequencySeconds\":$DAY,\"recentDays\":1,\"retentionDays\":1,\"state\":\"active\"}"
POL=$(j .id)
pol_active() { [ "$(q "$TOK" "$UA/protectionPolicies/$POL" .state)" = active ]; }
until_true 20 pol_active || not_ok "offboard: the policy activates" "$(cat "$T/resp")"

# backup UNIT: an on-demand backup, waited for; the job's state in $jstate.
backup() {
	api "$TOK" POST "$UA/protectionUnits/$1/backup"
	local job=$(j .id)
	job_end() {
		jstate=$(q "$TOK" "$UA/jobs?limit=1000" ".items[] | select(.id == $job) | .state")
		[ "$jstate" = succeeded ] || [ "$jstate" = failed ]
	}
	until_true 20 job_end
}
at_day 1
backup "$A"
backup "$B"
# (day 0's points may be thinned already: day 1 is in the same ISO week)
newest_day() { q "$TOK" "$UA/protectionUnits/$1/restorePoints?limit=1000" '.items[-1].timeNs / 1e9 | floor'; }
if [ "$(newest_day "$A")" = $((T0 + DAY)) ] && [ "$(newest_day "$B")" = $((T0 + DAY)) ]; then
	ok "offboard: both units have a restore point of day 1"; else
	not_ok "offboard: both units have a restore point of day 1" "$(newest_day "$A") $(newest_day "$B")"; fi

# ---- 1. source gone ----
rm -rf "$T/src/alice"
backup "$A"
gone=$(unit_field "$A" sourceGone)
if [ "$jstate" = failed ] && [ "$gone" = "$(date -u -d @$((T0 + DAY)) +%Y-%m-%dT%H:%M:%SZ)" ]; then
	ok "offboard: a unit whose folder was removed shows sourceGone (since when)"; else
	not_ok "offboard: a unit whose folder was removed shows sourceGone" "job $jstate, sourceGone $gone"; fi
[ "$(unit_field "$B" sourceGone)" = null ] && ok "offboard: the other unit's source is there (sourceGone null)" ||
	not_ok "offboard: the other unit's source is there" "$(cat "$T/resp")"
if [ "$(q "$TOK" "$UA/protectionUnits?sourceGone=true" '[.items[].id] | join(" ")')" = "$A" ] &&
	[ "$(q "$TOK" "$UA/protectionUnits?sourceGone=false" '[.items[].id] | join(" ")')" = "$B" ]; then
	ok "offboard: the unit list filters on sourceGone"; else
	not_ok "offboard: the unit list filters on sourceGone" "$(cat "$T/resp")"; fi
# Past retention (1 day): every point of alice goes, the newest too; bob
# keeps its newest.
at_day 4
alice_empty() { has_points "$A" 0; }
if until_true 20 alice_empty; then
	ok "offboard: past retention every restore point of a source-gone unit expires, the newest too"; else
	not_ok "offboard: a source-gone unit's points expire" "$(rp_count "$A") left"; fi
if [ "$(unit_field "$A" name)" = alice ] && [ "$(unit_field "$A" sourceGone)" != null ]; then
	ok "offboard: the emptied unit stays listed as source gone"; else
	not_ok "offboard: the emptied unit stays listed as source gone" "$(cat "$T/resp")"; fi
# The folder back (the account restored): the next backup clears it.
mkdir -p "$T/src/alice" && echo "alice 2" >"$T/src/alice/a.txt"
backup "$A"
if [ "$jstate" = succeeded ] && [ "$(unit_field "$A" sourceGone)" = null ] && has_points "$A" 1; then
	ok "offboard: a source that comes back is noticed by the next backup (sourceGone null again)"; else
	not_ok "offboard: a source that comes back is noticed" "job $jstate $(cat "$T/resp")"; fi
bob_one() { [ "$(rp_count "$B")" -ge 1 ]; }
until_true 5 bob_one && ok "offboard: a unit whose source is there keeps its newest point" ||
	not_ok "offboard: a unit whose source is there keeps its newest point" "$(rp_count "$B")"

# ---- 2. offboarding and its grace period ----
api "$GTOK" POST "$UA/offboard" '{"confirm":"acme-typo"}'
expect "offboard: offboarding needs the tenant's name as confirmation" 400
api "$TOK" POST "$UA/offboard" '{"confirm":"acme"}'
expect "offboard: a tenant's admin cannot offboard its tenant" 403
api "$GTOK" POST "$UA/offboard" '{"confirm":"acme"}'
due=$(j .offboarding.dueUnix)
if [ "$code" = 202 ] && [ "$(j .state)" = offboarding ] && [ "$due" = $((T0 + 34 * DAY)) ]; then
	ok "offboard: the global admin offboards the tenant: read-only for its 30-day grace period"; else
	not_ok "offboard: the global admin offboards the tenant" "$code $(cat "$T/resp")"; fi
before=$(rp_count "$B")
at_day 6
sleep 1
[ "$(rp_count "$B")" = "$before" ] && ok "offboard: during the grace period the policy takes no new point" ||
	not_ok "offboard: during the grace period the policy takes no new point" "$before -> $(rp_count "$B")"
api "$TOK" POST "$UA/protectionUnits/$B/backup"
if [ "$code" = 409 ] && grep -q "being offboarded" "$T/resp"; then
	ok "offboard: an on-demand backup is refused (409, saying why)"; else
	not_ok "offboard: an on-demand backup is refused" "$code $(cat "$T/resp")"; fi
mkdir -p "$T/src/carol"
api "$GTOK" POST "$UA/protectionUnits" \
	"{\"name\":\"carol\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$T/src/carol\"}}"
expect "offboard: creating a unit is refused (409)" 409
api "$TOK" POST "$UA/protectionPolicies" '{"name":"p2","kind":"account","units":[]}'
expect "offboard: creating a policy is refused (409)" 409
last=$(q "$TOK" "$UA/protectionUnits/$B/restorePoints?limit=1000" '.items[-1].seq')
api "$TOK" POST "$UA/restoreSessions" \
	"{\"items\":[{\"unit\":\"$B\",\"restorePoint\":$last,\"mode\":\"newLocation\"}]}"
SID=$(j .id)
sdone() { session_done "$SID"; }
until_true 20 sdone
if [ "$(q "$TOK" "$UA/restoreSessions/$SID" .state)" = succeeded ] &&
	cmp -s "$T/src/bob/b.txt" "$T/src/bob.restored-1/b.txt"; then
	ok "offboard: a restore still works during the grace period"; else
	not_ok "offboard: a restore still works during the grace period" "$(cat "$T/resp")"; fi
api "$TOK" GET "$UA/protectionUnits/$B/restorePoints/$last/items?path=/"
if [ "$code" = 200 ] && grep -q b.txt "$T/resp"; then
	ok "offboard: content still reads during the grace period"; else
	not_ok "offboard: content still reads during the grace period" "$code $(cat "$T/resp")"; fi

# ---- 3. a tenant legal hold keeps everything past the due date ----
api "$TOK" PUT "$UA/legalHold" '{"reason":"litigation 2026-17"}'
if [ "$code" = 200 ] && [ "$(j .legalHold.reason)" = "litigation 2026-17" ]; then
	ok "offboard: the tenant's admin sets a tenant legal hold"; else
	not_ok "offboard: the tenant's admin sets a tenant legal hold" "$code $(cat "$T/resp")"; fi
STORE=$T/data/stores/$TID
at_day 40
sleep 1.5
if [ "$(q "$GTOK" "$UA" .state)" = offboarding ] && [ -f "$STORE/config" ] && [ "$(rp_count "$B")" -ge 1 ]; then
	ok "offboard: past the due date, the held tenant is kept whole"; else
	not_ok "offboard: past the due date, the held tenant is kept whole" "$(cat "$T/resp")"; fi
api "$TOK" DELETE "$UA/offboard"
expect "offboard: a tenant's admin cannot cancel the offboarding" 403
api "$TOK" PUT "$UA/protectionUnits/$B/legalHold" '{"reason":"one mailbox"}'
api "$GTOK" DELETE "$UA/legalHold"
expect "offboard: the global admin releases the tenant's legal hold" 200
sleep 1
[ "$(q "$GTOK" "$UA" .state)" = offboarding ] && [ -f "$STORE/config" ] &&
	ok "offboard: a unit's legal hold keeps the tenant whole too" ||
	not_ok "offboard: a unit's legal hold keeps the tenant whole too" "$code $(cat "$T/resp")"
api "$TOK" DELETE "$UA/protectionUnits/$B/legalHold"
expect "offboard: the unit's legal hold is released" 200
purged() { q "$GTOK" "$UA" .id >/dev/null; [ "$code" = 404 ]; }
until_true 20 purged && ok "offboard: after the release the tenant is purged" ||
	not_ok "offboard: after the release the tenant is purged" "$code $(cat "$T/resp")"

# ---- 4. what is left ----
[ ! -e "$STORE" ] && ok "offboard: the tenant's store folder is gone" ||
	not_ok "offboard: the tenant's store folder is gone" "$(find "$STORE" | head -5)"
rows=
for t in units policies restore_points jobs tokens sessions artifacts store_deletions erasures; do
	rows+=$(sqlite3 "$T/data/catalog.db" "SELECT '$t:' || count(*) FROM $t WHERE tenant = '$TID'")" "
done
rows+=$(sqlite3 "$T/data/catalog.db" "SELECT 'tenants:' || count(*) FROM tenants WHERE id = '$TID'")
want="units:0 policies:0 restore_points:0 jobs:0 tokens:0 sessions:0 artifacts:0 store_deletions:0 erasures:0 tenants:0"
[ "$rows" = "$want" ] && ok "offboard: the catalog holds no row of the tenant" ||
	not_ok "offboard: the catalog holds no row of the tenant" "$rows"
ncert=$(sqlite3 "$T/data/catalog.db" "SELECT count(*) FROM deletion_certificates WHERE tenant = '$TID'")
naudit=$(sqlite3 "$T/data/catalog.db" "SELECT count(*) FROM audit WHERE tenant = '$TID'")
[ "$ncert" = 1 ] && [ "$naudit" -gt 10 ] && ok "offboard: its certificate and audit entries are kept ($naudit entries)" ||
	not_ok "offboard: its certificate and audit entries are kept" "$ncert certificates, $naudit audit entries"
[ ! -e "$T/data/tenants/$TID" ] && ok "offboard: the tenant's descriptors are gone" ||
	not_ok "offboard: the tenant's descriptors are gone" "$(ls "$T/data/tenants/$TID")"
api "$TOK" GET "$UA/protectionUnits"
expect "offboard: the tenant's token no longer works" 401
api "$GTOK" GET "/v1/auditLog?tenant=$TID&action=tenant.offboard&limit=1000"
acts=$(j '[.items[].action] | join(" ")')
[ "$acts" = "tenant.offboard.request tenant.offboard.start tenant.offboard.done" ] &&
	ok "offboard: request, start and end are audited" ||
	not_ok "offboard: request, start and end are audited" "$acts"

# ---- 5. the certificate ----
api "$GTOK" GET "$UA/deletionCertificates"
CID=$(j '.items[0].id')
if [ "$code" = 200 ] && [ "$(j '.items[0].totals.units')" = 2 ]; then
	ok "offboard: the global admin lists the tenant's certificate (2 units)"; else
	not_ok "offboard: the global admin lists the tenant's certificate" "$code $(cat "$T/resp")"; fi
api "$GTOK" GET "$UA/deletionCertificates/$CID"
cp "$T/resp" "$T/cert.json"
api "" GET /v1/certificateKey
KEY=$(j .publicKey)
[ "$code" = 200 ] && [ "$(jq -r .certificate.publicKey "$T/cert.json")" = "$KEY" ] &&
	ok "offboard: GET /v1/certificateKey (no token) gives the key the certificate names" ||
	not_ok "offboard: GET /v1/certificateKey gives the certificate's key" "$code $KEY"
steps=$(jq -r '.certificate.steps | [.requested, .graceEnded, .keysDestroyed, .objectsDeleted, .catalogPurged] | map(. > 0) | all' "$T/cert.json")
[ "$steps" = true ] && [ "$(jq -r .certificate.tenant.name "$T/cert.json")" = acme ] &&
	ok "offboard: the certificate names the tenant and the time of each step" ||
	not_ok "offboard: the certificate names the tenant and each step" "$(head -c 400 "$T/cert.json")"
run "$COFFER" certificate verify "$T/cert.json"
if [ "$rc" = 0 ] && grep -q "^signature: good" "$T/out" && grep -q "GET /v1/certificateKey" "$T/out" &&
	grep -q "tenant: acme ($TID)" "$T/out"; then
	ok "offboard: coffer certificate verify: good, and says to compare the key"; else
	not_ok "offboard: coffer certificate verify: good" "exit $rc $(cat "$T/out" "$T/err")"; fi
run "$COFFER" certificate verify "$T/cert.json" --public-key "$KEY"
[ "$rc" = 0 ] && grep -q "^signature: good" "$T/out" && ok "offboard: ... and with --public-key" ||
	not_ok "offboard: verify with --public-key" "exit $rc $(cat "$T/err")"
run "$COFFER" certificate verify "$T/cert.json" --public-key "$(echo "$KEY" | tr 0-9a-f 1-9a-f0)"
[ "$rc" != 0 ] && ok "offboard: another key is refused" || not_ok "offboard: another key is refused" "exit 0"
# One byte of the body: a digit of the tenant id; one of the signature.
sed "s/\"id\":\"$TID\"/\"id\":\"${TID%?}x\"/" "$T/cert.json" >"$T/body.json"
run "$COFFER" certificate verify "$T/body.json"
if [ "$rc" != 0 ] && ! cmp -s "$T/cert.json" "$T/body.json" && grep -q "BAD signature" "$T/err"; then
	ok "offboard: a byte changed in the body fails"; else
	not_ok "offboard: a byte changed in the body fails" "exit $rc $(cat "$T/err")"; fi
sig=$(jq -r .signature "$T/cert.json")
flip=$(printf '%s' "${sig:0:1}" | tr 0-9a-f 1-9a-f0)
sed "s/\"signature\":\"${sig:0:1}/\"signature\":\"$flip/" "$T/cert.json" >"$T/sig.json"
run "$COFFER" certificate verify "$T/sig.json"
if [ "$rc" != 0 ] && ! cmp -s "$T/cert.json" "$T/sig.json" && grep -q "BAD" "$T/err"; then
	ok "offboard: a byte changed in the signature fails"; else
	not_ok "offboard: a byte changed in the signature fails" "exit $rc $(cat "$T/err")"; fi
serve_stop
sanitizer "$T/serve.err" && not_ok "offboard: no sanitizer report" "$(grep -m1 -E 'Sanitizer|runtime error' "$T/serve.err")"
finish
