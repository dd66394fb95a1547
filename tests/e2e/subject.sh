#!/bin/bash
# Data-subject requests (docs/privacy.md sections 9 and 10): a real coffer
# serve and a real Dovecot on loopback (ports 18920-18939). Two mailboxes
# hold mail from and to ann@x.org (From with a display name, To with an
# encoded word and upper case, Cc in another folder, Reply-To alone), the
# same message in both mailboxes and in several restore points, and decoys
# (joann@x.org, ann@x.org.uk, "ann@x.org" as a display name, the address in
# a body), and a message whose first line pretends to be a source line.
# The subject export gives each message once with its exact bytes and
# where it was found, and no decoy; it is audited; only privacy
# officers and tenant admins may run it. The access report names a search,
# an export and a restore session with their actors and roles, as JSON and
# as the CLI's table. An erasure approved later is left out of the next
# export.
. "$(dirname "$0")/lib.sh"

need_tools subject curl jq python3
IPORT=18920
PORT=18930

# The messages, CRLF as IMAP keeps them; each file is also the exact bytes
# the export must give back.
mkdir -p "$T/msg"
python3 - "$T/msg" <<'EOF'
import sys
d = sys.argv[1]
def msg(name, headers, body):
    data = "".join(h + "\r\n" for h in headers) + "\r\n" + body.replace("\n", "\r\n")
    open(f"{d}/{name}", "wb").write(data.encode())
date = "Date: Mon, 02 Mar 2026 10:0{}:00 +0000"
msg("m1", ["From: Ann Example <ann@x.org>", "To: bob@y.org", "Subject: quarterly numbers",
           date.format(1), "Message-ID: <m1@x.org>"],
    "Hi Bob,\nFrom here on the numbers.\n>From a quote.\n")
msg("m2", ["From: carol@y.org", "To: =?UTF-8?B?w4VubiBFeGFtcGxl?= <Ann@X.ORG>",
           "Subject: =?UTF-8?Q?caf=C3=A9?=", date.format(2), "Message-ID: <m2@y.org>"],
    "See you at the cafe.\n")
msg("m3", ["From: dave@y.org", "To: team@y.org", "Cc: \"Ann\" <ann@x.org>, other@y.org",
           "Subject: minutes", date.format(3), "Message-ID: <m3@y.org>"], "Minutes attached.\n")
msg("m4", ["From: news@z.org", "Reply-To: ann@x.org", "To: list@z.org", "Subject: newsletter",
           date.format(4), "Message-ID: <m4@z.org>"], "News.\n")
# Its own first line pretends to be one of the export's source lines.
msg("m5", ["X-Coffer-Source: n=1/1; unit=u-fake", "From: spoof@z.org", "To: ann@x.org",
           "Subject: spoofed source", date.format(9), "Message-ID: <m5@z.org>"], "Hello.\n")
msg("d1", ["From: joann@x.org", "To: bob@y.org", "Subject: decoy joann", date.format(5),
           "Message-ID: <d1@x.org>"], "Not Ann.\n")
msg("d2", ["From: \"ann@x.org\" <mallory@z.org>", "To: bob@y.org", "Subject: decoy display",
           date.format(6), "Message-ID: <d2@z.org>"], "A display name is no address.\n")
msg("d3", ["From: eve@z.org", "To: ann@x.org.uk", "Subject: decoy longer domain",
           date.format(7), "Message-ID: <d3@z.org>"], "Another domain.\n")
msg("d4", ["From: eve@z.org", "To: bob@y.org", "Subject: decoy body", date.format(8),
           "Message-ID: <d4@z.org>"], "Write to ann@x.org about it.\n")
EOF

# append USER FOLDER FILE...: APPENDs the files (exact bytes) with imaplib.
append() {
	python3 - "$IPORT" "$@" <<'EOF'
import imaplib, sys
port, user, folder, files = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
m = imaplib.IMAP4("127.0.0.1", port)
m.login(user, "secret")
m.create(folder)
for f in files:
    typ, _ = m.append(folder, None, None, open(f, "rb").read())
    assert typ == "OK", typ
m.logout()
EOF
}

dovecot_use subject "$IPORT"
M=$T/msg
append alice INBOX "$M/m1" "$M/m2" "$M/d1" "$M/d2" && append alice Archive "$M/m3" &&
	append bob INBOX "$M/m1" "$M/d3" "$M/d4" "$M/m5" || { not_ok "subject: the test mail is appended"; exit 1; }

serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
	--workers 2 --tick-ms 200 --source-allow "127.0.0.1:$IPORT" ||
	{ not_ok "subject: coffer serve starts" "$(serve_why serve)"; exit 1; }
GTOK=$(grep -m1 '^cft_' "$T/serve.out")
tenant acme || { not_ok "subject: a tenant and its admin" "$(cat "$T/resp")"; exit 1; }
# token ROLE: a token of that role named after it, made by the tenant's admin.
token() {
	api "$TOK" POST "/v1/tenants/$TID/tokens" "{\"name\":\"$1\",\"role\":\"$1\"}"
	jq -r .secret "$T/resp"
}
PTOK=$(token privacyOfficer)
OPTOK=$(token restoreOperator)
AUTOK=$(token auditor)

src() { echo "{\"type\":\"imap\",\"host\":\"127.0.0.1\",\"port\":$IPORT,\"tls\":\"none\",\"user\":\"$1\",\"auth\":\"login\",\"secret\":\"secret\"}"; }
api "$TOK" POST "/v1/tenants/$TID/protectionUnits" "{\"name\":\"alice\",\"kind\":\"mailbox\",\"source\":$(src alice)}"
UA=$(j .id)
api "$TOK" POST "/v1/tenants/$TID/protectionUnits" "{\"name\":\"bob\",\"kind\":\"mailbox\",\"source\":$(src bob)}"
UB=$(j .id)

# backup UNIT N: an on-demand backup; waits for point N.
backup() {
	api "$TOK" POST "/v1/tenants/$TID/protectionUnits/$1/backup"
	until_true 30 has_points "$1" "$2"
}
# Two points of each; m4 (Reply-To only) arrives in alice's second.
if backup "$UA" 1 && backup "$UB" 1 && append alice INBOX "$M/m4" && backup "$UA" 2 &&
	backup "$UB" 2; then
	ok "subject: two restore points of each mailbox"
else
	not_ok "subject: two restore points of each mailbox" "alice $(rp_count "$UA"), bob $(rp_count "$UB"): $(grep -m2 -i error "$T/serve.err")"
fi

# ---------------------------------------------------------------------
# 1. Who may: a privacy officer (and a tenant admin), not an operator or
# an auditor; bad input is named.
BODY='{"address":"ann@x.org","format":"mbox"}'
api "$OPTOK" POST "/v1/tenants/$TID/subjectExport" "$BODY"
expect "subject: a restore operator may not export a subject's mail (403)" 403
api "$AUTOK" POST "/v1/tenants/$TID/subjectExport" "$BODY"
expect "subject: an auditor may not export a subject's mail (403)" 403
api "$PTOK" POST "/v1/tenants/$TID/subjectExport" '{"address":"ann","format":"mbox"}'
expect "subject: an address without a domain is refused (400)" 400
says "subject: the refusal names the address" 'address \"ann\" is not one e-mail address'
api "$PTOK" POST "/v1/tenants/$TID/subjectExport" '{"address":"ann@x.org","format":"eml"}'
expect "subject: another format is refused (400)" 400

# 2. A search (naming the address) and a restore session of a message
# about her, by the admin and the operator, for the report; and a search
# for the decoy, which must not be reported.
api "$TOK" GET "/v1/tenants/$TID/search?from=ann@x.org"
expect "subject: the admin searches mail from ann@x.org" 200
api "$TOK" GET "/v1/tenants/$TID/search?from=joann@x.org"
api "$OPTOK" GET "/v1/tenants/$TID/search?unit=$UA&address=ann@x.org&limit=100"
subjects=$(jq -r '[.items[].subject] | sort | join(",")' "$T/resp")
expect_eq "subject: the address filter of a search finds her 4 messages of alice, no decoy" \
	"$subjects" "café,minutes,newsletter,quarterly numbers"
P2=$(jq -r '.items[] | select(.subject == "café") | .path' "$T/resp")
api "$OPTOK" POST "/v1/tenants/$TID/restoreSessions" \
	"{\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"granular\",\"paths\":[\"$P2\"]}]}"
SID=$(j .id)
expect "subject: the operator restores her message $P2" 201
until_true 30 session_done "$SID" || not_ok "subject: the restore session ends" "$(q "$TOK" "/v1/tenants/$TID/restoreSessions/$SID" .state)"

# ---------------------------------------------------------------------
# 3. The export.
api "$PTOK" POST "/v1/tenants/$TID/subjectExport" "$BODY"
expect "subject: a privacy officer exports ann@x.org's mail" 200
cp "$T/resp" "$T/api.mbox"
grep -qi '^Content-Type: application/mbox' "$T/headers" && ok "subject: the answer is application/mbox" ||
	not_ok "subject: the answer is application/mbox" "$(grep -i content-type "$T/headers")"

# split FILE: each message of the mboxrd file, unquoted, its leading
# X-Coffer-Source lines apart: "sha256 subject sources..." lines, sorted.
split() {
	python3 - "$1" <<'EOF'
import hashlib, re, sys
data = open(sys.argv[1], "rb").read()
msgs, cur = [], None
for line in data.splitlines(keepends=True):
    if line.startswith(b"From ") and (cur is None or cur.endswith(b"\n\n") or cur.endswith(b"\r\n\n")):
        if cur is not None:
            msgs.append(cur[:-1])
        cur = b""
        continue
    if re.match(rb"^>+From ", line):
        line = line[1:]
    cur += line
if cur is not None:
    msgs.append(cur[:-1])
out = []
for m in msgs:
    # "X-Coffer-Source: n=1/N; ...": exactly N lines are the export's.
    src = []
    total = int(re.match(rb"X-Coffer-Source: n=1/(\d+);", m).group(1))
    for _ in range(total):
        end = m.index(b"\r\n") + 2
        src.append(m[:end].decode().strip())
        m = m[end:]
    subj = re.search(rb"^Subject: (.*)\r$", m, re.M).group(1).decode()
    out.append(f"{hashlib.sha256(m).hexdigest()} {subj} | " + " | ".join(src))
print("\n".join(sorted(out)))
EOF
}
split "$T/api.mbox" >"$T/got" 2>"$T/split.err"
want=$(cd "$M" && sha256sum m1 m2 m3 m4 m5 | cut -c1-64 | sort)
got=$(cut -d' ' -f1 "$T/got")
expect_eq "subject: the export holds her 5 messages, each once, byte for byte (one with a source line of its own)" "$got" "$want"
if grep -qE 'decoy' "$T/got" || grep -q 'joann@x.org\|mallory@z.org\|ann@x.org.uk' "$T/api.mbox"; then
	not_ok "subject: no decoy is exported" "$(grep decoy "$T/got")"
else
	ok "subject: no decoy is exported (joann@, ann@x.org.uk, a display name, a body)"
fi
m1=$(grep 'quarterly numbers' "$T/got")
if [ "$(grep -o 'X-Coffer-Source' <<<"$m1" | wc -l)" = 2 ] && grep -q "/2; unit=$UA; unitName=\"alice\"; folder=\"INBOX\"" <<<"$m1" &&
	grep -q "unit=$UB; unitName=\"bob\"; folder=\"INBOX\"; uid=1; firstRestorePoint=1; lastRestorePoint=2; restorePoints=2" <<<"$m1"; then
	ok "subject: the message in both mailboxes and both points is exported once, with both sources"
else
	not_ok "subject: the message in both mailboxes is exported once, with both sources" "$m1"
fi
grep -q 'newsletter.*unitName="alice"; folder="INBOX"; uid=5; firstRestorePoint=2; lastRestorePoint=2' "$T/got" &&
	ok "subject: a message only in the second point says so" ||
	not_ok "subject: a message only in the second point says so" "$(grep newsletter "$T/got")"
grep -q '^>From here on' "$T/api.mbox" && grep -q '^>>From a quote' "$T/api.mbox" &&
	ok "subject: From lines inside a message are quoted (mboxrd)" ||
	not_ok "subject: From lines inside a message are quoted (mboxrd)" "$(grep -n 'From ' "$T/api.mbox" | head -4)"

# The audit entry: before anything was read, with the address and counts.
api "$AUTOK" GET "/v1/tenants/$TID/auditLog?action=subject.export"
if [ "$(j '.items | length')" = 1 ] && [ "$(j '.items[0].detail.address')" = ann@x.org ] &&
	[ "$(j '.items[0].detail.messagesIndexed')" -ge 5 ] && [ "$(j '.items[0].target')" = ann@x.org ] &&
	[ "$(j '.items[0].detail.units | length')" = 2 ]; then
	ok "subject: the export is audited (subject.export, the address, what the index named)"
else
	not_ok "subject: the export is audited" "$(head -c 400 "$T/resp")"
fi

# The CLI, through the API.
cli() { COFFER_TOKEN=$1 "$COFFER" --server "$BASE" "${@:2}"; }
run cli "$PTOK" subject export ann@x.org -o "$T/cli.mbox"
if [ "$rc" = 0 ] && grep -q '^5 messages' "$T/out" && split "$T/cli.mbox" | cmp -s - "$T/got"; then
	ok "subject: coffer subject export writes the same mbox (5 messages)"
else
	not_ok "subject: coffer subject export writes the same mbox" "exit $rc: $(cat "$T/out" "$T/err" | head -3)"
fi
run cli "$PTOK" subject export ann@x.org -o "$T/cli.mbox"
fails_with "subject: coffer subject export never overwrites a file" 1 "exists already"
run cli "$OPTOK" subject export ann@x.org -o "$T/op.mbox"
if [ "$rc" = 1 ] && grep -q 'HTTP 403' "$T/err" && [ ! -e "$T/op.mbox" ]; then
	ok "subject: a refused CLI export says 403 and leaves no file"
else
	not_ok "subject: a refused CLI export says 403 and leaves no file" "exit $rc: $(cat "$T/err")"
fi

# ---------------------------------------------------------------------
# 4. The access report.
api "$AUTOK" GET "/v1/tenants/$TID/accessReport?address=ann@x.org"
expect "subject: an auditor may not read the access report (403)" 403
api "$PTOK" GET "/v1/tenants/$TID/accessReport?address=ann@x.org"
expect "subject: a privacy officer reads the access report of an address" 200
cp "$T/resp" "$T/report.json"
row() { jq -r ".items[] | select(.action == \"$1\") | \"\(.actorName) \(.actorRole)\"" "$T/report.json" | sort -u | tr '\n' ';'; }
expect_eq "subject: the report names the searches for her (admin, operator)" "$(row mail.search)" \
	"admin tenantAdmin;restoreOperator restoreOperator;"
expect_eq "subject: the report names the officer's export" "$(row subject.export)" "privacyOfficer privacyOfficer;"
expect_eq "subject: the report names the operator's restore of her message" \
	"$(row restoreSession.create)" "restoreOperator restoreOperator;"
if [ "$(jq '[.items[] | select(.action == "mail.search")] | length' "$T/report.json")" = 2 ] &&
	! grep -q 'joann' "$T/report.json"; then
	ok "subject: the decoy's search is not in her report (only the two that name her)"
else
	not_ok "subject: the decoy's search is not in her report" "$(jq -c '[.items[] | .what]' "$T/report.json")"
fi
[ "$(jq -r '.items[] | select(.action == "restoreSession.create") | .messages' "$T/report.json")" = 1 ] &&
	ok "subject: the restore row says one message about her was restored" ||
	not_ok "subject: the restore row says one message about her was restored" "$(jq -c .items "$T/report.json")"

api "$PTOK" GET "/v1/tenants/$TID/accessReport?unit=alice"
expect "subject: the access report of a unit, named" 200
acts=$(j '[.items[].action] | unique | join(",")')
expect_eq "subject: the unit's report lists its searches, export and restore" "$acts" \
	"mail.search,restoreSession.create,subject.export"
api "$PTOK" GET "/v1/tenants/$TID/accessReport?unit=alice&address=ann@x.org"
expect "subject: a report of a unit and an address at once is refused (400)" 400

run cli "$PTOK" subject report --address ann@x.org
if [ "$rc" = 0 ] && head -1 "$T/out" | grep -q 'TIME.*ACTOR.*ROLE.*ACTION.*UNIT' &&
	grep -q 'restoreOperator.*restoreSession.create.*alice' "$T/out" &&
	grep -q 'privacyOfficer.*subject.export' "$T/out"; then
	ok "subject: coffer subject report prints the table"
else
	not_ok "subject: coffer subject report prints the table" "exit $rc: $(head -5 "$T/out") $(cat "$T/err")"
fi
run cli "$PTOK" subject report --unit alice --json
[ "$rc" = 0 ] && [ "$(jq '.items | length' "$T/out")" -ge 3 ] &&
	ok "subject: coffer subject report --json gives the items" ||
	not_ok "subject: coffer subject report --json gives the items" "exit $rc: $(head -c 300 "$T/out")"
api "$AUTOK" GET "/v1/tenants/$TID/auditLog?action=subject.report"
[ "$(j '.items | length')" -ge 4 ] && ok "subject: every report is audited (subject.report)" ||
	not_ok "subject: every report is audited" "$(head -c 300 "$T/resp")"

# ---------------------------------------------------------------------
# 5. An erasure (docs/privacy.md 2) of alice's Archive, asked by the
# officer and approved by the admin: the next export leaves that message
# out and keeps the others byte for byte.
api "$PTOK" POST "/v1/tenants/$TID/erasureRequests" \
	"{\"kind\":\"paths\",\"unit\":\"$UA\",\"paths\":[\"Archive/*\"],\"reason\":\"subject.sh\"}"
EID=$(j .id)
api "$TOK" POST "/v1/tenants/$TID/erasureRequests/$EID/approve"
api "$PTOK" POST "/v1/tenants/$TID/subjectExport" "$BODY"
cp "$T/resp" "$T/erased.mbox"
got=$(split "$T/erased.mbox" 2>&1 | cut -d' ' -f1)
want=$(cd "$M" && sha256sum m1 m2 m4 m5 | cut -c1-64 | sort)
expect_eq "subject: after an erasure of alice's Archive the export leaves that message out" \
	"$got" "$want"

grep -qE 'Sanitizer|runtime error' "$T/serve.err" &&
	not_ok "subject: no sanitizer report in the server" "$(grep -m1 -E 'Sanitizer|runtime error' "$T/serve.err")"
serve_stop
finish
