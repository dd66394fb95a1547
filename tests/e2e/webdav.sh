#!/bin/bash
# The webdav source against a real Apache mod_dav_fs on loopback (ports
# 18780-18789; docs/webdav.md): a tree with odd names, empty collections,
# zero-byte files and a few MB file backed up with `coffer dav backup`
# and restored byte for byte; a second backup downloads nothing (GETs
# counted in Apache's access log), a changed file is the one download of
# the third; a 401 in the middle of the walk, a redirect loop, a stalled
# path and Apache killed mid-backup fail clearly without a restore point,
# and the next backup succeeds; a file changed between its listing and its
# GET is read again; ransomware through WebDAV rolled back in place with
# `coffer dav restore` byte for byte (a second restore writes nothing); a
# file a user changes during a restore kept with the copy beside it; a
# restore to a new collection; through `coffer serve`: a site unit with a
# webdav source (its secret sealed), a policy, a restore point, a restore
# session in place.
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/e2e/lib.sh"
APACHE=$HERE/servers/apache-dav.sh
DPORT=18780 PPORT=18781 PORT=18782 TPORT=18783
export APACHE_DAV_TLS_PORT=$TPORT # the same over TLS, HTTP/2 offered
D=$T/dav
R=$D/root/site # the unit; a new location goes beside it
PROXY_PID=

stop_all() {
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	sh "$APACHE" stop "$D" 2>/dev/null
	cleanup
}
trap stop_all EXIT

PATH=$PATH:/usr/sbin need_tools webdav curl jq python3 sqlite3 apache2
seed_random

# The tree: odd names, empty collections, zero-byte files, a 3 MB file.
# A collection "locked" only bob may read stands for a token that expired
# halfway (401 in the middle of the walk); it is added later.
mkdir -p "$R/a b/empty" "$R/x%y#z?w/deeper/deepest" "$R/é ü" "$R/empty2"
echo "hello" >"$R/a b/f 1.txt"
: >"$R/zero"
: >"$R/a b/zero too"
gen big 3000000 >"$R/big.bin"
echo q >"$R/x%y#z?w/q?.txt"
echo pct >"$R/x%y#z?w/deeper/100%.txt"
echo u >"$R/é ü/naïve ☃.txt"
LONG=$(printf 'l%.0s' $(seq 1 200))
echo long >"$R/$LONG"
[ "$(id -u)" = 0 ] && chown -R nobody:nogroup "$D/root"
# Apache's ETags are weak in the second a file was written (docs/webdav.md):
# the second backup below must see them strong.
find "$R" -exec touch -d '-1 min' {} +

APACHE_DAV_EXTRA_CONF="<Location /dav/site/locked>
  Require user bob
</Location>
Redirect /dav/loop/ http://127.0.0.1:$DPORT/dav/loop/" sh "$APACHE" start "$D" $DPORT >/dev/null 2>"$T/apache.err" ||
	{ not_ok "webdav: apache mod_dav starts" "$(cat "$T/apache.err")"; exit 1; }
ok "webdav: apache mod_dav starts"
URL=http://127.0.0.1:$DPORT/dav/site/
echo secret >"$T/pw"
init_store
# Dead properties a client set, from the start (a unit without any is
# listed without allprop for a day: docs/webdav.md "Incremental backups").
proppatch() { # PATH XML-PROPS
	curl -s -u alice:secret -X PROPPATCH -H 'Content-Type: application/xml' --data \
		"<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:x-coffer-test\"><D:set><D:prop>$2</D:prop></D:set></D:propertyupdate>" \
		"$URL$1" -o /dev/null -w '%{http_code}'
}
propvalue() { # PATH: the Z:color property as Apache lists it
	curl -s -u alice:secret -X PROPFIND -H 'Depth: 0' -H 'Content-Type: application/xml' --data \
		'<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:x-coffer-test"><D:prop><Z:color/></D:prop></D:propfind>' \
		"$URL$1" | tr -d '\n' | grep -o '<[a-z0-9]*:color[^>]*>.*</[a-z0-9]*:color>'
}
FCOLOR='<Z:color xml:lang="fr">rouge <Z:b>é</Z:b></Z:color><Z:tag/>'
equal "webdav: a dead property is set on a file" "PROPPATCH" "$(proppatch 'a%20b/f%201.txt' "$FCOLOR")" 207
equal "webdav: a dead property is set on a collection" "PROPPATCH" "$(proppatch 'a%20b/' '<Z:color>blue</Z:color>')" 207
gets() { grep -c '"GET ' "$D/access.log"; }
points() { c --json restore-points site 2>/dev/null | grep -c '"seq"'; }
backup() { run c --json dav backup "$1" --url "${2:-$URL}" --user alice --password-file "$T/pw"; }

# 1. First backup; the point restored to a folder is the tree.
backup site
is_rc "webdav: the first backup succeeds" 0
equal "webdav: first backup" "files downloaded" "$(jq -r .filesFetched "$T/out")" 8
rm -rf "$T/back" && c restore site@1 --to "$T/back" >/dev/null 2>&1
if diff -r -x .DAV "$R" "$T/back" >"$T/diff" 2>&1; then
	ok "webdav: the restored point is the tree byte for byte (odd names, empty collections, zero-byte files)"
else
	not_ok "webdav: the restored point is the tree byte for byte" "$(head -5 "$T/diff" | tr '\n' ' ')"
fi
c ls site@1 >"$T/ls" 2>&1
assert "webdav: ls lists a name with %, # and ?" grep -q 'x%y#z?w/q?.txt' "$T/ls"
if command -v getfattr >/dev/null; then
	et=$(getfattr --only-values -n user.webdav.etag "$T/back/big.bin" 2>/dev/null)
	[ -n "$et" ] && ok "webdav: the ETag is kept as user.webdav.etag ($et)" ||
		not_ok "webdav: the ETag is kept as user.webdav.etag" "$(getfattr -d "$T/back/big.bin" 2>&1)"
fi

# 1b. Over TLS: the certificate is checked; with the CA that signed it
# (--ca-file) the backup goes through, over HTTP/2 (Apache offers h2).
TURL=https://127.0.0.1:$TPORT/dav/site/
run c dav backup tls --url "$TURL" --user alice --password-file "$T/pw"
is_rc "webdav: over TLS, a certificate from an unknown CA fails the backup" 1
assert "webdav: ... saying the certificate is not trusted, naming the URL" \
	grep -q "PROPFIND $TURL: the server's TLS certificate is not trusted" "$T/err"
run c --json dav backup tls --url "$TURL" --user alice --password-file "$T/pw" --ca-file "$D/ca.pem"
is_rc "webdav: over TLS with the server's CA (--ca-file) the backup succeeds" 0
equal "webdav: over TLS" "files downloaded" "$(jq -r .filesFetched "$T/out")" 8
assert "webdav: over TLS the requests went over HTTP/2" grep -q '"GET /dav/site/big.bin HTTP/2.0" 200' "$D/access.log"

# 2. Nothing changed: nothing downloaded.
g0=$(gets)
backup site
is_rc "webdav: the second backup succeeds" 0
equal "webdav: unchanged tree" "GETs in Apache's log" "$(($(gets) - g0))" 0
equal "webdav: unchanged tree" "files reused" "$(jq -r .filesReused "$T/out")" 8

# 3. One file changed through WebDAV: the one download.
echo "changed" | curl -s -u alice:secret -T - "${URL}a%20b/f%201.txt" -o /dev/null
g0=$(gets)
backup site
is_rc "webdav: the third backup succeeds" 0
equal "webdav: one file changed" "GETs in Apache's log" "$(($(gets) - g0))" 1
c diff site@2 site@3 >"$T/diff" 2>&1
assert "webdav: diff names the changed file" grep -q 'a b/f 1.txt' "$T/diff"

# 4. A 401 in the middle of the walk: a clear error, no point.
mkdir -p "$R/locked" && echo x >"$R/locked/x" && [ "$(id -u)" = 0 ] && chown -R nobody:nogroup "$R/locked"
backup site
is_rc "webdav: a 401 halfway fails the backup" 1
if grep -q '401' "$T/err" && grep -q "${URL}locked/" "$T/err"; then
	ok "webdav: the error names the URL and the 401"
else
	not_ok "webdav: the error names the URL and the 401" "$(cat "$T/err")"
fi
equal "webdav: after the 401" "restore points" "$(points)" 3
rm -rf "$R/locked"

# 5. A wrong password at the start: the same clear error.
echo Zq9notit >"$T/pw.bad"
run c dav backup other --url "$URL" --user alice --password-file "$T/pw.bad"
is_rc "webdav: a wrong password fails" 1
assert "webdav: a wrong password is a 401 naming the user" grep -q '401 Unauthorized.*alice' "$T/err"
assert "webdav: the password is never printed" bash -c "! grep -q Zq9notit '$T/err'"

# 5b. A redirect loop and a server that hangs: clear errors naming the URL.
run c dav backup loop --url "http://127.0.0.1:$DPORT/dav/loop/" --user alice --password-file "$T/pw"
is_rc "webdav: a redirect loop fails" 1
assert "webdav: a redirect loop is named" grep -q 'redirect loop.*\|dav/loop/.*redirect' "$T/err"

# 6. Apache killed mid-backup: through a slowed path, killed 2 s into the
# walk (Apache has sent big.bin into the buffers by then, and the
# collections are listed ahead: the GET of zero, which follows big.bin's,
# fails); the backup fails, no point, the next works.
echo 50 >"$T/delay" # 50 ms a 16 KiB chunk: big.bin takes about 9 s
python3 "$HERE/servers/slowproxy.py" $PPORT 127.0.0.1:$DPORT "$T/delay" "" "$T/cut" >"$T/proxy.out" 2>&1 &
PROXY_PID=$!
until_true 10 grep -q ready "$T/proxy.out"
echo "new content $RANDOM" >>"$R/big.bin"
echo "new content $RANDOM" >>"$R/zero"
(c dav backup site --url "http://127.0.0.1:$PPORT/dav/site/" --user alice --password-file "$T/pw" \
	>"$T/kill.out" 2>"$T/kill.err"; echo $? >"$T/kill.rc") &
bpid=$!
sleep 2
sh "$APACHE" kill "$D"
wait $bpid
rc=$(cat "$T/kill.rc")
cp "$T/kill.err" "$T/err"
is_rc "webdav: Apache killed mid-backup fails the backup" 1
echo "# $(cat "$T/err")"
assert "webdav: the error names the URL" grep -q "http://127.0.0.1:$PPORT/dav/site/" "$T/err"
equal "webdav: after the kill" "restore points" "$(points)" 3
echo 0 >"$T/delay"
sh "$APACHE" start "$D" $DPORT >/dev/null 2>"$T/apache.err"
# A body cut short: the path closes each connection after 1 MB from the
# server, in the middle of big.bin's GET: a clear error naming the file's
# URL, no point.
echo 1000000 >"$T/cut"
echo "new content $RANDOM" >>"$R/big.bin"
run c dav backup site --url "http://127.0.0.1:$PPORT/dav/site/" --user alice --password-file "$T/pw"
is_rc "webdav: a body cut short fails the backup" 1
assert "webdav: the error names the file's URL and the cut" \
	grep -q "GET http://127.0.0.1:$PPORT/dav/site/big.bin: the answer was cut short" "$T/err"
equal "webdav: after the cut body" "restore points" "$(points)" 3
echo 0 >"$T/cut"
backup site
is_rc "webdav: the next backup succeeds" 0
# The path stalled (60 s a chunk) with a 2 s timeout: a clear timeout.
echo 60000 >"$T/delay"
run c dav backup site --source "{\"url\":\"http://127.0.0.1:$PPORT/dav/site/\",\"user\":\"alice\",\"secret\":\"secret\",\"timeoutSeconds\":2}"
is_rc "webdav: a server that hangs fails the backup" 1
assert "webdav: the hang is named a timeout with the URL" grep -q "http://127.0.0.1:$PPORT/dav/site/.*timeout" "$T/err"
echo 0 >"$T/delay"
assert "webdav: check passes" c check

# 6b. A file that changes between its listing and its GET (its ETag moved)
# is listed again (PROPFIND Depth: 0 on the file) and read once more: the
# point holds what it became, with no warning.
echo "before" >"$R/zero"
echo 50 >"$T/delay"
n0=$(grep -c '"PROPFIND /dav/site/ ' "$D/access.log")
(c --json dav backup site --url "http://127.0.0.1:$PPORT/dav/site/" --user alice \
	--password-file "$T/pw" >"$T/moved.out" 2>"$T/moved.err"; echo $? >"$T/moved.rc") &
bpid=$!
until_true 30 eval '[ "$(grep -c "\"PROPFIND /dav/site/ " "$D/access.log")" -gt "$n0" ]'
echo "after the listing" >"$R/zero"
wait $bpid
echo 0 >"$T/delay"
rc=$(cat "$T/moved.rc")
cp "$T/moved.err" "$T/err"
is_rc "webdav: a file changed between listing and GET: the backup succeeds" 0
assert "webdav: the moved file was listed again" grep -q '"PROPFIND /dav/site/zero ' "$D/access.log"
equal "webdav: a file changed between listing and GET" "warnings" "$(jq -r .warnings "$T/moved.out")" 0
equal "webdav: a file changed between listing and GET" "content stored" \
	"$(c restore site@latest --to "$T/mv" zero >/dev/null 2>&1 && cat "$T/mv/zero")" "after the listing"

# 7. Ransomware through WebDAV: every file's bytes written encrypted to
# NAME.locked, the original deleted, one file overwritten in place; then
# the last point restored in place: the tree byte for byte again, and the
# dead properties a client set (on a file, which the deletion takes with
# it, and on a collection, which the attacker changes) are back.
F_BEFORE=$(propvalue 'a%20b/f%201.txt') C_BEFORE=$(propvalue 'a%20b/')
backup site
is_rc "webdav: a backup with dead properties succeeds" 0
c restore site@latest --to "$T/ref" >/dev/null 2>&1
if command -v getfattr >/dev/null; then
	assert "webdav: the dead properties are kept with the entry (user.webdav.props)" \
		grep -q 'urn:x-coffer-test' <(getfattr --only-values -n user.webdav.props "$T/ref/a b/f 1.txt" 2>&1)
fi
proppatch 'a%20b/' '<Z:color>pwned</Z:color>' >/dev/null
python3 "$HERE/servers/ransomware.py" "$R" "$URL"
curl -s -u alice:secret -X MKCOL "${URL}READ%20ME/" -o /dev/null # and its notes
echo "pay" | curl -s -u alice:secret -T - "${URL}READ%20ME/note.txt" -o /dev/null
if diff -r -x .DAV "$R" "$T/ref" >/dev/null 2>&1; then
	not_ok "webdav: ransomware changed the tree" "no difference"
else
	ok "webdav: ransomware changed the tree"
fi
g0=$(grep -c '"PUT ' "$D/access.log")
run c --json dav restore site@latest --url "$URL" --user alice --password-file "$T/pw"
is_rc "webdav: the in-place restore succeeds" 0
if diff -r -x .DAV "$R" "$T/ref" >"$T/diff" 2>&1; then
	ok "webdav: after the in-place restore the server's tree is the point byte for byte"
else
	not_ok "webdav: after the in-place restore the server's tree is the point byte for byte" "$(head -5 "$T/diff" | tr '\n' ' ')"
fi
equal "webdav: in-place restore" "files written (PUT)" "$(($(grep -c '"PUT ' "$D/access.log") - g0))" 8
F_AFTER=$(propvalue 'a%20b/f%201.txt') C_AFTER=$(propvalue 'a%20b/')
if [ -n "$F_BEFORE" ] && [ "$F_AFTER" = "$F_BEFORE" ] && [ "$C_AFTER" = "$C_BEFORE" ]; then
	ok "webdav: the in-place restore puts the dead properties back (PROPPATCH)"
else
	not_ok "webdav: the in-place restore puts the dead properties back" "file [$F_BEFORE] -> [$F_AFTER], collection [$C_BEFORE] -> [$C_AFTER]"
fi
g0=$(grep -c '"PROPPATCH [^"]*" 207' "$D/access.log")
run c --json dav restore site@latest --url "$URL" --user alice --password-file "$T/pw"
is_rc "webdav: a second in-place restore succeeds" 0
equal "webdav: a second in-place restore" "PROPPATCHes that set properties" "$(($(grep -c '"PROPPATCH [^"]*" 207' "$D/access.log") - g0))" 0
equal "webdav: a second in-place restore" "bytes written" "$(jq -r .bytes "$T/out")" 0

# 8. To a new location: a new collection beside the unit.
run c --json dav restore site@latest --url "$URL" --user alice --password-file "$T/pw" \
	--to-url "${URL%/}.restored-1/"
is_rc "webdav: a restore to a new collection succeeds" 0
if diff -r -x .DAV "$R.restored-1" "$T/ref" >"$T/diff" 2>&1; then
	ok "webdav: the new collection is the point byte for byte"
else
	not_ok "webdav: the new collection is the point byte for byte" "$(head -5 "$T/diff" | tr '\n' ' ')"
fi

# 8b. A file a user changes during the restore is kept: big.bin and the
# last file damaged, the restore through the slowed path with one write at
# a time (--connections 1: big.bin's PUT takes seconds before the last
# file's); once Apache has answered the listing of the last collection,
# the user writes the last file; the restore keeps it and puts the point's
# copy beside it.
N=$'na\xc3\xafve \xe2\x98\x83.txt' # naïve ☃.txt
EU='%C3%A9%20%C3%BC' NU='na%C3%AFve%20%E2%98%83.txt'
head -c 100 /dev/zero | curl -s -u alice:secret -T - "${URL}big.bin" -o /dev/null
echo damaged | curl -s -u alice:secret -T - "${URL}$EU/$NU" -o /dev/null
# A collection the point lacks, where the user also puts a file during the
# restore: listed again before its DELETE, it is kept.
curl -s -u alice:secret -X MKCOL "${URL}extra/" -o /dev/null
echo old | curl -s -u alice:secret -T - "${URL}extra/old.txt" -o /dev/null
echo 50 >"$T/delay"
n0=$(grep -c "PROPFIND /dav/site/$EU/" "$D/access.log")
(c dav restore site@latest --url "http://127.0.0.1:$PPORT/dav/site/" --user alice \
	--password-file "$T/pw" --connections 1 >"$T/conf.out" 2>"$T/conf.err"; echo $? >"$T/conf.rc") &
bpid=$!
until_true 30 eval '[ "$(grep -c "PROPFIND /dav/site/$EU/" "$D/access.log")" -gt "$n0" ]'
echo "the user's edit" | curl -s -u alice:secret -T - "${URL}$EU/$NU" -o /dev/null
echo "the user's new file" | curl -s -u alice:secret -T - "${URL}extra/new.txt" -o /dev/null
wait $bpid
echo 0 >"$T/delay"
rc=$(cat "$T/conf.rc")
cp "$T/conf.err" "$T/err"
is_rc "webdav: a restore meeting a file changed meanwhile succeeds" 0
if [ "$(cat "$R/é ü/$N")" = "the user's edit" ] && cmp -s "$R/é ü/$N.restored-1" "$T/ref/é ü/$N" &&
	cmp -s "$R/big.bin" "$T/ref/big.bin"; then
	ok "webdav: the user's change is kept, the restored copy is beside it as NAME.restored-1"
else
	not_ok "webdav: the user's change is kept, the restored copy is beside it as NAME.restored-1" \
		"$(ls "$R/é ü") $(cat "$T/err")"
fi
assert "webdav: the restore says which file it kept" grep -q "changed on the server during the restore" "$T/err"
assert "webdav: a collection the point lacks, given a file during the restore, is kept" \
	test -f "$R/extra/new.txt"
assert "webdav: ... and the restore says so" grep -q "extra changed on the server during the restore: kept" "$T/err"
rm -rf "$R/extra"
curl -s -u alice:secret -X DELETE "${URL}$EU/$NU.restored-1" -o /dev/null
curl -s -u alice:secret -T "$T/ref/é ü/$N" "${URL}$EU/$NU" -o /dev/null

# 9. Through coffer serve: a site unit, a policy, restore points.
serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT" \
	--workers 2 --tick-ms 200 --min-frequency 1 --source-allow "127.0.0.1:$DPORT" ||
	{ not_ok "webdav: coffer serve starts" "$(serve_why serve)"; exit 1; }
GTOK=$(grep -m1 '^cft_' "$T/serve.out")
TID=$(api "$GTOK" POST /v1/tenants '{"name":"acme"}'; jq -r .id "$T/resp")
TOK=$(api "$GTOK" POST "/v1/tenants/$TID/tokens" '{"name":"a","role":"tenantAdmin"}'; jq -r .secret "$T/resp")
src="{\"type\":\"webdav\",\"url\":\"$URL\",\"user\":\"alice\",\"auth\":\"basic\",\"secret\":\"secret\"}"
api "$TOK" POST "/v1/tenants/$TID/protectionUnits" "{\"name\":\"docs\",\"kind\":\"site\",\"source\":$src}"
U=$(jq -r .id "$T/resp")
expect "webdav: a site unit with a webdav source is created" 201
if sqlite3 "$T/data/catalog.db" "SELECT source FROM units WHERE id = '$U'" | grep -q '"secretSealed":"v1\.' &&
	! sqlite3 "$T/data/catalog.db" "SELECT source FROM units" | grep -q '"secret"'; then
	ok "webdav: the secret is sealed in the catalog"
else
	not_ok "webdav: the secret is sealed in the catalog" "$(sqlite3 "$T/data/catalog.db" 'SELECT source FROM units')"
fi
api "$TOK" POST "/v1/tenants/$TID/protectionUnits" \
	"{\"name\":\"far\",\"kind\":\"account\",\"source\":{\"type\":\"webdav\",\"url\":\"http://127.0.0.1:$PPORT/dav/site/\",\"user\":\"alice\",\"secret\":\"x\"}}"
expect "webdav: a unit on a port source_allow does not name is refused" 400
api "$TOK" POST "/v1/tenants/$TID/protectionUnits" "{\"name\":\"ann\",\"kind\":\"account\",\"source\":$src}"
expect "webdav: an account unit with a webdav source is created" 201
api "$TOK" POST "/v1/tenants/$TID/protectionUnits" \
	"{\"name\":\"cmd\",\"kind\":\"site\",\"source\":{\"type\":\"webdav\",\"url\":\"$URL\",\"user\":\"alice\",\"secretCommand\":\"cat /etc/shadow\"}}"
expect "webdav: a webdav source with a secretCommand is refused" 400
api "$TOK" POST "/v1/tenants/$TID/protectionPolicies" \
	"{\"name\":\"sites\",\"kind\":\"site\",\"units\":[\"$U\"],\"frequencySeconds\":3600,\"state\":\"active\"}"
expect "webdav: a site policy" 201
if until_true 60 has_points "$U" 1; then
	ok "webdav: the scheduler takes a restore point of the site"
else
	not_ok "webdav: the scheduler takes a restore point of the site" "$(grep -m2 -E 'error|fail' "$T/serve.err")"
fi
equal "webdav: the service's point" "files" "$(q "$TOK" "/v1/tenants/$TID/protectionUnits/$U/restorePoints/1" .files)" 8
# A file deleted through WebDAV, put back by a restore session in place.
curl -s -u alice:secret -X DELETE "${URL}big.bin" -o /dev/null
api "$TOK" POST "/v1/tenants/$TID/restoreSessions" "{\"items\":[{\"unit\":\"$U\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}"
SID=$(jq -r .id "$T/resp")
expect "webdav: a restore session in place is created" 201
until_true 60 session_done "$SID"
st=$(q "$TOK" "/v1/tenants/$TID/restoreSessions/$SID" .state)
if [ "$st" = succeeded ] && cmp -s "$R/big.bin" "$T/ref/big.bin"; then
	ok "webdav: the restore session puts the deleted file back"
else
	not_ok "webdav: the restore session puts the deleted file back" "state $st $(head -c 300 "$T/resp")"
fi
# An erasure of big.bin (a ledger record, as an approved request writes
# one: tests/erase_record): a restore to a new collection leaves it out and
# says so, an in-place one leaves the server's copy alone.
"$(dirname "$COFFER")/tests/erase_record" "$STORE" "$KEY" "$DKEY" site paths big.bin >"$T/erase.out" 2>&1
echo changed-by-the-user | curl -s -u alice:secret -T - "${URL}big.bin" -o /dev/null
run c --json dav restore site@latest --url "$URL" --user alice --password-file "$T/pw" \
	--to-url "${URL%/}.erased/"
if [ "$rc" = 0 ] && [ ! -e "$R.erased/big.bin" ] && [ -d "$R.erased" ] &&
	[ "$(jq -r .withheld "$T/out")" = 1 ]; then
	ok "webdav: a restore to a new collection leaves an erased file out and counts it"
else
	not_ok "webdav: a restore to a new collection leaves an erased file out" "rc $rc $(cat "$T/out" "$T/erase.out") $(ls "$R.erased" 2>&1 | head -3)"
fi
run c --json dav restore site@latest --url "$URL" --user alice --password-file "$T/pw"
[ "$rc" = 0 ] && [ "$(curl -s -u alice:secret "${URL}big.bin")" = changed-by-the-user ] &&
	ok "webdav: an in-place restore neither overwrites nor deletes the erased file on the server" ||
	not_ok "webdav: an in-place restore leaves the erased file alone" "rc $rc $(cat "$T/out")"
serve_stop
sanitizer "$T"/*.err && not_ok "webdav: no sanitizer report" "$(grep -m1 -h -E 'Sanitizer|runtime error' "$T"/*.err)"
exit $FAILED
