#!/usr/bin/env bash
# The HTTP API against a real `coffer serve` on loopback: every endpoint with
# no token (401), a token of the other tenant (403), each role (403 where the
# matrix of docs/api.md says so, 2xx where it allows), ids of another tenant
# (404), bad input (malformed JSON, unknown fields, wrong type, a 2 MiB body,
# a slow client), the audit log (verify; an altered and a removed entry are
# detected), the CLI clients, and a bounded load test while a backup runs.
. "$(dirname "$0")/lib.sh"

PORT=${API_PORT:-18510}
URL=http://127.0.0.1:$PORT
DATA=$T/data
API_MAX_TIME=30

cat >"$T/serve.conf" <<EOF
data = $DATA
listen = 127.0.0.1:$PORT
workers = 2
min_frequency = 1
max_body = 1048576
request_timeout = 3
EOF

if ! serve_start serve "$URL" --config "$T/serve.conf"; then
	not_ok "coffer serve starts on $URL" "$(serve_why serve)"
	finish
fi
ok "coffer serve starts on $URL"

GA=$(head -1 "$T/serve.out")
case $GA in
cft_*) ok "the first start prints a global admin token" ;;
*) not_ok "the first start prints a global admin token" "stdout: $GA"; finish ;;
esac
printf '%s\n' "$GA" >"$T/ga.tok"

# ---- two tenants, a token of every role in each, a unit, a policy ----

api "$GA" POST /v1/tenants '{"name":"alpha"}'; expect "global admin creates tenant alpha" 201
A=$(j .id)
api "$GA" POST /v1/tenants '{"name":"beta"}'; expect "global admin creates tenant beta" 201
B=$(j .id)

declare -A TOK TOKID
for t in A B; do
	tid=${!t}
	# The global admin makes a tenant's first admin token; its admins the rest.
	by=$GA
	for role in tenantAdmin restoreOperator auditor; do
		api "$by" POST "/v1/tenants/$tid/tokens" "{\"name\":\"$role\",\"role\":\"$role\"}"
		expect "$([ "$by" = "$GA" ] && echo "global admin" || echo "tenant admin") creates a $role token of tenant $t" 201
		TOK[$t.$role]=$(j .secret)
		TOKID[$t.$role]=$(j .id)
		by=${TOK[$t.tenantAdmin]}
	done
done
# The attack: a global admin gives itself a token of a tenant and reads
# its data. Only the first tenantAdmin token is the global admin's to make.
api "$GA" POST "/v1/tenants/$A/tokens" '{"name":"peek","role":"restoreOperator"}'
expect "global admin cannot create a restoreOperator token of a tenant" 403
api "$GA" POST "/v1/tenants/$A/tokens" '{"name":"admin2","role":"tenantAdmin"}'
expect "global admin cannot create a second tenantAdmin token" 403
says "the refusal names the break-glass path" "breakGlass"
api "$GA" POST "/v1/tenants/$A/tokens" '{"name":"bg","role":"restoreOperator","breakGlass":"short"}'
expect "a break-glass reason of 5 characters: 400" 400
api "${TOK[A.tenantAdmin]}" POST "/v1/tenants/$A/tokens" \
	'{"name":"bg","role":"restoreOperator","breakGlass":"a tenant admin is not a global admin"}'
expect "break-glass is the global admin's only" 400
case ${TOK[A.tenantAdmin]} in
cft_???????????????????????????????????????????) ok "token secrets are cft_ + 43 base64url characters" ;;
*) not_ok "token secrets are cft_ + 43 base64url characters" "${TOK[A.tenantAdmin]}" ;;
esac

mkdir -p "$T/src-a" "$T/src-b"
head -c 200000 /dev/urandom >"$T/src-a/file1"
echo hello >"$T/src-a/hello.txt"
echo beta >"$T/src-b/b.txt"
TA=${TOK[A.tenantAdmin]}
# No folder_root here: folders are the global admin's to name (a tenant
# admin could otherwise back up /etc or the other tenant's folders).
api "$TA" POST "/v1/tenants/$A/protectionUnits" \
	"{\"name\":\"docs\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$T/src-b\"}}"
expect "without folder_root a tenant admin cannot name a folder (beta's)" 403
api "$TA" POST "/v1/tenants/$A/protectionUnits" \
	'{"name":"etc","kind":"account","source":{"type":"folder","path":"/etc"}}'
expect "without folder_root a tenant admin cannot name /etc" 403
api "$GA" POST "/v1/tenants/$A/protectionUnits" \
	"{\"name\":\"docs\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$T/src-a\"}}"
expect "global admin creates a folder unit of alpha" 201
UA=$(j .id)
api "$GA" POST "/v1/tenants/$B/protectionUnits" \
	"{\"name\":\"docs\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$T/src-b\"}}"
expect "global admin creates a folder unit of beta" 201
UB=$(j .id)
api "$TA" POST "/v1/tenants/$A/protectionPolicies" "{\"name\":\"daily\",\"kind\":\"account\",\"units\":[\"$UA\"]}"
expect "tenant admin creates a policy" 201
PA=$(j .id)

api "$TA" POST "/v1/tenants/$A/protectionUnits/$UA/backup"
expect "tenant admin asks for a backup" 202
api "${TOK[B.tenantAdmin]}" POST "/v1/tenants/$B/protectionUnits/$UB/backup"
for _ in $(seq 1 300); do
	api "$TA" GET "/v1/tenants/$A/protectionUnits/$UA/restorePoints"
	[ "$(j '.items | length')" -ge 1 ] 2>/dev/null && break
	sleep 0.2
done
if [ "$(j '.items | length')" -ge 1 ] 2>/dev/null; then ok "the backup makes restore point 1"
else not_ok "the backup makes restore point 1" "$(head -c 300 "$T/resp")"; fi

api "$TA" GET "/v1/tenants/$A/protectionUnits/$UA/find?name=hello.*"
if [ "$code" = 200 ] && [ "$(j '[.items[] | "\(.path) \(.version) \(.firstPoint) \(.size)"] | join(",")')" = "hello.txt 1 1 6" ]; then
	ok "find: a file's versions across the unit's points"; else
	not_ok "find: a file's versions across the unit's points" "$code $(head -c 300 "$T/resp")"; fi
api "$TA" GET "/v1/tenants/$A/protectionUnits/$UA/find?name=HELLO.*&ignoreCase=yes"
expect "find: a bad ignoreCase is refused" 400
api "$TA" GET "/v1/tenants/$A/auditLog?action=unit.find"
if [ "$(j '.items | length')" = 1 ]; then ok "find is audited (unit.find)"; else
	not_ok "find is audited (unit.find)" "$(head -c 300 "$T/resp")"; fi

api "$TA" POST "/v1/tenants/$A/restoreSessions" \
	"{\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"newLocation\"}]}"
expect "tenant admin creates a restore session" 201
SA=$(j .id)
api "$GA" POST /v1/tokens '{"name":"spare","role":"globalAdmin"}'
KG=$(j .id)
api "$TA" POST "/v1/tenants/$A/tokens" '{"name":"spare","role":"auditor"}'
KA=$(j .id)

# wait_session ID: until alpha's session ID has ended (or a minute passed).
wait_session() {
	local st
	for _ in $(seq 1 300); do
		st=$(curl -s -H "Authorization: Bearer $TA" "$URL/v1/tenants/$A/restoreSessions/$1" | jq -r .state)
		[ "$st" = succeeded ] || [ "$st" = failed ] && return 0
		sleep 0.2
	done
}
wait_session "$SA"

# ---- the matrix: every endpoint, every kind of caller ----
# METHOD PATH ROLES WANT [BODY]: ROLES may call it (G global admin, A tenant
# admin, O restore operator, U auditor of alpha; * any token) and get WANT;
# the rest of alpha's roles and the global admin get 403, beta's tenant admin
# 403, no token 401. @R@ in the body is replaced by the caller's role, so
# creations do not collide.
T_A=/v1/tenants/$A
U_A=$T_A/protectionUnits/$UA
SRC_A="{\"type\":\"folder\",\"path\":\"$T/src-a\"}"
ENDPOINTS=(
	"GET|/v1/tenants|G|200|"
	"POST|/v1/tenants|G|201|{\"name\":\"t-@R@\"}"
	"GET|$T_A|GA|200|"
	"GET|$T_A/tokens|GA|200|"
	"POST|$T_A/tokens|A|201|{\"name\":\"k-@R@\",\"role\":\"auditor\"}"
	"PATCH|$T_A|G|200|{\"minRetentionDays\":400}"
	"DELETE|$T_A/tokens/$KA|GA|200|"
	"GET|/v1/tokens|G|200|"
	"POST|/v1/tokens|G|201|{\"name\":\"g-@R@\",\"role\":\"globalAdmin\"}"
	"DELETE|/v1/tokens/$KG|G|200|"
	"GET|$T_A/overview|AOU|200|"
	"GET|$T_A/protectionUnits|AOU|200|"
	"POST|$T_A/protectionUnits|G|201|{\"name\":\"u-@R@\",\"kind\":\"account\",\"source\":$SRC_A}"
	"GET|$U_A|AOU|200|"
	"POST|$U_A/backup|A|202|"
	"GET|$U_A/recommendedRestorePoints|AOU|200|"
	"GET|$U_A/drills|AOU|200|"
	"POST|$U_A/drills|AO|202|"
	"PUT|$U_A/legalHold|A|200|{\"reason\":\"matrix\"}"
	"DELETE|$U_A/legalHold|A|200|"
	"GET|$U_A/restorePoints|AOU|200|"
	"GET|$U_A/restorePoints/1|AOU|200|"
	"DELETE|$U_A/restorePoints/1|A|403|"
	"GET|$U_A/restorePoints/1/items|AO|200|"
	"GET|$U_A/find?name=*|AO|200|"
	"GET|$U_A/restorePoints/1/message?path=hello.txt|AO|400|"
	"GET|$U_A/restorePoints/1/diff?against=1|AO|200|"
	"GET|$T_A/protectionPolicies|AOU|200|"
	"POST|$T_A/protectionPolicies|A|201|{\"name\":\"p-@R@\",\"kind\":\"account\",\"units\":[]}"
	"GET|$T_A/protectionPolicies/$PA|AOU|200|"
	"PATCH|$T_A/protectionPolicies/$PA|A|200|{\"retentionDays\":400}"
	"GET|$T_A/restoreSessions|AOU|200|"
	"POST|$T_A/restoreSessions|AO|201|{\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"newLocation\"}]}"
	"POST|$T_A/restoreSessions|AO|200|{\"dryRun\":true,\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}"
	"GET|$T_A/restoreSessions/$SA|AOU|200|"
	"GET|$T_A/jobs|AOU|200|"
	"GET|$T_A/auditLog|AU|200|"
	"GET|/v1/auditLog|G|200|"
	"GET|/v1/auditLog/verify|G|200|"
	"GET|$T_A/auditLog/verify|AU|200|"
	"GET|/v1/whoami|*|200|"
)
declare -A LETTER=([G]=global [A]=tenantAdmin [O]=restoreOperator [U]=auditor)
caller_token() {
	case $1 in
	G) echo "$GA" ;;
	*) echo "${TOK[A.${LETTER[$1]}]}" ;;
	esac
}

for e in "${ENDPOINTS[@]}"; do
	IFS='|' read -r m p roles want body <<<"$e"
	args=()
	[ -n "$body" ] && args=("$body")
	api "" "$m" "$p" "${args[@]}"; expect "$m $p without a token: 401" 401
	api "cft_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$m" "$p" "${args[@]}"
	expect "$m $p with an unknown token: 401" 401
	if [ "$roles" != "*" ]; then
		api "${TOK[B.tenantAdmin]}" "$m" "$p" "${args[@]}"
		expect "$m $p with the other tenant's admin: 403" 403
	fi
	# Refusals first, so that a DELETE's target still exists when checked.
	for r in G A O U; do
		[ "$roles" = "*" ] || [[ $roles == *$r* ]] && continue
		api "$(caller_token $r)" "$m" "$p" "${args[@]}"
		expect "$m $p as ${LETTER[$r]}: 403" 403
	done
	for r in G A O U; do
		[ "$roles" = "*" ] || [[ $roles == *$r* ]] || continue
		b=${body//@R@/${LETTER[$r]}}
		args=()
		[ -n "$b" ] && args=("$b")
		api "$(caller_token $r)" "$m" "$p" "${args[@]}"
		expect "$m $p as ${LETTER[$r]}: $want" "$want"
		# One restore of a unit at a time: let this one end.
		[ "$code" = 201 ] && [[ $p == */restoreSessions ]] && wait_session "$(j .id)"
		# A DELETE can succeed once.
		[ "$m" = DELETE ] && break
	done
done

api "$TA" DELETE "$U_A/restorePoints/1"
says "forgetting a point inside retention is refused saying so" "retention"

# ---- ids of another tenant through one's own tenant ----
TB=${TOK[B.tenantAdmin]}
api "$TB" GET "/v1/tenants/$B/protectionUnits/$UA"; expect "alpha's unit via beta's path: 404" 404
api "$TB" GET "/v1/tenants/$B/protectionUnits/$UA/restorePoints"
expect "alpha's restore points via beta's path: 404" 404
api "$TB" GET "/v1/tenants/$B/protectionUnits/$UA/restorePoints/1/items"
expect "alpha's content via beta's path: 404" 404
api "$TB" GET "/v1/tenants/$B/protectionPolicies/$PA"; expect "alpha's policy via beta's path: 404" 404
api "$TB" GET "/v1/tenants/$B/restoreSessions/$SA"; expect "alpha's session via beta's path: 404" 404
api "$TB" POST "/v1/tenants/$B/protectionUnits/$UA/backup"
expect "a backup of alpha's unit via beta's path: 404" 404
api "$TB" POST "/v1/tenants/$B/restoreSessions" \
	"{\"items\":[{\"unit\":\"$UA\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}"
if [ "$code" = 404 ] || [ "$code" = 400 ]; then ok "restoring alpha's unit via beta's path is refused"
else not_ok "restoring alpha's unit via beta's path is refused" "HTTP $code"; fi
api "$TB" GET "/v1/tenants/$B/protectionUnits"
if [ "$(j "[.items[].id] | index(\"$UA\")")" = null ]; then ok "beta's unit list does not show alpha's unit"
else not_ok "beta's unit list does not show alpha's unit" "$(head -c 300 "$T/resp")"; fi
api "$TA" POST "/v1/tenants/$A/tokens" '{"name":"evil","role":"globalAdmin"}'
expect "a tenant admin cannot create a globalAdmin token" 403
api "${TOK[A.auditor]}" GET "/v1/tenants/$A/auditLog?limit=1000"
if [ "$(j "[.items[] | select(.tenant != \"$A\")] | length")" = 0 ] && [ "$(j '.items | length')" -gt 0 ]; then
	ok "alpha's auditor reads only alpha's audit entries"
else not_ok "alpha's auditor reads only alpha's audit entries" "$(head -c 300 "$T/resp")"; fi
all=$(j '[.items[].seq] | reverse | map(tostring) | join(" ")')
api "${TOK[A.auditor]}" GET "/v1/tenants/$A/auditLog?order=desc&limit=3"
p1=$(j '[.items[].seq] | map(tostring) | join(" ")')
api "${TOK[A.auditor]}" GET "/v1/tenants/$A/auditLog?order=desc&limit=3&after=$(j .next)"
p2=$(j '[.items[].seq] | map(tostring) | join(" ")')
if [ -n "$p2" ] && [ "${all#"$p1 $p2"}" != "$all" ]; then
	ok "the audit log newest first, page by page ($p1 | $p2)"
else not_ok "the audit log newest first, page by page" "$p1 | $p2 vs $all"; fi
api "${TOK[A.auditor]}" GET "/v1/tenants/$A/auditLog?order=up"
expect "the audit log: an unknown order is 400" 400

# ---- bad input ----
api "$TA" POST "$T_A/protectionPolicies" '{"name":'
expect "malformed JSON: 400" 400; says "malformed JSON names the offset" "offset"
api "$TA" POST "$T_A/protectionPolicies" '{"name":"x","kind":"account","bogus":1}'
expect "an unknown field: 400" 400; says "the unknown field is named" "bogus"
api "$TA" POST "$T_A/protectionPolicies" '[1,2]'; expect "a body that is not an object: 400" 400
api "$TA" POST "$T_A/protectionPolicies" 'name=x' 'application/x-www-form-urlencoded'
expect "a body that is not JSON: 415" 415
api "$TA" GET "$T_A/protectionUnits?limit=0"; expect "limit=0: 400" 400
api "$TA" GET "$T_A/protectionUnits?bogus=1"; expect "an unknown query parameter: 400" 400
says "the unknown query parameter is named" "bogus"
api "$TA" GET "$U_A/restorePoints/x"; expect "a restore point number that is not one: 400" 400
api "$TA" GET "$U_A/restorePoints?since=99999999999&until=4611686018427387903"
expect "since/until past the year 2262: 400 (no overflow)" 400; says "the bad time is named" "since"
api "$TA" GET "/v1/nothing"; expect "an unknown path: 404" 404
api "$TA" PUT "$T_A/protectionUnits"; expect "a method the path does not have: 405" 405
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T/big.json"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $TA" \
	-H 'Content-Type: application/json' --data-binary @"$T/big.json" "$URL$T_A/protectionPolicies")
expect "a 2 MiB body: 413" 413; says "the 413 names the limit" "1048576"
# A chunked body is cut off as soon as it passes the limit: of 64 MiB
# offered, the server takes little more than the limit (plus what the
# sockets buffer) before it closes the connection, and stores nothing.
npol=$(q "$TA" "$T_A/protectionPolicies?limit=1000" '.items | length')
took=$(python3 - "$URL" "$TA" "$T_A/protectionPolicies" <<'EOF'
import socket, select, sys, urllib.parse
url, tok, path = urllib.parse.urlparse(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection((url.hostname, url.port))
s.sendall((f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n"
           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
chunk, sent, answer = b" " * 65536, 0, b""
try:
    while sent < 64 << 20:
        if select.select([s], [], [], 0)[0]:
            answer = s.recv(4096)
            break
        s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        sent += len(chunk)
except OSError:
    pass
print(sent, "answered" if answer.startswith(b"HTTP/1.1 2") else "closed")
EOF
)
if [ "${took#* }" = closed ] && [ "${took% *}" -lt $((16 << 20)) ] &&
	[ "$(q "$TA" "$T_A/protectionPolicies?limit=1000" '.items | length')" = "$npol" ] &&
	grep -q 'chunked body past the limit of 1048576 bytes' "$T/serve.err"; then
	ok "a chunked body past the limit is cut off at once (${took% *} of 64 MiB taken), nothing stored"
else not_ok "a chunked body past the limit is cut off at once" "$took"; fi
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data-binary @"$T/big.json" "$URL$T_A/protectionPolicies")
expect "a 2 MiB body without a token: 401 before it is read" 401

# A slow client: half a request, then silence. The server must close the
# connection on its own (request_timeout = 3 s; the bound here is generous).
slow_client() {
	python3 - "$PORT" "$1" <<'PY'
import socket, sys, time
port, part = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
if part == "body":
    s.sendall(b"POST /v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer x\r\nContent-Length: 100\r\n\r\n{\"na")
else:
    s.sendall(b"GET /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthor")
s.settimeout(30)
start = time.monotonic()
try:
    while s.recv(4096):
        pass
    print("closed")
except socket.timeout:
    print("open")
PY
}
r=$(slow_client headers)
if [ "$r" = closed ]; then ok "a client that stops mid-headers is disconnected"
else not_ok "a client that stops mid-headers is disconnected" "$r"; fi
r=$(slow_client body)
if [ "$r" = closed ]; then ok "a client that stops mid-body is disconnected"
else not_ok "a client that stops mid-body is disconnected" "$r"; fi
api "$TA" GET "/v1/whoami"; expect "the server still answers after slow clients" 200
api "${TOK[A.auditor]}" GET "/v1/whoami"
if [ "$(j .tenant)/$(j .tenantName)/$(j .role)" = "$A/alpha/auditor" ]; then
	ok "whoami tells an auditor its tenant's name"
else not_ok "whoami tells an auditor its tenant's name" "$(cat "$T/resp")"; fi
api "$GA" GET "/v1/whoami"
if [ "$(j .tenant)/$(j .tenantName)/$(j .role)" = "null/null/globalAdmin" ]; then
	ok "whoami: the global admin has no tenant"
else not_ok "whoami: the global admin has no tenant" "$(cat "$T/resp")"; fi

# ---- the CLI clients ----
C() { "$COFFER" --server "$URL" "$@"; }
printf '%s\n' "$TA" >"$T/ta.tok"
printf '%s\n' "${TOK[A.auditor]}" >"$T/au.tok"
run C --token-file "$T/ga.tok" tenant list; is_rc "coffer tenant list" 0
if grep -q alpha "$T/out" && grep -q beta "$T/out"; then ok "tenant list shows both tenants"
else not_ok "tenant list shows both tenants" "$(head -3 "$T/out" | tr '\n' ' ')"; fi
run C --token-file "$T/ta.tok" unit list; is_rc "coffer unit list (tenant from the token)" 0
if grep -q "$UA" "$T/out"; then ok "unit list shows the unit"; else not_ok "unit list shows the unit" "$(cat "$T/out")"; fi
run C --token-file "$T/ta.tok" --json unit restore-points "$UA"; is_rc "coffer --json unit restore-points" 0
if jq -e '.items[0].seq == 1' "$T/out" >/dev/null; then ok "--json prints the API's JSON"
else not_ok "--json prints the API's JSON" "$(head -c 200 "$T/out")"; fi
run C --token-file "$T/ta.tok" unit ls "$UA" 1; is_rc "coffer unit ls" 0
if grep -q hello.txt "$T/out"; then ok "unit ls lists the restore point's files"
else not_ok "unit ls lists the restore point's files" "$(cat "$T/out")"; fi
run C --token-file "$T/au.tok" unit create --folder "$T/src-a" x; is_rc "an auditor's unit create exits 1" 1
if grep -q forbidden "$T/err"; then ok "the CLI prints the API's error"
else not_ok "the CLI prints the API's error" "$(cat "$T/err")"; fi
run C --token-file "$T/ta.tok" policy list; is_rc "coffer policy list" 0
run C --token-file "$T/ta.tok" restore-session show "$SA" --wait; is_rc "coffer restore-session show --wait" 0
run C --token-file "$T/ta.tok" audit list --action restoreSession; is_rc "coffer audit list" 0
if grep -q restoreSession.create "$T/out"; then ok "the audit log records the restore session"
else not_ok "the audit log records the restore session" "$(cat "$T/out")"; fi
run C --token-file "$T/ga.tok" token create --tenant "$B" --role auditor cli-made
is_rc "coffer token create of a tenant's auditor by the global admin exits 1" 1
run C --token-file "$T/ga.tok" token create --tenant "$B" --role auditor \
	--break-glass "beta's admins lost their tokens; ticket 4711" cli-made
is_rc "coffer token create --break-glass" 0
if grep -q "cft_" "$T/out"; then ok "token create shows the secret once"; else not_ok "token create shows the secret once" "$(cat "$T/out")"; fi
api "${TOK[B.auditor]}" GET "/v1/tenants/$B/auditLog?action=token.create.breakGlass"
if [ "$(j '[.items[] | select(.detail.breakGlass == "beta'"'"'s admins lost their tokens; ticket 4711")] | length')" = 1 ] &&
	[ "$(j '.items[0].actor')" != system ]; then
	ok "a break-glass token is in the tenant's own audit log with who and why"
else not_ok "a break-glass token is in the tenant's own audit log with who and why" "$(head -c 400 "$T/resp")"; fi
run C --server http://127.0.0.1:1 --token-file "$T/ga.tok" tenant list; is_rc "an unreachable server exits 1" 1
for cmd in "policy activate $PA" "policy create --unit $UA p-cli" "restore-session create $UA"; do
	# shellcheck disable=SC2086 # the words of the command
	run C --token-file "$T/ga.tok" $cmd
	is_rc "coffer ${cmd%% -*} with a token of no tenant exits 2 (no leak)" 2
done
if grep -q -- "--tenant" "$T/err"; then ok "the CLI says to give --tenant"
else not_ok "the CLI says to give --tenant" "$(cat "$T/err")"; fi
run C --token-file "$T/ta.tok" unit list --bogus 1; is_rc "an unknown CLI option exits 2" 2
if grep -q -- '"--bogus"' "$T/err"; then ok "the unknown CLI option is named"
else not_ok "the unknown CLI option is named" "$(cat "$T/err")"; fi

# ---- what the audit log holds ----
api "$GA" GET "/v1/auditLog?limit=1000"
for action in tenant.create token.create token.revoke protectionUnit.create \
	protectionPolicy.create protectionPolicy.update protectionUnit.backup \
	restoreSession.create restorePoint.list; do
	if [ "$(j "[.items[] | select(.action == \"$action\")] | length")" -gt 0 ]; then
		ok "the audit log records $action"
	else
		not_ok "the audit log records $action" "no entry"
	fi
done
leaked=0
for s in "$GA" "${TOK[@]}"; do
	grep -qF -- "$s" "$T/serve.err" "$DATA/catalog.db"* 2>/dev/null && leaked=1
done
if [ $leaked = 0 ]; then ok "no token secret in the server log or the catalog"
else not_ok "no token secret in the server log or the catalog" "found one"; fi
if grep -q 'http method=GET path=/v1/whoami status=200' "$T/serve.err" &&
   grep -q "token=${TOKID[A.tenantAdmin]}" "$T/serve.err"; then
	ok "one log line per request with status and token id"
else not_ok "one log line per request with status and token id" "$(grep -m2 http "$T/serve.err")"; fi

# ---- metrics ----
code=$(curl -s -o "$T/resp" -w '%{http_code}' "$URL/metrics")
expect "/metrics without a token on loopback: 200" 200
says "/metrics is Prometheus text" "coffer_"

# ---- audit verification: intact, altered, newest removed ----
run C --token-file "$T/ga.tok" audit verify; is_rc "coffer audit verify on an intact log" 0
N=$(sqlite3 -cmd ".timeout 10000" "$DATA/catalog.db" 'SELECT max(seq) FROM audit')
MID=$((N / 2))
sqlite3 -cmd ".timeout 10000" "$DATA/catalog.db" "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;
	CREATE TABLE saved AS SELECT * FROM audit WHERE seq = $MID;
	UPDATE audit SET detail = '{\"forged\":1}' WHERE seq = $MID;"
run C --token-file "$T/ga.tok" audit verify; is_rc "audit verify detects an altered entry (exit 4)" 4
if grep -q "$MID" "$T/err"; then ok "audit verify names the altered entry $MID"
else not_ok "audit verify names the altered entry $MID" "$(cat "$T/err")"; fi
api "${TOK[A.auditor]}" GET "/v1/tenants/$A/auditLog/verify"
if [ "$code" = 200 ] && [ "$(j .ok)" = false ] && j .error | grep -q "$MID"; then
	ok "a tenant's auditor verifying the chain is told of the altered entry $MID"
else not_ok "a tenant's auditor verifying the chain is told of the altered entry $MID" "$code $(cat "$T/resp")"; fi
sqlite3 -cmd ".timeout 10000" "$DATA/catalog.db" "UPDATE audit SET detail = (SELECT detail FROM saved) WHERE seq = $MID; DROP TABLE saved;"
run C --token-file "$T/ga.tok" audit verify; is_rc "audit verify passes once the entry is put back" 0
api "${TOK[A.auditor]}" GET "/v1/tenants/$A/auditLog/verify"
if [ "$(j .ok)/$(j .scope)/$(j .entries)" = "true/service/null" ]; then
	ok "a tenant's auditor sees the chain intact, not how many entries other tenants made"
else not_ok "a tenant's auditor sees the chain intact, not how many entries other tenants made" "$(cat "$T/resp")"; fi
N=$(sqlite3 -cmd ".timeout 10000" "$DATA/catalog.db" 'SELECT max(seq) FROM audit')
sqlite3 -cmd ".timeout 10000" "$DATA/catalog.db" "DELETE FROM audit WHERE seq = $N"
run C --token-file "$T/ga.tok" audit verify; is_rc "audit verify detects a removed newest entry (exit 4)" 4
if grep -q "$N" "$T/err"; then ok "audit verify names the missing entry $N"
else not_ok "audit verify names the missing entry $N" "$(cat "$T/err")"; fi
head -c 300 /dev/zero | tr '\0' 1 >"$DATA/audit.head"
run C --token-file "$T/ga.tok" audit verify; is_rc "audit verify detects an oversized head file (exit 4)" 4
if grep -q "audit.head is 300 bytes" "$T/err"; then ok "audit verify names the oversized head file"
else not_ok "audit verify names the oversized head file" "$(cat "$T/err")"; fi

# ---- load: 1,000 requests from 50 clients while a backup runs ----
mkdir -p "$T/src-a/big"
for i in $(seq 1 80); do head -c 5000000 /dev/urandom >"$T/src-a/big/f$i"; done
api "$TA" POST "$U_A/backup"; expect "a backup for the load test is queued" 202
running() {
	api "$TA" GET "$T_A/jobs?kind=backup&state=running&unit=$UA"
	[ "$(j '.items | length')" -gt 0 ] 2>/dev/null
}
for _ in $(seq 1 150); do running && break; sleep 0.2; done
if running; then ok "the backup runs when the load starts"
else not_ok "the backup runs when the load starts" "$(head -c 300 "$T/resp")"; fi
python3 - "$URL" "$TA" "$A" "$UA" >"$T/load.out" 2>&1 <<'PY'
import sys, threading, time, urllib.request
url, tok, tenant, unit = sys.argv[1:5]
paths = [f"/v1/tenants/{tenant}/protectionUnits", f"/v1/tenants/{tenant}/protectionUnits/{unit}",
         f"/v1/tenants/{tenant}/protectionUnits/{unit}/restorePoints",
         f"/v1/tenants/{tenant}/jobs", f"/v1/tenants/{tenant}/protectionPolicies", "/v1/whoami"]
lat, errors, lock = [], [], threading.Lock()
def worker(k):
    for i in range(20):
        p = paths[(k + i) % len(paths)]
        req = urllib.request.Request(url + p, headers={"Authorization": "Bearer " + tok})
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                r.read()
                ok = r.status == 200
        except Exception as e:
            ok = False
            with lock: errors.append(f"{p}: {e}")
        dt = (time.monotonic() - t0) * 1000
        with lock:
            lat.append(dt)
            if not ok and len(errors) == 0: errors.append(p)
threads = [threading.Thread(target=worker, args=(k,)) for k in range(50)]
t0 = time.monotonic()
for t in threads: t.start()
for t in threads: t.join()
wall = time.monotonic() - t0
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
print(f"requests={len(lat)} errors={len(errors)} p50_ms={q(0.50):.1f} p95_ms={q(0.95):.1f} "
      f"p99_ms={q(0.99):.1f} max_ms={lat[-1]:.1f} wall_s={wall:.2f}")
for e in errors[:3]: print("error:", e)
PY
cat "$T/load.out"
if running; then echo "# the backup was still running when the load ended"
else echo "# the backup ended during the load"; fi
if grep -q "requests=1000 errors=0" "$T/load.out"; then ok "1,000 requests from 50 clients during a backup: no errors"
else not_ok "1,000 requests from 50 clients during a backup: no errors" "$(head -3 "$T/load.out" | tr '\n' ' ')"; fi

# ---- a clean stop ----
serve_stop
if sanitizer "$T/serve.err"; then not_ok "the server ran without sanitizer reports" "$(grep -m1 -E 'Sanitizer|runtime error' "$T/serve.err")"
else ok "the server ran without sanitizer reports"; fi

# ---- HTTPS when a certificate and key are configured ----
TPORT=$((PORT + 1))
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/tls.key" -out "$T/tls.crt" 2>/dev/null
cat >"$T/serve.conf" <<EOF
data = $T/data-tls
listen = 127.0.0.1:$TPORT
tls_cert = $T/tls.crt
tls_key = $T/tls.key
EOF
URL=https://127.0.0.1:$TPORT
CURL_OPTS=(--cacert "$T/tls.crt")
serve_start serve-tls "$URL" --config "$T/serve.conf"
code=$(curl -s --cacert "$T/tls.crt" -o "$T/resp" -w '%{http_code}' "$URL/v1/health")
expect "HTTPS with the configured certificate" 200
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TPORT/v1/health")
if [ "$code" != 200 ]; then ok "plain HTTP is not served on the TLS port"
else not_ok "plain HTTP is not served on the TLS port" "HTTP $code"; fi
head -1 "$T/serve-tls.out" >"$T/ga-tls.tok"
run env COFFER_CACERT="$T/tls.crt" "$COFFER" --server "$URL" --token-file "$T/ga-tls.tok" tenant list
is_rc "the CLI talks HTTPS (COFFER_CACERT)" 0
serve_stop

# ---- an IPv6 listen address ----
V6PORT=$((PORT + 2))
cat >"$T/serve.conf" <<EOF
data = $T/data-v6
listen = [::1]:$V6PORT
EOF
CURL_OPTS=(-g)
if serve_start serve-v6 "http://[::1]:$V6PORT" --config "$T/serve.conf"; then
	ok "coffer serve answers on listen = [::1]:PORT"
else not_ok "coffer serve answers on listen = [::1]:PORT" "$(serve_why serve-v6)"; fi
serve_stop
finish
