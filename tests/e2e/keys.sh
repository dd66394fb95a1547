#!/usr/bin/env bash
# Key slots from the CLI (docs/cli.md "Keys"): a store opened with each of
# its keys (the first key file, an added passphrase, a recovery key), a
# removed slot refused while the others and every restore point still open,
# removal refused without the deletion key and for the last slot, and a
# passphrase changed with no moment where no key opens the store.
. "$(dirname "$0")/lib.sh"

S=$T/src
mkdir -p "$S/docs"
seq 1 20000 >"$S/docs/a.txt"
echo "notes" >"$S/notes.md"
init_store
run c backup docs "$S"; is_rc "keys: a backup with the first key file" 0

# with KIND SECRET-FILE CMD...: coffer with only that key.
with() {
	local kind=$1 file=$2
	shift 2
	"$COFFER" --store "$STORE" "--$kind" "$file" "$@"
}
# opens KIND FILE: the store opens with it and its point restores byte for byte.
opens() {
	rm -rf "$T/back"
	with "$1" "$2" restore docs@1 --to "$T/back" >"$T/out" 2>"$T/err" && diff -r "$S" "$T/back" >/dev/null
}
slot_count() { c --json key list | jq length; }

run c --json key list
if [ "$rc" = 0 ] && [ "$(jq -r '[.[] | .kind, .inUse] | join(" ")' "$T/out")" = "key-file true" ]; then
	ok "keys: a new store lists one slot, a key file, the one in use"
else not_ok "keys: a new store lists one slot" "$(cat "$T/out" "$T/err")"; fi

printf 'correct horse battery staple\n' >"$T/pass"
run c key add --passphrase-file-new "$T/pass"; is_rc "keys: a passphrase slot is added" 0
if [ "$(slot_count)" = 2 ] && opens passphrase-file "$T/pass"; then
	ok "keys: the store opens with the added passphrase, and its point restores"
else not_ok "keys: the store opens with the added passphrase" "$(cat "$T/err")"; fi

run c key recovery --key-file-new "$T/recovery.key"
rid=$(sed -n 's/^recovery key slot \([0-9a-f]*\);.*/\1/p' "$T/out")
tail -1 "$T/out" >"$T/typed.key" # the line written down, typed back into a file
if [ "$rc" = 0 ] && [ ${#rid} = 16 ] && [ "$(stat -c %a "$T/recovery.key")" = 600 ] &&
	opens key-file "$T/typed.key"; then
	ok "keys: a recovery key is printed, and a file holding that line opens the store"
else not_ok "keys: a recovery key opens the store" "$(cat "$T/out" "$T/err")"; fi

store_snapshot >"$T/snap"
run c key remove "$rid"; is_rc "keys: removing a slot without the deletion key is refused" 1
if grep -q "deletion key" "$T/err" && diff -q "$T/snap" <(store_snapshot) >/dev/null &&
	opens key-file "$T/recovery.key"; then
	ok "keys: the refusal names the deletion key, and the store is unchanged"
else not_ok "keys: the refusal names the deletion key, store unchanged" "$(cat "$T/err")"; fi

run c key remove "$rid" --deletion-key-file "$DKEY"; is_rc "keys: a slot is removed with the deletion key" 0
run with key-file "$T/recovery.key" restore-points
if [ "$rc" != 0 ] && grep -q "wrong passphrase or key file" "$T/err" && [ "$(slot_count)" = 2 ] &&
	opens passphrase-file "$T/pass" && opens key-file "$KEY"; then
	ok "keys: the removed key is refused; the others still open, and the point restores"
else not_ok "keys: the removed key is refused, the others open" "$rc $(cat "$T/err")"; fi

run c key remove 0123456789abcdef --deletion-key-file "$DKEY"; is_rc "keys: removing a slot that is not there fails" 1

# Changing the passphrase: the store opened with it gets a new key file and
# loses the passphrase's slot.
run with passphrase-file "$T/pass" key passwd --key-file-new "$T/new.key" --deletion-key-file "$DKEY"
is_rc "keys: passwd replaces the slot it was opened with" 0
run with passphrase-file "$T/pass" restore-points
if [ "$rc" != 0 ] && opens key-file "$T/new.key" && opens key-file "$KEY" && [ "$(slot_count)" = 2 ]; then
	ok "keys: after passwd the old passphrase is refused and the new key file opens"
else not_ok "keys: after passwd the old passphrase is refused, the new key opens" "$(cat "$T/err")"; fi

# Never the last slot.
first=$(c --json key list | jq -r '.[] | select(.inUse) | .id')
run c key remove "$first" --deletion-key-file "$DKEY"; is_rc "keys: one of two slots removed" 0
last=$(with key-file "$T/new.key" --json key list | jq -r '.[0].id')
run with key-file "$T/new.key" key remove "$last" --deletion-key-file "$DKEY"
is_rc "keys: the last slot cannot be removed (usage error)" 2
if grep -q "last one" "$T/err" && opens key-file "$T/new.key"; then
	ok "keys: the refusal says it is the last slot, and the store still opens"
else not_ok "keys: the last slot stays" "$(cat "$T/err")"; fi
run with key-file "$T/new.key" check --read-data; is_rc "keys: check --read-data passes after every change of keys" 0
finish
