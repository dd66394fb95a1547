#!/bin/bash
# WebDAV drives and sites under `coffer serve` (issue 11; docs/service.md
# "Policies", docs/webdav.md), against a real Apache mod_dav on loopback
# (ports 18880-18881) whose root holds two sites: one command puts a site
# under a policy and the scheduler takes its restore points; a "webdav"
# rule over the root makes a unit of each child collection and picks up
# one added later; ransomware through WebDAV (files PUT as NAME.locked with
# random bytes, the originals DELETEd, one overwritten in place), a
# backup after it, the recommendation names the last clean point, one
# restore session in place makes Apache's folder byte-identical to the
# original tree; a restore session to a new location puts the copy beside
# the site as <site>.restored-<time>/ and the rule does not make a unit of
# it. A new secret given to the rule reaches the units it made. The rule's
# secret is never in an answer, a log or the catalog in clear; a root that
# cannot be listed is a warning naming its URL.
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/e2e/lib.sh"
APACHE=$HERE/servers/apache-dav.sh
DPORT=18880 PORT=18881
D=$T/dav
S=$D/root/sites # the WebDAV root of the rule; each collection in it a site
ROOT=http://127.0.0.1:$DPORT/dav/sites/

stop_all() {
	sh "$APACHE" stop "$D" 2>/dev/null
	cleanup
}
trap stop_all EXIT

PATH=$PATH:/usr/sbin need_tools webdav_svc curl jq sqlite3 apache2 htpasswd
seed_random

# Two sites; alpha has over a MiB of text, so that its encryption is an
# anomaly (docs/service.md "Recommendations").
mkdir -p "$S/alpha/docs/deep" "$S/alpha/empty" "$S/beta/sub"
seq 1 200000 >"$S/alpha/docs/report.txt"
echo "minutes of the meeting" >"$S/alpha/docs/deep/minutes.txt"
gen photo 300000 >"$S/alpha/photo.bin"
: >"$S/alpha/zero"
echo "beta's readme" >"$S/beta/readme.txt"
echo x >"$S/beta/sub/x.txt"
TEAM=$'\xc3\x89quipe 2 #1' # "Équipe 2 #1": its URL is percent-encoded
mkdir -p "$S/$TEAM"
echo "team" >"$S/$TEAM/t.txt"
[ "$(id -u)" = 0 ] && chown -R nobody:nogroup "$D/root"
# Apache's ETags are weak in the second a file was written (docs/webdav.md).
find "$S" -exec touch -d '-1 min' {} +
cp -a "$S/alpha" "$T/ref"

sh "$APACHE" start "$D" $DPORT >/dev/null 2>"$T/apache.err" ||
	{ not_ok "webdav_svc: apache mod_dav starts" "$(cat "$T/apache.err")"; exit 1; }
ok "webdav_svc: apache mod_dav starts"
# A user of the service's own, with a password found nowhere else.
PW="cf-dav-$SEED-$RANDOM$RANDOM-pw"
htpasswd -b "$D/htpasswd" carol "$PW" 2>/dev/null
printf '%s\n' "$PW" >"$T/pw"
dav() { curl -s -u "carol:$PW" -o /dev/null -w '%{http_code}' "$@"; }
# A dead property a client set on a file the ransomware will delete.
PROP='<Z:label xmlns:Z="urn:x-coffer-test">minutes, signed</Z:label>'
label() { # the Z:label of alpha's minutes.txt as Apache lists it
	curl -s -u "carol:$PW" -X PROPFIND -H 'Depth: 0' --data \
		'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:label xmlns:Z="urn:x-coffer-test"/></D:prop></D:propfind>' \
		"${ROOT}alpha/docs/deep/minutes.txt" | grep -o 'minutes, signed'
}

serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
	--workers 2 --tick-ms 200 --min-frequency 1 --source-allow "127.0.0.1:$DPORT" ||
	{ not_ok "webdav_svc: coffer serve starts" "$(serve_why serve)"; exit 1; }
GTOK=$(grep -m1 '^cft_' "$T/serve.out")
tenant acme || { not_ok "webdav_svc: a tenant" "$(head -c 300 "$T/resp")"; exit 1; }
export COFFER_SERVER=$BASE COFFER_TOKEN=$TOK
unit_id() {
	api "$TOK" GET "/v1/tenants/$TID/protectionUnits?limit=1000"
	jq -r --arg n "$1" '.items[] | select(.name == $n) | .id' "$T/resp"
}
last_point() { q "$TOK" "/v1/tenants/$TID/protectionUnits/$1/restorePoints?limit=1000" '.items[-1].seq'; }
jobs_idle() {
	[ "$(q "$TOK" "/v1/tenants/$TID/jobs?unit=$1&state=queued" '.items | length')" = 0 ] &&
		[ "$(q "$TOK" "/v1/tenants/$TID/jobs?unit=$1&state=running" '.items | length')" = 0 ]
}
# paused UNIT: no job of UNIT queued or running, three times over more
# than a tick (an evaluation that read the policy before it was paused
# may still queue one).
paused() { jobs_idle "$1" && sleep 0.3 && jobs_idle "$1" && sleep 0.3 && jobs_idle "$1"; }

equal "webdav_svc: a dead property is set on a file of alpha" "PROPPATCH" \
	"$(dav -X PROPPATCH -H 'Content-Type: application/xml' --data \
		"<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop>$PROP</D:prop></D:set></D:propertyupdate>" \
		"${ROOT}alpha/docs/deep/minutes.txt")" 207

# 1. One command puts a site under a policy; the scheduler takes points.
run "$COFFER" --json policy create --kind site --frequency 2 sites
P1=$(jq -r .id "$T/out")
is_rc "webdav_svc: a site policy" 0
run "$COFFER" policy activate "$P1"
run "$COFFER" unit create --kind site --webdav "${ROOT}alpha/" --user carol --policy "$P1" alpha
fails_with "webdav_svc: unit create --webdav without --password-file" 2 "needs --password-file"
run "$COFFER" --json unit create --kind site --webdav "${ROOT}alpha/" --user carol \
	--password-file "$T/pw" --policy "$P1" alpha
is_rc "webdav_svc: one command creates a WebDAV site and puts it under the policy" 0
A=$(jq -r .id "$T/out")
equal "webdav_svc: the site's unit" "policy" "$(q "$TOK" "/v1/tenants/$TID/protectionPolicies/$P1" ".units | index(\"$A\") != null")" true
if until_true 40 eval '[ "$(rp_count "$A")" -ge 3 ]'; then
	ok "webdav_svc: the scheduler takes restore points of the site"
else
	not_ok "webdav_svc: the scheduler takes restore points of the site" "$(rp_count "$A") points; $(why "$T/serve.err")"
fi
equal "webdav_svc: the site" "state" "$(unit_field "$A" state)" protected

# 2. A rule over the root: a unit per child collection (alpha already is
# P1's: not taken), then a collection added later.
run "$COFFER" --json policy create --kind site --frequency 3600 --rule "webdav:$ROOT" \
	--user carol --password-file "$T/pw" all-sites
is_rc "webdav_svc: a policy with a webdav rule over the root" 0
P2=$(jq -r .id "$T/out")
if grep -qF -- "$PW" "$T/out" || grep -q secretSealed "$T/out"; then
	not_ok "webdav_svc: the policy shown has no secret" "$(cat "$T/out")"
else
	ok "webdav_svc: the policy shown has no secret"
fi
run "$COFFER" policy activate "$P2"
if until_true 20 eval '[ -n "$(unit_id beta)" ]'; then
	ok "webdav_svc: the rule makes a unit of the collection beta"
else
	not_ok "webdav_svc: the rule makes a unit of the collection beta" "$(why "$T/serve.err")"
fi
B=$(unit_id beta)
equal "webdav_svc: beta" "policy" "$(unit_field "$B" policy)" "$P2"
equal "webdav_svc: beta" "source url" "$(unit_field "$B" source.url)" "${ROOT}beta/"
equal "webdav_svc: alpha" "policy (kept by the one that had it)" "$(unit_field "$A" policy)" "$P1"
equal "webdav_svc: units named alpha" "count" "$(q "$TOK" "/v1/tenants/$TID/protectionUnits?namePrefix=alpha" '.items | length')" 1
if until_true 30 has_points "$B" 1; then
	ok "webdav_svc: beta gets a restore point"
else
	not_ok "webdav_svc: beta gets a restore point" "$(unit_field "$B" lastError)"
fi
equal "webdav_svc: beta's point" "files" "$(q "$TOK" "/v1/tenants/$TID/protectionUnits/$B/restorePoints/1" .files)" 2
TM=$(unit_id "$TEAM")
equal "webdav_svc: the unit of a collection with an odd name" "source url" \
	"$(unit_field "$TM" source.url)" "${ROOT}%C3%89quipe%202%20%231/"
if until_true 30 has_points "$TM" 1; then
	ok "webdav_svc: the collection with an odd name gets a restore point"
else
	not_ok "webdav_svc: the collection with an odd name gets a restore point" "$(unit_field "$TM" lastError)"
fi
dav -X MKCOL "${ROOT}gamma/" >/dev/null
echo "gamma" | dav -T - "${ROOT}gamma/g.txt" >/dev/null
if until_true 20 eval '[ -n "$(unit_id gamma)" ]'; then
	ok "webdav_svc: a collection added later is picked up"
else
	not_ok "webdav_svc: a collection added later is picked up" "$(why "$T/serve.err")"
fi
G=$(unit_id gamma)
equal "webdav_svc: gamma" "policy" "$(unit_field "$G" policy)" "$P2"
equal "webdav_svc: the unit with an odd name, evaluations later" "policy" "$(unit_field "$TM" policy)" "$P2"
equal "webdav_svc: units of the rule taken out of its policy since" "count" "$(grep -c 'event=unit.detach' "$T/serve.err")" 0

# Rules checked at creation.
api "$TOK" POST "/v1/tenants/$TID/protectionPolicies" \
	"{\"name\":\"x\",\"kind\":\"site\",\"rules\":[{\"type\":\"webdav\",\"url\":\"$ROOT\",\"user\":\"carol\"}]}"
expect "webdav_svc: a webdav rule without a secret is refused" 400
says "webdav_svc: ... saying the secret is needed" "needs 'secret'"
api "$TOK" POST "/v1/tenants/$TID/protectionPolicies" \
	"{\"name\":\"x\",\"kind\":\"site\",\"rules\":[{\"type\":\"webdav\",\"url\":\"http://127.0.0.1:$PORT/dav/\",\"user\":\"carol\",\"secret\":\"x\"}]}"
expect "webdav_svc: a webdav rule on a port source_allow does not name is refused" 400
api "$TOK" POST "/v1/tenants/$TID/protectionPolicies" \
	"{\"name\":\"x\",\"kind\":\"mailbox\",\"rules\":[{\"type\":\"webdav\",\"url\":\"$ROOT\",\"user\":\"carol\",\"secret\":\"x\"}]}"
expect "webdav_svc: a webdav rule in a mailbox policy is refused" 400
api "$TOK" POST "/v1/tenants/$TID/protectionPolicies" \
	"{\"name\":\"x\",\"kind\":\"site\",\"rules\":[{\"type\":\"webdav\",\"url\":\"ftp://127.0.0.1/\",\"user\":\"carol\",\"secret\":\"x\"}]}"
expect "webdav_svc: a webdav rule with an ftp:// url is refused" 400
api "$TOK" POST "/v1/tenants/$TID/protectionPolicies" \
	"{\"name\":\"x\",\"kind\":\"site\",\"rules\":[{\"type\":\"webdav\",\"url\":\"$ROOT\",\"user\":\"carol\",\"secret\":\"x\",\"connections\":99}]}"
expect "webdav_svc: a webdav rule with 99 connections is refused" 400
says "webdav_svc: ... saying the range" "1..16"
# A root that cannot be listed: a warning naming the URL, no unit.
api "$TOK" POST "/v1/tenants/$TID/protectionPolicies" \
	"{\"name\":\"gone\",\"kind\":\"site\",\"state\":\"active\",\"rules\":[{\"type\":\"webdav\",\"url\":\"http://127.0.0.1:$DPORT/dav/nothere/\",\"user\":\"carol\",\"secret\":\"$PW\"}]}"
expect "webdav_svc: a policy over a root that does not exist is created" 201
P3=$(jq -r .id "$T/resp")
if until_true 20 grep -q "policy=$P3 url=http://127.0.0.1:$DPORT/dav/nothere/ error=.*404" "$T/serve.err"; then
	ok "webdav_svc: a root that cannot be listed is a warning with its URL and the reason"
else
	not_ok "webdav_svc: a root that cannot be listed is a warning with its URL and the reason" "$(grep -m1 "$P3" "$T/serve.err")"
fi
# Sent back without its secret (as GET shows it), the rule keeps it.
api "$TOK" GET "/v1/tenants/$TID/protectionPolicies/$P2"
api "$TOK" PATCH "/v1/tenants/$TID/protectionPolicies/$P2" "{\"rules\":$(jq -c .rules "$T/resp")}"
expect "webdav_svc: a rule sent back without its secret is accepted" 200

# 3. Ransomware through WebDAV on alpha, with the policy paused so that
# no point is taken halfway.
run "$COFFER" policy deactivate "$P1"
until_true 30 paused "$A"
CLEAN=$(last_point "$A")
first=1
for f in $(cd "$S/alpha" && find . -name .DAV -prune -o -type f -printf '%P\n' | sort); do
	size=$(stat -c %s "$S/alpha/$f")
	head -c $((size > 0 ? size : 1)) /dev/urandom >"$T/enc"
	if [ $first = 1 ]; then
		c=$(dav -T "$T/enc" "${ROOT}alpha/$f")
		first=0
	else
		c=$(dav -T "$T/enc" "${ROOT}alpha/$f.locked")$(dav -X DELETE "${ROOT}alpha/$f")
	fi
	case $c in 2*) ;; *) not_ok "webdav_svc: ransomware writes $f" "HTTP $c" ;; esac
done
if diff -r -x .DAV "$S/alpha" "$T/ref" >/dev/null 2>&1; then
	not_ok "webdav_svc: ransomware changed the site" "no difference"
else
	ok "webdav_svc: ransomware changed the site"
fi
run "$COFFER" policy activate "$P1"
if until_true 30 eval '[ "$(last_point "$A")" -gt "$CLEAN" ]'; then
	ok "webdav_svc: the scheduler takes a point after the damage"
else
	not_ok "webdav_svc: the scheduler takes a point after the damage" "$(unit_field "$A" lastError)"
fi
run "$COFFER" policy deactivate "$P1"
until_true 30 paused "$A"

# 4. The recommendation names the last clean point; one restore session
# in place with it.
run "$COFFER" --json unit recommend "$A"
is_rc "webdav_svc: unit recommend" 0
REC=$(jq -r '.recommendations[] | select(.kind == "beforeAnomaly") | .restorePoint' "$T/out")
equal "webdav_svc: the recommended point before the anomaly" "restore point" "$REC" "$CLEAN"
equal "webdav_svc: the anomaly" "restore point" "$(jq -r '.anomalies[0].restorePoint' "$T/out")" "$((CLEAN + 1))"
# Its plan first (dryRun): every file to write (one overwritten, the others
# deleted), every .locked one to remove; the server untouched.
nref=$(cd "$T/ref" && find . -type f | wc -l)
api "$TOK" POST "/v1/tenants/$TID/restoreSessions" "{\"dryRun\":true,\"items\":[{\"unit\":\"$A\",\"restorePoint\":${REC:-$CLEAN},\"mode\":\"inPlace\"}]}"
plan=$(jq -c '.items[0] | [.plan, ([.sample[] | select(.action == "write")] | length), .remove]' "$T/resp")
equal "webdav_svc: the plan of the rollback (files to write, .locked to remove)" "plan" "$plan" "[\"exact\",$nref,$((nref - 1))]"
if diff -r -x .DAV "$S/alpha" "$T/ref" >/dev/null 2>&1; then
	not_ok "webdav_svc: the plan changed nothing" "the site was restored"
else
	ok "webdav_svc: the plan changed nothing"
fi
run "$COFFER" --json restore-session create "$A@${REC:-$CLEAN}" --mode inPlace
is_rc "webdav_svc: a restore session in place is created" 0
SID=$(jq -r .id "$T/out")
run "$COFFER" restore-session show "$SID" --wait
is_rc "webdav_svc: the restore session succeeds" 0
if diff -r -x .DAV "$S/alpha" "$T/ref" >"$T/diff" 2>&1; then
	ok "webdav_svc: Apache's folder is byte-identical to the original tree"
else
	not_ok "webdav_svc: Apache's folder is byte-identical to the original tree" "$(head -5 "$T/diff" | tr '\n' ' ')"
fi
equal "webdav_svc: the restore session puts the file's dead property back" "label" "$(label)" "minutes, signed"

# 5. To a new location: the copy beside the site, not a unit of the rule;
# planned first (every entry new, nothing made).
api "$TOK" POST "/v1/tenants/$TID/restoreSessions" "{\"dryRun\":true,\"items\":[{\"unit\":\"$A\",\"restorePoint\":${REC:-$CLEAN},\"mode\":\"newLocation\"}]}"
plan=$(jq -c '.items[0] | [.plan, .write >= '"$nref"', .remove, .unchanged, (.target.url | test("alpha[.]restored-"))]' "$T/resp")
equal "webdav_svc: the plan of a new location" "plan" "$plan" '["exact",true,0,0,true]'
equal "webdav_svc: the plan makes no copy" "copies" "$(cd "$S" && ls -d alpha.restored-* 2>/dev/null | wc -l)" 0
run "$COFFER" --json restore-session create "$A@${REC:-$CLEAN}" --mode newLocation
is_rc "webdav_svc: a restore session to a new location is created" 0
SID=$(jq -r .id "$T/out")
run "$COFFER" restore-session show "$SID" --wait
is_rc "webdav_svc: the restore session to a new location succeeds" 0
COPY=$(cd "$S" && ls -d alpha.restored-* 2>/dev/null | head -1)
if [ -n "$COPY" ] && diff -r -x .DAV "$S/$COPY" "$T/ref" >"$T/diff" 2>&1; then
	ok "webdav_svc: the copy is beside the site as $COPY, byte-identical"
else
	not_ok "webdav_svc: the copy is beside the site as alpha.restored-TIME, byte-identical" "$(ls "$S") $(head -3 "$T/diff" | tr '\n' ' ')"
fi
dav -X MKCOL "${ROOT}delta/" >/dev/null
if until_true 20 eval '[ -n "$(unit_id delta)" ]'; then
	ok "webdav_svc: the rule is evaluated after the copy appeared"
else
	not_ok "webdav_svc: the rule is evaluated after the copy appeared" "$(why "$T/serve.err")"
fi
equal "webdav_svc: units of restored copies" "count" \
	"$(q "$TOK" "/v1/tenants/$TID/protectionUnits?limit=1000" '[.items[] | select(.name | contains(".restored-"))] | length')" 0

# 5b. carol's password changes, and the rule is given the new one: the
# units it made get it (beta backs up again with it).
PW2="cf-dav2-$SEED-$RANDOM$RANDOM-pw"
htpasswd -b "$D/htpasswd" carol "$PW2" 2>/dev/null
api "$TOK" GET "/v1/tenants/$TID/protectionPolicies/$P2"
api "$TOK" PATCH "/v1/tenants/$TID/protectionPolicies/$P2" \
	"{\"rules\":$(jq -c --arg pw "$PW2" '.rules | map(.secret = $pw)' "$T/resp")}"
expect "webdav_svc: the rule takes a new secret" 200
if until_true 20 grep -q "event=unit.source tenant=$TID unit=$B " "$T/serve.err"; then
	ok "webdav_svc: the rule's units get its new secret"
else
	not_ok "webdav_svc: the rule's units get its new secret" "$(why "$T/serve.err")"
fi
n=$(rp_count "$B")
api "$TOK" POST "/v1/tenants/$TID/protectionUnits/$B/backup"
if until_true 30 has_points "$B" $((n + 1)); then
	ok "webdav_svc: beta backs up with the new secret"
else
	not_ok "webdav_svc: beta backs up with the new secret" "$(unit_field "$B" lastError)"
fi

# The root that cannot be listed was tried again after a backoff (a
# minute at first), not at each 200 ms tick.
n=$(grep -c "event=policy.rule tenant=$TID policy=$P3 " "$T/serve.err")
if [ "$n" -ge 1 ] && [ "$n" -le 5 ]; then
	ok "webdav_svc: a root that cannot be listed is tried again after a backoff"
else
	not_ok "webdav_svc: a root that cannot be listed is tried again after a backoff" "$n warnings"
fi

# 6. The secret: sealed in the catalog, never in an answer or a log.
if sqlite3 "$T/data/catalog.db" "SELECT rules FROM policies WHERE id = '$P2'" | grep -q '"secretSealed":"v1\.'; then
	ok "webdav_svc: the rule's secret is sealed in the catalog"
else
	not_ok "webdav_svc: the rule's secret is sealed in the catalog" "$(sqlite3 "$T/data/catalog.db" "SELECT rules FROM policies")"
fi
for p in "protectionPolicies" "protectionPolicies/$P2" "protectionUnits?limit=1000" "auditLog?limit=1000" \
	"jobs?limit=1000" "protectionUnits/$B"; do
	api "$TOK" GET "/v1/tenants/$TID/$p"
	cat "$T/resp" >>"$T/answers"
done
printf '%s\n' "$PW" "$PW2" >"$T/pws"
if grep -qF -f "$T/pws" "$T/answers" "$T/serve.err" "$T/serve.out"; then
	not_ok "webdav_svc: the secrets are in no answer nor log" "$(grep -lF -f "$T/pws" "$T/answers" "$T/serve.err" "$T/serve.out")"
else
	ok "webdav_svc: the secrets are in no answer nor log"
fi
sqlite3 "$T/data/catalog.db" .dump >"$T/dump"
if grep -rqaF -f "$T/pws" "$T/data" "$T/dump"; then
	not_ok "webdav_svc: the secrets are nowhere in the data folder in clear" "$(grep -rlaF -f "$T/pws" "$T/data" "$T/dump")"
else
	ok "webdav_svc: the secrets are nowhere in the data folder in clear"
fi
serve_stop
sanitizer "$T"/*.err && not_ok "webdav_svc: no sanitizer report" "$(grep -m1 -h -E 'Sanitizer|runtime error' "$T"/*.err)"
exit $FAILED
