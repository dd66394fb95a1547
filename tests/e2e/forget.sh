#!/usr/bin/env bash
# Forgetting restore points (docs/format.md 7.1, `coffer forget`): six points
# with data changing each time; points 2 and 3 are forgotten. Checked here:
# check passes across the tombstones; restore-points lists 1,4,5,6 (--all
# also 2,3, marked forgotten); ls/diff/restore of a forgotten point fail,
# saying so; prune reclaims the data only 2 and 3 had (the store shrinks) and
# 1,4,5,6 still restore byte-identical; point 7 chains on and check passes;
# the newest point is never forgotten (exit 5) until a newer one exists.
# forget and prune run with the store's deletion key (tests/e2e/deletion.sh
# checks they are refused without it).
# Damage is still found: a flipped byte in a tombstone, a manifest deleted
# without a tombstone (check exits 4 naming it). A forget killed at each
# store operation (COFFER_FAULTS=...:kill) leaves a store check accepts, and
# a re-run of forget (or prune) finishes it.
. "$(dirname "$0")/lib.sh"

seed_random

SRC=$T/src
PTS=$T/points
mkdir -p "$SRC/docs" "$PTS"

forgotten_points() {
	c --json restore-points --all u 2>/dev/null | grep '"forgotten"' |
		grep -o '"seq":[0-9]*' | cut -d: -f2 | tr '\n' ' '
}
store_bytes() { du -sb "$STORE/units" | cut -f1; }
unit_file() { find "$STORE/units" -path "*/$1" -type f | head -1; }

init_store
gen base 1500000 >"$SRC/base.bin"
printf 'constant\n' >"$SRC/docs/readme.txt"
for i in 1 2 3 4 5 6; do
	# Each point has 3 MB no other point has, and shares the rest.
	gen "v$i" 3000000 >"$SRC/v.bin"
	printf 'version %s\n' "$i" >"$SRC/docs/version.txt"
	run c --quiet backup u "$SRC"
	is_rc "backup u@$i" 0
	cp -a "$SRC" "$PTS/$i"
done

run c forget --deletion-key-file "$DKEY" u@2 u@3
is_rc "forget u@2 u@3" 0
expect_eq "forget names what it forgot" "$(tr '\n' ' ' <"$T/out")" "forgot u@2 forgot u@3 "
run c check
is_rc "check passes across the tombstones" 0
assert "check counts the forgotten points" grep -q "5 restore points\|4 restore points (and 2 forgotten)" "$T/out"
expect_eq "restore-points lists the live points" "$(points u)" "1 4 5 6 "
expect_eq "restore-points --all lists every point" "$(points u --all)" "1 2 3 4 5 6 "
expect_eq "restore-points --all marks the forgotten ones" "$(forgotten_points)" "2 3 "
run c restore-points --all u
if grep -q '^u@2 .*forgotten .* (expired)' "$T/out" && ! grep -q '^u@2 .*MiB' "$T/out"; then
	ok "restore-points --all shows u@2 as forgotten"
else
	not_ok "restore-points --all shows u@2 as forgotten" "$(grep '^u@2' "$T/out")"
fi
run c restore-points u
assert "restore-points leaves forgotten points out" test -z "$(grep '^u@[23] ' "$T/out")"

for cmd in "ls u@2" "diff u@3 u@4" "restore u@2 --to $T/r2"; do
	run c $cmd
	if [ "$rc" = 1 ] && grep -q "restore point u@[23] was forgotten on [0-9-]* [0-9:]* UTC (expired)" "$T/err"; then
		ok "$cmd: fails, saying the point was forgotten"
	else
		not_ok "$cmd: fails, saying the point was forgotten" "exit $rc: $(tail -1 "$T/err")"
	fi
done
assert "a failed restore of a forgotten point creates nothing" test ! -e "$T/r2/v.bin"
run c forget --deletion-key-file "$DKEY" u@2
is_rc "forget of a forgotten point is a no-op" 0
run c forget --deletion-key-file "$DKEY" u@9
is_rc "forget of a point that does not exist fails" 1
assert "... naming it" grep -q "u@9" "$T/err"
run c forget --deletion-key-file "$DKEY" u
is_rc "forget without @N is a usage error" 2
run "$COFFER" --store "$STORE" --key-file "$KEY" forget
is_rc "forget without a point is a usage error" 2

before=$(store_bytes)
run c --json prune --grace 0 --deletion-key-file "$DKEY"
is_rc "prune (mark)" 0
run c --json prune --grace 0 --deletion-key-file "$DKEY"
is_rc "prune (sweep)" 0
after=$(store_bytes)
# Points 2 and 3 each had 3 MB of incompressible data of their own.
if [ $((before - after)) -ge 5800000 ]; then
	ok "prune reclaims the data only u@2 and u@3 had ($before -> $after bytes)"
else
	not_ok "prune reclaims the data only u@2 and u@3 had" "$before -> $after bytes"
fi
for i in 1 4 5 6; do verify_restore "u@$i" "$PTS/$i" "after prune"; done
run c check --read-data
is_rc "check --read-data passes after prune" 0

gen v7 3000000 >"$SRC/v.bin"
run c --quiet backup u "$SRC"
is_rc "backup u@7 after forgetting" 0
cp -a "$SRC" "$PTS/7"
expect_eq "u@7 is numbered after the highest point" "$(points u)" "1 4 5 6 7 "
run c check
is_rc "check passes: u@7 chains on" 0
verify_restore u@7 "$PTS/7" "after forgetting"

# The newest point is never forgotten (docs/format.md 7)...
run c forget --deletion-key-file "$DKEY" u@7
is_rc "forget of the newest point is refused (exit 5)" 5
assert "... saying it is retained" grep -q "restore point u@7 is retained until" "$T/err"
expect_eq "the refused forget changed nothing" "$(points u --all)" "1 2 3 4 5 6 7 "
# ... until a newer one exists.
gen v8 1000 >"$SRC/v.bin"
run c --quiet backup u "$SRC"
is_rc "backup u@8" 0
run c forget --deletion-key-file "$DKEY" u@7
is_rc "forget u@7 once u@8 exists" 0
expect_eq "u@8 follows the forgotten u@7" "$(points u)" "1 4 5 6 8 "
run c check
is_rc "check passes: u@8 chains to u@7's tombstone" 0

# --- damage is still damage -------------------------------------------------
GOOD=$T/good
cp -a "$STORE" "$GOOD"
with_copy() { rm -rf "$STORE"; cp -a "$GOOD" "$STORE"; }

with_copy
tomb=$(unit_file forgotten/0000000002)
flip "$tomb" 60
run c check
is_rc "a flipped byte in a tombstone: check exits 4" 4
assert "... naming the tombstone" grep -q "forgotten/0000000002" "$T/err"
assert "... and the point" grep -q "u@2" "$T/err"

with_copy
rm "$(unit_file rp/0000000005)"
run c check
is_rc "a manifest deleted without a tombstone: check exits 4" 4
assert "... naming the missing point" grep -q "restore point 5 is missing" "$T/err"

with_copy
# A tombstone put in place of another point's: the chain shows it.
cp "$(unit_file forgotten/0000000002)" "$(dirname "$(unit_file forgotten/0000000002)")/0000000004"
rm "$(unit_file rp/0000000004)"
run c check
is_rc "a tombstone copied to another number: check exits 4" 4


# --- killed forgets ----------------------------------------------------------
# Each store operation of a forget in turn: its reads (the deletion key, the
# unit's key, the tombstone looked for, the manifest), the commit of its
# deletion record, the tombstone's commit, the manifest's removal.
kills=0
SPECS="read:1 read:2 read:3 read:4 commit:1 commit:2 remove:1"
for spec in $SPECS; do
	with_copy
	COFFER_FAULTS=$spec:kill c forget --deletion-key-file "$DKEY" u@4 >"$T/out" 2>"$T/err"; krc=$?
	if [ "$krc" = 137 ]; then kills=$((kills + 1)); fi
	run c check
	is_rc "forget killed at $spec (exit $krc): check passes" 0
	live=$(points u); all=$(points u --all)
	if [ "$all" = "1 2 3 4 5 6 7 8 " ] && { [ "$live" = "1 4 5 6 8 " ] || [ "$live" = "1 5 6 8 " ]; }; then
		ok "forget killed at $spec: u@4 is live or forgotten, nothing else changed"
	else
		not_ok "forget killed at $spec: u@4 is live or forgotten" "live '$live', all '$all'"
	fi
	if [ "$spec" = remove:1 ]; then
		assert "killed at remove:1: tombstone and manifest both there" \
			test -n "$(unit_file rp/0000000004)" -a -n "$(unit_file forgotten/0000000004)"
		run c prune --grace 0 --deletion-key-file "$DKEY"
		is_rc "prune after a forget killed at remove:1" 0
		assert "... finishes it (manifest gone)" test -z "$(unit_file rp/0000000004)"
	else
		run c forget --deletion-key-file "$DKEY" u@4
		is_rc "forget re-run after a kill at $spec" 0
	fi
	expect_eq "after the kill at $spec and the re-run u@4 is forgotten" "$(points u)" "1 5 6 8 "
	run c check
	is_rc "check passes after the re-run ($spec)" 0
done
expect_eq "forget was killed at every fault point" "$kills" "$(echo $SPECS | wc -w)"
# The last copy: what survives still restores.
verify_restore u@5 "$PTS/5" "after killed forgets"

finish
