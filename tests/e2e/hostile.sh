#!/usr/bin/env bash
# Hostile clients against a real `coffer serve` (the findings of a black-box
# probe, one section each): log lines forged through values (8), NUL bytes
# in JSON strings, the URL and headers (9), invalid UTF-8 (10), files of the
# data folder readable by others (11), two Content-Lengths (12), /metrics
# across tenants (13), and slow clients that trickle their headers (6).
# Each check fails on a server without the fix.
. "$(dirname "$0")/lib.sh"

PORT=${HOSTILE_PORT:-18610}
URL=http://127.0.0.1:$PORT
DATA=$T/data
ROOT=$T/roots
API_MAX_TIME=30
HEADER_TIMEOUT=3
PER_IP=40

# The data folder exists already, made by hand 0755: the service must
# narrow it.
mkdir -m 0755 "$DATA"
mkdir -p "$ROOT/alpha/docs" "$ROOT/beta/docs"
echo hello >"$ROOT/alpha/docs/a.txt"
echo beta >"$ROOT/beta/docs/b.txt"
cat >"$T/serve.conf" <<EOF
data = $DATA
listen = 127.0.0.1:$PORT
workers = 2
min_frequency = 1
folder_root = $ROOT
request_timeout = 30
header_timeout = $HEADER_TIMEOUT
max_connections = 300
max_connections_per_ip = $PER_IP
EOF

# The server runs with 256 file descriptors (as a service might with a
# low limit): 300 slow clients would take them all without limits of its own.
printf '#!/bin/sh\nulimit -n 256 && exec "%s" "$@"\n' "$COFFER" >"$T/coffer-256"
chmod +x "$T/coffer-256"
if ! COFFER=$T/coffer-256 serve_start serve "$URL" --config "$T/serve.conf"; then
	not_ok "hostile: coffer serve starts" "$(serve_why serve)"
	finish
fi
GA=$(head -1 "$T/serve.out")
GTOK=$GA # for lib.sh's tenant
LOG=$T/serve.err

# raw NAME BYTES: sends BYTES (a Python bytes literal, GATOKEN replaced by
# $GA, TOKEN by $TA) on one connection; the answer's status in $code, its
# body in $T/resp.
raw() {
	code=$(python3 - "$PORT" "$2" "$TA" "$T/resp" "$GA" <<'PY'
import ast, socket, sys
port, lit, tok, out = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), sys.argv[4]
data = ast.literal_eval(lit).replace(b"GATOKEN", sys.argv[5].encode()).replace(b"TOKEN", tok)
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(data)
buf = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
except OSError:
    pass
head, _, body = buf.partition(b"\r\n\r\n")
open(out, "wb").write(body)
parts = head.split(b" ")
print(parts[1].decode() if len(parts) > 1 else "none")
PY
)
}

if tenant alpha A TA && tenant beta B TB; then
	ok "hostile: two tenants with an admin each"
else not_ok "hostile: two tenants with an admin each" "$(head -c 300 "$T/resp")"; finish; fi
api "$TA" POST "/v1/tenants/$A/tokens" '{"name":"aud","role":"auditor"}'; AUD=$(j .secret)
api "$TA" POST "/v1/tenants/$A/protectionUnits" \
	"{\"name\":\"docs\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$ROOT/alpha/docs\"}}"
UA=$(j .id)
api "$TB" POST "/v1/tenants/$B/protectionUnits" \
	"{\"name\":\"docs\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$ROOT/beta/docs\"}}"
UB=$(j .id)
api "$TA" POST "/v1/tenants/$A/protectionUnits/$UA/backup"
api "$TB" POST "/v1/tenants/$B/protectionUnits/$UB/backup"
has_point() { [ "$(q "$1" "/v1/tenants/$2/protectionUnits/$3/restorePoints" '.items | length')" -ge 1 ] 2>/dev/null; }
if until_true 60 has_point "$TA" "$A" "$UA" && until_true 60 has_point "$TB" "$B" "$UB"; then
	ok "hostile: each tenant's unit has a restore point"
else not_ok "hostile: each tenant's unit has a restore point" "$(why "$LOG")"; fi

# ---- 11: every file the service made is private ----
open_files=$(find "$DATA" -perm /077 -printf '%m %p\n' | head -5)
if [ -z "$open_files" ]; then ok "hostile 11: nothing under DATA is open to group or others (0600/0700)"
else not_ok "hostile 11: nothing under DATA is open to group or others (0600/0700)" "$open_files"; fi
if [ "$(stat -c %a "$DATA")" = 700 ]; then ok "hostile 11: the data folder made 0755 by hand is narrowed to 0700"
else not_ok "hostile 11: the data folder made 0755 by hand is narrowed to 0700" "mode $(stat -c %a "$DATA")"; fi

# ---- 8: values cannot forge log lines ----
# A fake job.end of beta's: behind a newline in a folder path (a line of its
# own), and as spaces and '=' in names (pairs added to a real line).
FAKE="coffer: event=job.end job=999 kind=backup tenant=$B unit=$UB state=succeeded seconds=0.1"
PAIRS="x job=999 tenant=$B state=succeeded"
api "$TA" POST "/v1/tenants/$A/protectionUnits" \
	"{\"name\":\"$PAIRS\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$ROOT/alpha/gone\\n$FAKE\"}}"
UF=$(j .id)
if [ "$code" = 201 ]; then ok "hostile 8: a unit with '=' in its name and a newline in its path is created"
else not_ok "hostile 8: a unit with '=' in its name and a newline in its path is created" "HTTP $code $(head -c 200 "$T/resp")"; fi
api "$TA" POST "/v1/tenants/$A/protectionPolicies" \
	"{\"name\":\"p $PAIRS\",\"kind\":\"account\",\"units\":[\"$UF\"],\"rules\":[{\"type\":\"subfolders\",\"path\":\"$ROOT/alpha/r\\r\\n$FAKE\"}],\"frequencySeconds\":3600,\"state\":\"active\"}"
api "$TA" POST "/v1/tenants/$A/protectionUnits/$UF/backup"
api "$TA" GET "/v1/tenants/$A/x%0A${FAKE// /%20}"
# The backup fails (no such folder): its job.end line carries the path.
failed() { [ "$(q "$TA" "/v1/tenants/$A/jobs?unit=$UF&state=failed" '.items | length')" -ge 1 ] 2>/dev/null; }
until_true 60 failed
sleep 2 # a scheduler tick: the policy's rule and unit are logged
# Reads each line as logfmt (key=value, key="quoted \" value"): a pair
# job=999 is forged, whether on a line of its own or added to a real one.
python3 - "$LOG" >"$T/forged.out" <<'PY'
import re, sys
pair = re.compile(r'([A-Za-z_.]+)=("(?:[^"\\]|\\.)*"|[^ ]*)')
forged = seen = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if "999" not in line:
        continue
    seen += 1
    if any(k == "job" and v == "999" for k, v in pair.findall(line)):
        forged += 1
        print("forged:", line.strip()[:200])
print(f"forged={forged} seen={seen}")
PY
if grep -q '^forged=0 seen=[1-9]' "$T/forged.out" && [ "$(sed -n 's/.*seen=//p' "$T/forged.out")" -ge 3 ]; then
	ok "hostile 8: no log line carries a forged pair; the values are there, escaped ($(tail -1 "$T/forged.out"))"
else not_ok "hostile 8: no log line carries a forged pair; the values are there, escaped" "$(head -2 "$T/forged.out" | tr '\n' ' ')"; fi
if grep -q "[[:cntrl:]]" <(tr -d '\n' <"$LOG"); then
	not_ok "hostile 8: no control character reaches the log raw" "$(grep -m1 -n '[[:cntrl:]]' "$LOG" | head -c 200)"
else ok "hostile 8: no control character reaches the log raw"; fi

# ---- 9: NUL bytes are refused, never cut ----
api "$TA" POST "/v1/tenants/$A/protectionUnits" \
	"{\"name\":\"cut\\u0000tail\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$ROOT/alpha/docs\"}}"
expect "hostile 9: \\u0000 in a name: 400" 400; says "hostile 9: the 400 says NUL" "NUL"
api "$TA" GET "/v1/tenants/$A/protectionUnits?namePrefix=cut"
if [ "$(j '.items | length')" = 0 ]; then ok "hostile 9: no unit stored under the cut name"
else not_ok "hostile 9: no unit stored under the cut name" "$(head -c 300 "$T/resp")"; fi
api "$TA" POST "/v1/tenants/$A/protectionUnits" \
	"{\"name\":\"nulpath\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$ROOT/alpha/docs\\u0000/../../beta/docs\"}}"
expect "hostile 9: \\u0000 in a folder path: 400" 400
api "$TA" POST "/v1/tenants/$A/protectionPolicies" '{"name\u0000x":"p-nul","kind":"account"}'
expect "hostile 9: \\u0000 in a field name: 400" 400
api "" GET "/v1/health%00/anything"
expect "hostile 9: %00 in the URL path: 400" 400; says "hostile 9: the 400 names %00" "%00"
api "$TA" GET "/v1/tenants/$A/protectionUnits?namePrefix=a%00b"
expect "hostile 9: %00 in a query value: 400" 400
raw x "b'GET /v1/whoami HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer TOKEN\\x00junk\\r\\nConnection: close\\r\\n\\r\\n'"
expect "hostile 9: a NUL byte in the Authorization header: 400" 400
says "hostile 9: the 400 names the header" "Authorization"
raw x "b'GET /v1/whoami HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer TOKEN\\x00\\r\\nConnection: close\\r\\n\\r\\n'"
expect "hostile 9: a NUL byte ending the Authorization header: 400" 400
raw x "b'GET /v1/whoami HTTP/1.1\\r\\nAuthorization: Bearer TOKEN\\x00junk\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'"
expect "hostile 9: a NUL byte in a header followed by others: 400" 400
raw x "b'GET /v1/whoami\\x00/junk HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer TOKEN\\r\\nConnection: close\\r\\n\\r\\n'"
expect "hostile 9: a raw NUL byte in the request target: 400" 400
raw x "b'GET /v1/whoami HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer TOKEN\\r\\nConnection: close\\r\\n\\r\\n'"
expect "hostile 9: the same request without NUL: 200" 200

# ---- 10: invalid UTF-8 is refused ----
api "$TA" POST "/v1/tenants/$A/protectionPolicies" $'{"name":"bad\xff\xfename","kind":"account"}'
expect "hostile 10: invalid UTF-8 in a policy name: 400" 400; says "hostile 10: the 400 says UTF-8" "UTF-8"
api "$GA" POST /v1/tenants $'{"name":"over\xc0\xaflong"}'
expect "hostile 10: an overlong UTF-8 form in a tenant name: 400" 400
api "$GA" POST /v1/tenants $'{"name":"cut\xe2\x82"}'
expect "hostile 10: a UTF-8 character cut short in a tenant name: 400" 400
api "$TA" POST "/v1/tenants/$A/protectionPolicies" '{"name":"sur\ud800rogate","kind":"account"}'
expect "hostile 10: an unpaired surrogate escape: 400" 400
api "$TA" POST "/v1/tenants/$A/protectionPolicies" '{"name":"pair \ud83d\ude00 ok","kind":"account"}'
expect "hostile 10: a surrogate pair (an emoji) is accepted: 201" 201
api "$TA" POST "/v1/tenants/$A/protectionPolicies" $'{"name":"caf\xc3\xa9","kind":"account"}'
expect "hostile 10: valid UTF-8 (café) is accepted: 201" 201
api "$GA" GET "/v1/tenants/%ff%fe"
expect "hostile 10: invalid UTF-8 in the URL path: 400" 400
api "$TA" GET "/v1/tenants/$A/protectionUnits?namePrefix=%c0%af"
expect "hostile 10: invalid UTF-8 in a query value: 400" 400
raw x "b'GET /v1/tenants/\\xff HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer GATOKEN\\r\\nConnection: close\\r\\n\\r\\n'"
expect "hostile 10: a raw invalid byte in the request target: 400" 400
all_json=1
for p in "/v1/tenants/$A/protectionUnits" "/v1/tenants/$A/protectionPolicies" "/v1/tenants/$A/jobs"; do
	api "$TA" GET "$p?limit=1000"
	iconv -f UTF-8 -t UTF-8 "$T/resp" >/dev/null 2>&1 && jq -e . "$T/resp" >/dev/null 2>&1 || all_json=0
done
api "$GA" GET "/v1/tenants?limit=1000"
iconv -f UTF-8 -t UTF-8 "$T/resp" >/dev/null 2>&1 && jq -e . "$T/resp" >/dev/null 2>&1 || all_json=0
if [ $all_json = 1 ]; then ok "hostile 10: every list is still UTF-8 JSON"
else not_ok "hostile 10: every list is still UTF-8 JSON" "$(head -c 200 "$T/resp")"; fi

# ---- 12: one Content-Length, never two, never with chunked ----
BODY='{"name":"smuggled","kind":"account"}'
raw x "b'POST /v1/tenants/$A/protectionPolicies HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer TOKEN\\r\\nContent-Type: application/json\\r\\nContent-Length: ${#BODY}\\r\\nContent-Length: 5\\r\\nConnection: close\\r\\n\\r\\n$BODY'"
expect "hostile 12: two different Content-Length headers: 400" 400
raw x "b'POST /v1/tenants/$A/protectionPolicies HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer TOKEN\\r\\nContent-Type: application/json\\r\\nContent-Length: 5\\r\\nTransfer-Encoding: chunked\\r\\nConnection: close\\r\\n\\r\\n$(printf '%x' ${#BODY})\\r\\n$BODY\\r\\n0\\r\\n\\r\\n'"
expect "hostile 12: Content-Length with Transfer-Encoding: chunked: 400" 400
api "$TA" GET "/v1/tenants/$A/protectionPolicies?limit=1000"
if [ "$(j '[.items[] | select(.name == "smuggled")] | length')" = 0 ]; then
	ok "hostile 12: neither smuggled body was acted on"
else not_ok "hostile 12: neither smuggled body was acted on" "$(head -c 300 "$T/resp")"; fi

# ---- 13: /metrics shows a tenant only its own series ----
api "$TA" GET /metrics
if [ "$code" = 200 ] && grep -q "tenant=\"$A\"" "$T/resp" && grep -q "unit=\"$UA\"" "$T/resp" &&
   ! grep -q -e "$B" -e "$UB" "$T/resp"; then
	ok "hostile 13: alpha's admin sees alpha's series, none of beta's"
else not_ok "hostile 13: alpha's admin sees alpha's series, none of beta's" "HTTP $code $(grep -m2 -e "$B" "$T/resp")"; fi
if grep -v '^#' "$T/resp" | grep -qv 'tenant="'; then
	not_ok "hostile 13: a tenant's token gets no service-wide series" "$(grep -v '^#' "$T/resp" | grep -m1 -v 'tenant="')"
else ok "hostile 13: a tenant's token gets no service-wide series"; fi
api "$AUD" GET /metrics
if [ "$code" = 200 ] && grep -q "tenant=\"$A\"" "$T/resp" && ! grep -q "$B" "$T/resp"; then
	ok "hostile 13: alpha's auditor sees alpha's series only"
else not_ok "hostile 13: alpha's auditor sees alpha's series only" "HTTP $code"; fi
api "$TB" GET /metrics
if ! grep -q -e "$A" -e "$UA" "$T/resp" && grep -q "unit=\"$UB\"" "$T/resp"; then
	ok "hostile 13: beta's admin sees beta's series only"
else not_ok "hostile 13: beta's admin sees beta's series only" "HTTP $code"; fi
api "$GA" GET /metrics
if grep -q "unit=\"$UA\"" "$T/resp" && grep -q "unit=\"$UB\"" "$T/resp" && grep -q '^coffer_queue_depth' "$T/resp"; then
	ok "hostile 13: the global admin sees every tenant and the service-wide series"
else not_ok "hostile 13: the global admin sees every tenant and the service-wide series" "$(head -c 300 "$T/resp")"; fi

# ---- 6: slow clients ----
# 300 connections from 127.0.0.1 each send one header byte a second (the
# idle timeout of 30 s never fires): more than the server's 256 file
# descriptors. Meanwhile /v1/health is asked every second from 127.0.0.2
# (another client address; still loopback).
python3 - "$PORT" "$HEADER_TIMEOUT" >"$T/slow.out" 2>&1 <<'PY'
import http.client, select, socket, sys, threading, time
port, header_timeout = int(sys.argv[1]), int(sys.argv[2])
N, RUN = 300, header_timeout + 12
health = []
def prober():
    t_end = time.monotonic() + RUN - 1
    while time.monotonic() < t_end:
        t0 = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                           source_address=("127.0.0.2", 0))
            c.request("GET", "/v1/health")
            st = c.getresponse().status
            c.close()
        except Exception as e:
            st = repr(e)
        health.append((st, time.monotonic() - t0))
        time.sleep(1)
socks, opened, born, died = [], 0, {}, {}
start = time.monotonic()
for i in range(N):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setblocking(False)
        socks.append(s)
        born[s] = time.monotonic()
        opened += 1
    except OSError:
        pass
th = threading.Thread(target=prober)
th.start()
first = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: "
max_alive, step = 0, 0
while time.monotonic() - start < RUN:
    alive = [s for s in socks if s not in died]
    for s in alive:
        try:
            s.send(first if step == 0 else b"a")
        except OSError:
            died[s] = time.monotonic()
    time.sleep(0.5)
    alive = [s for s in socks if s not in died]
    if alive:
        r, _, _ = select.select(alive, [], [], 0)
        for s in r:
            try:
                if not s.recv(4096):
                    died[s] = time.monotonic()
            except OSError:
                died[s] = time.monotonic()
    alive = [s for s in socks if s not in died]
    if time.monotonic() - start > 1.5:
        max_alive = max(max_alive, len(alive))
    step += 1
    time.sleep(0.5)
th.join()
still = len([s for s in socks if s not in died])
lives = [died[s] - born[s] for s in died]
ok_h = len([h for h in health if h[0] == 200])
print(f"opened={opened} max_alive={max_alive} still_open={still} "
      f"longest_life={max(lives) if lives else 0:.1f} health_ok={ok_h} health_total={len(health)} "
      f"health_slowest={max(h[1] for h in health) if health else 0:.1f}")
for h in health:
    if h[0] != 200:
        print("health failure:", h)
PY
cat "$T/slow.out"
val() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" "$T/slow.out" | head -1; }
if [ "$(val health_total)" -ge 5 ] 2>/dev/null && [ "$(val health_ok)" = "$(val health_total)" ]; then
	ok "hostile 6: /v1/health answers 200 within 10 s throughout the slow-client attack"
else not_ok "hostile 6: /v1/health answers 200 within 10 s throughout the slow-client attack" "$(head -3 "$T/slow.out" | tr '\n' ' ')"; fi
if [ "$(val still_open)" = 0 ]; then ok "hostile 6: every trickling connection is closed (header deadline $HEADER_TIMEOUT s)"
else not_ok "hostile 6: every trickling connection is closed (header deadline $HEADER_TIMEOUT s)" "$(head -1 "$T/slow.out")"; fi
if awk -v l="$(val longest_life)" -v h="$HEADER_TIMEOUT" 'BEGIN { exit !(l <= h + 8) }'; then
	ok "hostile 6: none lived much past the header deadline (longest $(val longest_life) s)"
else not_ok "hostile 6: none lived much past the header deadline" "$(head -1 "$T/slow.out")"; fi
if [ "$(val max_alive)" -le "$PER_IP" ] 2>/dev/null; then
	ok "hostile 6: at most max_connections_per_ip ($PER_IP) of them were served at once"
else not_ok "hostile 6: at most max_connections_per_ip ($PER_IP) of them were served at once" "$(head -1 "$T/slow.out")"; fi
api "$TA" GET /v1/whoami; expect "hostile 6: the server answers normally after the attack" 200
if grep -q 'end=deadline' "$LOG"; then ok "hostile 6: the log says connections were cut at the deadline"
else not_ok "hostile 6: the log says connections were cut at the deadline" "$(tail -2 "$LOG" | tr '\n' ' ')"; fi

# ---- a clean stop ----
serve_stop
if [ "$stop_rc" = 0 ]; then ok "hostile: the server stops cleanly"
else not_ok "hostile: the server stops cleanly" "exit $stop_rc"; fi
if sanitizer "$LOG"; then not_ok "hostile: no sanitizer report" "$(grep -m1 -E 'Sanitizer|runtime error' "$LOG")"
else ok "hostile: no sanitizer report"; fi
finish
