#!/usr/bin/env bash
# Two credential sets and the bucket policy (docs/s3.md "Credential sets",
# "Threat model") against a real Ceph radosgw (tests/servers/ceph.sh, HTTP
# on port 18760; run.sh gives each script its own network namespace). The
# bucket belongs to an owner user ("ci"); `backup` and `deleter` are two more
# radosgw users, and the bucket carries exactly the policy `coffer
# s3-policy` prints. Settings travel in the store spec
# (?credentials=FILE&delete-credentials=FILE); the environment holds none.
#
# Shown: the backup credentials cannot delete (raw DELETE, coffer forget,
# coffer prune: 403 AccessDenied, named) and an overwrite only adds a
# version, the original staying byte for byte; the deletion credentials
# cannot delete a locked version either (403) and can delete what no lock
# holds; check --read-data passes after every attempt. Then lock extension
# (coffer lock-extend: referenced objects move, a killed backup's packs and
# an attacker's version do not) and legal hold through a service whose
# tenants live in the bucket (holds ON then OFF; a release keeps what
# another held unit needs; the service's expiry logs event=lock.extend).
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
CEPH=$here/../servers/ceph.sh
D=$T/ceph
PORT=18760
EP=http://127.0.0.1:$PORT
BUCKET=coffer-lock # the policy `coffer s3-policy` prints, exactly
LAB=coffer-lab     # the same plus a lab owner who may shorten GOVERNANCE locks
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
SEED=${SEED:-4343}
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION
unset COFFER_S3_CREDENTIALS COFFER_S3_DELETE_CREDENTIALS COFFER_S3_CA_FILE

if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null; then
	not_ok "s3lock: prerequisites" "need radosgw and ceph-mon (scripts/install-deps.sh)"
	exit 1
fi
stop_all() { serve_kill; "$CEPH" stop "$D" >/dev/null 2>&1; rm -rf "$T"; }
trap stop_all EXIT
mkdir -p "$D"
if ! "$CEPH" start "$D" "$PORT" >"$T/ceph.log" 2>&1 ||
	! "$CEPH" user "$D" backup BACKUPACCESS BACKUPSECRET >>"$T/ceph.log" 2>&1 ||
	! "$CEPH" user "$D" deleter DELETERACCESS DELETERSECRET >>"$T/ceph.log" 2>&1; then
	not_ok "s3lock: radosgw starts with its users" "$(tail -3 "$T/ceph.log" | tr '\n' ' ')"
	exit 1
fi

creds() { printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$1" "$2"; }
creds BACKUPACCESS BACKUPSECRET >"$T/backup.creds"
creds DELETERACCESS DELETERSECRET >"$T/deleter.creds"
creds CIACCESSKEY CISECRETKEY >"$T/owner.creds"
chmod 600 "$T"/*.creds
declare -A SECRET=([CIACCESSKEY]=CISECRETKEY [BACKUPACCESS]=BACKUPSECRET
	[DELETERACCESS]=DELETERSECRET)
# as USER_ACCESS_KEY CURL_ARGS...: a SigV4-signed request without a body.
as() {
	local ak=$1; shift
	curl -s --aws-sigv4 "aws:amz:us-east-1:s3" -u "$ak:${SECRET[$ak]}" \
		-H "x-amz-content-sha256: $EMPTY_SHA" "$@"
}
# as_put USER_ACCESS_KEY URL FILE [HEADER...]: a signed PUT of FILE; prints the status.
as_put() {
	local ak=$1 url=$2 f=$3; shift 3
	curl -s -o "$T/put.body" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		-u "$ak:${SECRET[$ak]}" -X PUT --data-binary "@$f" \
		-H "x-amz-content-sha256: $(sha256sum <"$f" | cut -c1-64)" \
		-H "Content-MD5: $(openssl md5 -binary <"$f" | base64)" "$@" "$url"
}
# status USER_ACCESS_KEY CURL_ARGS...: the HTTP status of a signed request.
status() { as "$@" -o "$T/status.body" -w '%{http_code}'; }
# version BUCKET/PREFIX NAME: the version id of an object (its current one),
# asked as the backup user: objects belong to the user who wrote them, and
# the bucket's owner may not read them unless the policy says so.
version() {
	as BACKUPACCESS -I "$EP/$1/$2" | tr -d '\r' | sed -n 's/^x-amz-version-id: //Ip'
}
# keys BUCKET PREFIX DIR: the store's object names below PREFIX/units/<uid>/DIR/.
keys() {
	as CIACCESSKEY "$EP/$1?list-type=2&prefix=${2//\//%2F}%2Funits%2F" |
		grep -o "<Key>$2/units/[0-9a-f]*/$3/[^<]*" | sed "s|^<Key>$2/||"
}
# retain NAME SECONDS: as the lab bucket's owner, with the governance bypass
# its policy grants it alone, shortens the lock of $LAB/g/NAME to SECONDS
# from now (S3 locks are whole days otherwise); prints the status.
retain() {
	local url="$EP/$LAB/g/$1" v
	v=$(version "$LAB/g" "$1")
	printf '<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>GOVERNANCE</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>' \
		"$(date -u -d "+$2 seconds" +%Y-%m-%dT%H:%M:%SZ)" >"$T/retention.xml"
	as_put CIACCESSKEY "$url?retention=&versionId=$v" "$T/retention.xml" \
		-H "x-amz-bypass-governance-retention: true"
}

# ---- the bucket, its owner and the policy coffer recommends ----

equal "the owner" "creates the bucket with Object Lock" \
	"$(status CIACCESSKEY -X PUT -H 'x-amz-bucket-object-lock-enabled: true' "$EP/$BUCKET")" 200
run "$COFFER" s3-policy "$BUCKET" --backup-user arn:aws:iam:::user/backup \
	--delete-user arn:aws:iam:::user/deleter
is_rc "coffer s3-policy prints the policy" 0
cp "$T/out" "$T/policy.json"
assert "it is JSON" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$T/policy.json"
equal "the owner" "applies exactly that policy" \
	"$(as_put CIACCESSKEY "$EP/$BUCKET?policy=" "$T/policy.json")" 204
# The lab bucket: the same policy for its name, plus its owner's bypass.
equal "the owner" "creates the lab bucket" \
	"$(status CIACCESSKEY -X PUT -H 'x-amz-bucket-object-lock-enabled: true' "$EP/$LAB")" 200
"$COFFER" s3-policy "$LAB" --backup-user arn:aws:iam:::user/backup \
	--delete-user arn:aws:iam:::user/deleter | python3 -c '
import json, sys
p = json.load(sys.stdin)
p["Statement"].append({"Sid": "LabOwnerShortensGovernanceLocks", "Effect": "Allow",
    "Principal": {"AWS": ["arn:aws:iam:::user/ci"]},
    "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObjectRetention",
               "s3:BypassGovernanceRetention"],
    "Resource": ["arn:aws:s3:::'"$LAB"'/*"]})
print(json.dumps(p))' >"$T/lab.json"
equal "the owner" "applies it to the lab bucket" \
	"$(as_put CIACCESSKEY "$EP/$LAB?policy=" "$T/lab.json")" 204
run "$COFFER" s3-policy "$BUCKET" --backup-user 'arn:aws:iam:::user/x"y' \
	--delete-user arn:aws:iam:::user/deleter
fails_with "s3-policy refuses an ARN it would have to escape" 2 "IAM user ARN"

# ---- settings in the spec ----

B="credentials=$T/backup.creds"
BD="$B&delete-credentials=$T/deleter.creds"
CSTORE="s3+http://127.0.0.1:$PORT/$BUCKET/c"   # COMPLIANCE
GSTORE="s3+http://127.0.0.1:$PORT/$LAB/g"      # GOVERNANCE
cb() { "$COFFER" --store "$CSTORE?$B" --key-file "$T/c.key" "$@"; }
gb() { "$COFFER" --store "$GSTORE?$B" --key-file "$T/g.key" "$@"; }
gd() { "$COFFER" --store "$GSTORE?$BD" --key-file "$T/g.key" "$@"; }

run "$COFFER" --store "$CSTORE?$B&secret=abc" --key-file "$T/none" restore-points
fails_with "a spec with an unknown setting is refused, naming it" 2 'unknown setting' 'secret'
printf '%064d\n' 0 >"$T/dummy.key"
run "$COFFER" --store "$CSTORE" --key-file "$T/dummy.key" restore-points
fails_with "no credentials anywhere: a clear error" 2 "no S3 credentials" "credentials=FILE"
# A refused init leaves no key file (--key-file-new is written first).
equal "the owner" "creates a bucket without Object Lock" \
	"$(status CIACCESSKEY -X PUT "$EP/coffer-nolock")" 200
run "$COFFER" --store "s3+http://127.0.0.1:$PORT/coffer-nolock?credentials=$T/owner.creds" init \
	--key-file-new "$T/nolock.key"
fails_with "init on a bucket without Object Lock is refused" 2 "has no Object Lock"
assert "and leaves no key file behind" test ! -e "$T/nolock.key"
run "$COFFER" --store "$CSTORE?$B" init --key-file-new "$T/c.key" --object-lock-days 1
is_rc "init with the backup credentials named in the spec (COMPLIANCE)" 0
run "$COFFER" --store "$CSTORE?$B" init --key-file-new "$T/c2.key"
fails_with "init on a store that exists is refused" 1 "not empty"
assert "and leaves no key file behind" test ! -e "$T/c2.key"
run "$COFFER" --store "$GSTORE?$B" init --key-file-new "$T/g.key" --object-lock-days 1 \
	--object-lock-mode governance --deletion-key-file-new "$T/g.dkey"
is_rc "init of a GOVERNANCE store beside it" 0
mkdir -p "$T/src"
gen a 300000 >"$T/src/a.bin"
run cb backup u "$T/src"
is_rc "backup with the backup credentials" 0
run gb backup u "$T/src"
is_rc "backup to the GOVERNANCE store" 0
cp -a "$T/src" "$T/v1"
gen b 300000 >"$T/src/a.bin"
run gb backup u "$T/src"
is_rc "a second backup (GOVERNANCE)" 0
run "$COFFER" --store "$CSTORE?$B" --key-file "$T/g.key" restore-points
fails_with "an error names the store without its settings" 1 "store s3+http://127.0.0.1:$PORT/$BUCKET/c"
if grep -q "credentials=" "$T/err"; then not_ok "and not its settings" "$(cat "$T/err")"
else ok "and not its settings"; fi
run "$COFFER" --store "$CSTORE?$B&delete-credentials=$T/missing.creds" --key-file "$T/c.key" \
	restore-points u
is_rc "a backend that does not delete never reads the deletion credentials" 0

# ---- the backup credentials cannot delete ----

crp1=$(keys $BUCKET c rp | grep '/0000000001$')
cpack=$(keys $BUCKET c packs | head -1)
assert "found point 1 and a pack, and their versions" test -n "$crp1" -a -n "$cpack" -a -n "$(version "$BUCKET/c" "$crp1")" -a -n "$(version "$BUCKET/c" "$cpack")"
equal "backup credentials" "raw DELETE of point 1's version" \
	"$(status BACKUPACCESS -X DELETE "$EP/$BUCKET/c/$crp1?versionId=$(version "$BUCKET/c" "$crp1")")" 403
assert "the answer is AccessDenied" grep -q "<Code>AccessDenied</Code>" "$T/status.body"
equal "backup credentials" "raw DELETE of a pack (no version: a delete marker)" \
	"$(status BACKUPACCESS -X DELETE "$EP/$BUCKET/c/$cpack")" 403
printf 'scratch\n' >"$T/scratch"
equal "backup credentials" "PUT of an object without a lock (the test's own)" \
	"$(as_put BACKUPACCESS "$EP/$BUCKET/scratch" "$T/scratch")" 200
sv=$(version "$BUCKET" scratch)
equal "backup credentials" "DELETE of that unlocked object" \
	"$(status BACKUPACCESS -X DELETE "$EP/$BUCKET/scratch?versionId=$sv")" 403

# An overwrite: the PUT of a taken name, as an attacker with the backup
# credentials would send it (coffer itself looks first and refuses).
printf 'not a restore point\n' >"$T/evil"
as BACKUPACCESS -o "$T/rp1.before" "$EP/$BUCKET/c/$crp1"
v0=$(version "$BUCKET/c" "$crp1")
st=$(as_put BACKUPACCESS "$EP/$BUCKET/c/$crp1" "$T/evil")
case $st in
403|412) ok "backup credentials: an overwrite of point 1 is refused ($st)" ;;
200)
	# radosgw (16.2) takes it as a new version of the name: the locked one
	# is untouched, and reading by version id proves it. A plain GET now
	# gives the attacker's version (the read path's fallback to the oldest
	# valid version is the S3 read path's business); the owner takes the
	# test's version away again, as it has no lock.
	ok "backup credentials: an overwrite of point 1 only adds a version (radosgw)"
	as BACKUPACCESS -o "$T/rp1.v0" "$EP/$BUCKET/c/$crp1?versionId=$v0"
	assert "the original, locked version is unchanged, byte for byte" \
		cmp -s "$T/rp1.before" "$T/rp1.v0"
	as BACKUPACCESS -I "$EP/$BUCKET/c/$crp1?versionId=$v0" | tr -d '\r' >"$T/head"
	assert "and still locked (COMPLIANCE)" grep -qi '^x-amz-object-lock-mode: COMPLIANCE' "$T/head"
	# coffer reads past it: the newest version fails to verify, an older
	# one does (the S3 read path, docs/s3.md).
	run cb check --read-data
	assert "check --read-data reads the original past the overwrite (exit $rc)" \
		test "$rc" = 0 -o "$rc" = 3
	rm -rf "$T/r"
	run cb restore u@1 --to "$T/r"
	assert "and point 1 restores byte-identical (exit $rc)" diff -r "$T/v1" "$T/r"
	equal "the deleter" "removes the test's unlocked version" \
		"$(status DELETERACCESS -X DELETE "$EP/$BUCKET/c/$crp1?versionId=$(version "$BUCKET/c" "$crp1")")" 204
	as BACKUPACCESS -o "$T/rp1.after" "$EP/$BUCKET/c/$crp1"
	assert "and a plain GET reads the original again" cmp -s "$T/rp1.before" "$T/rp1.after"
	;;
*) not_ok "backup credentials: an overwrite of point 1" "status $st" ;;
esac

# ---- the deletion credentials: only what no lock holds ----

equal "deletion credentials" "raw DELETE of point 1's locked version (COMPLIANCE)" \
	"$(status DELETERACCESS -X DELETE "$EP/$BUCKET/c/$crp1?versionId=$(version "$BUCKET/c" "$crp1")")" 403
equal "deletion credentials" "raw DELETE of a pack's locked version" \
	"$(status DELETERACCESS -X DELETE "$EP/$BUCKET/c/$cpack?versionId=$(version "$BUCKET/c" "$cpack")")" 403
# radosgw cannot move its clock: "once the lock lapses the deleter can
# delete" is shown with an object that has no lock at all.
equal "deletion credentials" "DELETE of the unlocked object" \
	"$(status DELETERACCESS -X DELETE "$EP/$BUCKET/scratch?versionId=$sv")" 204
equal "after the deleter's DELETE" "the unlocked object" \
	"$(status BACKUPACCESS -I "$EP/$BUCKET/scratch?versionId=$sv")" 404
run cb check --read-data
is_rc "COMPLIANCE: check --read-data passes after every attempt" 0
verify_restore_c() {
	rm -rf "$T/r"
	if cb restore u@1 --to "$T/r" >/dev/null 2>&1 && diff -r "$T/v1" "$T/r" >/dev/null; then
		ok "COMPLIANCE: point 1 restores byte-identical"
	else not_ok "COMPLIANCE: point 1 restores byte-identical"; fi
}
verify_restore_c

# ---- coffer forget and prune with the backup credentials alone ----
# The GOVERNANCE store's owner shortens a lock (bypass) so that it lapses:
# the server then refuses the DELETE for the policy alone.

grp1=$(keys $LAB g rp | grep '/0000000001$')
equal "the owner" "shortens point 1's lock to seconds (GOVERNANCE bypass)" "$(retain "$grp1" 2)" 200
sleep 3
run gb forget --deletion-key-file "$T/g.dkey" u@1
fails_with "forget with the backup credentials alone: 403, named" 1 \
	"refused by the server (403 AccessDenied)" "g/$grp1" "backup credentials"
equal "after the refused DELETE" "point 1's manifest" \
	"$(status BACKUPACCESS -I "$EP/$LAB/g/$grp1")" 200
run gd forget --deletion-key-file "$T/g.dkey" u@1
is_rc "forget with the deletion credentials (delete-credentials=FILE) finishes it" 0
equal "after forget" "point 1's manifest" "$(status BACKUPACCESS -I "$EP/$LAB/g/$grp1")" 404
run gb --json prune --grace 0 --deletion-key-file "$T/g.dkey"
is_rc "prune plans the packs point 1 alone used" 0
for k in $(keys $LAB g packs); do
	[ "$(retain "$k" 2)" = 200 ] || not_ok "shortening the lock of $k"
done
sleep 3
run gb --json prune --grace 0 --deletion-key-file "$T/g.dkey"
fails_with "prune with the backup credentials alone: 403, named" 1 \
	"refused by the server (403 AccessDenied)" "g/units/"
cp "$T/err" "$T/prune-backup.err"
deleted=0
for i in 1 2; do
	run gd --json prune --grace 0 --deletion-key-file "$T/g.dkey"
	is_rc "prune with the deletion credentials ($i)" 0
	deleted=$((deleted + $(field deletedPacks "$T/out")))
	cat "$T/out" "$T/err" >>"$T/prune-deleter.out"
done
assert "deletes the packs ($deleted deleted)" test "$deleted" -ge 1
# Compaction would rewrite locked packs early: refused before any unit.
run gd compact --deletion-key-file "$T/g.dkey"
fails_with "compact refuses a store with Object Lock (exit 5)" 5 "has Object Lock" "prune runs"
run gb check --read-data
is_rc "GOVERNANCE: check --read-data passes after every attempt" 0
rm -rf "$T/r"
run gb restore u@2 --to "$T/r"
is_rc "GOVERNANCE: point 2 restores" 0
assert "byte-identical" cmp -s "$T/src/a.bin" "$T/r/a.bin"

# ---- lock extension (docs/s3.md "Lock extension") ----
# The COMPLIANCE store's objects are locked for 1 day. A backup killed after
# its packs are durable and before its index segment leaves packs nothing
# references; lock-extend must move every referenced object's date and
# leave those. S3 dates are whole days and radosgw cannot move its clock:
# --min-remaining 2 (days) makes every object qualify now.

# until_of NAME [VERSION]: the retain-until date of c/NAME (its current
# version, or VERSION) in Unix seconds (0: none).
until_of() {
	local d
	d=$(as BACKUPACCESS -I "$EP/$BUCKET/c/$1${2:+?versionId=$2}" | tr -d '\r' |
		sed -n 's/^x-amz-object-lock-retain-until-date: //Ip')
	[ -n "$d" ] && date -d "$d" +%s || echo 0
}
keys $BUCKET c packs | sort >"$T/packs.before"
mkdir -p "$T/src2"
gen k 200000 >"$T/src2/k.bin"
COFFER_FAULTS='commit@/index/:1:kill' run cb backup u "$T/src2"
assert "a backup killed before its index segment (exit $rc)" test "$rc" -ne 0
keys $BUCKET c packs | sort >"$T/packs.after"
comm -13 "$T/packs.before" "$T/packs.after" >"$T/orphans"
assert "it left packs nothing references ($(wc -l <"$T/orphans"))" test -s "$T/orphans"
uid=$(keys $BUCKET c rp | head -1 | cut -d/ -f2)
seg=$(as CIACCESSKEY "$EP/$BUCKET?list-type=2&prefix=c%2Funits%2F$uid%2Findex%2F" |
	grep -o "<Key>c/units/$uid/index/[^<]*" | head -1 | sed 's|^<Key>c/||')
referenced="config units/$uid/key units/$uid/rp/0000000001 $seg $(cat "$T/packs.before")"
for k in $referenced $(cat "$T/orphans"); do
	echo "$k $(until_of "$k") $(version "$BUCKET/c" "$k")"
done >"$T/until.before"
assert "every object has a lock date" test "$(awk '$2 == 0' "$T/until.before" | wc -l)" = 0
# An attacker with the backup credentials overwrites a referenced pack: on
# radosgw a newer, unlocked version of the name. Extension must still move
# the date of coffer's own (older) version, and leave the attacker's alone.
opack=$(head -1 "$T/packs.before")
printf 'junk\n' >"$T/junk"
ost=$(as_put BACKUPACCESS "$EP/$BUCKET/c/$opack" "$T/junk")
assert "an overwrite of a referenced pack is refused or only adds a version ($ost)" \
	test "$ost" = 200 -o "$ost" = 403 -o "$ost" = 412

run cb --json lock-extend --dry-run
is_rc "lock-extend --dry-run" 0
equal "lock-extend --dry-run" "objects due with a day left (default: a third of the lock)" \
	"$(field extended "$T/out")" 0
assert "it read the locks ($(field checked "$T/out") objects)" test "$(field checked "$T/out")" -gt 4
run cb --json lock-extend --min-remaining 2
is_rc "lock-extend --min-remaining 2" 0
equal "lock-extend" "failed" "$(field failed "$T/out")" 0
assert "extends every object it checked ($(field extended "$T/out") of $(field checked "$T/out"))" \
	test "$(field extended "$T/out")" = "$(field checked "$T/out")"
moved=0 stayed=0
while read -r k before v; do
	after=$(until_of "$k" "$v")
	if grep -qxF "$k" "$T/orphans"; then
		[ "$after" = "$before" ] && stayed=$((stayed + 1)) ||
			not_ok "an unreferenced pack keeps its date" "$k: $before -> $after"
	elif [ "$after" -gt $((before + 43200)) ]; then
		moved=$((moved + 1))
	else
		not_ok "a referenced object's date moves later" "$k: $before -> $after"
	fi
done <"$T/until.before"
equal "lock-extend" "referenced objects whose date moved a day later" "$moved" \
	"$(echo $referenced | wc -w)"
equal "lock-extend" "unreferenced packs left as they were" "$stayed" "$(wc -l <"$T/orphans")"
if [ "$ost" = 200 ]; then
	equal "lock-extend" "the attacker's version of the pack: its lock date (none)" \
		"$(until_of "$opack")" 0
	equal "the deleter" "removes the attacker's unlocked version" \
		"$(status DELETERACCESS -X DELETE "$EP/$BUCKET/c/$opack?versionId=$(version "$BUCKET/c" "$opack")")" 204
fi
as BACKUPACCESS -I "$EP/$BUCKET/c/config" | tr -d '\r' >"$T/head"
assert "an extended object keeps its mode (COMPLIANCE)" \
	grep -qi '^x-amz-object-lock-mode: COMPLIANCE' "$T/head"
run cb --json lock-extend --min-remaining 2
equal "lock-extend run again" "objects extended (all are far enough ahead now)" \
	"$(field extended "$T/out")" 0
run cb lock-extend --unit nosuchunit
assert "lock-extend --unit with a unit that does not exist fails (exit $rc)" test "$rc" -ne 0
run cb check --read-data
assert "check --read-data still passes (exit $rc)" test "$rc" = 0 -o "$rc" = 3
run "$COFFER" --store "$T/localstore" init --key-file-new "$T/local.key"
run "$COFFER" --store "$T/localstore" --key-file "$T/local.key" lock-extend
is_rc "lock-extend on a folder" 0
assert "says there is nothing to extend" grep -q "has no Object Lock: nothing to extend" "$T/out"

# ---- legal hold through the service (docs/s3.md "Legal hold") ----
# A service whose tenants live in the bucket (a location with both credential
# sets); two units of one tenant share the store's own objects (config, key
# slots, deletion key). Holding sets the S3 legal hold on every object their
# live points need; releasing one unit leaves what the other held unit needs.

SP=18770 # (radosgw has 18760 and 18761)
{
	echo "location.rgw = s3+http://127.0.0.1:$PORT/$BUCKET/svc?$BD"
	echo "location.rgw.object_lock = compliance 1"
	echo "default_location = rgw"
} >"$T/svc.conf"
: >"$T/svc.out"
if ! serve_start svc "http://127.0.0.1:$SP" --config "$T/svc.conf" --data "$T/svcdata" \
	--listen "127.0.0.1:$SP" --workers 2 --tick-ms 200 --min-frequency 1; then
	not_ok "service with an S3 location starts" "$(tail -3 "$T/svc.err" | tr '\n' ' ')"
	exit 1
fi
GTOK=$(grep -m1 '^cft_' "$T/svc.out")
tenant held
mkdir -p "$T/ua" "$T/ub"
gen ua 100000 >"$T/ua/a.bin"
gen ub 100000 >"$T/ub/b.bin"
for n in a b; do
	api "$GTOK" POST "/v1/tenants/$TID/protectionUnits" \
		"{\"name\":\"$n\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$T/u$n\"}}"
	printf -v "UNIT_$n" %s "$(jq -r .id "$T/resp")"
done
# A policy, so that each backup is followed by an expiry of its unit
# (which extends locks first; nothing is past retention).
api "$TOK" POST "/v1/tenants/$TID/protectionPolicies" \
	"{\"name\":\"p\",\"kind\":\"account\",\"units\":[\"$UNIT_a\",\"$UNIT_b\"],\"frequencySeconds\":31622400,\"recentDays\":1,\"retentionDays\":365,\"state\":\"active\"}"
expect "service: a policy for both units" 201
for u in "$UNIT_a" "$UNIT_b"; do
	api "$TOK" POST "/v1/tenants/$TID/protectionUnits/$u/backup"
	expect "service: a backup of $u is queued" 202
done
expired() {
	[ "$(q "$TOK" "/v1/tenants/$TID/jobs?limit=1000" \
		'[.items[] | select(.kind == "expire" and .state == "succeeded")] | length')" -ge 2 ]
}
until_true 60 expired || not_ok "service: an expiry of each unit ran" "$(cat "$T/resp")"
points_of() { q "$TOK" "/v1/tenants/$TID/protectionUnits/$1/restorePoints" '.items | length'; }
both_backed() { [ "$(points_of "$UNIT_a")" -ge 1 ] && [ "$(points_of "$UNIT_b")" -ge 1 ]; }
until_true 60 both_backed || not_ok "service: both units have a restore point" "$(cat "$T/resp")"
# hold_of NAME: the legal hold (ON/OFF/none) of svc/$TID/NAME.
hold_of() {
	local h
	h=$(as BACKUPACCESS -I "$EP/$BUCKET/svc/$TID/$1" | tr -d '\r' |
		sed -n 's/^x-amz-object-lock-legal-hold: //Ip')
	echo "${h:-none}"
}
# held_rps: how many restore point manifests of the tenant are held.
held_rps() {
	local k n=0
	for k in $(keys "$BUCKET" "svc/$TID" rp); do [ "$(hold_of "$k")" = ON ] && n=$((n + 1)); done
	echo $n
}
nrp=$(keys "$BUCKET" "svc/$TID" rp | wc -l)
assert "the tenant's restore points are in the bucket ($nrp)" test "$nrp" -ge 2
equal "before any hold" "held manifests" "$(held_rps)" 0
api "$TOK" PUT "/v1/tenants/$TID/protectionUnits/$UNIT_a/legalHold" '{"reason":"case 7"}'
expect "service: PUT legalHold on unit a" 200
equal "hold on a" "its legalHold in the answer" "$(j .legalHold.reason)" "case 7"
equal "hold on a" "held manifests (a's only)" "$(held_rps)" "$(points_of "$UNIT_a")"
equal "hold on a" "the store's config" "$(hold_of config)" ON
api "$TOK" PUT "/v1/tenants/$TID/protectionUnits/$UNIT_b/legalHold" '{"reason":"case 8"}'
expect "service: PUT legalHold on unit b" 200
equal "hold on a and b" "held manifests" "$(held_rps)" "$nrp"
api "$TOK" DELETE "/v1/tenants/$TID/protectionUnits/$UNIT_a/legalHold"
expect "service: DELETE legalHold on unit a" 200
equal "a released, b held" "held manifests (b's only)" "$(held_rps)" "$(points_of "$UNIT_b")"
equal "a released, b held" "the store's config (b needs it)" "$(hold_of config)" ON
api "$TOK" DELETE "/v1/tenants/$TID/protectionUnits/$UNIT_b/legalHold"
expect "service: DELETE legalHold on unit b" 200
equal "both released" "held manifests" "$(held_rps)" 0
equal "both released" "the store's config" "$(hold_of config)" OFF
api "$TOK" GET "/v1/tenants/$TID/auditLog?action=unit.legalHold&limit=100"
equal "the audit log" "legal hold entries (2 set, 2 released)" "$(jq '.items | length' "$T/resp")" 4
serve_stop TERM
assert "the service's expiry ran lock extension (event=lock.extend, nothing failed)" \
	grep -q "event=lock.extend tenant=$TID .*failed=0" "$T/svc.err"
if sanitizer "$T/svc.err"; then
	not_ok "no sanitizer report in the service's log" "$(grep -m1 -E 'Sanitizer|runtime error' "$T/svc.err")"
else ok "no sanitizer report in the service's log"; fi

exit $FAILED
