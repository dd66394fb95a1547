#!/bin/bash
# Where tenants may point sources (docs/service.md "Configuration",
# source_allow / source_deny; docs/imap.md "Where the service may connect"):
# a tenant admin must not use an IMAP unit to reach the server's own loopback
# services. A fake service on loopback sends an SSH-like banner; with the
# default settings a unit pointed at it is refused at creation (names and
# other spellings of loopback too); allowed by the operator, its backup fails
# without the banner in lastError; a unit created while allowed and backed up
# after the allowance is gone (a host name whose address changed) is refused
# at connect time, before any connection, with the same message whether the
# port is open or closed. The standalone CLI is not restricted. A real
# coffer serve on loopback ports 18860-18869, driven with curl and jq.
. "$(dirname "$0")/lib.sh"

for tool in curl jq python3; do
	command -v $tool >/dev/null || { not_ok "ssrf: $tool is installed" "missing"; exit 1; }
done
PORT=18860    # coffer serve
FPORT=18861   # the fake service: a line-based banner
BPORT=18862   # the fake service: a binary banner without a line end
CPORT=18863   # nothing listens here
BANNER=secret-banner-4f7c
FAKE_PID=

stop_all() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
	cleanup
}
trap stop_all EXIT

# The fake service: every connection is counted in $T/conns, then gets its
# banner and is held open a while (as an SSH server waits for the client).
cat >"$T/fake.py" <<'EOF'
import socket, sys, threading, time
log, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
banners = {ports[0]: b"SSH-2.0-OpenSSH_9.2 secret-banner-4f7c\r\n",
           ports[1]: b"\x4a\x00\x00\x00\x0a8.0.36 secret-banner-4f7c\x00"}
lock = threading.Lock()

def serve(c, port):
    with lock, open(log, "a") as f:
        f.write("%d\n" % port)
    try:
        c.sendall(banners[port])
        c.settimeout(5)
        while c.recv(4096):
            pass
    except OSError:
        pass
    c.close()

def listen(family, addr, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, port), daemon=True).start()

threads = [threading.Thread(target=listen, args=(socket.AF_INET, "127.0.0.1", p), daemon=True)
           for p in ports]
for p in ports:   # localhost may resolve to ::1 as well
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
        threads.append(threading.Thread(target=listen, args=(socket.AF_INET6, "::1", p), daemon=True))
    except OSError:
        pass
for t in threads:
    t.start()
time.sleep(3600)
EOF
: >"$T/conns"
python3 "$T/fake.py" "$T/conns" "$FPORT" "$BPORT" &
FAKE_PID=$!
until_true 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $FPORT)).close()" 2>/dev/null ||
	{ not_ok "ssrf: the fake service starts"; exit 1; }
sleep 0.2
: >"$T/conns"
conns() { wc -l <"$T/conns" | tr -d ' '; }

# serve NAME [CONFIG LINES...]: coffer serve on $T/data with a config file
# holding the lines; waits for /v1/health.
serve() {
	local name=$1 line
	shift
	{
		echo "data = $T/data"
		echo "listen = 127.0.0.1:$PORT"
		echo "workers = 2"
		echo "tick_ms = 200"
		echo "min_frequency = 1"
		for line in "$@"; do echo "$line"; done
	} >"$T/$name.conf"
	serve_start "$name" "http://127.0.0.1:$PORT" --config "$T/$name.conf" && return 0
	not_ok "ssrf: coffer serve $name starts" "$(serve_why "$name")"
	exit 1
}

U=/v1/tenants
src() { # HOST PORT
	echo "{\"type\":\"imap\",\"host\":\"$1\",\"port\":$2,\"tls\":\"none\",\"user\":\"ann\",\"auth\":\"login\",\"secret\":\"pw\"}"
}
unit() { # NAME HOST PORT: POST a mailbox unit; the answer in $T/resp, $code
	api "$TOK" POST "$U/$TID/protectionUnits" "{\"name\":\"$1\",\"kind\":\"mailbox\",\"source\":$(src "$2" "$3")}"
}
last_error() { q "$TOK" "$U/$TID/protectionUnits/$1" '.lastError // empty'; }
has_error() { [ -n "$(last_error "$1")" ]; }
# backup_error UNIT: an on-demand backup; its lastError in $T/lasterr.
backup_error() {
	local before
	before=$(q "$TOK" "$U/$TID/protectionUnits/$1" '.failures // 0')
	api "$TOK" POST "$U/$TID/protectionUnits/$1/backup"
	attempted() { [ "$(q "$TOK" "$U/$TID/protectionUnits/$1" '.failures // 0')" != "$before" ] && has_error "$1"; }
	until_true 60 attempted "$1" || { echo "(no failed attempt)" >"$T/lasterr"; return 1; }
	last_error "$1" >"$T/lasterr"
}
leaks() { grep -qE "$BANNER|SSH-2|8\.0\.36" "$@"; }

# ---- 1. the defaults: loopback and friends are refused at creation ----

serve s1
GTOK=$(grep -m1 '^cft_' "$T/s1.out")
api "$GTOK" POST "$U" '{"name":"acme"}'
TID=$(jq -r .id "$T/resp")
api "$GTOK" POST "$U/$TID/tokens" '{"name":"admin","role":"tenantAdmin"}'
TOK=$(jq -r .secret "$T/resp")

unit fake 127.0.0.1 "$FPORT"
if [ "$code" = 400 ] && grep -q "127.0.0.1" "$T/resp" && grep -q source_allow "$T/resp"; then
	ok "ssrf: an imap unit at 127.0.0.1 is refused at creation, naming the host and the setting"
else
	not_ok "ssrf: an imap unit at 127.0.0.1 is refused at creation, naming the host and the setting" \
		"$code $(cat "$T/resp")"
	if [ "$code" = 201 ]; then # the finding: the banner comes back in lastError
		UF=$(jq -r .id "$T/resp")
		backup_error "$UF"
		not_ok "ssrf: (before the fix) lastError of a unit at a non-IMAP port" "$(cat "$T/lasterr")"
	fi
fi
sed "s/$FPORT/PORT/g" "$T/resp" >"$T/open.msg"
unit closed 127.0.0.1 "$CPORT"
sed "s/$CPORT/PORT/g" "$T/resp" >"$T/closed.msg"
if [ "$code" = 400 ] && cmp -s "$T/open.msg" "$T/closed.msg"; then
	ok "ssrf: an open and a closed loopback port get the same refusal"
else
	not_ok "ssrf: an open and a closed loopback port get the same refusal" \
		"$code $(cat "$T/open.msg") / $(cat "$T/closed.msg")"
fi
bad=""
for h in localhost 127.1 127.0.0.2 0.0.0.0 ::1 ::ffff:127.0.0.1 ::ffff:7f00:1 169.254.169.254 \
	fe80::1 100.100.100.200 fd00:ec2::254 ::; do
	unit "x$RANDOM" "$h" "$FPORT"
	[ "$code" = 400 ] && grep -q source_allow "$T/resp" || bad="$bad $h ($code)"
done
if [ -z "$bad" ]; then ok "ssrf: loopback, link-local, metadata and unspecified addresses in every spelling are refused"
else not_ok "ssrf: loopback, link-local, metadata and unspecified addresses in every spelling are refused" "not refused:$bad"; fi
[ "$(conns)" = 0 ] && ok "ssrf: nothing connected to the fake service" ||
	not_ok "ssrf: nothing connected to the fake service" "$(conns) connections"
serve_stop TERM

# ---- 2. the operator allows two loopback ports: not IMAP, and no echo ----

serve s2 "source_allow = 127.0.0.1:$FPORT, [::1]:$FPORT, 127.0.0.1:$BPORT, 127.0.0.1:$CPORT"
unit fake 127.0.0.1 "$FPORT"
expect "ssrf: allowed by source_allow, a unit at 127.0.0.1:$FPORT is created" 201
UF=$(jq -r .id "$T/resp")
unit name localhost "$FPORT"
expect "ssrf: allowed by source_allow, a unit at localhost:$FPORT is created" 201
UN=$(jq -r .id "$T/resp")
unit binary 127.0.0.1 "$BPORT"
UB=$(jq -r .id "$T/resp")
unit closed 127.0.0.1 "$CPORT"
UC=$(jq -r .id "$T/resp")
unit other 127.0.0.1 $((FPORT + 8))
if [ "$code" = 400 ] && grep -q source_allow "$T/resp"; then
	ok "ssrf: a loopback port the allowance does not name is still refused"
else
	not_ok "ssrf: a loopback port the allowance does not name is still refused" "$code $(cat "$T/resp")"
fi

backup_error "$UF"
if grep -q "did not answer as an IMAP server" "$T/lasterr" && ! leaks "$T/lasterr"; then
	ok "ssrf: a non-IMAP peer: lastError says so without its banner"
else
	not_ok "ssrf: a non-IMAP peer: lastError says so without its banner" "$(cat "$T/lasterr")"
fi
# Refused for what it is, not after a read timeout (no wall clock asserted:
# the error names the reason).
backup_error "$UB"
if grep -q "did not answer as an IMAP server" "$T/lasterr" && ! grep -qi "timed out" "$T/lasterr" &&
	! leaks "$T/lasterr"; then
	ok "ssrf: a binary banner without a line end: refused as not IMAP, not echoed"
else
	not_ok "ssrf: a binary banner without a line end: refused as not IMAP, not echoed" \
		"$(cat "$T/lasterr")"
fi
[ "$(conns)" -ge 2 ] && ok "ssrf: (the allowed units did connect)" ||
	not_ok "ssrf: (the allowed units did connect)" "$(conns) connections"
api "$TOK" GET "$U/$TID/jobs?unit=$UF"
! leaks "$T/resp" && ok "ssrf: the jobs list does not show the banner either" ||
	not_ok "ssrf: the jobs list does not show the banner either" "$(head -c 300 "$T/resp")"
serve_stop TERM
if leaks "$T/s2.err" "$T/s2.out"; then
	not_ok "ssrf: the server log does not show the banner" "$(grep -m1 -E "$BANNER|SSH-2" "$T/s2.err")"
else
	ok "ssrf: the server log does not show the banner"
fi

# ---- 3. the allowance is gone (a name now resolving to loopback): refused
# at connect time, before any connection ----

serve s3
: >"$T/conns"
backup_error "$UN"
cp "$T/lasterr" "$T/name.err"
if grep -q "source_allow" "$T/name.err" && ! leaks "$T/name.err"; then
	ok "ssrf: a host name resolving to loopback is refused when the backup connects"
else
	not_ok "ssrf: a host name resolving to loopback is refused when the backup connects" "$(cat "$T/name.err")"
fi
backup_error "$UF"
sed "s/$FPORT/PORT/g; s/$UF/UNIT/g" "$T/lasterr" >"$T/open.err"
backup_error "$UC"
sed "s/$CPORT/PORT/g; s/$UC/UNIT/g" "$T/lasterr" >"$T/closed.err"
if grep -q source_allow "$T/open.err" && cmp -s "$T/open.err" "$T/closed.err"; then
	ok "ssrf: at connect time an open and a closed port get the same refusal"
else
	not_ok "ssrf: at connect time an open and a closed port get the same refusal" \
		"$(cat "$T/open.err") / $(cat "$T/closed.err")"
fi
[ "$(conns)" = 0 ] && ok "ssrf: refused by policy, no connection was made" ||
	not_ok "ssrf: refused by policy, no connection was made" "$(conns) connections"
serve_stop TERM

# ---- 4. operator rules: source_deny wins; a bad entry stops the start ----

serve s4 "source_allow = 127.0.0.0/8" "source_deny = 127.0.0.1:$FPORT"
unit deny1 127.0.0.1 "$FPORT"
if [ "$code" = 400 ] && grep -q source_deny "$T/resp"; then ok "ssrf: source_deny wins over source_allow"
else not_ok "ssrf: source_deny wins over source_allow" "$code $(cat "$T/resp")"; fi
unit deny2 127.0.0.1 "$BPORT"
expect "ssrf: the rest of an allowed block stays allowed" 201
serve_stop TERM
printf 'data = %s\nsource_allow = 10.0.0.0/33\n' "$T/data" >"$T/bad.conf"
run "$COFFER" serve --config "$T/bad.conf"
if [ "$rc" = 2 ] && grep -q "bad.conf:2:.*source_allow" "$T/err"; then ok "ssrf: a bad source_allow entry stops the start naming the line"
else not_ok "ssrf: a bad source_allow entry stops the start naming the line" "exit $rc: $(cat "$T/err")"; fi

# ---- 5. the standalone CLI is the user's own tool: not restricted ----

init_store
echo pw >"$T/pw"
run c mail backup cli --host 127.0.0.1 --port "$FPORT" --tls none --user ann --password-file "$T/pw"
if [ "$rc" != 0 ] && grep -q "did not answer as an IMAP server" "$T/err" && ! leaks "$T/err"; then
	ok "ssrf: coffer mail backup connects to loopback itself (and does not echo the banner)"
else
	not_ok "ssrf: coffer mail backup connects to loopback itself (and does not echo the banner)" \
		"exit $rc: $(tail -2 "$T/err")"
fi

finish
