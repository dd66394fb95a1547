#!/bin/bash
# Mailboxes in the service (docs/service.md "Mailboxes in the service"): a
# real coffer serve and a real Dovecot on loopback (ports 18800-18849). A
# policy of kind mailbox over two IMAP units (sealed secrets); restore points
# taken by the scheduler and indexed; search through the API (filters,
# restore points named, tenant and role refusals, every search audited);
# granular, in-place and new-location restore sessions checked with Python's
# imaplib; mbox export of a restore point, a folder and a search, byte for
# byte. Driven with curl and jq.
. "$(dirname "$0")/lib.sh"

need_tools mailsvc curl jq python3 sqlite3
IPORT=18800
PORT=18810
SEARCHES=0 # searches answered 200: each must be in the audit log

# imap USER CMD ...: tests/servers/imapcheck.py on the test Dovecot.

# mbox_hashes FILE: sha256 of each message of an mboxrd file, as IMAP sends
# it (docs/mail.md section 6: split at From_ lines, drop the last newline,
# unquote >From).
mbox_hashes() {
	python3 - "$1" <<'EOF'
import hashlib, re, sys
data = open(sys.argv[1], "rb").read()
msgs, cur = [], None
for line in data.splitlines(keepends=True):
    if line.startswith(b"From ") and (cur is None or cur.endswith(b"\n\n") or cur == b""
                                      or cur.endswith(b"\r\n\n")):
        if cur is not None:
            msgs.append(cur[:-1])
        cur = b""
        continue
    if re.match(rb"^>+From ", line):
        line = line[1:]
    cur += line
if cur is not None:
    msgs.append(cur[:-1])
print("\n".join(sorted(hashlib.sha256(x).hexdigest() for x in msgs)))
EOF
}

# search TOKEN QUERY: GET …/search?QUERY as tenant A; counts the 200s.
search() {
	api "$1" GET "/v1/tenants/$TA/search?$2"
	[ "$code" = 200 ] && SEARCHES=$((SEARCHES + 1))
	return 0
}

# ---------------------------------------------------------------------
# Dovecot with alice (300 messages over nested folders, one of 1 MiB) and
# bob (100 messages, another seed).
dovecot_use mailsvc "$IPORT"
"$DOVECOT" corpus "$D" alice 300 --big-mb 1 >/dev/null &&
	"$DOVECOT" corpus "$D" bob 100 --seed 7 --big-mb 0 >/dev/null ||
	{ not_ok "mailsvc: the test corpus is written"; exit 1; }
imap alice state "$T/alice0.json" && imap bob state "$T/bob0.json" ||
	{ not_ok "mailsvc: the mailboxes can be read"; exit 1; }
ALICE_INBOX0=$(imap alice count INBOX)

# The test Dovecot is on loopback, which sources may reach only where the
# operator says so (source_allow; tests/e2e/ssrf.sh).
serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
	--workers 3 --tick-ms 200 --min-frequency 1 --source-allow "127.0.0.1:$IPORT" ||
	{ not_ok "mailsvc: coffer serve starts" "$(serve_why serve)"; exit 1; }
GTOK=$(grep -m1 '^cft_' "$T/serve.out")

TA=$(api "$GTOK" POST /v1/tenants '{"name":"acme"}'; jq -r .id "$T/resp")
TB=$(api "$GTOK" POST /v1/tenants '{"name":"other"}'; jq -r .id "$T/resp")
TID=$TA # the tenant lib.sh's rp_count, has_points and session_done look at (as $TOK)
# token BY TENANT ROLE: the global admin makes a tenant's first admin token,
# the tenant's admin the others.
token() { api "$1" POST "/v1/tenants/$2/tokens" "{\"name\":\"$3\",\"role\":\"$3\"}"; jq -r .secret "$T/resp"; }
TOK=$(token "$GTOK" "$TA" tenantAdmin)
OPTOK=$(token "$TOK" "$TA" restoreOperator)
AUTOK=$(token "$TOK" "$TA" auditor)
BTOK=$(token "$GTOK" "$TB" tenantAdmin)
[ -n "$TA" ] && [ -n "$TB" ] && [ "${TOK#cft_}" != "$TOK" ] && [ "${BTOK#cft_}" != "$BTOK" ] &&
	ok "mailsvc: two tenants and their tokens" || { not_ok "mailsvc: two tenants and their tokens" "$(cat "$T/resp")"; exit 1; }

src() { echo "{\"type\":\"imap\",\"host\":\"127.0.0.1\",\"port\":$IPORT,\"tls\":\"none\",\"user\":\"$1\",\"auth\":\"login\",\"secret\":\"secret\"}"; }
api "$TOK" POST "/v1/tenants/$TA/protectionUnits" "{\"name\":\"alice\",\"kind\":\"mailbox\",\"source\":$(src alice)}"
UA=$(jq -r .id "$T/resp")
api "$TOK" POST "/v1/tenants/$TA/protectionUnits" "{\"name\":\"bob\",\"kind\":\"mailbox\",\"source\":$(src bob)}"
UB=$(jq -r .id "$T/resp")
expect "mailsvc: mailbox units with an imap source are created" 201
if sqlite3 "$T/data/catalog.db" "SELECT source FROM units WHERE id = '$UA'" | grep -q '"secretSealed":"v1\.' &&
	! sqlite3 "$T/data/catalog.db" "SELECT source FROM units" | grep -q '"secret"' &&
	! q "$TOK" "/v1/tenants/$TA/protectionUnits/$UA" . | grep -q 'secret"'; then
	ok "mailsvc: the IMAP secret is sealed in the catalog and never shown"
else
	not_ok "mailsvc: the IMAP secret is sealed in the catalog and never shown" "$(sqlite3 "$T/data/catalog.db" 'SELECT source FROM units')"
fi

# ---------------------------------------------------------------------
# 1. A policy of kind mailbox over both: the scheduler backs them up.
api "$TOK" POST "/v1/tenants/$TA/protectionPolicies" \
	"{\"name\":\"mail\",\"kind\":\"mailbox\",\"units\":[\"$UA\",\"$UB\"],\"frequencySeconds\":3600,\"state\":\"active\"}"
POL=$(jq -r .id "$T/resp")
expect "mailsvc: a mailbox policy over two units" 201
policy_active() { [ "$(q "$TOK" "/v1/tenants/$TA/protectionPolicies/$POL" .state)" = active ]; }
if until_true 120 has_points "$UA" 1 && until_true 60 has_points "$UB" 1 && until_true 30 policy_active; then
	ok "mailsvc: the scheduler takes the first restore point of each mailbox; the policy is active"
else
	not_ok "mailsvc: the scheduler takes the first restore point of each mailbox" \
		"alice $(rp_count "$UA"), bob $(rp_count "$UB"), policy $(q "$TOK" "/v1/tenants/$TA/protectionPolicies/$POL" .state); $(grep -m2 -E 'error|fail' "$T/serve.err")"
fi
files=$(q "$TOK" "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/1" .files)
want=$(python3 -c 'import json,sys; print(sum(len(v) for v in json.load(open(sys.argv[1])).values()))' "$T/alice0.json")
[ "$files" = "$want" ] && ok "mailsvc: the restore point holds every message ($files)" ||
	not_ok "mailsvc: the restore point holds every message" "$files files, $want messages"
job_indexed() {
	[ "$(q "$TOK" "/v1/tenants/$TA/jobs?unit=$1&kind=backup" '[.items[] | select(.state == "succeeded")][0].detail.searchIndex.indexed')" = true ]
}
until_true 10 job_indexed "$UA" && ok "mailsvc: the backup job indexed its restore point for search" ||
	not_ok "mailsvc: the backup job indexed its restore point for search" "$(q "$TOK" "/v1/tenants/$TA/jobs?unit=$UA" .items)"
[ -f "$T/data/search/$TA.db" ] && [ "$(stat -c %a "$T/data/search/$TA.db")" = 600 ] &&
	ok "mailsvc: one search index per tenant, mode 0600" ||
	not_ok "mailsvc: one search index per tenant, mode 0600" "$(ls -l "$T/data/search" 2>&1)"

# ---------------------------------------------------------------------
# 2. Search through the API.
search "$TOK" "unit=$UA&subject=message%20101"
n=$(jq '.items | length' "$T/resp")
if [ "$code" = 200 ] && [ "$n" = 1 ] && jq -e '.items[0].subject | test("Test message 101 ")' "$T/resp" >/dev/null &&
	[ "$(jq -r '.items[0].restorePoints[0]' "$T/resp")" = "$UA@1" ] &&
	[ "$(jq -r '.items[0].restorePoint' "$T/resp")" = 1 ]; then
	ok "mailsvc: a search by subject finds the message and names its restore point"
else
	not_ok "mailsvc: a search by subject finds the message and names its restore point" "HTTP $code $(head -c 400 "$T/resp")"
fi
MPATH=$(jq -r '.items[0].path' "$T/resp"); MSIZE=$(jq -r '.items[0].size' "$T/resp")
# The message a search found, as data for the console (docs/api.md "For the console").
api "$OPTOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/1/message?path=$MPATH"
cp "$T/resp" "$T/message"
if [ "$code" = 200 ] && jq -e '(.subject | test("Test message 101 ")) and (.from | length > 0) and
	(.text | length > 0) and (.textSource == "plain" or .textSource == "html") and
	([.headers[] | select(.name == "Subject")] | length == 1) and (.dateUnix > 0) and
	(.attachments | type == "array") and .size == '"$MSIZE" "$T/message" >/dev/null; then
	ok "mailsvc: a found message is read as data: headers, text, attachments"
else
	not_ok "mailsvc: a found message is read as data" "HTTP $code $(head -c 400 "$T/message")"
fi
api "$TOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/1/message?path=INBOX/nope"
expect "mailsvc: an unknown message is 404" 404
api "$AUTOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/1/message?path=$MPATH"
expect "mailsvc: an auditor may not read a message (403)" 403
api "$TOK" GET "/v1/tenants/$TA/auditLog?action=mail.read"
[ "$(jq -r --arg t "$UA@1" --arg p "$MPATH" '[.items[] | select(.target == $t and .detail.path == $p)] | length' "$T/resp")" -ge 1 ] &&
	ok "mailsvc: reading a message is audited (mail.read, its path)" ||
	not_ok "mailsvc: reading a message is audited" "$(head -c 300 "$T/resp")"
search "$TOK" "from=sender5&limit=2"
n1=$(jq '.items | length' "$T/resp"); next=$(jq -r .next "$T/resp")
units=$(jq -r '[.items[].unit] | unique | length' "$T/resp")
search "$TOK" "from=sender5&limit=1000"
nall=$(jq '.items | length' "$T/resp")
all_units=$(jq -r '[.items[].unit] | unique | sort | join(" ")' "$T/resp")
want_units=$(printf '%s\n%s\n' "$UA" "$UB" | sort | tr '\n' ' ' | sed 's/ $//')
if [ "$n1" = 2 ] && [ "$next" = 2 ] && [ "$nall" -gt 2 ] && [ "$all_units" = "$want_units" ]; then
	ok "mailsvc: a search over the tenant covers both mailboxes and pages ($nall hits, next=$next)"
else
	not_ok "mailsvc: a search over the tenant covers both mailboxes and pages" "page $n1 next $next all $nall units '$all_units' want '$want_units'"
fi
search "$TOK" "from=sender5&limit=2&after=$next"
[ "$code" = 200 ] && [ "$(jq -r '.items[0].key' "$T/resp")" != "" ] &&
	[ "$(jq -r '.items[0].key' "$T/resp")" = "$(api "$TOK" GET "/v1/tenants/$TA/search?from=sender5&limit=3"; jq -r '.items[2].key' "$T/resp")" ] &&
	ok "mailsvc: the next page follows the first" || not_ok "mailsvc: the next page follows the first" "$(head -c 300 "$T/resp")"
SEARCHES=$((SEARCHES + 1)) # the inline search above
search "$TOK" "unit=$UA&folder=INBOX&limit=1000"
[ "$(jq '.items | length' "$T/resp")" = "$ALICE_INBOX0" ] &&
	ok "mailsvc: a folder filter finds the folder's $ALICE_INBOX0 messages" ||
	not_ok "mailsvc: a folder filter finds the folder's messages" "$(jq '.items | length' "$T/resp") of $ALICE_INBOX0"
search "$TOK" "unit=$UA&hasAttachment=true&limit=1000"
[ "$code" = 200 ] && [ "$(jq '[.items[] | select(.hasAttachment != true)] | length' "$T/resp")" = 0 ] &&
	[ "$(jq '.items | length' "$T/resp")" -gt 0 ] && ok "mailsvc: hasAttachment finds only messages with attachments" ||
	not_ok "mailsvc: hasAttachment finds only messages with attachments" "$(head -c 300 "$T/resp")"
api "$TOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/1/message?path=$(jq -r '.items[0].path' "$T/resp")"
jq -e '(.attachments | length > 0) and (.attachments[0].size > 0) and (.attachments[0].contentType | length > 0)' "$T/resp" >/dev/null &&
	ok "mailsvc: a message's attachments are listed with type and size, not inlined" ||
	not_ok "mailsvc: a message's attachments are listed" "$(jq -c '{attachments, textSource}' "$T/resp" | head -c 300)"
search "$TOK" "unit=$UA&since=2023-11-14&until=2023-11-14&limit=1000"
[ "$code" = 200 ] && [ "$(jq '[.items[] | select(.dateUnix < 1699920000 or .dateUnix >= 1700006400)] | length' "$T/resp")" = 0 ] &&
	[ "$(jq '.items | length' "$T/resp")" -gt 0 ] && ok "mailsvc: a date range (since/until of one day) holds" ||
	not_ok "mailsvc: a date range holds" "$(head -c 300 "$T/resp")"

# refusals
search "$TOK" "restorePoint=1&subject=x"
expect "mailsvc: restorePoint without unit is a 400" 400
search "$TOK" "unit=$UA&since=yesterday"
expect "mailsvc: a bad date is a 400 naming the filter" 400
jq -r .error.message "$T/resp" | grep -q '"since"' || not_ok "mailsvc: the 400 names the filter" "$(cat "$T/resp")"
search "$TOK" "unit=$UA&color=red"
expect "mailsvc: an unknown filter is a 400" 400
search "$AUTOK" "subject=message"
expect "mailsvc: an auditor may not search (403)" 403
api "$BTOK" GET "/v1/tenants/$TA/search?subject=message"
expect "mailsvc: another tenant's token may not search this tenant (403)" 403
api "$BTOK" GET "/v1/tenants/$TB/search?unit=$UA&subject=message"
expect "mailsvc: another tenant's unit is not found from its own tenant (404)" 404
api "$BTOK" GET "/v1/tenants/$TB/search?subject=message"
[ "$code" = 200 ] && [ "$(jq '.items | length' "$T/resp")" = 0 ] &&
	ok "mailsvc: a tenant without mailboxes finds nothing of another's" ||
	not_ok "mailsvc: a tenant without mailboxes finds nothing of another's" "HTTP $code $(head -c 200 "$T/resp")"
search "$OPTOK" "unit=$UA&subject=message%20101"
expect "mailsvc: a restore operator may search" 200

# ---------------------------------------------------------------------
# 3. Damage alice (deletions, flag changes), a second point on demand.
gone=$(imap alice expunge INBOX 12 3) && imap alice flags Archive.2023.Q1 10 -FLAGS '(\Seen)' 4 1 &&
	imap alice flags Work 5 +FLAGS '(\Flagged $Important)' ||
	not_ok "mailsvc: damage alice's mailbox" "imaplib failed"
api "$TOK" POST "/v1/tenants/$TA/protectionUnits/$UA/backup"
until_true 120 has_points "$UA" 2 && ok "mailsvc: an on-demand backup takes a second point" ||
	not_ok "mailsvc: an on-demand backup takes a second point" "$(grep -m2 -E 'error' "$T/serve.err")"

search "$TOK" "unit=$UA&folder=INBOX&restorePoint=1&limit=1000"
jq -r ".items[] | select((.restorePoints | index(\"$UA@2\")) == null) | .path" "$T/resp" >"$T/lost"
search "$TOK" "unit=$UA&folder=INBOX&restorePoint=2&limit=1000"
n2=$(jq '.items | length' "$T/resp")
if [ "$(wc -l <"$T/lost")" = "$gone" ] && [ "$n2" = $((ALICE_INBOX0 - gone)) ]; then
	ok "mailsvc: search by restore point tells the $gone deleted messages (only in $UA@1)"
else
	not_ok "mailsvc: search by restore point tells the deleted messages" "$(wc -l <"$T/lost") lost, want $gone; rp2 $n2"
fi

# 4. Granular restore of one deleted message by its search path.
run_session() {
	api "$1" POST "/v1/tenants/$TA/restoreSessions" "$2"
	SID=$(jq -r .id "$T/resp")
	[ "$code" = 201 ] || [ "$code" = 200 ] || return 1
	until_true 120 session_done "$SID"
	api "$TOK" GET "/v1/tenants/$TA/restoreSessions/$SID"
	cp "$T/resp" "$T/session"
	[ "$(jq -r .state "$T/session")" = succeeded ]
}
P1=$(head -1 "$T/lost")
if run_session "$OPTOK" "{\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"granular\",\"paths\":[\"$P1\"]}]}" &&
	[ "$(imap alice count INBOX)" = $((ALICE_INBOX0 - gone + 1)) ]; then
	ok "mailsvc: a granular session (operator) puts back the message a search found ($P1)"
else
	not_ok "mailsvc: a granular session puts back the message a search found" "$(imap alice count INBOX) in INBOX; $(head -c 400 "$T/session")"
fi

# 5a. The plan of the in-place restore below (dryRun): the messages still
# deleted to append, those whose flags changed to set; nothing changed.
before=$(imap alice total)
api "$OPTOK" POST "/v1/tenants/$TA/restoreSessions" "{\"dryRun\":true,\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}"
cp "$T/resp" "$T/plan"
if [ "$code" = 200 ] && [ "$(imap alice total)" = "$before" ] &&
	[ "$(jq -c '.items[0] | [.plan, .write, .attrs > 0, .remove, .unchanged + .write + .attrs]' "$T/plan")" = "[\"exact\",$((gone - 1)),true,0,$files]" ] &&
	jq -e '[.items[0].sample[] | select(.action == "write" and (.path | startswith("INBOX/")))] | length == '"$((gone - 1))" "$T/plan" >/dev/null; then
	ok "mailsvc: a dry run plans the in-place restore exactly ($(jq -c '.items[0] | {plan, write, attrs, unchanged}' "$T/plan")), the mailbox untouched"
else
	not_ok "mailsvc: a dry run plans the in-place restore" "$code $(head -c 400 "$T/plan")"
fi

# 5. In place: deleted messages and changed flags come back.
if run_session "$TOK" "{\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}" &&
	imap alice compare "$T/alice0.json" --counts >"$T/cmp" 2>&1; then
	ok "mailsvc: an in-place session brings back deleted messages and flags (same bytes, dates)"
else
	not_ok "mailsvc: an in-place session brings back deleted messages and flags" "$(cat "$T/cmp") $(head -c 300 "$T/session")"
fi

# 6. New location: bob's mailbox under Restored-<time>.
if run_session "$TOK" "{\"items\":[{\"unit\":\"$UB\",\"mode\":\"newLocation\"}]}"; then
	R=$(imap bob folders | grep -m1 '^Restored-' | cut -d. -f1)
	case $R in
	Restored-20[2-9][0-9][01][0-9][0-3][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z)
		imap bob compare "$T/bob0.json" "$R." --counts >"$T/cmp" 2>&1 &&
			ok "mailsvc: a new-location session restores the mailbox tree under $R" ||
			not_ok "mailsvc: a new-location session restores the mailbox tree" "$(cat "$T/cmp")" ;;
	*) not_ok "mailsvc: a new-location session makes a Restored-<time> folder" "got '$R'" ;;
	esac
	grep -q 'secret' "$T/session" && not_ok "mailsvc: the session does not show the secret" "$(cat "$T/session")" ||
		ok "mailsvc: the session does not show the secret"
	imap bob compare "$T/bob0.json" --counts >/dev/null 2>&1 &&
		ok "mailsvc: the original folders are left as they were" ||
		not_ok "mailsvc: the original folders are left as they were" "bob changed"
else
	not_ok "mailsvc: a new-location session succeeds" "$(head -c 400 "$T/session")"
fi

# 6b. The console's mail story: the message a search found (and read) put
# into a Restored-<time> folder of its own mailbox, alone; planned first.
api "$OPTOK" POST "/v1/tenants/$TA/restoreSessions" "{\"dryRun\":true,\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"newLocation\",\"paths\":[\"$MPATH\"]}]}"
[ "$code" = 200 ] && [ "$(jq -c '.items[0] | [.plan, .write, (.target.intoFolder | startswith("Restored-")), (.target | has("secret"))]' "$T/resp")" = '["exact",1,true,false]' ] &&
	! imap alice folders | grep -q '^Restored-' &&
	ok "mailsvc: the plan of a picked message to a new location: 1 to write into Restored-…, nothing made" ||
	not_ok "mailsvc: the plan of a picked message to a new location" "$code $(head -c 400 "$T/resp")"
if run_session "$OPTOK" "{\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"newLocation\",\"paths\":[\"$MPATH\"]}]}"; then
	imap alice state "$T/alice-r.json"
	got=$(python3 -c 'import json,sys
s = json.load(open(sys.argv[1])); want = json.load(open(sys.argv[2]))
r = [m[0] for f, v in s.items() if f.startswith("Restored-") for m in v]
print(len(r), all(any(m[0] == h for v in want.values() for m in v) for h in r))' "$T/alice-r.json" "$T/alice0.json")
	[ "$got" = "1 True" ] && ok "mailsvc: a picked message restored to a new location lands alone in a Restored-… folder, same bytes" ||
		not_ok "mailsvc: a picked message restored to a new location lands alone in a Restored-… folder" "$got $(jq -c '.artifacts[0].target' "$T/session")"
else
	not_ok "mailsvc: a new-location session with paths succeeds" "$(head -c 400 "$T/session")"
fi

# ---------------------------------------------------------------------
# 7. Export.
api "$OPTOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/1/export?format=mbox"
cp "$T/resp" "$T/all.mbox"
mbox_hashes "$T/all.mbox" >"$T/all.got"
python3 -c 'import json,sys; print("\n".join(sorted(m[0] for v in json.load(open(sys.argv[1])).values() for m in v)))' "$T/alice0.json" >"$T/all.want"
if [ "$code" = 200 ] && grep -qi '^content-type: application/mbox' "$T/headers" && cmp -s "$T/all.got" "$T/all.want"; then
	ok "mailsvc: a restore point exports as mbox (operator), every message byte for byte ($(wc -l <"$T/all.got"))"
else
	not_ok "mailsvc: a restore point exports as mbox byte for byte" "HTTP $code $(grep -i content-type "$T/headers") $(wc -l <"$T/all.got") vs $(wc -l <"$T/all.want")"
fi
api "$TOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/2/export?folder=INBOX"
mbox_hashes "$T/resp" >"$T/inbox.got"
imap alice state "$T/alice1.json"
[ "$code" = 200 ] && [ "$(wc -l <"$T/inbox.got")" = $((ALICE_INBOX0 - gone)) ] &&
	ok "mailsvc: one folder of a restore point exports alone" ||
	not_ok "mailsvc: one folder of a restore point exports alone" "HTTP $code, $(wc -l <"$T/inbox.got") messages, want $((ALICE_INBOX0 - gone))"
api "$TOK" POST "/v1/tenants/$TA/search/export" "{\"unit\":\"$UA\",\"subject\":\"message 101\",\"format\":\"mbox\"}"
mbox_hashes "$T/resp" >"$T/s.got"
[ "$code" = 200 ] && [ "$(wc -l <"$T/s.got")" = 1 ] && grep -q 'Test message 101 ' "$T/resp" &&
	grep -qxF "$(cat "$T/s.got")" "$T/all.want" && ok "mailsvc: a search exports as mbox, the message byte for byte" ||
	not_ok "mailsvc: a search exports as mbox" "HTTP $code $(head -c 300 "$T/resp")"
api "$TOK" POST "/v1/tenants/$TA/search/export" "{\"from\":\"sender5\"}"
[ "$code" = 200 ] && [ "$(mbox_hashes "$T/resp" | wc -l)" = "$nall" ] &&
	ok "mailsvc: a search export over the tenant holds every hit ($nall)" ||
	not_ok "mailsvc: a search export over the tenant holds every hit" "HTTP $code $(mbox_hashes "$T/resp" | wc -l) of $nall"
api "$AUTOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/1/export"
expect "mailsvc: an auditor may not export (403)" 403
api "$AUTOK" POST "/v1/tenants/$TA/search/export" '{"subject":"message"}'
expect "mailsvc: an auditor may not export a search (403)" 403
api "$BTOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/1/export"
expect "mailsvc: another tenant may not export (403)" 403
api "$TOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/9/export"
expect "mailsvc: exporting a missing restore point is a 404" 404
api "$TOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/1/export?format=eml"
expect "mailsvc: an unknown export format is a 400" 400
api "$TOK" GET "/v1/tenants/$TA/protectionUnits/$UA/restorePoints/1/export?folder=Nope"
expect "mailsvc: exporting a missing folder is a 404" 404
[ -z "$(ls -A "$T/data/tmp" 2>/dev/null)" ] && ok "mailsvc: exports leave no file behind" ||
	not_ok "mailsvc: exports leave no file behind" "$(ls "$T/data/tmp")"

# ---------------------------------------------------------------------
# 8. The audit log: every search, with its filters and not its results.
api "$TOK" GET "/v1/tenants/$TA/auditLog?action=mail.search&limit=1000"
na=$(jq '[.items[] | select(.action == "mail.search")] | length' "$T/resp")
[ "$na" = "$SEARCHES" ] && ok "mailsvc: every search is in the audit log ($na)" ||
	not_ok "mailsvc: every search is in the audit log" "$na entries, $SEARCHES searches"
if jq -e --arg u "$UA" '[.items[] | select(.target == $u and .detail.subject == "message 101")] | length >= 2' "$T/resp" >/dev/null &&
	! grep -q 'snippet\|Test message' "$T/resp"; then
	ok "mailsvc: a search's audit entry holds its filters, not its results"
else
	not_ok "mailsvc: a search's audit entry holds its filters, not its results" "$(jq -c '.items[0]' "$T/resp")"
fi
OPID=$(q "$OPTOK" /v1/whoami .token)
api "$TOK" GET "/v1/tenants/$TA/auditLog?action=mail.search&limit=1000"
[ "$(jq -r --arg k "$OPID" '[.items[] | select(.actor == $k)] | length' "$T/resp")" = 1 ] &&
	ok "mailsvc: the audit entry names the searching token" ||
	not_ok "mailsvc: the audit entry names the searching token" "$(q "$OPTOK" /v1/whoami .)"
api "$TOK" GET "/v1/tenants/$TA/auditLog?action=mail.export&limit=1000"
[ "$(jq '.items | length' "$T/resp")" -ge 4 ] && ok "mailsvc: exports are audited" ||
	not_ok "mailsvc: exports are audited" "$(jq -c '.items' "$T/resp" | head -c 300)"
api "$GTOK" GET /v1/auditLog/verify
[ "$(jq -r .ok "$T/resp")" = true ] && ok "mailsvc: the audit chain verifies" ||
	not_ok "mailsvc: the audit chain verifies" "$(cat "$T/resp")"

# A restore drill of a mailbox (docs/service.md "Restore drills"): a sample
# of its messages restored into scratch, each compared with the point.
api "$TOK" POST "/v1/tenants/$TA/protectionUnits/$UA/drills"
expect "mailsvc: a drill of a mailbox is queued" 202
mail_drilled() {
	[ "$(q "$TOK" "/v1/tenants/$TA/protectionUnits/$UA/drills" '.items | length')" -ge 1 ] &&
		[ "$(q "$TOK" "/v1/tenants/$TA/jobs?unit=$UA&kind=drill&state=running" '.items | length')" = 0 ]
}
until_true 120 mail_drilled
api "$TOK" GET "/v1/tenants/$TA/protectionUnits/$UA/drills?limit=1"
if [ "$(j '.items[0].state')" = passed ] && [ "$(j '.items[0].samples')" -gt 0 ] &&
	[ "$(j '.items[0].detail.restore.verified')" = "$(j '.items[0].samples')" ] &&
	j '.items[0].detail.restore.paths[]' | grep -qE '/[0-9]{10}$'; then
	ok "mailsvc: the mailbox drill restored $(j '.items[0].samples') messages into scratch, each as the point says"
else
	not_ok "mailsvc: the mailbox drill restored messages as the point says" "$(head -c 400 "$T/resp")"
fi

# ---------------------------------------------------------------------
serve_stop
if sanitizer "$T/serve.err"; then
	not_ok "mailsvc: no sanitizer report" "$(grep -m3 -E 'Sanitizer|runtime error' "$T/serve.err")"
elif [ $stop_rc = 0 ]; then
	ok "mailsvc: coffer serve stops cleanly"
else
	not_ok "mailsvc: coffer serve stops cleanly" "exit $stop_rc: $(serve_why serve)"
fi
grep -q 'secret"' "$T/serve.err" && not_ok "mailsvc: no secret in the log" "$(grep -m1 'secret"' "$T/serve.err")" ||
	ok "mailsvc: no secret in the log"
finish
