#!/bin/bash
# A unit's destruction end to end (docs/privacy.md 5): two folder units
# backed up; destroying one needs its name as confirmation and no legal
# hold; during the delay it still restores and the request can be
# cancelled; a hold set later holds it back; past the delay (simulated
# clock) the scheduler's job erases its key and deletes its objects. The
# other unit still restores byte-identical, the audit log has the request,
# the cancellation and the end with counts, and `coffer check` finds
# nothing wrong. The proof: the unit's folder saved before (key too) is put
# back without its key; reading it fails naming the erased key, and no
# object of it opens with any key the service still has (tests/shred_probe).
# A real coffer serve on loopback port 18950, driven with curl and jq.
. "$(dirname "$0")/lib.sh"

need_tools destroy curl jq
SEED=destroy
PORT=18950
PROBE=${PROBE:-$(dirname "$COFFER")/tests/shred_probe}
CLOCK=$T/clock
T0=1700000000
DAY=86400
echo $T0 >"$CLOCK"
export COFFER_CACHE=$T/cli-cache

serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
	--workers 2 --tick-ms 100 --min-frequency 1 --clock-file "$CLOCK" || {
	not_ok "destroy: coffer serve starts" "$(serve_why serve)"; exit 1; }
GTOK=$(grep -m1 '^cft_' "$T/serve.out")
U=/v1/tenants
tenant acme || { not_ok "destroy: a tenant" "$code $(cat "$T/resp")"; exit 1; }

for n in a b; do
	mkdir -p "$T/src/$n/docs"
	echo "secret notes of $n: the-plaintext-marker-$n" >"$T/src/$n/notes.txt"
	seq 1 40000 >"$T/src/$n/docs/list.txt"
	gen "$n" 300000 >"$T/src/$n/docs/blob.bin"
	api "$GTOK" POST "$U/$TID/protectionUnits" \
		"{\"name\":\"unit-$n\",\"kind\":\"site\",\"source\":{\"type\":\"folder\",\"path\":\"$T/src/$n\"}}"
	eval "$(echo $n | tr a-z A-Z)=$(jq -r .id "$T/resp")"
	api "$TOK" POST "$U/$TID/protectionUnits/$(jq -r .id "$T/resp")/backup"
done
if until_true 60 has_points "$A" 1 && until_true 60 has_points "$B" 1; then
	ok "destroy: two folder units backed up"
else
	not_ok "destroy: two folder units backed up" "$(cat "$T/resp")"; exit 1
fi

# The keys the service keeps for the tenant, as files; the store as it is.
"$COFFER" catalog tenant-key "$TID" --data "$T/data" --key-file-new "$T/k" \
	--deletion-key-file-new "$T/dk" >"$T/out" 2>&1 || { not_ok "destroy: tenant keys" "$(cat "$T/out")"; exit 1; }
STORE=$T/data/stores/$TID
KEY=$T/k
cp -a "$STORE/units" "$T/units-before"

D="$U/$TID/protectionUnits/$A/destroy"
api "$TOK" POST "$D" '{"confirm":"unit-b"}'
if [ "$code" = 400 ] && j .error.message | grep -q '"confirm"' && j .error.message | grep -q 'unit-a'; then
	ok "destroy: a wrong confirmation is refused, naming what to confirm"
else
	not_ok "destroy: a wrong confirmation is refused, naming what to confirm" "$code $(cat "$T/resp")"
fi
api "$TOK" POST "$D"
expect "destroy: no body is refused" 400

api "$TOK" PUT "$U/$TID/protectionUnits/$A/legalHold" '{"reason":"case 7"}'
api "$TOK" POST "$D" '{"confirm":"unit-a"}'
if [ "$code" = 409 ] && j .error.message | grep -q "legal hold"; then
	ok "destroy: refused under a legal hold"
else
	not_ok "destroy: refused under a legal hold" "$code $(cat "$T/resp")"
fi
api "$TOK" DELETE "$U/$TID/protectionUnits/$A/legalHold"

api "$TOK" POST "$D" '{"confirm":"unit-a"}'
due=$(j .destroyDueUnix)
if [ "$code" = 202 ] && [ "$due" = $((T0 + 7 * DAY)) ]; then
	ok "destroy: asked with the right name, due after the tenant's 7 days"
else
	not_ok "destroy: asked with the right name, due after the tenant's 7 days" "$code $(cat "$T/resp")"
fi
api "$TOK" POST "$D" '{"confirm":"unit-a"}'
expect "destroy: asked twice is a conflict" 409

# During the delay the unit restores; a backup is refused.
verify_restore "$A@1" "$T/src/a" "destroy: during the delay"
api "$TOK" POST "$U/$TID/protectionUnits/$A/backup"
if [ "$code" = 409 ] && j .error.message | grep -q "to be destroyed"; then
	ok "destroy: during the delay a backup is refused"
else
	not_ok "destroy: during the delay a backup is refused" "$code $(cat "$T/resp")"
fi
export COFFER_SERVER=http://127.0.0.1:$PORT COFFER_TOKEN=$TOK COFFER_TENANT=$TID
run "$COFFER" unit destroy "$A" --cancel
api "$TOK" GET "$U/$TID/protectionUnits/$A"
if [ "$rc" = 0 ] && [ "$(j .destroyDue)" = null ]; then
	ok "destroy: coffer unit destroy --cancel cancels it"
else
	not_ok "destroy: coffer unit destroy --cancel cancels it" "exit $rc $(cat "$T/err") $(cat "$T/resp")"
fi
run "$COFFER" unit destroy "$A" --confirm unit-a
api "$TOK" GET "$U/$TID/protectionUnits/$A"
if [ "$rc" = 0 ] && [ "$(j .destroyDueUnix)" = $((T0 + 7 * DAY)) ]; then
	ok "destroy: coffer unit destroy --confirm NAME asks again"
else
	not_ok "destroy: coffer unit destroy --confirm NAME asks again" "exit $rc $(cat "$T/err") $(cat "$T/resp")"
fi

# A unit never backed up has nothing in the store: it is destroyed all the same.
mkdir -p "$T/src/c"
api "$GTOK" POST "$U/$TID/protectionUnits" \
	"{\"name\":\"unit-c\",\"kind\":\"site\",\"source\":{\"type\":\"folder\",\"path\":\"$T/src/c\"}}"
C=$(jq -r .id "$T/resp")
api "$TOK" POST "$U/$TID/protectionUnits/$C/destroy" '{"confirm":"unit-c"}'
expect "destroy: a unit without restore points is asked too" 202

# A hold set after the request holds the destruction back, past its date.
api "$TOK" PUT "$U/$TID/protectionUnits/$A/legalHold" '{"reason":"case 8"}'
echo $((T0 + 8 * DAY)) >"$CLOCK"
sleep 1
state=$(unit_field "$A" state)
if [ "$state" != destroyed ] && [ -e "$(ls -d "$STORE"/units/*/key | head -1)" ] &&
	[ "$(find "$STORE/units" -name key | wc -l)" = 2 ]; then
	ok "destroy: a legal hold set meanwhile holds it back"
else
	not_ok "destroy: a legal hold set meanwhile holds it back" "state $state"
fi
api "$TOK" DELETE "$U/$TID/protectionUnits/$A/legalHold"

destroyed() { [ "$(unit_field "$A" state)" = destroyed ]; }
if until_true 30 destroyed; then ok "destroy: past the delay the unit is destroyed"; else
	not_ok "destroy: past the delay the unit is destroyed" "$(cat "$T/resp") $(grep -m2 destroy "$T/serve.err")"; fi

expect_eq "destroy: the unit never backed up is destroyed too" "$(unit_field "$C" state)" destroyed
UIDA=
for d in "$T/units-before"/*; do [ -e "$STORE/units/$(basename "$d")/key" ] || UIDA=$(basename "$d"); done
left=$(find "$STORE/units/$UIDA" -type f 2>/dev/null | wc -l)
if [ -n "$UIDA" ] && [ "$left" = 0 ] && grep -q '^signature ' "$STORE/destroyed/$UIDA"; then
	ok "destroy: no object of the unit is left, a signed record says it was destroyed"
else
	not_ok "destroy: no object of the unit is left, a signed record says it was destroyed" \
		"uid '$UIDA', $left files left"
fi
if [ -z "$(ls -A "$T/data/cache"/*/"$UIDA" 2>/dev/null)" ]; then
	ok "destroy: the service's cache of the unit is gone"
else
	not_ok "destroy: the service's cache of the unit is gone" "$(ls "$T/data/cache"/*/"$UIDA")"
fi
if [ ! -e "$T/data/tenants/$TID/units/$A.json" ] && [ -e "$T/data/tenants/$TID/units/$B.json" ]; then
	ok "destroy: its descriptor is gone (a catalog rebuild does not bring it back)"
else
	not_ok "destroy: its descriptor is gone (a catalog rebuild does not bring it back)" "$(ls "$T/data/tenants/$TID/units")"
fi
verify_restore "$B@1" "$T/src/b" "destroy: the other unit"
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints"
expect_eq "destroy: no restore point of it is offered" "$(j '.items | length')" 0
api "$TOK" POST "$U/$TID/protectionUnits/$A/backup"
expect "destroy: a destroyed unit takes no backup" 409

api "$TOK" GET "$U/$TID/auditLog?action=unit.destroy&limit=100"
acts=$(j '[.items[].action] | sort | join(" ")')
objs=$(j "[.items[] | select(.action == \"unit.destroy.done\" and .target == \"$A\") | .detail.objects][0]")
if [ "$acts" = "unit.destroy.cancel unit.destroy.done unit.destroy.done unit.destroy.request unit.destroy.request unit.destroy.request" ] &&
	[ "$objs" -gt 3 ] 2>/dev/null; then
	ok "destroy: the audit log has the requests, the cancellation and the end ($objs objects)"
else
	not_ok "destroy: the audit log has the requests, the cancellation and the end" "$acts / $objs $(head -c 600 "$T/resp")"
fi

run c restore-points "$A"
fails_with "destroy: reading it says it was destroyed, and when" 1 "was destroyed on" "units/$UIDA/key"
run c check
is_rc "destroy: check finds nothing wrong" 0

# The proof: its folder put back without its key opens with no key kept.
mkdir -p "$STORE/units/$UIDA"
cp -a "$T/units-before/$UIDA"/. "$STORE/units/$UIDA/"
rm -f "$STORE/units/$UIDA/key"
run c restore "$A@1" --to "$T/back"
fails_with "destroy: its objects put back do not restore, naming the erased key" 1 "destroyed" "units/$UIDA/key"
objects=$(find "$T/units-before/$UIDA" -type f \( -path '*/packs/*' -o -path '*/index/*' -o -path '*/rp/*' -o -path '*/deletions/*' \) | sort)
n=$(echo "$objects" | wc -l)
"$PROBE" "$STORE" "$KEY" "$T/dk" --unit-key "$T/units-before/$UIDA/key" $objects >"$T/out" 2>"$T/err"
expect_eq "destroy: control: with its erased key every object opens" "$(cat "$T/out")" "opened $n of $n"
"$PROBE" "$STORE" "$KEY" "$T/dk" $objects >"$T/out" 2>"$T/err"
expect_eq "destroy: without it none opens with the store key or the deletion key" "$(cat "$T/out")" "opened 0 of $n"
if ! grep -rq "the-plaintext-marker-a" "$STORE" "$T/data/cache" "$T/data/search" 2>/dev/null; then
	ok "destroy: no plaintext of it anywhere in the service's data"
else
	not_ok "destroy: no plaintext of it anywhere in the service's data" "$(grep -rl the-plaintext-marker-a "$T/data" | head -3)"
fi
run c check
is_rc "destroy: check does not report the leftovers as damage" 0
# A record changed by hand (the store key alone cannot sign one) is refused.
cp "$STORE/destroyed/$UIDA" "$T/record"
sed -i 's/^objects \([0-9]*\)/objects 1\1/' "$STORE/destroyed/$UIDA"
run c restore-points "$A"
fails_with "destroy: a record changed by hand does not verify" 1 "destroyed/$UIDA" "signature does not verify"
cp "$T/record" "$STORE/destroyed/$UIDA"

serve_stop
if sanitizer "$T/serve.err"; then not_ok "destroy: no sanitizer report" "$(why "$T/serve.err")"; else
	ok "destroy: no sanitizer report"; fi
finish
