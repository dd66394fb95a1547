#!/usr/bin/env bash
# Bad input and hostile conditions: wrong or missing key file, passphrase
# stores, a store of a newer format, a restore point of a newer version, a
# full disk, injected write faults, an unreadable source file, a file that
# grows while it is read, and usage errors.
. "$(dirname "$0")/lib.sh"

MNT=$T/disk
trap 'mountpoint -q "$MNT" && umount "$MNT"; cleanup' EXIT
trap 'exit 143' TERM INT HUP

# err_has NAME ERE: the last run's stderr matches ERE (case-insensitive).
err_has() {
	if grep -qiE -- "$2" "$T/err"; then ok "$1"
	else not_ok "$1" "stderr lacks /$2/: $(tail -3 "$T/err" | tr '\n' ' ')"; fi
}

# listing DIR: names, sizes and sha256 of everything in DIR.
listing() {
	(cd "$1" && find . -printf '%p %y %s %m\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

# same_files A B: the same paths and the same file contents.
same_files() {
	[ "$(cd "$1" && find . -printf '%p %y\n' | LC_ALL=C sort)" = "$(cd "$2" && find . -printf '%p %y\n' | LC_ALL=C sort)" ] &&
		diff -r --no-dereference "$1" "$2"
}

S=$T/src
mkdir -p "$S/docs"
echo hello >"$S/docs/a.txt"
seq 1 50000 >"$S/nums"
head -c 300000 /dev/urandom >"$S/random.bin"
init_store
run c backup u "$S"
is_rc "backup" 0

# ---- keys ----

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/wrong.key"
echo >>"$T/wrong.key"
listing "$STORE" >"$T/list.before"
run "$COFFER" --store "$STORE" --key-file "$T/wrong.key" ls u
is_rc "wrong key file: exit 1" 1
err_has "wrong key file: says 'wrong passphrase or key file'" "wrong passphrase or key file"
run "$COFFER" --store "$STORE" --key-file "$T/wrong.key" backup u "$S"
is_rc "backup with a wrong key file: exit 1" 1
listing "$STORE" >"$T/list.after"
assert "a wrong key file writes nothing to the store" cmp "$T/list.before" "$T/list.after"

run "$COFFER" --store "$STORE" --key-file "$T/no-such.key" ls u
is_rc "missing key file: exit 1" 1
err_has "missing key file: the message names the file" "$T/no-such.key"

PS=$T/pstore
run env COFFER_PASSPHRASE='correct horse battery' "$COFFER" --store "$PS" init
is_rc "init with COFFER_PASSPHRASE" 0
run env COFFER_PASSPHRASE='correct horse battery' "$COFFER" --store "$PS" backup p "$S"
is_rc "passphrase store: backup with the right passphrase" 0
run env COFFER_PASSPHRASE='correct horse battery' "$COFFER" --store "$PS" restore p --to "$T/pr"
is_rc "passphrase store: restore with the right passphrase" 0
assert "passphrase store: restored files identical" same_files "$S" "$T/pr"
run env COFFER_PASSPHRASE='wrong horse battery' "$COFFER" --store "$PS" ls p
is_rc "passphrase store: wrong passphrase exits 1" 1
err_has "passphrase store: wrong passphrase says 'wrong passphrase or key file'" "wrong passphrase or key file"
printf 'correct horse battery\n' >"$T/pass"
run env -u COFFER_PASSPHRASE "$COFFER" --store "$PS" --passphrase-file "$T/pass" ls p
is_rc "passphrase store: --passphrase-file with the right passphrase" 0
run env -u COFFER_PASSPHRASE setsid -w "$COFFER" --store "$PS" ls p </dev/null
is_rc "no key source and no terminal: exit 1 (does not hang)" 1
err_has "no key source and no terminal: the message says how to give a key" "key-file|passphrase"

# ---- a store of a newer format ----

cp -a "$STORE" "$T/f2store"
sed -i 's/^format 1$/format 2/' "$T/f2store/config"
listing "$T/f2store" >"$T/list.before"
run "$COFFER" --store "$T/f2store" --key-file "$KEY" backup u "$S"
is_rc "store of format 2: backup exits 1" 1
err_has "store of format 2: the message names the format version" "format 2"
run "$COFFER" --store "$T/f2store" --key-file "$KEY" restore u --to "$T/f2r"
is_rc "store of format 2: restore exits 1" 1
run "$COFFER" --store "$T/f2store" --key-file "$KEY" check
is_rc "store of format 2: check exits 1" 1
err_has "store of format 2: check names the format version" "format 2"
listing "$T/f2store" >"$T/list.after"
assert "store of format 2: nothing is written to it" cmp "$T/list.before" "$T/list.after"
assert "store of format 2: restore created nothing" [ ! -e "$T/f2r" ]

# ---- a restore point of a newer version ----

echo more >"$S/docs/b.txt"
run c backup u "$S"
is_rc "second backup" 0
cp -a "$STORE" "$T/vstore"
RP1=$(ls "$T"/vstore/units/*/rp/0000000001)
printf '\002' | dd of="$RP1" bs=1 seek=7 conv=notrunc 2>/dev/null
run "$COFFER" --store "$T/vstore" --key-file "$KEY" check
is_rc "restore point of version 2: check exits 4" 4
err_has "restore point of version 2: check names the point" "u@1|rp/0000000001"
err_has "restore point of version 2: check says it is a newer version" "version"
run "$COFFER" --store "$T/vstore" --key-file "$KEY" restore u@1 --to "$T/vr1"
is_rc "restore point of version 2: restoring it exits 1" 1
err_has "restore point of version 2: the message names the object and its version" "rp/0000000001.*version 2"
run "$COFFER" --store "$T/vstore" --key-file "$KEY" restore u@2 --to "$T/vr2"
is_rc "restore point of version 2: the other point still restores" 0
assert "restore point of version 2: the other point's files are identical" same_files "$S" "$T/vr2"

# ---- full disk ----

mkdir -p "$MNT"
if mount -t tmpfs -o size=6m tmpfs "$MNT"; then
	DS=$MNT/store
	DK=$T/disk.key
	dc() { "$COFFER" --store "$DS" --key-file "$DK" "$@"; }
	run "$COFFER" --store "$DS" init --key-file-new "$DK"
	is_rc "full disk: init on a 6 MiB tmpfs" 0
	mkdir -p "$T/dsrc"
	cp -a "$S/." "$T/dsrc/"
	run dc backup d "$T/dsrc"
	is_rc "full disk: first backup fits" 0
	cp -a "$T/dsrc" "$T/dsnap1"
	mkdir "$T/dsrc/big"
	for i in 1 2 3 4; do head -c 5000000 /dev/urandom >"$T/dsrc/big/r$i"; done
	run dc backup d "$T/dsrc"
	is_rc "full disk: backing up 20 MB exits 1" 1
	err_has "full disk: the message says 'No space left on device'" "No space left on device"
	run dc restore-points d
	assert "full disk: the failed backup left no restore point" \
		bash -c 'grep -q "^d@1 " "$1" && ! grep -q "^d@2 " "$1"' _ "$T/out"
	run dc restore d@1 --to "$T/dr1"
	is_rc "full disk: the earlier restore point still restores" 0
	assert "full disk: its files are identical" same_files "$T/dsnap1" "$T/dr1"
	run dc check --read-data
	is_rc "full disk: check --read-data passes after the failure" 0
	rm -rf "$T/dsrc/big"
	echo after >"$T/dsrc/after.txt"
	run dc backup d "$T/dsrc"
	is_rc "full disk: once the big files are gone, the next backup succeeds (no leftovers fill the disk)" 0
	run dc restore d --to "$T/dr2"
	is_rc "full disk: the new point restores" 0
	assert "full disk: the new point's files are identical" same_files "$T/dsrc" "$T/dr2"
	run dc check --read-data
	is_rc "full disk: check --read-data passes at the end" 0
	umount "$MNT"
else
	not_ok "full disk: mount a 6 MiB tmpfs" "mount failed (the tests run as root)"
fi

# ---- injected write fault ----

mkdir -p "$T/fsrc"
head -c 1000000 /dev/urandom >"$T/fsrc/data.bin"
echo small >"$T/fsrc/small.txt"
run env COFFER_FAULTS=commit:3:enospc "$COFFER" --store "$STORE" --key-file "$KEY" backup f "$T/fsrc"
is_rc "fault commit:3:enospc: backup exits 1" 1
err_has "fault commit:3:enospc: the message says 'No space left on device'" "No space left on device"
err_has "fault commit:3:enospc: the message names the object (units/<uid>/...)" "units/[0-9a-f]{32}/[a-z]+/[0-9a-f]"
run c backup f "$T/fsrc"
is_rc "fault: a later backup succeeds" 0
assert "fault: the later backup is the unit's first restore point" grep -q "f@1" "$T/out"
run c restore f --to "$T/fr"
is_rc "fault: the later point restores" 0
assert "fault: its files are identical" same_files "$T/fsrc" "$T/fr"
run c check --read-data
is_rc "fault: check --read-data passes" 0

# ---- an unreadable source file, backed up as an unprivileged user ----

NB=$T/nb
mkdir -p "$NB/src/sub" "$NB/cache"
echo one >"$NB/src/one.txt"
echo two >"$NB/src/sub/two.txt"
echo secret >"$NB/src/sub/secret.txt"
run "$COFFER" --store "$NB/store" init --key-file-new "$NB/key"
is_rc "unreadable file: init" 0
chown -R nobody:nogroup "$NB"
chmod 000 "$NB/src/sub/secret.txt"
run setpriv --reuid=nobody --regid=nogroup --clear-groups env COFFER_CACHE="$NB/cache" \
	"$COFFER" --store "$NB/store" --key-file "$NB/key" backup n "$NB/src"
is_rc "unreadable file: backup as nobody exits 3" 3
err_has "unreadable file: a warning names the file" "warning.*sub/secret.txt"
run "$COFFER" --store "$NB/store" --key-file "$NB/key" restore-points n
assert "unreadable file: the restore point exists (n@1)" grep -q "^n@1 " "$T/out"
run "$COFFER" --store "$NB/store" --key-file "$NB/key" --json ls n
assert "unreadable file: the point lacks only that file" \
	[ "$(jq -r .path "$T/out" 2>/dev/null | LC_ALL=C sort | tr '\n' ' ')" = " one.txt sub sub/two.txt " ]
run "$COFFER" --store "$NB/store" --key-file "$NB/key" restore n --to "$T/nbr"
is_rc "unreadable file: the point restores" 0
assert "unreadable file: the readable files are identical" \
	bash -c 'cmp "$1/one.txt" "$2/one.txt" && cmp "$1/sub/two.txt" "$2/sub/two.txt" && [ ! -e "$2/sub/secret.txt" ]' _ "$NB/src" "$T/nbr"

# ---- a file that grows while it is read ----

mkdir -p "$T/grow"
head -c 6000000 /dev/urandom >"$T/grow/growing.log"
echo still >"$T/grow/still.txt"
(for i in $(seq 1 2000); do head -c 4096 /dev/urandom >>"$T/grow/growing.log"; sleep 0.005; done) &
GROWER=$!
sleep 0.1
run c backup g "$T/grow"
kill "$GROWER" 2>/dev/null
wait "$GROWER" 2>/dev/null
assert "growing file: backup completes (exit 0 or 3; got $rc)" bash -c '[ "$1" = 0 ] || [ "$1" = 3 ]' _ "$rc"
if [ "$rc" = 3 ] || grep -qi warning "$T/err"; then
	err_has "growing file: the warning names the file" "warning.*growing.log"
fi
run c restore g --to "$T/gr"
is_rc "growing file: the point restores" 0
assert "growing file: the other file is identical" cmp "$T/grow/still.txt" "$T/gr/still.txt"
assert "growing file: the restored content is a consistent prefix of the file (at least the original 6 MB)" \
	bash -c 'n=$(stat -c %s "$1") && [ "$n" -ge 6000000 ] && cmp -n "$n" "$1" "$2"' _ "$T/gr/growing.log" "$T/grow/growing.log"

# ---- usage errors ----

run c frobnicate
is_rc "unknown command: exit 2" 2
err_has "unknown command: says so" "unknown command"
run c restore u
is_rc "restore without --to or --in-place: exit 2" 2
err_has "restore without --to or --in-place: prints the usage" "usage"
run c restore u --to "$T/x" --in-place
is_rc "restore with both --to and --in-place: exit 2" 2
run c backup u
is_rc "backup without a path: exit 2" 2
run c check --bogus
is_rc "check with an unknown option: exit 2" 2
# init refused after --key-file-new wrote the key: the file goes again,
# but a file that was there before is never touched.
mkdir -p "$T/full" && echo x >"$T/full/x"
run "$COFFER" --store "$T/full" init --key-file-new "$T/full.key"
is_rc "init in a non-empty folder is refused" 1
assert "and leaves no key file behind" [ ! -e "$T/full.key" ]
echo keep >"$T/old.key"
run "$COFFER" --store "$T/new" init --key-file-new "$T/old.key"
is_rc "init with a --key-file-new that exists is refused" 1
assert "and that file is left as it was" grep -qx keep "$T/old.key"
assert "and no store is made" [ ! -e "$T/new/config" ]
run "$COFFER" --store "$T/full" init --key-file-new "$T/full.key" --object-lock-days 3
is_rc "init with lock options on a folder is refused" 2
assert "and leaves no key file behind either" [ ! -e "$T/full.key" ]
run "$COFFER"
is_rc "no command: exit 2" 2
assert "usage errors wrote nothing" [ ! -e "$T/x" ]

finish
