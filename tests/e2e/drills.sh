#!/bin/bash
# Restore drills end to end (docs/service.md "Restore drills"): a policy
# schedules them; a drill reads a slice of the unit's packs and restores a
# sample into scratch, compared with the point; drills on demand cover
# every pack in `slices` drills; a damaged pack fails the drill naming the
# pack, a sampled file that no longer restores is named, and the failure
# shows in the unit, the overview, /metrics, the job and the audit log;
# roles and the other tenant. A real coffer serve on loopback, curl and jq.
. "$(dirname "$0")/lib.sh"

need_tools drills curl jq openssl
SEED=drills
PORT=18985
U=/v1/tenants

serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
	--workers 2 --tick-ms 200 --min-frequency 1 ||
	{ not_ok "drills: coffer serve starts" "$(serve_why serve)"; exit 1; }
GTOK=$(grep -m1 '^cft_' "$T/serve.out")
tenant acme && tenant other TID2 TOK2 ||
	{ not_ok "drills: two tenants" "$code $(cat "$T/resp")"; exit 1; }
token() { api "$TOK" POST "$U/$TID/tokens" "{\"name\":\"$1\",\"role\":\"$1\"}"; jq -r .secret "$T/resp"; }
OPTOK=$(token restoreOperator)
AUTOK=$(token auditor)

# A site with files of a few sizes, some incompressible.
S=$T/src/site
mkdir -p "$S/docs/old" "$S/media" "$S/we[i]rd *"
for i in 1 2 3 4 5; do seq $((i * 100000)) $((i * 100000 + 15000)) >"$S/docs/report-$i.txt"; done
seq 1 4000 >"$S/docs/old/archive.txt"
gen media 400000 >"$S/media/video.bin"
gen small 3000 >"$S/we[i]rd */f?le.bin"
echo "notes" >"$S/notes.md"
: >"$S/empty.txt"
NFILES=$(find "$S" -type f | wc -l)
api "$GTOK" POST "$U/$TID/protectionUnits" \
	"{\"name\":\"site\",\"kind\":\"site\",\"source\":{\"type\":\"folder\",\"path\":\"$S\"}}"
A=$(j .id)
D=$U/$TID/protectionUnits/$A

rp_count() { q "$TOK" "$D/restorePoints?limit=1000" '.items | length'; }
drill_count() { q "$TOK" "$D/drills?limit=1000" '.items | length'; }
has_drills() { [ "$(drill_count)" -ge "$1" ]; }
# drill: one on demand, waited for; the drill's JSON in $T/drill.
drill() {
	local n
	n=$(drill_count)
	api "$TOK" POST "$D/drills"
	[ "$code" = 202 ] || { echo "POST drills: $code $(cat "$T/resp")" >&2; return 1; }
	until_true 120 has_drills $((n + 1)) || return 1
	until_true 30 job_idle || return 1
	q "$TOK" "$D/drills?limit=1" '.items[0]' >"$T/drill"
}
job_idle() { [ "$(q "$TOK" "$U/$TID/jobs?unit=$A&kind=drill&state=running" '.items | length')" = 0 ] &&
	     [ "$(q "$TOK" "$U/$TID/jobs?unit=$A&kind=drill&state=queued" '.items | length')" = 0 ]; }
dj() { jq -r "$1" "$T/drill"; }

# --- settings: checked, shown ---------------------------------------------
api "$TOK" POST "$U/$TID/protectionPolicies" \
	'{"name":"bad","kind":"site","drill":{"everySeconds":86400,"sampleMessages":5}}'
expect "drills: a site policy refuses sampleMessages" 400
says "drills: ... saying to give sampleFiles" "sampleFiles"
api "$TOK" POST "$U/$TID/protectionPolicies" '{"name":"bad","kind":"site","drill":{"coverDays":0}}'
expect "drills: coverDays 0 is refused" 400
says "drills: ... naming the field" "coverDays"
api "$TOK" POST "$U/$TID/protectionPolicies" '{"name":"bad","kind":"site","drill":{"every":"1d"}}'
expect "drills: an unknown drill field is refused" 400
# Daily drills covering every pack over 3 days, all files sampled.
api "$TOK" POST "$U/$TID/protectionPolicies" "{\"name\":\"sites\",\"kind\":\"site\",\"units\":[\"$A\"],
	\"frequencySeconds\":86400,\"drill\":{\"everySeconds\":86400,\"coverDays\":3,\"sampleFiles\":100},
	\"state\":\"active\"}"
expect "drills: a policy with drills is created" 201
PID=$(j .id)
equal "drills" "the policy's slices" "$(j .drill.slices)" 3

# --- scheduled: the first point, then the first drill by itself -------------
if until_true 120 has_drills 1 && until_true 30 job_idle; then
	q "$TOK" "$D/drills?limit=1" '.items[0]' >"$T/drill"
	ok "drills: the scheduler drilled the unit after its first restore point"
else
	not_ok "drills: the scheduler drilled the unit after its first restore point" \
		"points $(rp_count), drills $(drill_count)"
fi
equal "drills" "drill 1's state" "$(dj .state)" passed
equal "drills" "drill 1's slice" "$(dj .slice)/$(dj .slices)" "0/3"
equal "drills" "drill 1's files restored and compared" \
	"$(dj .samples)/$(dj .detail.restore.verified)" "$NFILES/$NFILES"
equal "drills" "drill 1's restore point" "$(dj .restorePoint)" 1
[ -z "$(ls -A "$T/data/drills" 2>/dev/null)" ] && ok "drills: the scratch folder is removed" ||
	not_ok "drills: the scratch folder is removed" "$(ls "$T/data/drills")"

# Two more points, each adding packs.
for n in 2 3; do
	gen "more-$n" 300000 >"$S/media/more-$n.bin"
	echo "edit $n" >>"$S/notes.md"
	NFILES=$((NFILES + 1))
	api "$TOK" POST "$D/backup"
	until_true 60 eval '[ "$(rp_count)" = '$n' ]' || not_ok "drills: restore point $n" "$(rp_count)"
done

# --- coverage: three drills in a row read every pack once -------------------
# What a drill killed mid-way left in scratch goes with the unit's next drill.
mkdir -p "$T/data/drills/$A-999/docs" && echo leftover >"$T/data/drills/$A-999/docs/x"
sum=0 bytes=0 slices=
for k in 1 2 3; do
	drill || { not_ok "drills: drill on demand $k" "$(cat "$T/resp")"; break; }
	sum=$((sum + $(dj .packs)))
	bytes=$((bytes + $(dj .bytes)))
	slices="$slices$(dj .slice) "
	[ "$(dj .state)" = passed ] || not_ok "drills: drill on demand $k passes" "$(dj .detail.problemList)"
done
[ ! -e "$T/data/drills/$A-999" ] && [ "$(stat -c %a "$T/data/drills")" = 700 ] &&
	ok "drills: a drill's leftover scratch is removed, the scratch folder private" ||
	not_ok "drills: a drill's leftover scratch is removed, the scratch folder private" \
		"$(ls -la "$T/data/drills")"
TOTAL=$(dj .detail.packs.packsInStore)
DISK=$(find "$T/data/stores/$TID" -path '*/packs/*' -type f | wc -l)
equal "drills" "slices read by drills 2-4" "$slices" "1 2 0 "
equal "drills" "packs read by three drills in a row (every pack, once)" "$sum" "$TOTAL"
equal "drills" "packs in the store" "$TOTAL" "$DISK"
equal "drills" "the newest point is the one sampled" "$(dj .restorePoint)" 3
equal "drills" "every file restored and compared" "$(dj .detail.restore.verified)" "$NFILES"
[ "$bytes" -gt 1000000 ] && ok "drills: the drills report the bytes they read" ||
	not_ok "drills: the drills report the bytes they read" "$bytes"

# --- roles and tenants ------------------------------------------------------
api "$AUTOK" GET "$D/drills"
expect "drills: an auditor reads the drills" 200
api "$AUTOK" POST "$D/drills"
expect "drills: an auditor may not start one" 403
api "$OPTOK" POST "$D/drills"
expect "drills: a restore operator starts one" 202
until_true 60 job_idle
api "$GTOK" POST "$D/drills"
expect "drills: the global admin may not start one (tenant content)" 403
api "$TOK2" GET "$U/$TID2/protectionUnits/$A/drills"
expect "drills: the other tenant gets 404 for the list" 404
api "$TOK2" POST "$U/$TID2/protectionUnits/$A/drills"
expect "drills: the other tenant gets 404 for a drill" 404
api "$TOK2" GET "$D/drills"
expect "drills: the other tenant's token on this tenant's path is refused" 403

# --- damage: one pack flipped on disk ---------------------------------------
# The largest pack holds the media file's content (a sampled file).
PACK=$(find "$T/data/stores/$TID" -path '*/packs/*' -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
PID_HEX=$(basename "$PACK")
store_before=$(store_snapshot "$T/data/stores/$TID")
flip "$PACK" $(( $(stat -c %s "$PACK") / 2 ))
# A whole rotation: the drill whose slice holds the pack names it; every
# drill's test restore finds the sampled file that no longer restores.
failed= named= restore_named= nfailed=0
for k in 1 2 3; do
	drill || break
	[ "$(dj .state)" = failed ] || continue
	failed=$(dj .seq)
	nfailed=$((nfailed + 1))
	jq -e --arg p "${PID_HEX:0:16}" '[.detail.problemList[] | select(.part == "packs" and (.problem | contains($p)))] | length > 0' \
		"$T/drill" >/dev/null && named=1
	jq -e '[.detail.problemList[] | select(.part == "restore" and .path != null)] | length > 0' \
		"$T/drill" >/dev/null && restore_named=$(jq -r '[.detail.problemList[] | select(.part == "restore" and .path != null)][0].path' "$T/drill")
done
[ -n "$failed" ] && ok "drills: a drill fails after a pack is damaged" ||
	not_ok "drills: a drill fails after a pack is damaged" "$(cat "$T/drill")"
[ -n "$named" ] && ok "drills: the failed drill names the pack" ||
	not_ok "drills: the failed drill names the pack" "$(jq -c .detail.problemList "$T/drill")"
case $restore_named in
media/*) ok "drills: the test restore names the file that no longer restores ($restore_named)" ;;
*) not_ok "drills: the test restore names the file that no longer restores" "$(jq -c .detail.problemList "$T/drill")" ;;
esac
# The drill wrote nothing to the store (the flipped byte aside).
flip "$PACK" $(( $(stat -c %s "$PACK") / 2 ))
equal "drills" "the store after the drills" "$(store_snapshot "$T/data/stores/$TID" | sha256sum)" \
	"$(echo "$store_before" | sha256sum)"
flip "$PACK" $(( $(stat -c %s "$PACK") / 2 ))

# The failure, wherever failed backups show.
q "$TOK" "$D" '.lastDrill' >"$T/last"
equal "drills" "the unit's last drill" "$(jq -r '.state + " " + (.seq|tostring)' "$T/last")" "failed $failed"
api "$TOK" GET "$U/$TID/overview"
equal "drills" "the overview's failed drills" "$(j .drills.failed) $(j '.drills.failedUnits[0].unit')" "1 $A"
api "$TOK" GET "$U/$TID/protectionUnits"
equal "drills" "the unit list's last drill" "$(j ".items[] | select(.id == \"$A\") | .lastDrill.state")" failed
api "$TOK" GET "$U/$TID/jobs?unit=$A&kind=drill&state=failed"
[ "$(j '.items | length')" -ge 1 ] && [ "$(j '.items[-1].detail.drill')" = "$failed" ] &&
	ok "drills: the drill's job failed, naming the drill" ||
	not_ok "drills: the drill's job failed, naming the drill" "$(head -c 300 "$T/resp")"
curl -s -H "Authorization: Bearer $TOK" "$BASE/metrics" >"$T/metrics"
grep -q "^coffer_drill_last_passed{tenant=\"$TID\",unit=\"$A\"} 0$" "$T/metrics" &&
	grep -q "^coffer_drill_failures_total{tenant=\"$TID\",unit=\"$A\"} $nfailed$" "$T/metrics" &&
	grep -q "^coffer_drill_packs_verified_total{tenant=\"$TID\",unit=\"$A\"} [1-9]" "$T/metrics" &&
	ok "drills: /metrics shows the failed drill and the packs verified" ||
	not_ok "drills: /metrics shows the failed drill and the packs verified" "$(grep drill "$T/metrics" | tr '\n' ' ')"
api "$TOK" GET "$U/$TID/auditLog?action=protectionUnit.drill"
[ "$(j '[.items[] | select(.action == "protectionUnit.drill.failed")] | length')" -ge 1 ] &&
	[ "$(j '[.items[] | select(.action == "protectionUnit.drill")] | length')" -ge 1 ] &&
	ok "drills: the audit log has the drills asked for and their results" ||
	not_ok "drills: the audit log has the drills asked for and their results" "$(head -c 400 "$T/resp")"

# --- a restart keeps the rotation --------------------------------------------
flip "$PACK" $(( $(stat -c %s "$PACK") / 2 )) # repaired
last=$(q "$TOK" "$D/drills?limit=1" '.items[0].seq')
serve_stop
serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
	--workers 2 --tick-ms 200 --min-frequency 1 ||
	{ not_ok "drills: coffer serve starts again" "$(serve_why serve)"; exit 1; }
drill
equal "drills" "the drill after a restart goes on with the rotation" \
	"$(dj .seq) $(dj .slice) $(dj .state)" "$((last + 1)) $((last % 3)) passed"
curl -s -H "Authorization: Bearer $TOK" "$BASE/metrics" >"$T/metrics"
grep -q "^coffer_drill_failures_total{tenant=\"$TID\",unit=\"$A\"} $nfailed$" "$T/metrics" &&
	ok "drills: the failures counter survives a restart" ||
	not_ok "drills: the failures counter survives a restart" "$(grep failures "$T/metrics" | tr '\n' ' ')"
api "$TOK" GET "$U/$TID/overview"
equal "drills" "the overview once the unit passes again" "$(j .drills.failed) $(j .drills.passed)" "0 1"

# The CLI: a drill waited for, and the list.
printf '%s\n' "$TOK" >"$T/ta.tok"
run "$COFFER" --server "$BASE" --token-file "$T/ta.tok" --json unit drill "$A" --wait
is_rc "drills: coffer unit drill --wait passes" 0
equal "drills" "what coffer unit drill --wait prints" "$(jq -r '.state + " " + (.seq|tostring)' "$T/out")" \
	"passed $((last + 2))"
run "$COFFER" --server "$BASE" --token-file "$T/ta.tok" unit drills "$A"
is_rc "drills: coffer unit drills" 0
grep -q "^$((last + 2)) *passed" "$T/out" && ok "drills: coffer unit drills lists the newest first" ||
	not_ok "drills: coffer unit drills lists the newest first" "$(head -3 "$T/out" | tr '\n' ' ')"

# Erased paths (docs/privacy.md 2) are never sampled, even into scratch:
# counted as withheld, and the drill passes.
PTOK=$(token privacyOfficer)
api "$PTOK" POST "$U/$TID/erasureRequests" \
	"{\"kind\":\"paths\",\"unit\":\"$A\",\"paths\":[\"docs/old\"],\"reason\":\"ticket 7\"}"
api "$TOK" POST "$U/$TID/erasureRequests/$(j .id)/approve"
expect "drills: an erasure of docs/old is approved" 200
drill
if [ "$(dj .state)" = passed ] && [ "$(dj .withheld)" = 1 ] && [ "$(dj .samples)" = $((NFILES - 1)) ] &&
	! dj '.detail.restore.paths[]' | grep -q '^docs/old/'; then
	ok "drills: an erased file is withheld from the drill's sample, not restored into scratch"
else
	not_ok "drills: an erased file is withheld from the drill's sample" "$(jq -c '{state,withheld,samples,paths:.detail.restore.paths}' "$T/drill")"
fi

# --- the same slices by hand: coffer check --read-data --slice K/N ---------
init_store
mkdir -p "$T/cs"
for i in 1 2 3; do gen "cs$i" 300000 >"$T/cs/f$i"; c backup cs "$T/cs" >/dev/null 2>&1; done
TOTAL=$(find "$STORE" -path '*/packs/*' -type f | wc -l)
slices_read() { # prints the packs each of the 3 slices read; exit codes in $T/rcs
	: >"$T/rcs"
	for k in 1 2 3; do
		run c check --read-data --slice "$k/3" --unit cs
		echo "$rc" >>"$T/rcs"
		sed -n 's|^slice [0-9]*/3: \([0-9]*\) packs read.*|\1|p' "$T/out"
	done
}
sum=$(slices_read | paste -sd+ | bc)
equal "drills" "packs read by check --slice 1/3, 2/3 and 3/3" "$sum" "$TOTAL"
P=$(find "$STORE" -path '*/packs/*' -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
flip "$P" $(( $(stat -c %s "$P") / 2 ))
slices_read >/dev/null
equal "drills" "check slices that find the damaged pack" "$(grep -c '^4$' "$T/rcs")" 1
run c check --slice 1/3
fails_with "drills: check --slice needs --read-data" 2 "--slice needs --read-data"
run c check --read-data --slice 4/3
fails_with "drills: check --slice 4/3 is refused" 2 "--slice K"

sanitizer "$T/serve.err" && not_ok "drills: no sanitizer report" "$(grep -m1 -E 'Sanitizer|runtime error' "$T/serve.err")" ||
	ok "drills: no sanitizer report"
exit $FAILED
