#!/bin/bash
# Erasure requests end to end (docs/privacy.md 2 and 4): a real coffer serve
# and a real Dovecot on loopback (ports 18900-18919). A data subject's mail
# (by address) and a folder unit's paths are erased: requested by a privacy
# officer, refused to the requester (four-eyes), approved by an admin. Then
# every way content leaves coffer must withhold them and say how many it
# withheld under which request: search, mbox export, restore sessions (new
# location, in place), listings, find; and the CLI reading the store with
# no service at all. Also after a restart and a catalog rebuild, and with a
# legal hold, which delays the erasure until it is released. Driven with curl
# and jq; mail checked with Python's imaplib.
. "$(dirname "$0")/lib.sh"

need_tools erasure curl jq python3
IPORT=18900
PORT=18910
U=/v1/tenants

serve() {
	serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
		--workers 2 --tick-ms 200 --min-frequency 1 --source-allow "127.0.0.1:$IPORT" ||
		{ not_ok "erasure: coffer serve starts" "$(serve_why serve)"; exit 1; }
}
token() { api "$1" POST "$U/$TA/tokens" "{\"name\":\"$2\",\"role\":\"$3\"}"; jq -r .secret "$T/resp"; }
backup() { # UNIT N: an on-demand backup; waits for restore point N
	api "$TOK" POST "$U/$TA/protectionUnits/$1/backup"
	until_true 60 has_points "$1" "$2"
}
hits() { # QUERY: how many messages a search finds (every page)
	q "$TOK" "$U/$TA/search?$1&limit=1000" '.items | length'
}
request() { # TOKEN BODY: an erasure request; its id in $EID
	api "$1" POST "$U/$TA/erasureRequests" "$2"
	EID=$(jq -r .id "$T/resp" 2>/dev/null)
}
session() { # BODY: a restore session run to its end, as $TOK; JSON in $T/session
	api "$TOK" POST "$U/$TA/restoreSessions" "$1"
	SID=$(jq -r .id "$T/resp")
	until_true 120 session_done "$SID"
	cp "$T/resp" "$T/session"
	[ "$(jq -r .state "$T/session")" = succeeded ]
}
art() { jq -r ".artifacts[0].$1" "$T/session"; }
names() { # UNIT SEQ PATH: the names listed there, sorted, on one line
	q "$TOK" "$U/$TA/protectionUnits/$1/restorePoints/$2/items?path=$3" '[.items[].name] | sort | join(" ")'
}

# ---------------------------------------------------------------------
# Two mailboxes of generated mail: sender5@example.org wrote messages 5 and
# 102 of each (gen_mail.py: From sender{i % 97}); sender55@ is a decoy.
dovecot_use erasure "$IPORT"
"$DOVECOT" corpus "$D" alice 120 --big-mb 0 >/dev/null &&
	"$DOVECOT" corpus "$D" bob 120 --seed 7 --big-mb 0 >/dev/null ||
	{ not_ok "erasure: the test corpus is written"; exit 1; }
ALICE_ALL=$(imap alice total)
ALICE_ANN=$(imap alice from sender5@example.org)
[ "$ALICE_ANN" = 2 ] && [ "$(imap bob from sender5@example.org)" = 2 ] &&
	ok "erasure: each mailbox holds 2 messages from sender5@example.org" ||
	{ not_ok "erasure: each mailbox holds 2 messages from sender5@" "alice $ALICE_ANN"; exit 1; }
# A folder unit: HR/ann is the data subject's.
F=$T/src/files
mkdir -p "$F/HR/ann" "$F/HR/bob" "$F/docs"
echo "Ann's CV" >"$F/HR/ann/cv.txt"
echo "Ann's review" >"$F/HR/ann/review.txt"
echo "Bob's CV" >"$F/HR/bob/cv.txt"
seq 1 20000 >"$F/docs/report.txt"

serve
GTOK=$(grep -m1 '^cft_' "$T/serve.out")
TA=$(api "$GTOK" POST $U '{"name":"acme"}'; jq -r .id "$T/resp")
TID=$TA
api "$GTOK" POST "$U/$TA/tokens" '{"name":"admin","role":"tenantAdmin"}'
TOK=$(jq -r .secret "$T/resp")
PTOK=$(token "$TOK" dpo privacyOfficer)
OPTOK=$(token "$TOK" op restoreOperator)
AUTOK=$(token "$TOK" audit auditor)
src() { echo "{\"type\":\"imap\",\"host\":\"127.0.0.1\",\"port\":$IPORT,\"tls\":\"none\",\"user\":\"$1\",\"auth\":\"login\",\"secret\":\"secret\"}"; }
UA=$(api "$TOK" POST "$U/$TA/protectionUnits" "{\"name\":\"alice\",\"kind\":\"mailbox\",\"source\":$(src alice)}"; jq -r .id "$T/resp")
UB=$(api "$TOK" POST "$U/$TA/protectionUnits" "{\"name\":\"bob\",\"kind\":\"mailbox\",\"source\":$(src bob)}"; jq -r .id "$T/resp")
UF=$(api "$GTOK" POST "$U/$TA/protectionUnits" "{\"name\":\"files\",\"kind\":\"site\",\"source\":{\"type\":\"folder\",\"path\":\"$F\"}}"; jq -r .id "$T/resp")
if [ "${PTOK#cft_}" != "$PTOK" ] && [ "${UF#u-}" != "$UF" ] && backup "$UA" 1 && backup "$UB" 1 && backup "$UF" 1; then
	ok "erasure: a tenant, its tokens (a privacyOfficer among them), three units backed up"
else
	not_ok "erasure: three units backed up" "$(head -c 300 "$T/resp")"; exit 1
fi


ADDR=sender5@example.org
BEFORE=$(hits "from=$ADDR")
DECOY=$(hits "from=sender55@example.org")
api "$TOK" GET "$U/$TA/search?from=$ADDR&unit=$UA"
GONE=$(j '.items[0].path')
[ "$BEFORE" = 4 ] && [ "$DECOY" -ge 1 ] && ok "erasure: a search finds the 4 messages, and the decoy sender55@" ||
	not_ok "erasure: a search finds the 4 messages before" "$BEFORE, decoy $DECOY"

# A search index the CLI keeps on its own, made before the erasure.
"$COFFER" catalog tenant-key "$TA" --data "$T/data" --key-file-new "$T/ta.key" >/dev/null 2>&1
cs() { "$COFFER" --store "$T/data/stores/$TA" --key-file "$T/ta.key" "$@"; }
cli_hits() { cs --json search --unit "$UA" --from "$1" --index "$T/cli.idx" 2>/dev/null | jq -s 'length'; }
CLI_BEFORE=$(cli_hits "$ADDR")

# ---------------------------------------------------------------------
# 1. Who may ask, four-eyes, approval.
BODY="{\"kind\":\"addresses\",\"addresses\":[\"$ADDR\"],\"reason\":\"GDPR art. 17, ticket 42\"}"
request "$AUTOK" "$BODY"
expect "erasure: an auditor may not request an erasure" 403
request "$OPTOK" "$BODY"
expect "erasure: a restoreOperator may not request an erasure" 403
request "$PTOK" '{"kind":"addresses","addresses":["not an address"],"reason":"x"}'
expect "erasure: a malformed address is refused" 400
request "$PTOK" '{"kind":"paths","unit":"'"$UF"'","paths":["**"],"reason":"x"}'
expect "erasure: a pattern taking the whole unit is refused (that is unit destroy)" 400
request "$PTOK" "$BODY"
EA=$EID
[ "$code" = 201 ] && [ "$(j .state)" = requested ] && ok "erasure: a privacyOfficer requests an erasure by address" ||
	not_ok "erasure: a privacyOfficer requests an erasure" "$code $(head -c 300 "$T/resp")"
[ "$(hits "from=$ADDR")" = 4 ] && ok "erasure: a request not yet approved withholds nothing" ||
	not_ok "erasure: a request not yet approved withholds nothing" "$(hits "from=$ADDR")"
api "$PTOK" POST "$U/$TA/erasureRequests/$EA/approve"
expect "erasure: four-eyes: the requester cannot approve" 403
says "erasure: the refusal says why" "four-eyes"
api "$TOK" POST "$U/$TA/erasureRequests/$EA/approve"
if [ "$code" = 200 ] && [ "$(j .state)" = effective ] &&
	[ "$(j "[.withholds[] | select(.unit == \"$UA\") | .messages] | add")" = 2 ] &&
	[ "$(j "[.withholds[] | select(.unit == \"$UB\") | .messages] | add")" = 2 ]; then
	ok "erasure: another person approves; it takes effect: 2 messages in each mailbox"
else
	not_ok "erasure: another person approves and it takes effect" "$code $(head -c 400 "$T/resp")"
fi
api "$TOK" POST "$U/$TA/erasureRequests/$EA/approve"
expect "erasure: a request is decided once" 409

# ---------------------------------------------------------------------
# 2. Mail: search, export, restore sessions.
check_mail() { # WHEN
	local n d
	n=$(hits "from=$ADDR")
	d=$(hits "from=sender55@example.org")
	[ "$n" = 0 ] && [ "$d" = "$DECOY" ] && ok "erasure: a search finds none of the erased messages $1, the decoy still" ||
		not_ok "erasure: a search finds none of the erased messages $1" "$n found, decoy $d of $DECOY"
}
check_mail "(their rows left the index)"
# The index's tokenizer is coffer's own (docs/mail.md 5), which the sqlite3
# shell lacks: the text is read from FTS5's content table.
if sqlite3 "$T/data/search/$TA.db" "SELECT count(*) FROM msg_fts_content WHERE instr(c0 || ' ' || c1 || ' ' || c4, '$ADDR') > 0" 2>/dev/null | grep -qx 0; then
	ok "erasure: the search index holds no text of the erased messages"
else
	not_ok "erasure: the search index holds no text of the erased messages" \
		"$(sqlite3 "$T/data/search/$TA.db" "SELECT count(*) FROM msg_fts_content WHERE instr(c0 || ' ' || c1 || ' ' || c4, '$ADDR') > 0" 2>&1)"
fi
api "$TOK" GET "$U/$TA/protectionUnits/$UA/restorePoints/1/export"
n=$(grep -c '^From ' "$T/resp")
hdr=$(grep -i '^X-Coffer-Withheld:' "$T/headers" | tr -d '\r')
if [ "$code" = 200 ] && [ "$n" = $((ALICE_ALL - 2)) ] && ! grep -q "^From: .*<$ADDR>" "$T/resp" &&
	[ "$hdr" = "X-Coffer-Withheld: 2 $EA=2" ]; then
	ok "erasure: an mbox export of the point leaves out the 2 messages and says so ($hdr)"
else
	not_ok "erasure: an mbox export leaves out the erased messages" "$code $n of $ALICE_ALL, '$hdr'"
fi
api "$TOK" POST "$U/$TA/search/export" '{"to":"alice@example.com"}'
[ "$code" = 200 ] && grep -q '^From ' "$T/resp" && ! grep -q "^From: .*<$ADDR>" "$T/resp" &&
	ok "erasure: a search export holds none of the erased messages" ||
	not_ok "erasure: a search export holds none of the erased messages" "$code $(head -c 200 "$T/resp")"
if session "{\"items\":[{\"unit\":\"$UA\",\"mode\":\"newLocation\"}]}"; then
	R=$(imap alice folders | grep -m1 '^Restored-' | cut -d. -f1)
	got=$(imap alice from "$ADDR" "$R")
	if [ -n "$R" ] && [ "$got" = 0 ] && [ "$(art withheld.items)" = 2 ] &&
		[ "$(art 'withheld.byRequest[0].request')" = "$EA" ]; then
		ok "erasure: a new-location restore of the mailbox puts back everything but the erased messages, and says so"
	else
		not_ok "erasure: a new-location restore withholds the erased messages" "$R: $got from $ADDR; $(jq -c '.artifacts[0].withheld' "$T/session")"
	fi
else
	not_ok "erasure: a new-location restore session succeeds" "$(head -c 300 "$T/session")"
fi

# Reading the erased message as the console does: 404, saying why.
api "$TOK" GET "$U/$TA/protectionUnits/$UA/restorePoints/1/message?path=$(jq -rn --arg p "$GONE" '$p | @uri')"
[ "$code" = 404 ] && jq -r .error.message "$T/resp" | grep -q "withheld by erasure request $EA" &&
	ok "erasure: the erased message cannot be read (404: withheld by $EA)" ||
	not_ok "erasure: the erased message cannot be read" "$code $(head -c 300 "$T/resp")"
# A granular restore naming the erased message itself puts back nothing.
if session "{\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"granular\",\"paths\":[\"$GONE\"]}]}" &&
	[ "$(art withheld.items)" = 1 ] && [ "$(imap alice from "$ADDR")" = "$ALICE_ANN" ]; then
	ok "erasure: a granular restore of the erased message itself withholds it ($GONE)"
else
	not_ok "erasure: a granular restore of the erased message withholds it" "$GONE $(jq -c '.artifacts[0]' "$T/session")"
fi

# ---------------------------------------------------------------------
# 3. Paths of a folder unit.
request "$PTOK" "{\"kind\":\"paths\",\"unit\":\"$UF\",\"paths\":[\"HR/ann\"],\"reason\":\"ticket 43\"}"
EF=$EID
api "$TOK" POST "$U/$TA/erasureRequests/$EF/approve"
[ "$(j .state)" = effective ] && ok "erasure: an erasure of a folder unit's paths takes effect" ||
	not_ok "erasure: an erasure of paths takes effect" "$code $(head -c 300 "$T/resp")"
got=$(names "$UF" 1 HR)
[ "$got" = bob ] && [ "$(j .withheld.items)" = 1 ] && [ "$(j '.withheld.byRequest[0].request')" = "$EF" ] &&
	ok "erasure: a listing leaves out HR/ann and counts it under the request" ||
	not_ok "erasure: a listing leaves out HR/ann" "'$got' $(head -c 300 "$T/resp")"
api "$TOK" GET "$U/$TA/protectionUnits/$UF/find?name=cv.txt"
[ "$(j '[.items[].path] | join(" ")')" = HR/bob/cv.txt ] && [ "$(j .withheld.items)" -ge 1 ] &&
	ok "erasure: find leaves out the erased file and counts it" ||
	not_ok "erasure: find leaves out the erased file" "$(head -c 300 "$T/resp")"
# Ransomware-like loss of everything; meanwhile new data lands in HR/ann.
rm -rf "$F"/*
mkdir -p "$F/HR/ann"
echo "new, after the erasure" >"$F/HR/ann/new.txt"
if session "{\"items\":[{\"unit\":\"$UF\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}" &&
	[ -f "$F/HR/bob/cv.txt" ] && [ -f "$F/docs/report.txt" ] && [ ! -e "$F/HR/ann/cv.txt" ] &&
	[ ! -e "$F/HR/ann/review.txt" ] && [ -f "$F/HR/ann/new.txt" ] && [ "$(art withheld.items)" = 3 ]; then
	ok "erasure: an in-place restore puts back everything else, neither restores nor deletes HR/ann, and counts 3 withheld"
else
	not_ok "erasure: an in-place restore withholds HR/ann and leaves it alone" "$(find "$F" -type f | sort | tr '\n' ' ') $(jq -c '.artifacts[0].withheld' "$T/session")"
fi
# Someone puts Ann's CV back, the same bytes: the next point takes it, but
# it stays withheld; what is new at that path is not.
echo "Ann's CV" >"$F/HR/ann/cv.txt"
sleep 1.1
if backup "$UF" 2 && [ "$(names "$UF" 2 HR/ann)" = new.txt ] && [ "$(j .withheld.items)" = 1 ]; then
	ok "erasure: a later point shows what is new at the erased path, not the erased file taken again"
else
	not_ok "erasure: a later point shows the new data only" "$(names "$UF" 2 HR/ann) $(head -c 300 "$T/resp")"
fi

# ---------------------------------------------------------------------
# 4. The store alone honours the ledger: the CLI with the tenant's key.
n=$(cli_hits "$ADDR")
[ "$CLI_BEFORE" = 2 ] && [ "$n" = 0 ] && [ "$(cli_hits sender55@example.org)" -ge 1 ] &&
	ok "erasure: coffer search with an index made before the erasure finds them no more (2, then 0)" ||
	not_ok "erasure: coffer search with an old index forgets the erased messages" "before $CLI_BEFORE, now $n"
run cs restore "$UF@1" --to "$T/cli"
if [ "$rc" = 0 ] && [ -f "$T/cli/HR/bob/cv.txt" ] && [ ! -e "$T/cli/HR/ann" ] && grep -q "withheld 3 items" "$T/err" &&
	grep -q "$EF" "$T/err"; then
	ok "erasure: coffer restore on the store, without the service, withholds HR/ann and says under which request"
else
	not_ok "erasure: coffer restore on the store withholds HR/ann" "rc $rc $(tail -2 "$T/err") $(find "$T/cli" | head -5 | tr '\n' ' ')"
fi
run cs diff "$UF@1" "$UF@2"
! grep -q 'HR/ann/cv.txt\|review' "$T/out" && grep -q "withheld" "$T/err" &&
	ok "erasure: coffer diff on the store shows no erased entry and says it withheld some" ||
	not_ok "erasure: coffer diff on the store withholds the erased entries" "$(cat "$T/out" | head -5) $(tail -1 "$T/err")"
run cs ls "$UF@1"
! grep -q 'HR/ann' "$T/out" && grep -q 'HR/bob' "$T/out" && ok "erasure: coffer ls on the store leaves out HR/ann" ||
	not_ok "erasure: coffer ls on the store leaves out HR/ann" "$(grep HR "$T/out" | head -3)"
run cs export "$UA@1" --mbox "$T/alice.mbox"
n=$(grep -c '^From ' "$T/alice.mbox" 2>/dev/null)
[ "$rc" = 0 ] && [ "$n" = $((ALICE_ALL - 2)) ] && ok "erasure: coffer export on the store leaves out the 2 messages" ||
	not_ok "erasure: coffer export on the store leaves out the erased messages" "rc $rc $n $(tail -1 "$T/err")"
run cs check
is_rc "erasure: check verifies the ledger's signed records" 0
# A damaged (or forged) ledger record: reads refuse to go on as if the
# erasure did not exist, and check names the record.
cp -a "$T/data/stores/$TA" "$T/forged"
rec=$(find "$T/forged/units" -path '*/erasures/*' -type f | head -1)
flip "$rec" 40
run "$COFFER" --store "$T/forged" --key-file "$T/ta.key" check
if [ "$rc" != 0 ] && grep -q "erasures/$(basename "$rec")" "$T/out" "$T/err"; then
	ok "erasure: check reports a damaged ledger record by name"
else
	not_ok "erasure: check reports a damaged ledger record" "rc $rc $(tail -2 "$T/out") $(tail -2 "$T/err")"
fi
u=$(basename "$(dirname "$(dirname "$rec")")")
for x in "$UA" "$UB" "$UF"; do
	run "$COFFER" --store "$T/forged" --key-file "$T/ta.key" ls "$x@1"
	[ "$rc" != 0 ] && grep -q "erasure ledger" "$T/err" && break
done
[ "$rc" != 0 ] && grep -q "erasure ledger" "$T/err" &&
	ok "erasure: a read of that unit fails, naming the erasure ledger" ||
	not_ok "erasure: a read of that unit fails, naming the erasure ledger" "rc $rc $(tail -1 "$T/err")"

# ---------------------------------------------------------------------
# 5. A legal hold delays an erasure until it ends.
# (with the CLI this time: coffer erasure, through the API)
api "$TOK" PUT "$U/$TA/protectionUnits/$UB/legalHold" '{"reason":"litigation 7"}'
echo "$PTOK" >"$T/ptok"; echo "$TOK" >"$T/tok"
cli() { "$COFFER" "$1" "${@:3}" --server "$BASE" --token-file "$2" --json; }
EH=$(cli erasure "$T/ptok" request addresses sender7@example.org --reason "ticket 44" | jq -r .id)
cli erasure "$T/tok" approve "$EH" >"$T/resp"
if [ "$(j .state)" = approved ] && j .waitingFor | grep -q "legal hold on unit $UB" &&
	[ "$(hits "from=sender7@example.org")" = 4 ]; then
	ok "erasure: approved during a legal hold, it waits (and says for what); nothing is withheld yet"
else
	not_ok "erasure: approved during a legal hold, it waits" "$(head -c 300 "$T/resp")"
fi
api "$TOK" DELETE "$U/$TA/protectionUnits/$UB/legalHold"
st=$(cli erasure "$T/ptok" show "$EH" | jq -r .state)
[ "$st" = effective ] && [ "$(hits "from=sender7@example.org")" = 0 ] &&
	ok "erasure: when the hold is released the erasure takes effect" ||
	not_ok "erasure: when the hold is released the erasure takes effect" "$st $(hits "from=sender7@example.org")"
n=$(cli erasure "$T/ptok" list --state effective | jq '.items | length')
[ "$n" = 3 ] && ok "erasure: coffer erasure list shows the 3 effective requests" ||
	not_ok "erasure: coffer erasure list shows the effective requests" "$n"

# ---------------------------------------------------------------------
# 6. Every step is in the audit log.
api "$TOK" GET "$U/$TA/auditLog?limit=1000"
for a in erasure.request erasure.approve erasure.effective; do
	[ "$(j "[.items[] | select(.action == \"$a\")] | length")" -ge 3 ] && ok "erasure: the audit log has $a" ||
		not_ok "erasure: the audit log has $a" "$(j '[.items[].action] | unique | join(" ")')"
done
# ---------------------------------------------------------------------
# 7. After a restart, and after the catalog is lost and rebuilt.
serve_stop TERM
serve
check_mail "after a restart"
serve_stop TERM
rm -f "$T/data/catalog.db" "$T/data/catalog.db-wal" "$T/data/catalog.db-shm"
run "$COFFER" catalog rebuild --data "$T/data"
is_rc "erasure: the catalog is rebuilt from the store" 0
: >"$T/serve.out"
serve
GTOK=$(grep -m1 '^cft_' "$T/serve.out")
api "$GTOK" POST "$U/$TA/tokens" '{"name":"admin2","role":"tenantAdmin"}'
TOK=$(jq -r .secret "$T/resp")
got=$(names "$UF" 1 HR)
[ "$got" = bob ] && [ "$(j .withheld.items)" = 1 ] &&
	ok "erasure: after a catalog rebuild HR/ann is still withheld (the ledger is in the store)" ||
	not_ok "erasure: after a catalog rebuild HR/ann is still withheld" "'$got' $(head -c 300 "$T/resp")"
check_mail "after a catalog rebuild"
n=$(q "$TOK" "$U/$TA/erasureRequests" '[.items[] | select(.state == "effective")] | length')
[ "$n" = 3 ] && ok "erasure: the rebuilt catalog lists the 3 effective erasures again" ||
	not_ok "erasure: the rebuilt catalog lists the effective erasures" "$n: $(head -c 300 "$T/resp")"


serve_stop
if sanitizer "$T/serve.err"; then
	grep -A 12 -E 'Sanitizer|runtime error' "$T/serve.err" >&2
	not_ok "erasure: no sanitizer report" "$(grep -m3 -E 'Sanitizer|runtime error' "$T/serve.err")"
else
	ok "erasure: no sanitizer report in the server's log"
fi
finish
