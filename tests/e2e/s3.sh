#!/usr/bin/env bash
# The S3 store (src/store/backend_s3.c, docs/s3.md) against a real Ceph
# radosgw with Object Lock, started on loopback by tests/servers/ceph.sh
# (port 18740 for HTTP, 18741 for HTTPS with a test CA, mon 6789/3300:
# run.sh gives each script its own network namespace). Store specs (an
# unknown scheme refused, never taken for a folder), init on a bucket with
# and without Object Lock, backup, incremental, restore byte-identical,
# check --read-data, write-once (412 where radosgw enforces it; where it
# does not, the first version stays locked), COMPLIANCE locks refusing
# deletes (403) by a signed request and `coffer forget` refusing a locked
# point (exit 5, nothing written), forget and prune on a GOVERNANCE store
# whose locks the test shortens (locked packs left, counted, deleted once
# the lock lapsed; check --read-data passing throughout), wrong and
# missing credentials, virtual-host addressing, TLS with a private CA,
# GOVERNANCE mode, a server that takes connections and never answers (port
# 18749: timeouts, retries), many requests in flight (COFFER_S3_CONNECTIONS
# 1 and 8 restore the same; one upload among many refused by a proxy,
# tests/e2e/s3_proxy.py on port 18748: the backup fails naming the pack; a
# process killed with uploads in flight leaves nothing referenced), the wire
# checksums radosgw enforces (Content-MD5, the payload hash), short and
# damaged answers through the fault backend, objects overwritten in the
# versioned bucket (read from their older version, warned about), and
# radosgw killed mid-backup.
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
CEPH=$here/../servers/ceph.sh
D=$T/ceph
PORT=18740
EP=http://127.0.0.1:$PORT
BUCKET=coffer-e2e
STORE=s3+http://127.0.0.1:$PORT/$BUCKET/store1
S=$T/src
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
SEED=${SEED:-4242}
export AWS_ACCESS_KEY_ID=CIACCESSKEY AWS_SECRET_ACCESS_KEY=CISECRETKEY
unset COFFER_S3_CREDENTIALS AWS_SESSION_TOKEN AWS_REGION

if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null; then
	not_ok "s3: prerequisites" "need radosgw and ceph-mon (scripts/install-deps.sh)"
	exit 1
fi

SILENT_PID=
PROXY_PID=
stop_all() {
	[ -n "$SILENT_PID" ] && kill "$SILENT_PID" 2>/dev/null
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	"$CEPH" stop "$D" >/dev/null 2>&1
	rm -rf "$T"
}
trap stop_all EXIT

mkdir -p "$D"
"$CEPH" start "$D" "$PORT" >"$T/ceph.log" 2>&1 || {
	not_ok "s3: radosgw starts" "$(tail -3 "$T/ceph.log" | tr '\n' ' ')"
	exit 1
}

# s3 ARGS...: curl with a SigV4-signed request as the test user (no body).
s3() {
	curl -s --aws-sigv4 "aws:amz:us-east-1:s3" -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: $EMPTY_SHA" "$@"
}
# status ARGS...: the HTTP status of a signed request.
status() { s3 -o /dev/null -w '%{http_code}' "$@"; }
# version NAME: the version id of the store's object NAME.
version() { s3 -I "$EP/$BUCKET/store1/$1" | tr -d '\r' | sed -n 's/^x-amz-version-id: //Ip'; }
# unit_dirs: the store's unit folders (uids), one a line, sorted.
unit_dirs() {
	s3 "$EP/$BUCKET?delimiter=%2F&list-type=2&prefix=store1%2Funits%2F" |
		grep -o '<Prefix>store1/units/[0-9a-f]*/</Prefix>' | cut -d/ -f3 | sort
}
# objects PREFIX: how many objects the bucket holds below PREFIX.
objects() {
	s3 "$EP/$BUCKET?list-type=2&prefix=$(printf %s "$1" | sed 's|/|%2F|g')" |
		grep -o '<Key>' | wc -l
}

# ---- store specs ----

cd "$T" || exit 1 # where a spec taken for a folder would appear
run "$COFFER" --store foo://x --key-file "$T/no-such.key" restore-points
fails_with "an unknown scheme is refused (before the key is read)" 2 'unknown scheme "foo://"' \
	"foo://x"
run "$COFFER" --store foo://x init --key-file-new "$T/k0"
fails_with "init with an unknown scheme is refused" 2 'unknown scheme "foo://"'
assert "before the new key file is written" test ! -e "$T/k0"
run "$COFFER" --store s3://127.0.0.1/b init --key-file-new "$T/k0b"
fails_with "a bucket name S3 would refuse is refused" 2 "bad bucket name"
cd - >/dev/null || exit 1
assert "no folder \"foo:\" or \"s3:\" is made" test ! -e "$T/foo:" -a ! -e "$T/s3:"

# ---- init ----

s3 -X PUT -o /dev/null "$EP/plain-bucket"
run "$COFFER" --store "s3+http://127.0.0.1:$PORT/plain-bucket" init --key-file-new "$T/k1"
fails_with "init on a bucket without Object Lock is refused" 2 "bucket plain-bucket has no Object Lock"
equal "refused init" "objects written to plain-bucket" \
	"$(s3 "$EP/plain-bucket?list-type=2" | grep -o '<Key>' | wc -l)" 0

run "$COFFER" --store "$STORE" init --key-file-new "$KEY" --deletion-key-file-new "$DKEY" \
	--object-lock-days 1
is_rc "init creates the bucket with Object Lock" 0
assert "init says the objects are locked" grep -q "COMPLIANCE mode) for 1 day" "$T/out"
s3 "$EP/$BUCKET?object-lock=" >"$T/lock.xml"
assert "the bucket has Object Lock enabled" grep -q '<ObjectLockEnabled>Enabled' "$T/lock.xml"
s3 -I "$EP/$BUCKET/store1/config" | tr -d '\r' >"$T/head"
assert "objects are written in COMPLIANCE mode" grep -qi '^x-amz-object-lock-mode: COMPLIANCE' "$T/head"
until_date=$(sed -n 's/^x-amz-object-lock-retain-until-date: //Ip' "$T/head")
secs=$(( $(date -d "$until_date" +%s) - $(date +%s) ))
assert "retained until a day from now ($until_date)" test "$secs" -gt 86000 -a "$secs" -le 86400
run "$COFFER" --store "$STORE" init --key-file-new "$T/k2"
fails_with "init on a store that exists is refused" 1 "not empty"

# ---- backup, incremental, restore, check ----

mkdir -p "$S/docs" "$S/big"
gen a 5000000 >"$S/big/a.bin"
gen b 300000 >"$S/docs/b.bin"
seq 1 20000 >"$S/docs/numbers.txt"
ln -s ../docs/numbers.txt "$S/big/link"
run c backup u "$S"
is_rc "backup to S3" 0
cp -a "$S" "$T/v1"
echo change >>"$S/docs/numbers.txt"
gen c 2000000 >"$S/docs/c.bin"
rm "$S/docs/b.bin"
run c --json backup u "$S"
is_rc "incremental backup to S3" 0
equal "incremental" "unchanged files reused" "$(field reusedFiles "$T/out")" 1
cp -a "$S" "$T/v2"
verify_restore u@1 "$T/v1" "s3"
verify_restore u@2 "$T/v2" "s3"
run c check --read-data
is_rc "check --read-data on S3" 0

# ---- write-once ----
# radosgw 16.2 honours If-None-Match only in unversioned buckets; Object Lock
# makes a bucket versioned, and there a PUT of a taken name adds a newer
# version (coffer looks first, docs/s3.md). What the lock guarantees is
# checked: the first version stays, byte for byte, and cannot be deleted.

# put_once URL FILE: a signed PUT with If-None-Match: *; prints the status.
put_once() {
	curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		-u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -X PUT --data-binary "@$2" \
		-H "x-amz-content-sha256: $(sha256sum <"$2" | cut -c1-64)" -H "If-None-Match: *" "$1"
}
printf 'first\n' >"$T/first"
printf 'coffer-store\nformat 1\nid 00000000000000000000000000000000\n' >"$T/evil"
put_once "$EP/plain-bucket/o" "$T/first" >/dev/null
equal "write-once" "a PUT with If-None-Match of a taken name (unversioned bucket)" \
	"$(put_once "$EP/plain-bucket/o" "$T/evil")" 412
s3 -o "$T/o.after" "$EP/plain-bucket/o"
assert "and the object is unchanged" cmp -s "$T/first" "$T/o.after"

s3 -o "$T/config.before" "$EP/$BUCKET/store1/config"
v0=$(version config)
st=$(put_once "$EP/$BUCKET/store1/config" "$T/evil")
case $st in
412) ok "write-once: the Object Lock bucket refuses a PUT of a taken name (412)" ;;
200) ok "write-once: radosgw takes a PUT of a taken name in a versioned bucket as a new version (known)" ;;
*) not_ok "write-once: a PUT of a taken name" "status $st" ;;
esac
s3 -o "$T/config.v0" "$EP/$BUCKET/store1/config?versionId=$v0"
assert "the first version of config stays, byte for byte" cmp -s "$T/config.before" "$T/config.v0"
equal "write-once" "DELETE of the first version of config" \
	"$(status -X DELETE "$EP/$BUCKET/store1/config?versionId=$v0")" 403
if [ "$st" = 200 ]; then
	# The test's own version has no lock: take it away again.
	status -X DELETE "$EP/$BUCKET/store1/config?versionId=$(version config)" >/dev/null
	s3 -o "$T/config.after" "$EP/$BUCKET/store1/config"
	assert "the test's version is gone again" cmp -s "$T/config.before" "$T/config.after"
fi

# ---- Object Lock: deletes refused while retained ----

rp1=$(s3 "$EP/$BUCKET?list-type=2&prefix=store1%2Funits%2F" | grep -o 'store1/units/[0-9a-f]*/rp/0000000001' | head -1)
rp1=${rp1#store1/}
pack=$(s3 "$EP/$BUCKET?list-type=2&prefix=store1%2Funits%2F" | grep -o 'store1/units/[0-9a-f]*/packs/[0-9a-f]*/[0-9a-f]*' | head -1)
pack=${pack#store1/}
assert "found restore point 1 and a pack in the bucket" test -n "$rp1" -a -n "$pack"
equal "COMPLIANCE" "DELETE of restore point 1 (its version)" \
	"$(status -X DELETE "$EP/$BUCKET/store1/$rp1?versionId=$(version "$rp1")")" 403
equal "COMPLIANCE" "DELETE of a pack (its version)" \
	"$(status -X DELETE "$EP/$BUCKET/store1/$pack?versionId=$(version "$pack")")" 403
verify_restore u@1 "$T/v1" "after the refused deletes" "still restores byte-identical"
rp1_until=$(s3 -I "$EP/$BUCKET/store1/$rp1" | tr -d '\r' |
	sed -n 's/^x-amz-object-lock-retain-until-date: //Ip' | cut -c1-19)
run c forget --deletion-key-file "$DKEY" u@1
fails_with "coffer forget refuses a point whose manifest the server locks (exit 5, naming it)" 5 \
	"restore point u@1 is locked by Object Lock until $rp1_until"
equal "after forget" "restore point 1's manifest" "$(status -I "$EP/$BUCKET/store1/$rp1")" 200
equal "the refused forget" "tombstones written" "$(objects "store1/${rp1%/rp/*}/forgotten/")" 0
equal "the refused forget" "deletion records written" \
	"$(objects "store1/${rp1%/rp/*}/deletions/")" 0
equal "after the refused forget" "restore points" "$(points u)" "1 2 "
verify_restore u@2 "$T/v2" "after forget"

# ---- Object Lock: forget and prune wait for the lock to lapse ----
# A GOVERNANCE store, so that the test (as an admin would, with
# x-amz-bypass-governance-retention) can shorten a lock to seconds: S3 locks
# are whole days. Coffer never sends that header.

GBUCKET=coffer-gov
GSTORE=s3+http://127.0.0.1:$PORT/$GBUCKET/store
g() { "$COFFER" --store "$GSTORE" --key-file "$T/g.key" "$@"; }
# retain NAME SECONDS: shortens the lock of object NAME of the GOVERNANCE
# store to SECONDS from now (its current version); prints the HTTP status.
retain() {
	local url="$EP/$GBUCKET/store/$1" until body sha md5 v
	until=$(date -u -d "+$2 seconds" +%Y-%m-%dT%H:%M:%SZ)
	body="<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>GOVERNANCE</Mode><RetainUntilDate>$until</RetainUntilDate></Retention>"
	sha=$(printf %s "$body" | sha256sum | cut -d' ' -f1)
	md5=$(printf %s "$body" | openssl md5 -binary | base64)
	v=$(s3 -I "$url" | tr -d '\r' | sed -n 's/^x-amz-version-id: //Ip')
	curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		-u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: $sha" \
		-H "Content-MD5: $md5" -H "x-amz-bypass-governance-retention: true" -X PUT \
		--data-binary "$body" "$url?retention=&versionId=$v"
}
# gkeys DIR: the store's object names below units/<uid>/DIR/.
gkeys() {
	s3 "$EP/$GBUCKET?list-type=2&prefix=store%2Funits%2F" | grep -o "<Key>store/units/[0-9a-f]*/$1/[^<]*" |
		sed 's|^<Key>store/||'
}

run "$COFFER" --store "$GSTORE" init --key-file-new "$T/g.key" --deletion-key-file-new "$T/g.dkey" \
	--object-lock-days 1 --object-lock-mode governance
is_rc "a GOVERNANCE store" 0
mkdir -p "$T/gsrc"
gen g1 400000 >"$T/gsrc/f.bin"
run g backup u "$T/gsrc"
is_rc "GOVERNANCE: first backup" 0
gen g2 400000 >"$T/gsrc/f.bin"
run g backup u "$T/gsrc"
is_rc "GOVERNANCE: second backup" 0
grp1=$(gkeys rp | grep '/0000000001$')
run g forget --deletion-key-file "$T/g.dkey" u@1
fails_with "GOVERNANCE: forget refuses a locked point, exit 5" 5 \
	"restore point u@1 is locked by Object Lock until"
equal "GOVERNANCE: the refused forget" "tombstones" "$(gkeys forgotten | wc -l)" 0
equal "GOVERNANCE" "shortening the lock of point 1's manifest (bypass)" "$(retain "$grp1" 2)" 200
sleep 3
run g forget --deletion-key-file "$T/g.dkey" u@1
is_rc "GOVERNANCE: once its lock has lapsed, forget succeeds" 0
equal "GOVERNANCE: after forget" "tombstones" "$(gkeys forgotten | wc -l)" 1
equal "GOVERNANCE: after forget" "point 1's manifest" \
	"$(status -I "$EP/$GBUCKET/store/$grp1")" 404
equal "GOVERNANCE: after forget" "restore points" \
	"$(g --json restore-points u | grep -o '"seq":[0-9]*' | cut -d: -f2 | tr '\n' ' ')" "2 "
run g --json prune --grace 0 --deletion-key-file "$T/g.dkey"
is_rc "GOVERNANCE: prune plans the packs only point 1 used" 0
assert "it planned some ($(field plannedPacks "$T/out"))" test "$(field plannedPacks "$T/out")" -ge 1
npacks=$(gkeys packs | wc -l)
run g --json prune --grace 0 --deletion-key-file "$T/g.dkey"
is_rc "GOVERNANCE: prune over locked packs succeeds" 0
assert "it leaves the locked packs ($(field lockedPacks "$T/out") locked)" \
	test "$(field lockedPacks "$T/out")" -ge 1 -a "$(field deletedPacks "$T/out")" = 0
equal "GOVERNANCE: after prune" "packs in the bucket" "$(gkeys packs | wc -l)" "$npacks"
run g check --read-data
is_rc "GOVERNANCE: check --read-data passes after the locked prune" 0
for k in $(gkeys packs); do
	[ "$(retain "$k" 2)" = 200 ] || not_ok "GOVERNANCE: shortening the lock of $k"
done
sleep 3
run g --json prune --grace 0 --deletion-key-file "$T/g.dkey"
is_rc "GOVERNANCE: prune after the packs' locks lapsed" 0
assert "it deletes them ($(field deletedPacks "$T/out") deleted, $(field lockedPacks "$T/out") locked)" \
	test "$(field deletedPacks "$T/out")" -ge 1 -a "$(field lockedPacks "$T/out")" = 0
assert "fewer packs in the bucket ($(gkeys packs | wc -l) of $npacks)" \
	test "$(gkeys packs | wc -l)" -lt "$npacks"
run g check --read-data
is_rc "GOVERNANCE: check --read-data passes after the prune" 0
rm -rf "$T/grestore"
run g restore u@2 --to "$T/grestore"
is_rc "GOVERNANCE: point 2 restores" 0
assert "byte-identical" cmp -s "$T/gsrc/f.bin" "$T/grestore/f.bin"

# ---- credentials ----

AWS_SECRET_ACCESS_KEY=NotTheSecret123 run c restore-points u
fails_with "a wrong secret gives an error naming the bucket" 1 "$BUCKET" "SignatureDoesNotMatch"
if grep -q NotTheSecret123 "$T/err"; then not_ok "and never the secret" "$(cat "$T/err")"
else ok "and never the secret"; fi
AWS_ACCESS_KEY_ID=NOBODY run c restore-points u
fails_with "an unknown access key gives an error naming the bucket" 1 "$BUCKET" "InvalidAccessKeyId"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$COFFER" --store "$STORE" --key-file "$KEY" \
	restore-points u >"$T/out" 2>"$T/err"; rc=$?
fails_with "no credentials: a clear error" 2 "no S3 credentials" "--s3-credentials"
printf '# test\n[other]\naws_access_key_id = X\n[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T/creds" && chmod 600 "$T/creds"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$COFFER" --store "$STORE" --key-file "$KEY" \
	--s3-credentials "$T/creds" restore-points u >"$T/out" 2>"$T/err"; rc=$?
is_rc "credentials from --s3-credentials FILE" 0
run env COFFER_S3_CREDENTIALS="$T/creds" AWS_ACCESS_KEY_ID=wrong "$COFFER" --store "$STORE" \
	--key-file "$KEY" restore-points u
is_rc "COFFER_S3_CREDENTIALS comes before the environment's keys" 0

# ---- virtual-host addressing (radosgw's "rgw dns name" is localhost) ----

run env COFFER_S3_VIRTUAL_HOST=1 "$COFFER" --store "s3+http://localhost:$PORT/$BUCKET/store1" \
	--key-file "$KEY" ls u@2
is_rc "virtual-host addressing (BUCKET.localhost)" 0
assert "lists the point's files" grep -q "c.bin" "$T/out"

# ---- TLS ----

TLS=s3://127.0.0.1:$((PORT + 1))/coffer-tls
run "$COFFER" --store "$TLS" init --key-file-new "$T/tls.key"
fails_with "TLS: the server's certificate is checked" 1 "SSL certificate problem" "$TLS"
rm -f "$T/tls.key" # init writes the key file before it reaches the store
run "$COFFER" --store "$TLS" --ca-file "$D/ca.pem" init --key-file-new "$T/tls.key" \
	--object-lock-days 1 --object-lock-mode governance
is_rc "TLS: init with --ca-file" 0
run env COFFER_S3_CA_FILE="$D/ca.pem" "$COFFER" --store "$TLS" --key-file "$T/tls.key" \
	backup t "$S/docs"
is_rc "TLS: backup with COFFER_S3_CA_FILE" 0
run "$COFFER" --store "$TLS" --ca-file "$D/ca.pem" --key-file "$T/tls.key" restore t --to "$T/tr"
is_rc "TLS: restore" 0
assert "TLS: restored byte-identical" diff -r "$S/docs" "$T/tr"
s3 -I "$EP/coffer-tls/config" | tr -d '\r' >"$T/head"
assert "a GOVERNANCE store writes in GOVERNANCE mode" \
	grep -qi '^x-amz-object-lock-mode: GOVERNANCE' "$T/head"

# ---- a server that takes connections and never answers ----

python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 18749))
s.listen(64)
held = []
while True:
    held.append(s.accept()[0])
' &
SILENT_PID=$!
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/18749) 2>/dev/null && break; sleep 0.1; done
COFFER_S3_TIMEOUT=1 COFFER_S3_RETRIES=1 run "$COFFER" --store s3+http://127.0.0.1:18749/silent \
	--key-file "$KEY" restore-points
fails_with "a server that never answers: the request times out, retried once" 1 \
	"GET s3+http://127.0.0.1:18749/silent/config failed: timed out" "after 2 attempts"
kill "$SILENT_PID" 2>/dev/null
SILENT_PID=

# ---- many requests in flight (COFFER_S3_CONNECTIONS) ----

M=$T/many
mkdir -p "$M/sub"
for i in $(seq 1 300); do gen "m$i" $(( (i * 7919) % 180000 + 1000 )) >"$M/f$i"; done
for i in $(seq 1 20); do echo "small $i" >"$M/sub/s$i"; done
COFFER_S3_CONNECTIONS=1 run c backup m1 "$M"
is_rc "a backup of 320 files with COFFER_S3_CONNECTIONS=1 (one upload at a time)" 0
units_before=$(unit_dirs)
COFFER_S3_CONNECTIONS=8 run c backup m8 "$M"
is_rc "the same with COFFER_S3_CONNECTIONS=8 (eight in flight)" 0
uid_m=$(comm -13 <(echo "$units_before") <(unit_dirs))
rm -rf "$T/m1" "$T/m8"
COFFER_S3_CONNECTIONS=1 run c restore m1 --to "$T/m1"
is_rc "restore with one connection" 0
COFFER_S3_CONNECTIONS=8 run c restore m8 --to "$T/m8"
is_rc "restore with eight" 0
assert "both restore byte-identical (1)" diff -r "$M" "$T/m1"
assert "both restore byte-identical (8)" diff -r "$M" "$T/m8"
COFFER_S3_CONNECTIONS=65 run c restore-points
fails_with "COFFER_S3_CONNECTIONS is checked (1 to 64)" 2 "COFFER_S3_CONNECTIONS"

# ---- one upload among many in flight fails ----
# A proxy in front of radosgw answers 503 to every PUT of the second pack
# the backup uploads (radosgw cannot be made to refuse one object alone);
# the others pass. The backup must fail naming that pack and the answer,
# write no index segment or restore point that needs it, and the next
# backup must succeed.

units_before=$(unit_dirs)
python3 "$here/s3_proxy.py" 18748 "$PORT" 2 "$T/failed-pack" &
PROXY_PID=$!
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/18748) 2>/dev/null && break; sleep 0.1; done
COFFER_S3_RETRIES=1 run "$COFFER" --store "s3+http://127.0.0.1:18748/$BUCKET/store1" \
	--key-file "$KEY" backup f "$M"
failed=$(cat "$T/failed-pack" 2>/dev/null)
assert "the proxy refused a pack (${failed:0:16}...)" test -n "$failed"
fails_with "a failed upload among many: the backup fails naming the pack and the server's answer" \
	1 "/packs/${failed:0:2}/$failed failed: 503 SlowDown" "(after retries)"
kill "$PROXY_PID" 2>/dev/null
wait "$PROXY_PID" 2>/dev/null
PROXY_PID=
uid_f=$(comm -13 <(echo "$units_before") <(unit_dirs))
equal "after the failed upload" "index segments written" \
	"$(objects "store1/units/$uid_f/index/")" 0
equal "after the failed upload" "restore points of f" "$(points f)" ""
run c backup f "$M"
is_rc "the next backup succeeds" 0
verify_restore f@1 "$M" "after the failed upload"

# ---- killed with uploads in flight ----
# The process dies at its second pack's commit, the first pack's PUT still
# queued or in flight: what is left is unreferenced (no index segment, no
# restore point), check passes, and the next backup succeeds.

units_before=$(unit_dirs)
COFFER_FAULTS="commit@/packs/:2:kill" run c backup k "$M"
equal "killed with uploads in flight" "exit status" "$rc" 137
uid_k=$(comm -13 <(echo "$units_before") <(unit_dirs))
equal "killed with uploads in flight" "index segments written" \
	"$(objects "store1/units/$uid_k/index/")" 0
equal "killed with uploads in flight" "restore points of k" "$(points k)" ""
run c check --read-data
is_rc "check --read-data passes after the kill" 0
run c backup k "$M"
is_rc "the next backup succeeds" 0
verify_restore k@1 "$M" "after the kill"

# ---- integrity on the wire ----
# radosgw refuses a PUT whose body does not match its Content-MD5 (coffer
# sends one with every PUT) or the payload hash SigV4 signs
# (x-amz-content-sha256); x-amz-checksum-sha256 it ignores (16.2).

printf 'the body\n' >"$T/body"
body_sha=$(sha256sum <"$T/body" | cut -c1-64)
equal "a PUT whose Content-MD5 does not match" "status" \
	"$(curl -s -o "$T/put.xml" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		-u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -X PUT --data-binary "@$T/body" \
		-H "x-amz-content-sha256: $body_sha" \
		-H "Content-MD5: $(printf 'other' | openssl md5 -binary | base64)" \
		"$EP/plain-bucket/md5")" 400
assert "refused as BadDigest" grep -q "<Code>BadDigest</Code>" "$T/put.xml"
equal "a PUT whose body does not match the signed payload hash" "status" \
	"$(curl -s -o "$T/put.xml" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		-u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -X PUT --data-binary "@$T/body" \
		-H "x-amz-content-sha256: $EMPTY_SHA" "$EP/plain-bucket/sha")" 400
assert "refused as XAmzContentSHA256Mismatch" grep -q "XAmzContentSHA256Mismatch" "$T/put.xml"

# The answers radosgw cannot be made to give go through the fault backend
# (COFFER_FAULTS, docs/testing.md) on top of the S3 one: a 200 with a short
# body, and a body that arrives damaged (a wrong checksum). Once: the read
# is tried again and all is well. Always: a clear error naming the object.
rm -rf "$T/fr"
COFFER_FAULTS="read@/rp/:1:badsum" run c restore m8 --to "$T/fr"
is_rc "a restore point damaged on the way once: read again, the restore succeeds" 0
assert "and is byte-identical" diff -r "$M" "$T/fr"
rm -rf "$T/fr"
COFFER_FAULTS="read@/packs/:1:short" run c restore m8 --to "$T/fr"
is_rc "a pack read cut short once (a 200 with a short body): read again, the restore succeeds" 0
assert "and is byte-identical" diff -r "$M" "$T/fr"
rm -rf "$T/fr"
COFFER_FAULTS="read@/rp/:1+:badsum" run c restore m8 --to "$T/fr"
fails_with "a restore point damaged on every read: the error names it" 1 "/rp/0000000001" \
	"failed authentication"
rm -rf "$T/fr"
COFFER_FAULTS="read@/packs/:1+:short" run c restore m8 --to "$T/fr"
fails_with "every pack read cut short: the error names the pack" 1 "/packs/" "a short body" \
	"injected fault"

# ---- an object overwritten in the versioned bucket ----
# The backup credentials can PUT a new version over a locked object (the
# locked version stays). Garbage over a pack, a restore point's manifest
# and the unit key: restore reads the oldest version that verifies, says
# which object was overwritten, and check --read-data passes with a
# warning naming each.

# put_over KEY FILE: a signed PUT of FILE over the bucket's KEY (a new version).
put_over() {
	curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		-u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -X PUT --data-binary "@$2" \
		-H "x-amz-content-sha256: $(sha256sum <"$2" | cut -c1-64)" \
		-H "Content-MD5: $(openssl md5 -binary <"$2" | base64)" "$EP/$BUCKET/$1"
}
# the largest pack of unit m8 (a data pack)
big_pack=$(s3 "$EP/$BUCKET?list-type=2&prefix=store1%2Funits%2F$uid_m%2Fpacks%2F" |
	python3 -c 'import re,sys; x=sys.stdin.read(); print(max(re.findall(r"<Key>([^<]*)</Key>.*?<Size>(\d+)</Size>", x), key=lambda k: int(k[1]))[0])')
gen garbage 5000 >"$T/garbage"
equal "garbage PUT over a pack" "status" "$(put_over "$big_pack" "$T/garbage")" 200
equal "garbage PUT over a restore point" "status" \
	"$(put_over "store1/units/$uid_m/rp/0000000001" "$T/garbage")" 200
equal "garbage PUT over the unit key" "status" \
	"$(put_over "store1/units/$uid_m/key" "$T/garbage")" 200
run c restore m8 --to "$T/ow"
is_rc "restore of the unit whose pack and manifest were overwritten" 0
assert "byte-identical" diff -r "$M" "$T/ow"
assert "it says the pack was overwritten" grep -q "${big_pack#store1/} was overwritten" "$T/err"
assert "it says the manifest was overwritten" grep -q "rp/0000000001 was overwritten" "$T/err"
assert "it says the unit key was overwritten" grep -q "units/$uid_m/key was overwritten" "$T/err"
run c check --read-data
is_rc "check --read-data passes (warnings are not damage)" 0
assert "check warns about the pack" grep -q "warning: .*${big_pack#store1/} was overwritten" "$T/err"
assert "check warns about the manifest" \
	grep -q "warning: .*units/$uid_m/rp/0000000001 was overwritten" "$T/err"
assert "check warns about the unit key" grep -q "warning: .*units/$uid_m/key was overwritten" "$T/err"
assert "check counts them" grep -q "3 objects overwritten" "$T/out"

# ---- radosgw killed mid-backup ----

gen d 48000000 >"$S/big/d.bin"
before=$(objects "store1/units/")
COFFER_S3_RETRIES=3 c backup u "$S" >"$T/kill.out" 2>"$T/kill.err" &
bpid=$!
for _ in $(seq 1 400); do
	[ "$(objects "store1/units/")" -gt "$before" ] && break
	kill -0 "$bpid" 2>/dev/null || break
	sleep 0.05
done
"$CEPH" kill-rgw "$D"
wait "$bpid"; rc=$?
cp "$T/kill.err" "$T/err"
fails_with "radosgw killed mid-backup: the backup fails clearly" 1 "failed" "$STORE" "attempt"
"$CEPH" start-rgw "$D" >>"$T/ceph.log" 2>&1
equal "after the failed backup" "restore points" "$(points u)" "1 2 "
run c backup u "$S"
is_rc "after radosgw restarts, the next backup succeeds" 0
run c check --read-data
is_rc "and check --read-data passes" 0
verify_restore u@3 "$S" "after the restart"
verify_restore u@2 "$T/v2" "after the restart"

exit $FAILED
