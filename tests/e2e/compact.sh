#!/usr/bin/env bash
# Compaction (docs/prune.md "Compaction", docs/privacy.md 3): `coffer
# compact` rewrites the packs that hold erased data, on a store without
# Object Lock. Checked here: the newest point's withheld files stay (its
# next backup may reuse them); after a later backup the erased file's
# blobs leave the index and the store shrinks by about its size; every
# point restores byte-identical but for the withheld folder; check
# --read-data passes; a second compact does nothing; a compact killed
# before its index or before its deletions leaves everything restorable
# and a rerun finishes; an open writer defers it; it needs the deletion
# key; --dry-run writes nothing.
. "$(dirname "$0")/lib.sh"

seed_random

ERASE=$(dirname "$COFFER")/tests/erase_record
SRC=$T/src
PTS=$T/points
mkdir -p "$SRC/keep" "$SRC/secret" "$PTS"
[ -x "$ERASE" ] || { not_ok "erase_record is built" "$ERASE"; finish; }

NPOINTS=0
backup_ok() { # LABEL
	local rc
	c --quiet backup u "$SRC" >"$T/backup.out" 2>&1; rc=$?
	if [ $rc -eq 0 ]; then
		NPOINTS=$((NPOINTS + 1)); cp -a "$SRC" "$PTS/$NPOINTS"
		ok "$1: backup completes (u@$NPOINTS)"
	else
		not_ok "$1: backup completes" "exit $rc: $(why "$T/backup.out")"
	fi
}

# verify_all LABEL: every point restores as its source was, without
# secret/ in the points the path erasure covers (1..ERASED) and, once
# erased by its content key (KEYED=1), without keep/k.bin in any point.
KEYED=0
verify_all() {
	local p want
	for ((p = 1; p <= NPOINTS; p++)); do
		want=$T/want; rm -rf "$want"; cp -a "$PTS/$p" "$want"
		if [ "$p" -le "$ERASED" ]; then
			rm -rf "$want/secret"; touch -r "$PTS/$p" "$want"
		fi
		if [ "$KEYED" = 1 ]; then
			rm -f "$want/keep/k.bin"; touch -r "$PTS/$p/keep" "$want/keep"
		fi
		verify_restore "u@$p" "$want" "$1"
	done
}

# store_state: every object's name, size and mtime (objects are written
# once, so a change shows).
store_state() { (cd "$STORE" && find . -type f -printf '%p %s %T@\n' | LC_ALL=C sort); }
pack_bytes() { find "$STORE"/units/*/packs -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
indexed_blobs() { c check 2>/dev/null | grep -o '[0-9]* blobs' | cut -d' ' -f1; }

# unit_field NAME FILE: a number of the unit's entry in compact --json.
unit_field() { field "$1" "$2"; }

# compact_json LABEL ARGS...: runs compact --json; J holds the output.
compact_json() {
	local label=$1 rc; shift
	J=$T/compact.json
	c --json compact --deletion-key-file "$DKEY" "$@" >"$J" 2>"$T/compact.err"; rc=$?
	if [ $rc -ne 0 ] || ! grep -q '"units"' "$J"; then
		not_ok "$label: compact $* exits 0 with JSON" "exit $rc: $(why "$T/compact.err") $(head -c 300 "$J")"
		echo '{}' >"$J"
		return 1
	fi
}

# kill_compact RULE LABEL: a compact SIGKILLed by the fault rule (COFFER_FAULTS).
kill_compact() {
	local rc
	{ COFFER_FAULTS=$1:kill "$COFFER" --store "$STORE" --key-file "$KEY" --quiet \
		compact --deletion-key-file "$DKEY" >"$T/kill.out" 2>&1; rc=$?; } 2>/dev/null
	if [ $rc -eq 137 ]; then ok "$2: COFFER_FAULTS=$1:kill kills compact"
	else not_ok "$2: COFFER_FAULTS=$1:kill kills compact" "exit $rc: $(why "$T/kill.out")"; fi
}

init_store || { not_ok "init" "coffer init failed"; finish; }
gen keep-a 800000 >"$SRC/keep/a.bin"
gen keep-b 300000 >"$SRC/keep/b.bin"
gen keyed 600000 >"$SRC/keep/k.bin"
gen secret 2097152 >"$SRC/secret/big.bin"
printf 'private\n' >"$SRC/secret/note.txt"
backup_ok "first"
gen keep-c 200000 >"$SRC/keep/c.bin"
backup_ok "second"

run c compact
fails_with "compact without the deletion key is refused" 1 "deletion key"

"$ERASE" "$STORE" "$KEY" "$DKEY" u paths secret >"$T/erase.out" 2>&1 ||
	not_ok "erase_record writes an erasure record of a path" "$(cat "$T/erase.out")"
ERASED=$NPOINTS

compact_json "newest point withheld"
equal "newest point withheld" "packs rewritten (its next backup may reuse them)" \
	"$(unit_field packsRewritten "$J")" 0

# A point after the erasure, without the erased folder.
sleep 1.1
rm -rf "$SRC/secret"
backup_ok "after the erasure"

# keep/k.bin by its content key: withheld in every point, the newest too.
"$ERASE" "$STORE" "$KEY" "$DKEY" u keys keep/k.bin >"$T/erase.out" 2>&1 ||
	not_ok "erase_record writes an erasure record of a content key" "$(cat "$T/erase.out")"
KEYED=1

BEFORE=$(pack_bytes)
SNAP=$(store_state)
run c compact --dry-run
is_rc "dry run without the deletion key exits 0" 0
expect_eq "dry run changes nothing" "$(store_state)" "$SNAP"
grep -q "packs rewritten" "$T/out" && ok "dry run reports" || not_ok "dry run reports" "$(cat "$T/out")"

# An open writer (the start marker a running backup puts, docs/prune.md)
# defers the unit: nothing is written or deleted.
date +%s >"$(echo "$STORE"/units/*/sessions)/0123456789abcdef0123456789abcdef"
SNAP=$(store_state)
run c --json compact --deletion-key-file "$DKEY"
is_rc "an open writer: compact exits 3" 3
grep -q '"deferred":true' "$T/out" && ok "an open writer: the unit is deferred" ||
	not_ok "an open writer: the unit is deferred" "$(cat "$T/out")"
expect_eq "an open writer: compact changes nothing" "$(store_state)" "$SNAP"
age_open_writers
BLOBS=$(indexed_blobs)

# Killed before the index segment of the new packs, then before the first
# deletion (its record written): every point restores each time.
kill_compact "commit@/index/:1" "before the index"
run c check
is_rc "killed before the index: check passes (the index is as it was)" 0
age_open_writers
kill_compact "remove@/packs/:1" "before the deletions"
verify_all "killed before the deletions"
age_open_writers

compact_json "compact" && ok "compact completes after two kills"
DROPPED=$(unit_field blobsDropped "$J")
[ "$(unit_field packsRewritten "$J")" -ge 1 ] && ok "packs rewritten" ||
	not_ok "packs rewritten" "$(cat "$J")"
[ "${DROPPED:-0}" -ge 3 ] && ok "erased blobs dropped ($DROPPED)" || not_ok "erased blobs dropped" "$(cat "$J")"

AFTER=$(pack_bytes)
FREED=$((BEFORE - AFTER))
# Killed runs left copies (unindexed, for prune): count only indexed packs'
# loss by the erased file's size, within what the leftovers add.
[ "$(unit_field bytesFreed "$J")" -ge 2600000 ] && ok "bytes freed reported >= 2.6 MB" ||
	not_ok "bytes freed reported >= 2.6 MB" "$(cat "$J")"
equal "compact" "indexed blobs" "$(indexed_blobs)" "$((BLOBS - DROPPED))"
verify_all "after compact"
run c check --read-data
is_rc "check --read-data passes after compact" 0

# Prune removes the copies the killed runs left; then the store is about
# 2 MiB smaller than before.
c prune --grace 0 --deletion-key-file "$DKEY" >>"$T/prune.out" 2>&1
c prune --grace 0 --deletion-key-file "$DKEY" >>"$T/prune.out" 2>&1
AFTER=$(pack_bytes)
[ $((BEFORE - AFTER)) -ge 2690000 ] && [ $((BEFORE - AFTER)) -le 2900000 ] &&
	ok "the store shrank by about the erased files ($((BEFORE - AFTER)) bytes)" ||
	not_ok "the store shrank by about the erased files" "before $BEFORE after $AFTER: $(cat "$T/prune.out")"

# The next backup finds keep/k.bin unchanged and copies its extents from
# its parent: withheld by its key there too, so nothing reads the blobs
# that are gone.
backup_ok "after compact"
rm -rf "$T/want"; cp -a "$PTS/$NPOINTS" "$T/want"
rm -f "$T/want/keep/k.bin"; touch -r "$PTS/$NPOINTS/keep" "$T/want/keep"
verify_restore "u@$NPOINTS" "$T/want" "after compact" "restores byte-identical but for keep/k.bin"

PACKS=$(find "$STORE"/units/*/packs -type f | sort)
compact_json "second compact"
equal "second compact" "packs rewritten" "$(unit_field packsRewritten "$J")" 0
expect_eq "second compact touches no pack" "$(find "$STORE"/units/*/packs -type f | sort)" "$PACKS"
run c check --read-data
is_rc "check --read-data passes at the end" 0
c deletion-log u 2>/dev/null | grep -q prune && ok "deletion log records the compaction" ||
	not_ok "deletion log records the compaction" "$(c deletion-log u 2>&1 | tail -2)"

finish
