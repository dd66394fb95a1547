#!/usr/bin/env bash
# Mailboxes over IMAP against a real Dovecot on loopback (docs/mail.md),
# run twice: with CONDSTORE/QRESYNC and with them switched off. A corpus of
# 10,000 messages in nested folders (attachments, RFC 2047, odd charsets,
# broken MIME, one 20 MiB message). Backup, an unchanged re-run that
# fetches nothing and adds < 10 KB, damage (deletes, flag changes, moves, a
# deleted folder), a UIDVALIDITY reset that refetches nothing, in-place
# restore (exact bytes, flags, internal dates; a re-run appends nothing;
# --delete-newer), restore into a new folder and of single messages, and a
# connection killed mid-fetch. The mailbox is compared through Python's
# imaplib, a client independent of coffer's.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")/.." && pwd)
DOVECOT=$HERE/servers/dovecot.sh
NMSG=${MAIL_TEST_MESSAGES:-10000}
# imap CMD ...: tests/servers/imapcheck.py as $IMAP_USER (alice) on $PORT.
imap() { python3 "$HERE/servers/imapcheck.py" "$PORT" "${IMAP_USER:-alice}" "$@"; }
# note TEXT: a TAP comment with the seconds since the start.
note() { echo "# ${SECONDS}s $*"; }
# Both servers stop whatever happens, before lib.sh removes their folder.
stop_servers() {
	local d
	for d in "$T"/dovecot-*; do [ -d "$d" ] && "$DOVECOT" stop "$d" >/dev/null 2>&1; done
	cleanup
}
trap stop_servers EXIT
size_of_store() { find "$STORE" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
# jf NAME: a number from the last --json output.
jf() { tail -1 "$T/out" | jq -r ".$1 // empty"; }

# backup_ok NAME UNIT [SOURCE]: a mail backup that must succeed.
backup_ok() {
	run c --json mail backup "$2" --source "${3:-$SRC}"
	is_rc "$1" 0
}

# the imap processes Dovecot runs for logged-in users (children of its master)
imap_pids() {
	local master
	master=$(cat "$D/run/master.pid")
	ps -o pid=,comm= --ppid "$master" | awk '$2 == "imap" { print $1 }'
}

scenario() {
	local mode=$1 total folders before after uv1 uv2 n uidx gone expunged moved
	D=$T/dovecot-$mode
	U=mbox-$mode
	mkdir -p "$D"
	if [ "$mode" = plain ]; then
		PORT=18782
		DOVECOT_NO_CONDSTORE=1 "$DOVECOT" start "$D" "$PORT" || { not_ok "$mode: dovecot starts"; return; }
	else
		PORT=18772
		"$DOVECOT" start "$D" "$PORT" || { not_ok "$mode: dovecot starts"; return; }
	fi
	note "$mode: corpus"
	"$DOVECOT" corpus "$D" alice "$NMSG" >/dev/null || { not_ok "$mode: corpus"; return; }
	SRC="{\"type\":\"imap\",\"host\":\"127.0.0.1\",\"port\":$PORT,\"tls\":\"none\",\"user\":\"alice\",\"secret\":\"secret\"}"
	TLSSRC="{\"type\":\"imap\",\"host\":\"localhost\",\"port\":$((PORT + 1)),\"tls\":\"implicit\",\"user\":\"alice\",\"auth\":\"login\",\"secret\":\"secret\",\"caFile\":\"$D/ca.pem\"}"
	imap state "$T/s0.json"
	total=$(python3 -c 'import json,sys; print(sum(len(v) for v in json.load(open(sys.argv[1])).values()))' "$T/s0.json")
	folders=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/s0.json")

	# 1. initial backup over implicit TLS with the test CA
	note "$mode: 1. initial backup over implicit TLS with the test CA"
	backup_ok "$mode: initial backup over TLS" "$U" "$TLSSRC"
	n=$(jf messages)
	[ "$n" = "$total" ] && ok "$mode: every message backed up ($n)" ||
		not_ok "$mode: every message backed up" "$n of $total"
	[ "$(jf messagesFetched)" = "$total" ] && ok "$mode: first backup fetched each message once" ||
		not_ok "$mode: first backup fetched each message once" "$(jf messagesFetched) of $total"
	imap state "$T/s1.json"
	cmp -s "$T/s0.json" "$T/s1.json" && ok "$mode: backup leaves flags (\\Seen) and bytes unchanged" ||
		not_ok "$mode: backup leaves flags (\\Seen) and bytes unchanged" "state differs"
	run c --json mail folders "$U@1"
	[ "$(jq -r 'select(.name == "Sent") | .specialUse' "$T/out")" = '\Sent' ] &&
		[ "$(jq -r 'select(.name == "Archive.2023.Q1") | .path' "$T/out")" = Archive/2023/Q1 ] &&
		[ "$(jq -r 'select(.name == "Lists") | .flags' "$T/out")" = '\NonExistent' ] &&
		ok "$mode: folders keep their tree and special use" ||
		not_ok "$mode: folders keep their tree and special use" "$(head -c 300 "$T/out")"

	# 2. unchanged re-run
	note "$mode: 2. unchanged re-run"
	before=$(size_of_store)
	backup_ok "$mode: unchanged re-run" "$U"
	after=$(size_of_store)
	[ "$(jf messagesFetched)" = 0 ] && [ "$(jf bytesFetched)" = 0 ] &&
		ok "$mode: unchanged re-run fetches no message" ||
		not_ok "$mode: unchanged re-run fetches no message" "$(cat "$T/out")"
	[ $((after - before)) -lt 10240 ] && ok "$mode: unchanged re-run adds $((after - before)) bytes (< 10 KB)" ||
		not_ok "$mode: unchanged re-run adds < 10 KB" "$((after - before)) bytes"
	if [ "$mode" = condstore ]; then
		[ "$(jf foldersUnchanged)" -ge "$folders" ] &&
			ok "$mode: unchanged folders are not selected (STATUS only)" ||
			not_ok "$mode: unchanged folders are not selected" "$(cat "$T/out")"
		[ "$(jf unchangedMailbox)" = true ] &&
			ok "$mode: the folder states digest says unchanged: the last point's metadata is reused" ||
			not_ok "$mode: the unchanged mailbox is recognised by its digest" "$(cat "$T/out")"
	else
		[ "$(tail -1 "$T/out" | jq -r .unchangedMailbox)" = false ] &&
			ok "$mode: without CONDSTORE no digest is trusted (flags are listed)" ||
			not_ok "$mode: without CONDSTORE no digest is trusted" "$(cat "$T/out")"
	fi
	[ "$(jf changedItems)" = 0 ] && ok "$mode: nothing counted as changed" ||
		not_ok "$mode: nothing counted as changed" "$(jf changedItems)"
	GOOD=$U@2

	# 3. damage: deletions, flag changes, moves, a deleted folder, the big message
	note "$mode: 3. damage: deletions, flag changes, moves, a deleted folder, the big message"
	gone=$(imap count "Old Mail")
	expunged=$(imap expunge INBOX 50 7) && imap expunge_biggest INBOX &&
		imap flags Archive.2023.Q1 20 -FLAGS '(\Seen)' &&
		imap flags Archive.2023.Q2 20 +FLAGS '(\Flagged $Important)' &&
		moved=$(imap move Work.Projects Trash 30) && imap delete "Old Mail" ||
		not_ok "$mode: damage the mailbox" "imaplib failed"
	imap state "$T/s3.json"
	backup_ok "$mode: backup after damage" "$U"
	[ "$(jf bytesFetched)" = 0 ] && ok "$mode: moved messages are recognised, not fetched" ||
		not_ok "$mode: moved messages are recognised, not fetched" "$(cat "$T/out")"
	[ "$(jf messagesMatched)" = "$moved" ] && ok "$mode: $moved moved messages matched by content" ||
		not_ok "$mode: moved messages matched by content" "$(jf messagesMatched) of $moved"
	# each expunged and deleted message, the big one, each move twice, and flag changes
	[ "$(jf changedItems)" -gt $((expunged + 1 + 2 * moved + gone)) ] &&
		ok "$mode: changes counted ($(jf changedItems))" ||
		not_ok "$mode: changes counted" "$(jf changedItems), want > $((expunged + 1 + 2 * moved + gone))"

	# 4. UIDVALIDITY reset of one folder
	note "$mode: 4. UIDVALIDITY reset of one folder"
	uv1=$(imap uidvalidity Archive.2023)
	n=$(imap count Archive.2023)
	"$DOVECOT" stop "$D"
	rm -f "$D/mail/alice/Maildir/.Archive.2023/dovecot-uidlist" \
		"$D/mail/alice/Maildir/.Archive.2023"/dovecot.index*
	sleep 1 # a new UIDVALIDITY is the time in seconds
	if [ "$mode" = plain ]; then DOVECOT_NO_CONDSTORE=1 "$DOVECOT" restart "$D"; else "$DOVECOT" restart "$D"; fi
	uv2=$(imap uidvalidity Archive.2023)
	if [ "$uv1" = "$uv2" ]; then
		not_ok "$mode: UIDVALIDITY reset" "still $uv1"
	else
		backup_ok "$mode: backup after a UIDVALIDITY reset" "$U"
		[ "$(jf bytesFetched)" = 0 ] && [ "$(jf messagesMatched)" -ge "$n" ] &&
			ok "$mode: UIDVALIDITY reset refetches nothing ($(jf messagesMatched) matched)" ||
			not_ok "$mode: UIDVALIDITY reset refetches nothing" "$(cat "$T/out")"
		# The incremental chain (CHANGEDSINCE/VANISHED or full listings,
		# moves, the reset) holds exactly the damaged mailbox.
		run c --json mail restore "$(tail -1 "$T/out" | jq -r '"\(.unit)@\(.restorePoint)"')" --source "$SRC" \
			--into-folder P4
		is_rc "$mode: restore of the latest incremental point" 0
		imap compare "$T/s3.json" P4. >"$T/cmp" 2>&1 &&
			ok "$mode: the latest incremental point is the damaged mailbox, exactly" ||
			not_ok "$mode: the latest incremental point is the damaged mailbox" "$(cat "$T/cmp")"
	fi

	# 5. in-place restore of the good point
	note "$mode: 5. in-place restore of the good point"
	run c --json mail restore "$GOOD" --source "$SRC"
	is_rc "$mode: in-place restore" 0
	if imap compare "$T/s0.json" --subset >"$T/cmp" 2>&1; then
		ok "$mode: in-place restore brings back every message (bytes, flags, dates)"
	else
		not_ok "$mode: in-place restore brings back every message" "$(cat "$T/cmp")"
	fi
	grep -q '"appended":"Old Mail"' "$T/out" && ok "$mode: restore records APPENDUIDs" ||
		not_ok "$mode: restore records APPENDUIDs" "$(tail -1 "$T/out")"
	[ "$(imap extra "$T/s0.json" Trash)" = "$moved" ] && ok "$mode: newer messages are kept" ||
		not_ok "$mode: newer messages are kept" "Trash has $(imap extra "$T/s0.json" Trash) extra, want $moved"
	run c --json mail restore "$GOOD" --source "$SRC"
	is_rc "$mode: restore re-run" 0
	[ "$(jf appended)" = 0 ] && [ "$(jf flagsFixed)" = 0 ] &&
		ok "$mode: a re-run of the restore duplicates nothing" ||
		not_ok "$mode: a re-run of the restore duplicates nothing" "$(tail -1 "$T/out")"
	run c --json mail restore "$GOOD" --source "$SRC" --delete-newer
	is_rc "$mode: restore --delete-newer" 0
	imap compare "$T/s0.json" >"$T/cmp" 2>&1 &&
		ok "$mode: after --delete-newer the mailbox equals the point" ||
		not_ok "$mode: after --delete-newer the mailbox equals the point" "$(cat "$T/cmp")"

	# 6. into a new folder, and single messages
	note "$mode: 6. into a new folder, and single messages"
	run c --json mail restore "$GOOD" --source "$SRC" --into-folder Restored-T
	is_rc "$mode: restore into a new folder" 0
	imap compare "$T/s0.json" Restored-T. --subset >"$T/cmp" 2>&1 &&
		ok "$mode: restore into a new folder keeps the tree" ||
		not_ok "$mode: restore into a new folder keeps the tree" "$(cat "$T/cmp")"
	uidx=$(imap uid Work 3)
	run c --json mail restore "$GOOD" --source "$SRC" --into-folder Pick --folder Work --uid "$uidx"
	is_rc "$mode: restore of one message" 0
	[ "$(imap count Pick.Work)" = 1 ] && [ "$(jf appended)" = 1 ] &&
		ok "$mode: restore of one message puts back that one" ||
		not_ok "$mode: restore of one message puts back that one" "$(tail -1 "$T/out")"
	n=$(imap uid Work.Projects 2)
	run c --json mail restore "$GOOD" --source "$SRC" --into-folder Pick2 \
		"Work/Projects/$(printf %010u "$n")"
	is_rc "$mode: restore of one message by its path in the point" 0
	[ "$(imap count Pick2.Work.Projects)" = 1 ] && ok "$mode: the path selects that message" ||
		not_ok "$mode: the path selects that message" "$(tail -1 "$T/out")"
	if [ "$mode" = condstore ]; then
		# to another mailbox (bob's, empty but for his special folders)
		run c --json mail restore "$GOOD" --source "${SRC/alice/bob}"
		is_rc "$mode: restore to another mailbox" 0
		IMAP_USER=bob imap compare "$T/s0.json" >"$T/cmp" 2>&1 &&
			ok "$mode: the other mailbox holds exactly the point" ||
			not_ok "$mode: the other mailbox holds exactly the point" "$(cat "$T/cmp")"
	fi
	run c mail restore "$GOOD" --source "$SRC" --folder "No Such Folder"
	is_rc "$mode: an unknown folder is refused" 1
	grep -q "No Such Folder" "$T/err" && ok "$mode: the error names the folder" ||
		not_ok "$mode: the error names the folder" "$(cat "$T/err")"

	"$DOVECOT" stop "$D"
}

init_store

# "insecure" as a string ("false" is a non-empty string, true to json-c)
# must not turn the certificate check off.
run c mail backup insecure-str --source \
	'{"host":"127.0.0.1","port":18771,"user":"alice","secret":"secret","insecure":"false"}'
is_rc "\"insecure\" that is no boolean is refused" 2
grep -q '"insecure" must be true or false' "$T/err" &&
	ok "the error names \"insecure\"" || not_ok "the error names \"insecure\"" "$(cat "$T/err")"

scenario condstore

# A connection killed mid-fetch: the client resumes (or fails clearly),
# and every earlier point is intact.
kill_test() {
	D=$T/dovecot-condstore PORT=18772
	note "kill"
	"$DOVECOT" restart "$D" || { not_ok "kill: dovecot restarts"; return; }
	c --json mail backup killed --source "$SRC" >"$T/kill.out" 2>"$T/kill.err" &
	local bg=$! i=0 killed=0
	while [ $i -lt 100 ] && [ $killed = 0 ]; do
		sleep 0.1
		i=$((i + 1))
		for p in $(imap_pids); do
			# once it is past login and listing (a few round trips);
			# the 122 MB fetch takes seconds, so this lands in it
			[ $i -ge 3 ] && kill "$p" 2>/dev/null && killed=1
		done
	done
	wait $bg; rc=$?
	if [ $killed = 0 ]; then
		not_ok "kill: an imap process was killed mid-fetch" "none found"
	elif [ $rc = 0 ] && [ "$(field messages "$T/kill.out")" = "$(imap total)" ]; then
		ok "kill: the backup resumed after the connection was killed, every message in it"
	elif [ $rc = 1 ] && grep -q "imap" "$T/kill.err"; then
		ok "kill: the backup failed with a clear error: $(tail -1 "$T/kill.err")"
	else
		not_ok "kill: resumed or a clear error" "exit $rc: $(tail -2 "$T/kill.err" | tr '\n' ' ')"
	fi
	sanitizer "$T/kill.err" && not_ok "kill: no sanitizer report" "$(grep -m1 -E 'Sanitizer|runtime error' "$T/kill.err")"
	run c check
	is_rc "kill: check passes afterwards" 0
	run c --json mail restore "mbox-condstore@2" --source "$SRC" --into-folder AfterKill
	is_rc "kill: an earlier point still restores" 0
	imap compare "$T/s0.json" AfterKill. --subset >"$T/cmp" 2>&1 &&
		ok "kill: the earlier point restores exactly" ||
		not_ok "kill: the earlier point restores exactly" "$(cat "$T/cmp")"
	"$DOVECOT" stop "$D"
}
kill_test

scenario plain
finish
