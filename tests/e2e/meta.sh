#!/usr/bin/env bash
# Metadata fidelity as `tar --xattrs --acls` keeps it (docs/format.md 8,
# docs/engine.md "Metadata"): POSIX ACLs (access and default), a file
# capability, trusted.* / security.* / user.* xattrs and owner names as
# well as ids. Backed up and restored as root into a new place and in
# place, compared with getfacl, getcap, getfattr and stat; a changed ACL,
# xattr or owner name is a metadata change for diff; owners map by name
# on a host where the name has another id (by id with --numeric-owner);
# a restore as nobody puts back what nobody may and says the rest in one
# line. Needs root (useradd, setcap, trusted.*), as the suite runs in CI.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "# not root: metadata fidelity needs root (useradd, setcap, trusted.*)"
	exit 0
fi
for tool in setfacl getfacl setcap getcap setfattr getfattr useradd usermod groupmod setpriv; do
	command -v "$tool" >/dev/null || { not_ok "meta: $tool is installed (scripts/install-deps.sh)"; exit 1; }
done

# An id free as both a user and a group id, from $1 up.
free_id() {
	local i=$1
	while getent passwd "$i" >/dev/null || getent group "$i" >/dev/null; do i=$((i + 1)); done
	echo "$i"
}
# useradd and friends lock /etc/passwd; another script may hold it a moment.
retry() { local i; for i in 1 2 3 4 5; do "$@" && return 0; sleep 0.2; done; return 1; }

U=cofmeta$$
UID1=$(free_id 51000)
NOID=$(free_id $((UID1 + 1))) # an id with no name
trap 'userdel "$U" >/dev/null 2>&1; groupdel "$U" >/dev/null 2>&1; cleanup' EXIT
retry groupadd -g "$UID1" "$U" && retry useradd -M -g "$U" -u "$UID1" -s /usr/sbin/nologin "$U" ||
	{ not_ok "meta: useradd $U"; exit 1; }
selinux=0
[ -e /sys/fs/selinux/enforce ] && selinux=1

S=$T/src
mkdir -p "$S/shared" "$S/bin"
echo data >"$S/acl.txt"
setfacl -m "u:$U:rw-,g:daemon:r--,m::rw-" "$S/acl.txt"
setfattr -n trusted.origin -v lab "$S/acl.txt"
setfattr -n user.note -v hello "$S/acl.txt"
setfacl -m "u:$U:rwx" "$S/shared"
setfacl -d -m "u:$U:rwx,g::r-x,o::---" "$S/shared"
echo inherited >"$S/shared/child.txt" # gets the folder's default ACL
printf '#!/bin/sh\n' >"$S/bin/suid" && chown "$U:$U" "$S/bin/suid" && chmod 4755 "$S/bin/suid"
printf '#!/bin/sh\n' >"$S/bin/cap" && chown "$U:$U" "$S/bin/cap" && chmod 0750 "$S/bin/cap"
setcap cap_net_bind_service+ep "$S/bin/cap" # after chown: chown clears it
echo named >"$S/named" && chown "$U:$U" "$S/named"
echo nameless >"$S/noname" && chown "$NOID:$NOID" "$S/noname"
echo labelled >"$S/labelled"
setfattr -n security.selinux -v system_u:object_r:etc_t:s0 "$S/labelled" 2>/dev/null
labelled=$(getfattr --only-values -n security.selinux "$S/labelled" 2>/dev/null)

# meta_state DIR: per entry, sorted: owner names and ids, mode, ACLs,
# capability and every xattr (security.selinux left out: it is the host's
# unless SELinux is enabled).
meta_state() {
	(cd "$1" && find . -printf '%p\n' | LC_ALL=C sort | while read -r p; do
		stat -c '%n %U:%G:%u:%g %a' "$p"
		[ -L "$p" ] || getfacl -cpn "$p" 2>/dev/null | grep -v '^$'
		getcap "$p"
		getfattr -h -d -m - -e hex "$p" 2>/dev/null | grep -v -e '^#' -e '^$' -e '^security.selinux='
	done)
}
state_is() {
	meta_state "$3" >"$T/state.b"
	if cmp -s "$2" "$T/state.b"; then ok "$1"
	else not_ok "$1" "$(diff "$2" "$T/state.b" | head -8 | tr '\n' ' ')"; fi
}
# err_has NAME REGEX...: the last run's stderr matches every REGEX.
err_has() {
	local name=$1 t; shift
	for t in "$@"; do
		grep -q -- "$t" "$T/err" || { not_ok "$name" "no \"$t\" in: $(tr '\n' ' ' <"$T/err")"; return; }
	done
	ok "$name"
}
owner_is() { # NAME PATH WANT (%U:%G:%u:%g)
	local got
	got=$(stat -c %U:%G:%u:%g "$2")
	if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1" "$2 is $got, want $3"; fi
}

meta_state "$S" >"$T/state1"
assert "meta: the source has the ACLs, the capability and the trusted xattr" \
	grep -q -e "user:$UID1:rw-" -e "cap_net_bind_service=ep" -e trusted.origin "$T/state1"
init_store
run c backup u "$S"
is_rc "meta: backup as root, no warning" 0

run c --json ls u named
assert "meta: ls --json shows the owner's ids and names" \
	bash -c '[ "$(jq -r "[.uid, .gid, .user, .group] | join(\":\")" "$1")" = "$2:$2:$3:$3" ]' _ "$T/out" "$UID1" "$U"

# ---- a new place ----
run c restore u --to "$T/r1"
is_rc "meta: restore as root into a new folder" 0
state_is "meta: ACLs, default ACL, capability, trusted/user xattrs, owners and modes restored" \
	"$T/state1" "$T/r1"
owner_is "meta: the named owner restored" "$T/r1/named" "$U:$U:$UID1:$UID1"
owner_is "meta: the owner without a name restored by id" "$T/r1/noname" \
	"UNKNOWN:UNKNOWN:$NOID:$NOID"
assert "meta: the set-uid bit survives the chown (owner first, then mode)" \
	[ "$(stat -c %a "$T/r1/bin/suid")" = 4755 ]
assert "meta: the capability survives the chown (xattrs after owner)" \
	bash -c 'getcap "$1" | grep -q cap_net_bind_service=ep' _ "$T/r1/bin/cap"
if [ -n "$labelled" ] && [ $selinux = 0 ]; then
	assert "meta: no SELinux here: the label is not written" \
		bash -c '! getfattr -n security.selinux "$1" >/dev/null 2>&1' _ "$T/r1/labelled"
	err_has "meta: the summary line says the label was not applied" \
		"not applied: 1 SELinux label (SELinux is not enabled here)"
fi

# Into a folder whose default ACL new entries inherit: they must not keep
# an ACL their records lack, and the folder loses the one its record lacks.
mkdir "$T/r5" && setfacl -d -m u:nobody:rwx "$T/r5"
run c restore u --to "$T/r5"
is_rc "meta: restore into a folder with a default ACL" 0
state_is "meta: no inherited ACL is left on the restored entries" "$T/state1" "$T/r5"

# ---- an unchanged re-run opens no file; nothing differs ----
wrap=()
if command -v strace >/dev/null && strace -f -qq -o /dev/null true 2>/dev/null; then
	wrap=(env "ASAN_OPTIONS=${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}:detect_leaks=0"
		strace -f -qq -e trace=open,openat,openat2 -y -o "$T/strace.log")
fi
run "${wrap[@]}" "$COFFER" --store "$STORE" --key-file "$KEY" backup u "$S"
is_rc "meta: unchanged re-run" 0
if [ ${#wrap[@]} -gt 0 ]; then
	opened=$(grep -F "<$S/" "$T/strace.log" | grep -v O_DIRECTORY)
	if [ -z "$opened" ]; then ok "meta: the unchanged re-run opens no source file"
	else not_ok "meta: the unchanged re-run opens no source file" "$(echo "$opened" | head -2 | tr '\n' ' ')"; fi
fi
run c diff u@1 u@2
assert "meta: diff of the unchanged re-run is empty" [ ! -s "$T/out" ]

# ---- a changed ACL and xattr: diff sees them, in place puts them back ----
setfacl -m "u:$U:r--" "$S/acl.txt"
setfattr -n trusted.origin -v elsewhere "$S/acl.txt"
setfacl -x "u:$U" "$S/shared"
setcap -r "$S/bin/cap"
setfattr -n trusted.added -v x "$S/named"
run c diff u@2 live
assert "meta: diff live reports the changed ACL, xattr and capability as metadata" \
	bash -c '[ "$(LC_ALL=C sort "$1" | tr "\n" " ")" = "m acl.txt m bin/cap m named m shared " ]' _ "$T/out"
# The changes bumped the files' ctimes: a backup records them (u@3).
run c backup u "$S"
is_rc "meta: backup after the changes" 0
run c diff u@2 u@3
assert "meta: the new point has the changed ACLs, xattr and capability" \
	bash -c '[ "$(LC_ALL=C sort "$1" | tr "\n" " ")" = "m acl.txt m bin/cap m named m shared " ]' _ "$T/out"
run c restore u@2 --in-place
is_rc "meta: in-place restore" 0
err_has "meta: in place rewrites no content, fixes metadata" "0 files written.* 4 metadata fixed"
state_is "meta: in place, ACLs, capability and xattrs are back" "$T/state1" "$S"

# ---- owner names: a renamed owner is a metadata change ----
retry usermod -l "${U}r" "$U"
run c backup u "$S"
is_rc "meta: backup after renaming the owner" 0
retry usermod -l "$U" "${U}r"
run c diff u@2 u@4
assert "meta: diff reports the renamed owner's entries" \
	bash -c '[ "$(LC_ALL=C sort "$1" | tr "\n" " ")" = "m bin/cap m bin/suid m named " ]' _ "$T/out"

# ---- a host where the name has another id: the name wins ----
UID2=$(free_id $((NOID + 1)))
retry usermod -u "$UID2" "$U" && retry groupmod -g "$UID2" "$U"
run c restore u@1 --to "$T/r2"
is_rc "meta: restore where the owner's name has another id" 0
owner_is "meta: by name: the owner gets the name's id here" "$T/r2/named" "$U:$U:$UID2:$UID2"
owner_is "meta: by name: an owner without a name keeps the id" "$T/r2/noname" \
	"UNKNOWN:UNKNOWN:$NOID:$NOID"
assert "meta: by name: the capability is kept after the chown" \
	bash -c 'getcap "$1" | grep -q cap_net_bind_service=ep' _ "$T/r2/bin/cap"
run c restore u@1 --to "$T/r3" --numeric-owner
is_rc "meta: restore --numeric-owner" 0
owner_is "meta: --numeric-owner: the recorded id wins" "$T/r3/named" \
	"UNKNOWN:UNKNOWN:$UID1:$UID1"
# In place, an owner whose name now has another id is a metadata change.
run c restore u@1 --in-place
err_has "meta: in place, the owners move to the name's id" "0 files written.* 3 metadata fixed"
owner_is "meta: in place, by name" "$S/named" "$U:$U:$UID2:$UID2"
retry usermod -u "$UID1" "$U" && retry groupmod -g "$UID1" "$U"

# ---- as nobody: what nobody may, and one line for the rest ----
NB=$T/nb
cp -a "$STORE" "$NB.store" && cp "$KEY" "$NB.key" && mkdir -p "$NB.cache"
chown -R nobody:nogroup "$NB.store" "$NB.key" "$NB.cache"
mkdir -m 0777 "$NB"
run setpriv --reuid=nobody --regid=nogroup --clear-groups env COFFER_CACHE="$NB.cache" \
	"$COFFER" --store "$NB.store" --key-file "$NB.key" restore u@1 --to "$NB/r"
is_rc "meta: restore as nobody succeeds (exit 0)" 0
cp "$T/err" "$T/nobody.err"
assert "meta: as nobody, one summary line and no error per file" \
	[ "$(grep -c 'not applied' "$T/err")" = 1 ]
err_has "meta: the summary names the owners and attributes it could not apply" \
	"not applied: the owner of " "extended attributes (first: "
assert "meta: as nobody, user xattr, ACLs and modes are restored" \
	bash -c '[ "$(getfattr --only-values -n user.note "$1/acl.txt")" = hello ] &&
		getfacl -cpn "$1/acl.txt" | grep -qx "user:$2:rw-" &&
		getfacl -cpn "$1/shared" | grep -qx "default:user:$2:rwx" &&
		[ "$(stat -c %a "$1/bin/suid")" = 4755 ]' _ "$NB/r" "$UID1"
assert "meta: as nobody, trusted.* and the capability are not" \
	bash -c '! getfattr -n trusted.origin "$1/acl.txt" >/dev/null 2>&1 && [ -z "$(getcap "$1/bin/cap")" ]' \
	_ "$NB/r"

# ---- a backup as nobody: trusted.* is invisible to it, not an error ----
chown -R nobody:nogroup "$S"
setcap cap_net_bind_service+ep "$S/bin/cap" # chown cleared it
run setpriv --reuid=nobody --regid=nogroup --clear-groups env COFFER_CACHE="$NB.cache" \
	"$COFFER" --store "$NB.store" --key-file "$NB.key" backup u "$S"
is_rc "meta: backup as nobody of files with trusted.* xattrs, no warning" 0
# Attributes it may not read (user.* of empty files it may not read, so
# that nothing else fails): one warning for the backup, not one per file.
mkdir "$S/locked"
for f in a b; do
	: >"$S/locked/$f" && setfattr -n user.k -v v "$S/locked/$f" && chmod 000 "$S/locked/$f"
done
chown -R nobody:nogroup "$S/locked"
run setpriv --reuid=nobody --regid=nogroup --clear-groups env COFFER_CACHE="$NB.cache" \
	"$COFFER" --store "$NB.store" --key-file "$NB.key" backup u2 "$S/locked"
is_rc "meta: unreadable attributes are a warning (exit 3)" 3
assert "meta: one warning for both files' unreadable attributes" \
	[ "$(grep -c 'could not be read' "$T/err")" = 1 ]
err_has "meta: the warning counts them and names the first" \
	"2 extended attributes could not be read and are not kept (first: user.k of .*locked/a: Permission denied)"
run "$COFFER" --store "$NB.store" --key-file "$NB.key" restore u@5 --to "$T/r4"
is_rc "meta: restore of nobody's backup" 0
assert "meta: nobody's backup kept the ACLs and the capability, not trusted.*" \
	bash -c 'getfacl -cpn "$1/acl.txt" | grep -qx "user:$2:rw-" && getcap "$1/bin/cap" | grep -q cap_net_bind &&
		! getfattr -n trusted.origin "$1/acl.txt" >/dev/null 2>&1' _ "$T/r4" "$UID1"

exit $FAILED
