#!/usr/bin/env bash
# coffer's IMAP client (src/sources/imap.h) against a real Dovecot on
# loopback started by tests/servers/dovecot.sh, with the generated corpus
# of tests/servers/gen_mail.py. Only the malformed replies come from a tiny
# fake server (tests/e2e/imap_fake.py), because Dovecot cannot send them.
# Ports 18710-18712 (Dovecot), 18720 (fake).
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
DOVE=$here/../servers/dovecot.sh
PROBE=${IMAP_PROBE:-$(dirname "$COFFER")/tests/imap_probe}
D=$T/dovecot
PORT=18710
TLSPORT=18711
FAKEPORT=18720
FAKE_PID=

if [ ! -x "$PROBE" ] || [ ! -x /usr/sbin/dovecot ]; then
	not_ok "imap: prerequisites" "need $PROBE and /usr/sbin/dovecot"
	exit 1
fi

stop_all() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
	"$DOVE" stop "$D" 2>/dev/null
	rm -rf "$T"
}
trap stop_all EXIT

mkdir -p "$D"
"$DOVE" start "$D" "$PORT" || { not_ok "imap: dovecot starts" "see $D/dovecot.log"; exit 1; }
"$DOVE" corpus "$D" alice 1500 --manifest "$T/manifest.json" --big-mb 20
CA=$D/ca.pem

# p ARGS...: the probe as alice over clear text (tests may add options).
p() { run "$PROBE" --port "$PORT" --user alice --secret secret "$@"; }
# err_has NAME TEXT: the last run failed (exit 1) and its error says TEXT.
err_has() {
	if sanitizer "$T/err"; then
		not_ok "$1" "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$T/err")"
	elif [ "$rc" = 1 ] && grep -qF -- "$2" "$T/err"; then
		ok "$1"
	else
		not_ok "$1" "exit $rc, want 1 and \"$2\": $(tail -2 "$T/err" | tr '\n' ' ')"
	fi
}
# out_has NAME TEXT: the last run succeeded and printed TEXT.
out_has() {
	if [ "$rc" = 0 ] && ! sanitizer "$T/err" && grep -qF -- "$2" "$T/out"; then
		ok "$1"
	else
		not_ok "$1" "exit $rc, want 0 and \"$2\": $(head -c 300 "$T/out") $(tail -2 "$T/err" | tr '\n' ' ')"
	fi
}

# same_as_maildir DIR USER FOLDER: every file DIR/UID holds exactly the
# bytes of that UID's Maildir file (LF -> CRLF, as Dovecot serves them),
# and every message of the folder is there.
same_as_maildir() {
	python3 - "$1" "$("$DOVE" maildir "$D" "$2" "$3")" <<'EOF'
import os, sys
out, md = sys.argv[1], sys.argv[2]
names = {}
for sub in ("cur", "new"):
    for n in os.listdir(os.path.join(md, sub)):
        names[n.split(":")[0]] = os.path.join(md, sub, n)
lines = open(os.path.join(md, "dovecot-uidlist")).read().splitlines()[1:]
bad = 0
for ln in lines:
    uid, rest = ln.split(" ", 1)
    base = rest.split(":", 1)[1] if ":" in rest else rest
    want = open(names[base], "rb").read().replace(b"\n", b"\r\n")
    try:
        got = open(os.path.join(out, uid), "rb").read()
    except FileNotFoundError:
        got = None
    if got != want:
        bad += 1
got_files = len(os.listdir(out))
if bad or got_files != len(lines):
    sys.exit(f"{bad} of {len(lines)} messages differ; {got_files} fetched")
EOF
}

# ---- the corpus generator is deterministic ----
python3 "$here/../servers/gen_mail.py" corpus 60 "$T/g1" --big-mb 0
python3 "$here/../servers/gen_mail.py" corpus 60 "$T/g2" --big-mb 0
assert "imap: gen_mail.py writes the same corpus twice" diff -r "$T/g1" "$T/g2"
assert "imap: the corpus has odd charsets, RFC 2047 and broken MIME" sh -c \
	"grep -rlq 'charset=koi8-r' '$T/g1' && grep -rlq 'charset=shift_jis' '$T/g1' &&
	 grep -rlq '=?' '$T/g1' && grep -rlq 'text/html' '$T/g1'"

# ---- authentication ----
p --auth plain login
out_has "imap: AUTHENTICATE PLAIN" "CONDSTORE"
p --auth login login
out_has "imap: LOGIN" "IMAP4rev1"
p --auth xoauth2 login
out_has "imap: AUTHENTICATE XOAUTH2 with a bearer token" "IMAP4rev1"
p --auth oauthbearer login
out_has "imap: AUTHENTICATE OAUTHBEARER with a bearer token" "IMAP4rev1"
run "$PROBE" --port "$PORT" --user alice --auth xoauth2 --secret-command "printf 'secret\n'" login
out_has "imap: the token from a secretCommand" "IMAP4rev1"
run "$PROBE" --port "$PORT" --user alice --secret-command "exit 3" login
err_has "imap: a failing secretCommand is named" "secretCommand failed (exit status 3)"
for mech in plain login xoauth2 oauthbearer; do
	run "$PROBE" --port "$PORT" --user alice --auth $mech --secret "wrong-Pw-123" login
	err_has "imap: wrong secret with $mech: clear error" "[AUTHENTICATIONFAILED]"
	if grep -q "wrong-Pw-123" "$T/err" "$T/out"; then
		not_ok "imap: the secret is never shown ($mech)" "it is in the output"
	fi
done
grep -q "wrong-Pw-123" "$D/dovecot.log" && not_ok "imap: the secret never reaches the server log" ""

# ---- TLS ----
p --tls implicit --port "$TLSPORT" --ca "$CA" login
out_has "imap: implicit TLS with the test CA" "IMAP4rev1"
p --tls implicit --port "$TLSPORT" login
err_has "imap: implicit TLS without the CA: certificate error" "certificate check failed"
p --tls starttls --host localhost --ca "$CA" login
out_has "imap: STARTTLS with the test CA (host name localhost)" "IMAP4rev1"
p --tls starttls --ca "$CA" login
out_has "imap: STARTTLS with the test CA (IP address 127.0.0.1)" "IMAP4rev1"
p --tls starttls login
err_has "imap: STARTTLS without the CA: certificate error" "certificate check failed"
p --tls implicit --port "$TLSPORT" --ca "$D/server.pem" --insecure login
out_has "imap: --insecure skips the check (explicit only)" "IMAP4rev1"
run "$PROBE" --port 18719 --user alice --secret secret --timeout-ms 2000 login
err_has "imap: nothing listening: connect error" "Connection refused"

# ---- LIST with special-use and status ----
p list
out_has "imap: LIST shows \\Sent" "$(printf 'Sent\t')"
grep -q "^Sent	.*\\\\Sent" "$T/out" && grep -q "^Trash	.*\\\\Trash" "$T/out" &&
	grep -q "^Archive	.*\\\\Archive" "$T/out" && ok "imap: special-use of Sent, Trash, Archive" ||
	not_ok "imap: special-use of Sent, Trash, Archive" "$(head -c 400 "$T/out")"
grep -q "^Lists	.*\\\\NonExistent" "$T/out" && ok "imap: a parent that is no folder is \\NonExistent" ||
	not_ok "imap: a parent that is no folder is \\NonExistent" ""
grep -q "^Work.Projects.Coffer	" "$T/out" && grep -q "^R&AOk-sum&AOk-	" "$T/out" &&
	ok "imap: nested and modified UTF-7 folders listed" || not_ok "imap: nested and modified UTF-7 folders listed" ""
want=$(python3 -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)['folder']=='Archive.2023.Q1'))" "$T/manifest.json")
got=$(awk -F'\t' '$1=="Archive.2023.Q1"{split($3,a," "); print a[1]}' "$T/out")
[ "$want" = "$got" ] && ok "imap: LIST-STATUS counts the messages" ||
	not_ok "imap: LIST-STATUS counts the messages" "want $want got $got"

# ---- SELECT with CONDSTORE and QRESYNC ----
p select INBOX condstore
out_has "imap: SELECT (CONDSTORE) reports HIGHESTMODSEQ" "highestmodseq "
hms=$(sed -n 's/.*highestmodseq \([0-9]*\).*/\1/p' "$T/out")
uv=$(sed -n 's/.*uidvalidity \([0-9]*\).*/\1/p' "$T/out")
[ "${hms:-0}" -gt 0 ] && ok "imap: HIGHESTMODSEQ is set with CONDSTORE" || not_ok "imap: HIGHESTMODSEQ is set with CONDSTORE" "$hms"
p store INBOX 5 +FLAGS '\Deleted'
p expunge INBOX 5
is_rc "imap: UID STORE + UID EXPUNGE" 0
p select INBOX qresync "$uv" "$hms"
out_has "imap: SELECT (QRESYNC) reports the expunged UID as VANISHED" "vanished 5"

# ---- bulk fetch: exact bytes, \Seen untouched ----
p meta INBOX
unseen_before=$(grep -vc '\\Seen' "$T/out")
mkdir -p "$T/inbox"
p bodies INBOX "$T/inbox"
out_has "imap: bulk UID FETCH BODY.PEEK[] of INBOX" "delivered"
rm -f "$T/inbox/5"
if same_as_maildir "$T/inbox" alice INBOX 2>"$T/cmp"; then
	ok "imap: fetched bytes equal the Maildir files (20 MiB message included)"
else
	not_ok "imap: fetched bytes equal the Maildir files" "$(cat "$T/cmp")"
fi
big=$(find "$T/inbox" -size +20M | wc -l)
[ "$big" = 1 ] && ok "imap: the 20 MiB message came whole" || not_ok "imap: the 20 MiB message came whole" "$big"
p meta INBOX
unseen_after=$(grep -vc '\\Seen' "$T/out")
[ "$unseen_before" -gt 0 ] && [ "$unseen_before" = "$unseen_after" ] &&
	ok "imap: BODY.PEEK[] leaves \\Seen alone ($unseen_after unseen)" ||
	not_ok "imap: BODY.PEEK[] leaves \\Seen alone" "$unseen_before before, $unseen_after after"

# ---- APPEND with flags, internal date, APPENDUID ----
msg=$(ls "$T/inbox" | head -1)
p append Sent "$T/inbox/$msg" '\Flagged \Seen $Label1' "01-Feb-2020 10:00:00 +0100" 3
out_has "imap: pipelined APPEND returns APPENDUID" "appenduid "
read -r _ auv u1 u2 u3 <"$T/out"
[ -n "$u3" ] && [ "$u2" = $((u1 + 1)) ] && [ "$u3" = $((u1 + 2)) ] &&
	ok "imap: one UID per appended message, in order" || not_ok "imap: one UID per appended message" "$(cat "$T/out")"
p meta Sent
# Maildir keeps the internal date as the file's mtime, without its zone: compare the instant.
grep -q "^$u2 (\\\\Flagged \\\\Seen \$Label1) \".*\" [0-9]* [0-9]* 1580547600\$" "$T/out" &&
	ok "imap: appended flags, keyword and internal date kept" ||
	not_ok "imap: appended flags, keyword and internal date kept" "$(grep "^$u2 " "$T/out")"
mkdir -p "$T/sent"
p bodies Sent "$T/sent"
cmp -s "$T/sent/$u3" "$T/inbox/$msg" && ok "imap: appended bytes come back exactly" ||
	not_ok "imap: appended bytes come back exactly" ""
p append NoSuchFolder "$T/inbox/$msg" "" ""
err_has "imap: APPEND to a missing folder: TRYCREATE, kind not found" "(kind 8)"
p create Sent
err_has "imap: CREATE of an existing folder: kind exists" "(kind 9)"
p create "Restored.Deep"
is_rc "imap: CREATE a nested folder" 0
p select "Missing folder"
err_has "imap: SELECT of a missing folder names it" 'SELECT "Missing folder" failed: NO'

# ---- a connection dropped mid-fetch: reconnect and resume ----
M=$(cat "$D/run/master.pid")
KILL_IMAP="kill \$(ps -o pid= -o comm= --ppid $M | awk '\$2==\"imap\"{print \$1}')"
mkdir -p "$T/resume"
p bodies INBOX "$T/resume" 200 "$KILL_IMAP"
out_has "imap: killed mid-fetch: resumed to the end" "delivered"
grep -q "reconnecting" "$T/err" && ok "imap: the drop was seen and said" ||
	not_ok "imap: the drop was seen and said" "no reconnect in: $(tail -2 "$T/err")"
if same_as_maildir "$T/resume" alice INBOX 2>"$T/cmp"; then
	ok "imap: after the resume every message is there once, byte for byte"
else
	not_ok "imap: after the resume every message is there once" "$(cat "$T/cmp")"
fi
mkdir -p "$T/down"
IMAP_PIDS="\$(ps -o pid= -o comm= --ppid $M | awk '\$2==\"imap\"{print \$1}')"
p --reconnects 2 bodies INBOX "$T/down" 200 "pids=$IMAP_PIDS; $DOVE stop $D >/dev/null; kill \$pids"
err_has "imap: server stays down: clear error after the retries" "Connection refused"
# The messages already read from the socket were delivered, each once.
n=$(sed -n 's/^delivered //p' "$T/out")
[ "${n:-0}" -ge 200 ] && [ "$(ls "$T/down" | wc -l)" = "$n" ] &&
	ok "imap: what was delivered before the drop stays delivered ($n)" ||
	not_ok "imap: what was delivered before the drop stays delivered" "$(cat "$T/out")"

# ---- without CONDSTORE/QRESYNC (and without MULTIAPPEND and LIST-STATUS) ----
DOVECOT_NO_CONDSTORE=1 DOVECOT_DROP_CAPS="MULTIAPPEND LIST-STATUS" "$DOVE" start "$D" "$PORT"
p login
if [ "$rc" = 0 ] && ! grep -q CONDSTORE "$T/out" && ! grep -q MULTIAPPEND "$T/out"; then
	ok "imap: Dovecot without CONDSTORE and MULTIAPPEND"
else
	not_ok "imap: Dovecot without CONDSTORE and MULTIAPPEND" "$(cat "$T/out")"
fi
p append Drafts "$T/inbox/$msg" '\Draft' "" 5
read -r _ auv u1 u2 u3 u4 u5 <"$T/out"
[ "$rc" = 0 ] && [ -n "$u5" ] && [ "$u5" = $((u1 + 4)) ] &&
	ok "imap: pipelined single APPENDs (LITERAL+, no MULTIAPPEND) with APPENDUID" ||
	not_ok "imap: pipelined single APPENDs" "$(cat "$T/out" "$T/err")"
p select INBOX condstore
out_has "imap: SELECT without CONDSTORE: no HIGHESTMODSEQ" "highestmodseq 0"
p list
got=$(awk -F'\t' '$1=="Archive.2023.Q1"{split($3,a," "); print a[1]}' "$T/out")
[ "$rc" = 0 ] && [ "$got" = "$want" ] && ok "imap: LIST + pipelined STATUS without LIST-STATUS" ||
	not_ok "imap: LIST + pipelined STATUS without LIST-STATUS" "want $want got $got: $(tail -1 "$T/err")"
mkdir -p "$T/nocs"
p bodies Archive.2023.Q1 "$T/nocs"
if [ "$rc" = 0 ] && same_as_maildir "$T/nocs" alice Archive.2023.Q1 2>"$T/cmp"; then
	ok "imap: bulk fetch without CONDSTORE"
else
	not_ok "imap: bulk fetch without CONDSTORE" "$(cat "$T/cmp" "$T/err" | tail -2)"
fi
"$DOVE" stop "$D"

# ---- without LITERAL+ nor MULTIAPPEND: synchronizing literals ----
DOVECOT_DROP_CAPS="MULTIAPPEND LITERAL+" "$DOVE" start "$D" "$PORT"
p append Drafts "$T/inbox/$msg" '\Seen' "02-Mar-2021 11:12:13 +0000" 3
read -r _ auv u1 u2 u3 <"$T/out"
[ "$rc" = 0 ] && [ -n "$u3" ] && [ "$u3" = $((u1 + 2)) ] &&
	ok "imap: APPEND with synchronizing literals" ||
	not_ok "imap: APPEND with synchronizing literals" "$(cat "$T/out" "$T/err")"
mkdir -p "$T/drafts"
p bodies Drafts "$T/drafts"
cmp -s "$T/drafts/$u2" "$T/inbox/$msg" && ok "imap: bytes of a synchronizing literal kept" ||
	not_ok "imap: bytes of a synchronizing literal kept" ""
p --auth login --secret 'se"cret' login
err_has "imap: LOGIN with a quoted odd secret: refused cleanly" "[AUTHENTICATIONFAILED]"
p --auth login --secret "$(printf 's\303\251cret')" login
err_has "imap: LOGIN with an 8-bit secret (a synchronizing literal): refused cleanly" "[AUTHENTICATIONFAILED]"
"$DOVE" stop "$D"

# ---- malformed replies (fake server: Dovecot cannot send these) ----
fake() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	python3 "$here/imap_fake.py" "$FAKEPORT" "$1" &
	FAKE_PID=$!
	for _ in $(seq 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $FAKEPORT), 1).close()" 2>/dev/null && break
		sleep 0.05
	done
}
fp() { run "$PROBE" --port "$FAKEPORT" --user alice --secret secret --timeout-ms 1500 --reconnects -1 "$@"; }
fake unterminated; fp list
err_has "imap: malformed reply: unterminated list named" 'malformed response (unterminated list'
grep -q '"\* LIST (\\HasNoChildren' "$T/err" && ok "imap: the error shows the response" ||
	not_ok "imap: the error shows the response" "$(cat "$T/err")"
fake badtag; fp list
err_has "imap: malformed reply: unknown tag" "reply with an unknown tag"
fake literal; fp --max-literal 1048576 list
err_has "imap: literal over the limit refused" "larger than the limit of 1048576"
fake nested; fp list
err_has "imap: nesting over the limit refused" "nested deeper than the limit"
fake silent; fp list
err_has "imap: a silent server: read timeout" "read timed out"
fake bye; fp list
err_has "imap: BYE then close: clear error" "BYE fake server shutting down"
fake cont; fp list
err_has "imap: an unasked continuation is refused" 'unexpected continuation'
kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=

exit $FAILED
