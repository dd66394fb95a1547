#!/bin/bash
# Restore sessions and recommendations end to end (docs/service.md "Restore
# sessions", "Recommendations"): three folder units backed up a few times; one
# damaged like ransomware and rolled back in place from the recommended point;
# restores to a new location and granular ones; several units in one session
# under the parallel limit, one of them failing; "before" and tenant checks.
# A real coffer serve on loopback ports 18650-18699, driven with curl and jq.
. "$(dirname "$0")/lib.sh"

need_tools sessions curl jq openssl
SEED=sessions
PORT=18651

# serve [ARGS...]: coffer serve on $T/data (output in $T/serve.out and
# $T/serve.err), up and answering.
serve() {
	serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
		--workers 3 --tick-ms 200 --min-frequency 1 "$@" && return 0
	not_ok "sessions: coffer serve starts" "$(serve_why serve)"
	exit 1
}

U=/v1/tenants
# make_unit DIR: about 1 MiB of compressible text in a few folders, varied modes.
make_unit() {
	local d=$1 i
	mkdir -p "$d/docs/old" "$d/sub"
	for i in 1 2 3 4 5 6 7 8; do
		seq $((i * 100000)) $((i * 100000 + 22000)) >"$d/docs/report-$i.txt"
	done
	seq 1 5000 >"$d/docs/old/archive.txt"
	echo "notes of $d" >"$d/notes.md"
	printf '#!/bin/sh\necho hi\n' >"$d/sub/run.sh"
	chmod 755 "$d/sub/run.sh"
	chmod 640 "$d/docs/report-1.txt"
	gen "$d" 20000 >"$d/sub/blob.bin"
	touch -d '2024-01-02 03:04:05' "$d/docs/report-2.txt"
}

# backup UNIT N: an on-demand backup; waits for restore point N.
backup() {
	api "$TOK" POST "$U/$TID/protectionUnits/$1/backup"
	until_true 60 has_points "$1" "$2"
}
# backup_all N: the three units, at once.
backup_all() {
	local u ret=0
	for u in $A $B $C; do api "$TOK" POST "$U/$TID/protectionUnits/$u/backup"; done
	for u in $A $B $C; do until_true 60 has_points "$u" "$1" || ret=1; done
	return $ret
}
# backup_all_next: one more restore point of each unit.
backup_all_next() {
	local u ret=0 na nb nc
	na=$(rp_count "$A"); nb=$(rp_count "$B"); nc=$(rp_count "$C")
	for u in $A $B $C; do api "$TOK" POST "$U/$TID/protectionUnits/$u/backup"; done
	until_true 120 has_points "$A" $((na + 1)) || ret=1
	until_true 120 has_points "$B" $((nb + 1)) || ret=1
	until_true 120 has_points "$C" $((nc + 1)) || ret=1
	return $ret
}
# session BODY: creates a session; its id in $SID.
session() {
	api "$TOK" POST "$U/$TID/restoreSessions" "$1"
	SID=$(jq -r .id "$T/resp" 2>/dev/null)
}
# wait_session SID: until it ends; the session JSON in $T/session.
wait_session() {
	until_true 120 session_done "$1"
	cp "$T/resp" "$T/session"
}
art() { jq -r ".artifacts[] | select(.unit == \"$1\") | .$2" "$T/session"; }
copy_tree() { rm -rf "$2"; cp -a "$1" "$2"; }

# ---------------------------------------------------------------------
serve --restore-parallel 2
GTOK=$(grep -m1 '^cft_' "$T/serve.out")
tenant acme
tenant other TID2 TOK2
if [ -n "$TOK" ] && [ "$TOK" != null ] && [ -n "$TOK2" ] && [ "$TOK2" != null ]; then
	ok "sessions: two tenants with admin tokens"
else
	not_ok "sessions: two tenants with admin tokens" "$code $(cat "$T/resp")"; exit 1
fi

for n in a b c; do
	make_unit "$T/src/$n"
	# Without folder_root, folders are the global admin's to name.
	api "$GTOK" POST "$U/$TID/protectionUnits" \
		"{\"name\":\"$n\",\"kind\":\"site\",\"source\":{\"type\":\"folder\",\"path\":\"$T/src/$n\"}}"
	eval "$(echo $n | tr a-z A-Z)=$(jq -r .id "$T/resp")"
done
mkdir -p "$T/src/z"; echo z >"$T/src/z/z.txt"
api "$GTOK" POST "$U/$TID2/protectionUnits" \
	"{\"name\":\"z\",\"kind\":\"site\",\"source\":{\"type\":\"folder\",\"path\":\"$T/src/z\"}}"
Z=$(jq -r .id "$T/resp")

# Three rounds of backups, small edits between them; T2 lies between points 2 and 3.
check "sessions: first restore points of 3 units" backup_all 1
copy_tree "$T/src/c" "$T/c-at-1"
sleep 1.1
for n in a b c; do echo "edit 2" >>"$T/src/$n/notes.md"; seq 1 300 >>"$T/src/$n/docs/report-3.txt"; done
check "sessions: second restore points" backup_all 2
copy_tree "$T/src/a" "$T/a-at-2"
sleep 1.1
T2=$(date +%s)
sleep 1.1
for n in a b c; do echo "edit 3" >>"$T/src/$n/notes.md"; done
check "sessions: third restore points" backup_all 3
copy_tree "$T/src/a" "$T/a-at-3"
copy_tree "$T/src/b" "$T/b-at-3"

# Ransomware on unit a: files encrypted in place, some deleted, notes left.
for f in "$T"/src/a/docs/*.txt "$T"/src/a/docs/old/*.txt; do
	openssl enc -aes-256-cbc -pbkdf2 -pass pass:ransom -in "$f" -out "$f.locked" && rm -f "$f"
done
rm -f "$T/src/a/sub/run.sh"
for d in "$T/src/a" "$T/src/a/docs" "$T/src/a/sub"; do echo "pay 1 BTC" >"$d/README-RESTORE-FILES.txt"; done
check "sessions: the damaged unit's restore point" backup "$A" 4

# Recommendations name point 3, the last before the damage.
api "$TOK" GET "$U/$TID/protectionUnits/$A/recommendedRestorePoints"
cp "$T/resp" "$T/rec"
ba=$(jq -r '.recommendations[] | select(.kind == "beforeAnomaly") | .restorePoint' "$T/rec")
reason=$(jq -r '.recommendations[] | select(.kind == "beforeAnomaly") | .reason' "$T/rec")
if [ "$code" = 200 ] && [ "$ba" = 3 ]; then ok "sessions: recommended before the anomaly: point 3"; else
	not_ok "sessions: recommended before the anomaly: point 3" "$code $(head -c 600 "$T/rec")"; fi
case "$reason" in
*compress*) ok "sessions: the reason names incompressible data" ;;
*) not_ok "sessions: the reason names incompressible data" "$reason" ;;
esac
fast=$(jq -r '[.recommendations[] | select(.kind == "fastest")][0] | "\(.restorePoint) \(.warning)"' "$T/rec")
case "$fast" in
"4 "*"restore point 4"*) ok "sessions: the fastest point is the latest, with a warning of the damage" ;;
*) not_ok "sessions: the fastest point is the latest, with a warning of the damage" "$fast" ;;
esac
api "$TOK" GET "$U/$TID/protectionUnits/$B/recommendedRestorePoints"
n=$(jq '[.recommendations[] | select(.kind == "beforeAnomaly")] | length' "$T/resp")
if [ "$n" = 0 ]; then ok "sessions: an undamaged unit has no anomaly"; else
	not_ok "sessions: an undamaged unit has no anomaly" "$(head -c 400 "$T/resp")"; fi

# The plan first (dryRun): what the rollback would write and remove; nothing
# created, queued or changed; audited.
tree_listing "$T/src/a" >"$T/a-before-plan"
api "$TOK" GET "$U/$TID/restoreSessions?limit=1000"; nsess=$(jq '.items | length' "$T/resp")
session "{\"dryRun\":true,\"items\":[{\"unit\":\"$A\",\"restorePoint\":$ba,\"mode\":\"inPlace\"},{\"unit\":\"$B\",\"restorePoint\":3,\"mode\":\"newLocation\"}]}"
cp "$T/resp" "$T/plan"
pa=$(jq -c --arg u "$A" '.items[] | select(.unit == $u) | [.plan, .write, .remove, (.unchanged > 0), (.bytes > 0)]' "$T/plan")
if [ "$code" = 200 ] && [ "$(jq -r .dryRun "$T/plan")" = true ] && [ "$pa" = '["exact",10,12,true,true]' ] &&
	jq -e --arg u "$A" '.items[] | select(.unit == $u) | [.sample[] | select(.action == "remove" and .path == "docs/report-1.txt.locked")] | length == 1' "$T/plan" >/dev/null; then
	ok "sessions: a dry run plans the rollback: 10 to write (9 encrypted, 1 deleted), 12 to remove (9 .locked, 3 notes), the rest unchanged"
else
	not_ok "sessions: a dry run plans the rollback" "$code $pa $(head -c 600 "$T/plan")"
fi
pb=$(jq -r --arg u "$B" '.items[] | select(.unit == $u) | "\(.target) \(.write > 0) \(.remove)"' "$T/plan")
if [ "$pb" = "$T/src/b.restored-1 true 0" ] && [ ! -e "$T/src/b.restored-1" ]; then
	ok "sessions: a planned new location is named (b.restored-1), not made"
else
	not_ok "sessions: a planned new location is named, not made" "$pb $(ls -d "$T"/src/b.* 2>&1)"
fi
api "$TOK" GET "$U/$TID/restoreSessions?limit=1000"
if [ "$(jq '.items | length' "$T/resp")" = "$nsess" ] && [ "$(api "$TOK" GET "$U/$TID/jobs?kind=restore"; jq '.items | length' "$T/resp")" = 0 ] &&
	diff -q "$T/a-before-plan" <(tree_listing "$T/src/a") >/dev/null; then
	ok "sessions: a dry run creates no session, queues no job, changes nothing"
else
	not_ok "sessions: a dry run creates no session, queues no job, changes nothing" "$nsess $(jq '.items | length' "$T/resp")"
fi
api "$TOK" GET "$U/$TID/auditLog?action=restoreSession.plan"
if jq -e --arg u "$A" '.items[] | select(.detail.items[0].unit == $u)' "$T/resp" >/dev/null; then
	ok "sessions: a dry run is audited (restoreSession.plan)"
else
	not_ok "sessions: a dry run is audited (restoreSession.plan)" "$(head -c 300 "$T/resp")"
fi
session "{\"dryRun\":\"yes\",\"items\":[{\"unit\":\"$A\",\"mode\":\"inPlace\"}]}"
expect "sessions: dryRun that is not a boolean is 400" 400
COFFER_SERVER="http://127.0.0.1:$PORT" COFFER_TOKEN=$TOK COFFER_TENANT=$TID \
	"$COFFER" restore-session create "$A@$ba" --dry-run >"$T/cli-plan" 2>&1
if grep -q "^$A  *$ba  *inPlace  *exact  *10  *12 " "$T/cli-plan"; then
	ok "sessions: coffer restore-session create --dry-run prints the plan"
else
	not_ok "sessions: coffer restore-session create --dry-run prints the plan" "$(cat "$T/cli-plan")"
fi

# Roll a back in place from the recommended point.
session "{\"items\":[{\"unit\":\"$A\",\"restorePoint\":$ba,\"mode\":\"inPlace\"}]}"
expect "sessions: an in-place session is created" 201
wait_session "$SID"
if [ "$(jq -r .state "$T/session")" = succeeded ] && [ "$(art "$A" state)" = succeeded ]; then
	ok "sessions: the rollback succeeded"
else
	not_ok "sessions: the rollback succeeded" "$(head -c 600 "$T/session")"
fi
if same_tree "$T/a-at-3" "$T/src/a"; then ok "sessions: unit a equals its pre-damage tree (bytes, modes, mtimes)"; else
	not_ok "sessions: unit a equals its pre-damage tree (bytes, modes, mtimes)" \
		"$(diff <(tree_listing "$T/a-at-3") <(tree_listing "$T/src/a") | head -4 | tr '\n' ' ')"
fi
id=$(art "$A" itemsDone); it=$(art "$A" itemsTotal); bd=$(art "$A" bytesDone); bt=$(art "$A" bytesTotal)
if [ "$id" -gt 0 ] && [ "$id" = "$it" ] && [ "$bd" -gt 1000000 ] && [ "$bd" = "$bt" ]; then
	ok "sessions: the artifact shows items and bytes done ($id items, $bd bytes)"
else
	not_ok "sessions: the artifact shows items and bytes done" "items $id/$it bytes $bd/$bt"
fi
api "$TOK" GET "$U/$TID/auditLog?action=restoreSession.create"
if jq -e --arg s "$SID" '.items[] | select(.target == $s)' "$T/resp" >/dev/null; then
	ok "sessions: the session is in the audit log"
else
	not_ok "sessions: the session is in the audit log" "$(head -c 300 "$T/resp")"
fi

# To a new location: <path>.restored-1, then -2; the original untouched.
echo "changed after 3" >>"$T/src/b/notes.md"
copy_tree "$T/src/b" "$T/b-now"
session "{\"items\":[{\"unit\":\"$B\",\"restorePoint\":3,\"mode\":\"newLocation\"}]}"
wait_session "$SID"
if [ "$(art "$B" state)" = succeeded ] && [ "$(art "$B" target)" = "$T/src/b.restored-1" ] &&
   same_tree "$T/b-at-3" "$T/src/b.restored-1"; then
	ok "sessions: a new location restore writes b.restored-1 equal to the point"
else
	not_ok "sessions: a new location restore writes b.restored-1 equal to the point" \
		"$(art "$B" state) $(art "$B" target) $(art "$B" error)"
fi
if same_tree "$T/b-now" "$T/src/b"; then ok "sessions: the original folder is untouched"; else
	not_ok "sessions: the original folder is untouched" "differs"; fi
session "{\"items\":[{\"unit\":\"$B\",\"restorePoint\":3,\"mode\":\"newLocation\"}]}"
wait_session "$SID"
if [ "$(art "$B" target)" = "$T/src/b.restored-2" ] && same_tree "$T/b-at-3" "$T/src/b.restored-2"; then
	ok "sessions: a second new location restore writes b.restored-2"
else
	not_ok "sessions: a second new location restore writes b.restored-2" "$(head -c 400 "$T/session")"
fi
# Picked files to a new location: only they, in b.restored-3.
session "{\"items\":[{\"unit\":\"$B\",\"restorePoint\":3,\"mode\":\"newLocation\",\"paths\":[\"notes.md\",\"docs/report-1.txt\"]}]}"
wait_session "$SID"
got=$(cd "$T/src/b.restored-3" 2>/dev/null && find . -type f | sort | tr '\n' ' ')
if [ "$(art "$B" state)" = succeeded ] && [ "$(art "$B" target)" = "$T/src/b.restored-3" ] &&
   [ "$got" = "./docs/report-1.txt ./notes.md " ] && cmp -s "$T/b-at-3/notes.md" "$T/src/b.restored-3/notes.md" &&
   cmp -s "$T/b-at-3/docs/report-1.txt" "$T/src/b.restored-3/docs/report-1.txt"; then
	ok "sessions: picked files restored to a new location: only they, in b.restored-3"
else
	not_ok "sessions: picked files restored to a new location" "$(art "$B" state) $(art "$B" target) '$got' $(art "$B" error)"
fi

# Granular: only the glob comes back, from point 1.
for f in "$T"/src/c/docs/report-*.txt; do echo "overwritten" >"$f"; done
echo "kept" >"$T/src/c/notes.md"
session "{\"items\":[{\"unit\":\"$C\",\"restorePoint\":1,\"mode\":\"granular\",\"paths\":[\"docs/report-*.txt\"]}]}"
expect "sessions: a granular session is created" 201
wait_session "$SID"
good=1
for f in "$T"/c-at-1/docs/report-*.txt; do
	cmp -s "$f" "$T/src/c/docs/$(basename "$f")" || good=0
done
if [ "$(art "$C" state)" = succeeded ] && [ $good = 1 ]; then
	ok "sessions: granular brings back the matching files"
else
	not_ok "sessions: granular brings back the matching files" "$(art "$C" state) $(art "$C" error)"
fi
if [ "$(cat "$T/src/c/notes.md")" = kept ] && [ "$(tail -1 "$T/src/c/docs/old/archive.txt")" = 5000 ]; then
	ok "sessions: granular leaves everything else as it is"
else
	not_ok "sessions: granular leaves everything else as it is" "$(cat "$T/src/c/notes.md")"
fi

# Two units in one session, one failing: its folder was replaced by a file.
copy_tree "$T/src/c" "$T/c-keep"
rm -rf "$T/src/c"; echo "not a folder" >"$T/src/c"
rm -rf "$T/src/b"
session "{\"items\":[{\"unit\":\"$B\",\"restorePoint\":3,\"mode\":\"inPlace\"},{\"unit\":\"$C\",\"restorePoint\":3,\"mode\":\"inPlace\"}]}"
wait_session "$SID"
if [ "$(art "$B" state)" = succeeded ] && same_tree "$T/b-at-3" "$T/src/b"; then
	ok "sessions: the healthy unit of a mixed session is restored"
else
	not_ok "sessions: the healthy unit of a mixed session is restored" "$(art "$B" state) $(art "$B" error)"
fi
err=$(art "$C" error)
if [ "$(art "$C" state)" = failed ] && [[ "$err" == *"$T/src/c"* ]]; then
	ok "sessions: the failing unit fails with a reason naming its folder"
else
	not_ok "sessions: the failing unit fails with a reason naming its folder" "$(art "$C" state) $err"
fi
if [ "$(jq -r .state "$T/session")" = failed ] && [ "$(jq -r .finished "$T/session")" != null ]; then
	ok "sessions: the session says it failed"
else
	not_ok "sessions: the session says it failed" "$(jq -c '{state,finished}' "$T/session")"
fi
rm -f "$T/src/c"; copy_tree "$T/c-keep" "$T/src/c"

# The parallel limit: larger units, so restores overlap; three in one session.
for n in a b c; do gen "big-$n" 64000000 >"$T/src/$n/big.bin"; done
check "sessions: restore points with large files" backup_all_next
for n in a b c; do copy_tree "$T/src/$n" "$T/$n-big"; done
# parallel_session: restores the three units in place (latest point) after
# deleting them, sampling how many artifacts run at once; sets $max, $st.
parallel_session() {
	local i r
	for n in a b c; do rm -rf "$T/src/$n"; done
	session "{\"items\":[{\"unit\":\"$A\",\"mode\":\"inPlace\"},{\"unit\":\"$B\",\"mode\":\"inPlace\"},{\"unit\":\"$C\",\"mode\":\"inPlace\"}]}"
	for i in $(seq 1 3000); do
		api "$TOK" GET "$U/$TID/restoreSessions/$SID"
		st=$(jq -r .state "$T/resp")
		{ [ "$st" = succeeded ] || [ "$st" = failed ]; } && break
		sleep 0.05
	done
	cp "$T/resp" "$T/session"
	# How many ran at once, from the order of the server's restore.start
	# and restore.end lines of this session (logged inside the slot).
	max=$(awk -v sid="session=$SID" '
		index($0, "event=restore.start") && index($0, sid) { n++; if (n > m) m = n }
		index($0, "event=restore.end") && index($0, sid) { n-- }
		END { print m + 0 }' "$T/serve.err")
}
all_back() { same_tree "$T/a-big" "$T/src/a" && same_tree "$T/b-big" "$T/src/b" && same_tree "$T/c-big" "$T/src/c"; }
parallel_session
if [ "$st" = succeeded ] && [ "$max" = 2 ] && all_back; then
	ok "sessions: with restore_parallel 2, two units ran at once, never three, all restored"
else
	not_ok "sessions: with restore_parallel 2, two units ran at once, never three" \
		"state $st, at most $max running: $(jq -c '[.artifacts[] | {state,error}]' "$T/session")"
fi
serve_stop
serve --restore-parallel 1
yields=$(grep -c 'event=job.yield' "$T/serve.err")
parallel_session
if [ "$st" = succeeded ] && [ "$max" -le 1 ] && all_back; then
	ok "sessions: with restore_parallel 1, one unit at a time, all restored"
else
	not_ok "sessions: with restore_parallel 1, one unit at a time" \
		"state $st, at most $max running: $(jq -c '[.artifacts[] | {state,error}]' "$T/session")"
fi
if [ "$(grep -c 'event=job.yield' "$T/serve.err")" -gt "$yields" ]; then
	ok "sessions: restores over the limit went back to the queue and ran later"
else
	not_ok "sessions: restores over the limit went back to the queue and ran later" "no job.yield logged"
fi

# "before": T2 picks point 2 (Unix seconds and RFC 3339).
session "{\"items\":[{\"unit\":\"$A\",\"before\":$T2,\"mode\":\"inPlace\"}]}"
p=$(jq -r '.artifacts[0].restorePoint' "$T/resp")
wait_session "$SID"
if [ "$p" = 2 ] && [ "$(art "$A" state)" = succeeded ] && same_tree "$T/a-at-2" "$T/src/a"; then
	ok "sessions: \"before\" (Unix seconds) picks point 2"
else
	not_ok "sessions: \"before\" (Unix seconds) picks point 2" "point $p $(art "$A" state)"
fi
session "{\"items\":[{\"unit\":\"$A\",\"before\":\"$(date -u -d @$T2 +%Y-%m-%dT%H:%M:%SZ)\",\"mode\":\"newLocation\"}]}"
p=$(jq -r '.artifacts[0].restorePoint' "$T/resp")
if [ "$code" = 201 ] && [ "$p" = 2 ]; then ok "sessions: \"before\" (RFC 3339) picks point 2"; else
	not_ok "sessions: \"before\" (RFC 3339) picks point 2" "$code $(head -c 300 "$T/resp")"; fi
wait_session "$SID"
session "{\"items\":[{\"unit\":\"$A\",\"before\":\"2001-01-01T00:00:00Z\",\"mode\":\"inPlace\"}]}"
expect "sessions: \"before\" earlier than every point is 404" 404
session "{\"items\":[{\"unit\":\"$A\",\"before\":\"9999-12-31T23:59:59Z\",\"mode\":\"inPlace\"}]}"
if [ "$code" = 400 ] && grep -q 'out of range' "$T/resp"; then
	ok "sessions: \"before\" past 2262 is refused as out of range, not wrapped"
else
	not_ok "sessions: \"before\" past 2262 is refused as out of range" "$code $(head -c 300 "$T/resp")"
fi

# Refusals.
session "{\"items\":[{\"unit\":\"$Z\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}"
expect "sessions: a unit of another tenant is refused (404)" 404
api "$TOK2" POST "$U/$TID/restoreSessions" "{\"items\":[{\"unit\":\"$A\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}"
if [ "$code" = 403 ] || [ "$code" = 404 ]; then ok "sessions: another tenant's token is refused"; else
	not_ok "sessions: another tenant's token is refused" "HTTP $code"; fi
session "{\"items\":[{\"unit\":\"$A\",\"restorePoint\":99,\"mode\":\"inPlace\"}]}"
expect "sessions: an unknown restore point is 404" 404
session "{\"items\":[{\"unit\":\"$A\",\"restorePoint\":1,\"mode\":\"sideways\"}]}"
expect "sessions: an unknown mode is 400" 400
session "{\"items\":[{\"unit\":\"$A\",\"restorePoint\":1,\"mode\":\"granular\"}]}"
expect "sessions: granular without paths is 400" 400
session "{\"items\":[{\"unit\":\"$A\",\"restorePoint\":1,\"mode\":\"inPlace\",\"paths\":[\"notes.md\"]}]}"
expect "sessions: in place with paths is 400 (that is granular)" 400
session "{\"items\":[{\"unit\":\"$A\",\"restorePoint\":1,\"mode\":\"inPlace\",\"colour\":1}]}"
expect "sessions: an unknown field in an item is 400" 400
session '{"items":[]}'
expect "sessions: no items is 400" 400

# The entries of a point, audited as a content read.
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints/3/items?path=docs"
n=$(jq '[.items[] | select(.type == "file")] | length' "$T/resp")
if [ "$code" = 200 ] && [ "$n" = 8 ] && jq -e '.items[] | select(.path == "docs/old" and .type == "dir")' "$T/resp" >/dev/null; then
	ok "sessions: a point's entries under a path are listed"
else
	not_ok "sessions: a point's entries under a path are listed" "$code $(head -c 300 "$T/resp")"
fi
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints/4/items?path=docs"
if jq -e '.items[] | select(.name == "report-1.txt.locked")' "$T/resp" >/dev/null; then
	ok "sessions: the damaged point lists the encrypted files"
else
	not_ok "sessions: the damaged point lists the encrypted files" "$(head -c 300 "$T/resp")"
fi
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints/3/items?path=nothing/here"
expect "sessions: an unknown path is 404" 404
api "$TOK" GET "$U/$TID/auditLog?action=restorePoint.list"
if jq -e --arg t "$A@3" '.items[] | select(.target == $t)' "$T/resp" >/dev/null; then
	ok "sessions: listing is in the audit log"
else
	not_ok "sessions: listing is in the audit log" "$(head -c 300 "$T/resp")"
fi

# The console's reads (docs/api.md "For the console").
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints?order=desc&limit=2"
p1=$(jq -c '[.items[].seq]' "$T/resp"); nx=$(jq -r .next "$T/resp")
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints?order=desc&limit=2&after=$nx"
p2=$(jq -c '[.items[].seq]' "$T/resp")
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints?limit=1000"
all=$(jq -c '[.items[].seq] | reverse | .[0:4]' "$T/resp")
if [ "$(jq -nc --argjson a "$p1" --argjson b "$p2" '$a + $b')" = "$all" ] && [ "$(jq length <<<"$p1")" = 2 ]; then
	ok "sessions: restore points newest first, page by page ($p1 $p2)"
else
	not_ok "sessions: restore points newest first, page by page" "$p1 $p2 vs $all"
fi
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints?order=sideways"
expect "sessions: an unknown order is 400" 400
api "$TOK" GET "$U/$TID/restoreSessions?limit=1000"
all=$(jq -r '[.items[] | "\(.createdUnix).\(.id)"] | sort | reverse | map(sub("^[0-9]+[.]"; "")) | join(" ")' "$T/resp")
api "$TOK" GET "$U/$TID/restoreSessions?order=desc&limit=2"
p1=$(jq -r '[.items[].id] | join(" ")' "$T/resp"); nx=$(jq -r .next "$T/resp")
api "$TOK" GET "$U/$TID/restoreSessions?order=desc&limit=2&after=$nx"
p2=$(jq -r '[.items[].id] | join(" ")' "$T/resp")
if [ -n "$p2" ] && [ "${all#"$p1 $p2"}" != "$all" ]; then
	ok "sessions: restore sessions newest first, page by page"
else
	not_ok "sessions: restore sessions newest first, page by page" "$p1 | $p2 vs $all"
fi
api "$TOK" GET "$U/$TID/restoreSessions?order=desc&after=yesterday"
expect "sessions: a newest-first cursor that is not CREATED.ID is 400" 400
# The overview: counts and sums as the lists say, unit a's anomaly at point 4
# (the random data of the parallel test above adds others).
sums=0; for u in "$A" "$B" "$C"; do
	api "$TOK" GET "$U/$TID/protectionUnits/$u/restorePoints?limit=1000"
	sums=$(jq --argjson s "$sums" '$s + ([.items[].bytes] | add)' "$T/resp")
done
api "$TOK" GET "$U/$TID/overview"
cp "$T/resp" "$T/overview"
got=$(jq -c '[.units.total, .units.protected, .units.neverBackedUp, .bytes == '"$sums"', .storedBytes > 0, .oldestLastSuccess.unitName != null]' "$T/overview")
anom=$(jq -r --arg a "$A" '[.anomalies[] | select(.unit == $a) | "\(.unitName)@\(.restorePoint)"] | join(",")' "$T/overview")
if [ "$code" = 200 ] && [ "$got" = '[3,3,0,true,true,true]' ] && [[ ,$anom, == *,a@4,* ]]; then
	ok "sessions: the overview counts 3 protected units, sums their points' bytes, flags a@4"
else
	not_ok "sessions: the overview counts 3 protected units, sums their points' bytes, flags a@4" "$code $got $anom $(head -c 400 "$T/overview")"
fi
# The diff of the damage: point 4 against 3, page by page, audited.
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints/4/diff?against=3&limit=1000"
cp "$T/resp" "$T/diff"
sum=$(jq -c '.summary' "$T/diff")
if [ "$code" = 200 ] && jq -e '(.summary.added > 0) and (.summary.removed > 0) and
	([.items[] | select(.change == "added" and .path == "docs/report-1.txt.locked" and .type == "file" and .size > 0)] | length == 1) and
	([.items[] | select(.change == "removed" and .path == "sub/run.sh")] | length == 1) and
	(.items | length) == (.summary.added + .summary.removed + .summary.changed + .summary.attrs) and
	.withheld.items == 0 and .next == null' "$T/diff" >/dev/null; then
	ok "sessions: the diff of the damaged point names the encrypted and the removed files ($sum)"
else
	not_ok "sessions: the diff of the damaged point names the encrypted and the removed files" "$code $(head -c 400 "$T/diff")"
fi
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints/4/diff?limit=2"
d1=$(jq -c '[.items[].path]' "$T/resp"); nx=$(jq -r .next "$T/resp")
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints/4/diff?limit=2&after=$nx"
d2=$(jq -c '[.items[].path]' "$T/resp")
if [ "$nx" = 2 ] && [ "$(jq -nc --argjson a "$d1" --argjson b "$d2" '$a + $b')" = "$(jq -c '[.items[0:4][].path]' "$T/diff")" ]; then
	ok "sessions: the diff pages (limit, after), against the point before by default"
else
	not_ok "sessions: the diff pages, against the point before by default" "$nx $d1 $d2"
fi
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints/1/diff"
expect "sessions: a diff of the first point without against is 400" 400
api "$TOK" GET "$U/$TID/protectionUnits/$A/restorePoints/4/diff?against=99"
expect "sessions: a diff against an unknown point is 404" 404
api "$TOK" GET "$U/$TID/auditLog?action=restorePoint.diff"
if jq -e --arg t "$A@4" '.items[] | select(.target == $t and .detail.against == 3)' "$T/resp" >/dev/null; then
	ok "sessions: a diff is in the audit log (restorePoint.diff)"
else
	not_ok "sessions: a diff is in the audit log" "$(head -c 300 "$T/resp")"
fi

serve_stop
if sanitizer "$T/serve.err"; then
	not_ok "sessions: no sanitizer report from the server" "$(grep -m1 -E 'Sanitizer|runtime error:' "$T/serve.err")"
else
	ok "sessions: no sanitizer report from the server"
fi
exit $FAILED
