#!/usr/bin/env bash
# The deletion path (docs/format.md 7, 7.1, 9, 10): the store key alone
# deletes nothing. Checked here: forget and prune without the deletion key,
# with the store key given as one, or with another store's deletion key are
# refused (exit 1, saying why) and leave every file of the store as it was;
# a store without a deletion key says how to create one, and `deletion-key
# create` adds one once; with the key they work. Retention: the newest point,
# a point inside --keep-days and a --retain-days point that is the last of
# its ISO week are refused (exit 5, "retained until"); an earlier point of
# the same week, and a point past its retainUntil, are not. restore-points
# shows the dates. Each forget and prune leaves a record that deletion-log
# lists; a record altered on disk is damage. A tombstone written with the
# store key alone (tests/forge_tombstone) is named by check (exit 4); put
# beside its manifest, forget and prune do not finish it and the point's
# data stays; tombstones an older coffer wrote before the key existed are
# not damage.
. "$(dirname "$0")/lib.sh"

SEED=${SEED:-$(( $(date +%s) % 100000 ))}
echo "# deletion.sh seed $SEED (rerun with SEED=$SEED)"
FORGE=${FORGE:-$(dirname "$COFFER")/tests/forge_tombstone}

SRC=$T/src
mkdir -p "$SRC"
expect_eq() { # LABEL GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi
}
points() { # UNIT: live point numbers
	c --json restore-points "$1" 2>/dev/null | grep -o '"seq":[0-9]*' | cut -d: -f2 | tr '\n' ' '
}
backup() { # UNIT [ARGS...]: one more point with new data
	local unit=$1; shift
	gen "$unit-$RANDOM" 200000 >"$SRC/data.bin"
	c --quiet backup "$unit" "$SRC" "$@" >"$T/backup.out" 2>&1 ||
		not_ok "backup $unit $*" "$(why "$T/backup.out")"
}
# refused LABEL WANT_RC PATTERN COMMAND...: runs it; exits WANT_RC, says
# PATTERN on stderr, and no file of the store changed.
refused() {
	local label=$1 want=$2 pat=$3 before; shift 3
	before=$(store_snapshot)
	run "$@"
	is_rc "$label: exit $want" "$want"
	if grep -q -- "$pat" "$T/err" "$T/out"; then ok "$label: says \"$pat\""
	else not_ok "$label: says \"$pat\"" "$(tail -2 "$T/err" | tr '\n' ' ')"; fi
	if [ "$(store_snapshot)" = "$before" ]; then ok "$label: the store is unchanged"
	else not_ok "$label: the store is unchanged" \
		"$(diff <(echo "$before") <(store_snapshot) | head -4 | tr '\n' ' ')"; fi
}

init_store || { not_ok "init" "coffer init --deletion-key-file-new failed"; finish; }
assert "init wrote the deletion key file, mode 0600" test "$(stat -c %a "$DKEY")" = 600
assert "init put the public key in the store" grep -q '^public [0-9a-f]\{64\}$' "$STORE/deletion-key"
for i in 1 2 3 4; do backup u; done
expect_eq "four points" "$(points u)" "1 2 3 4 "

# --- the store key alone -----------------------------------------------------
refused "forget with the store key alone" 1 "needs the store's deletion key" c forget u@1
assert "... saying the store key cannot delete" grep -q "the store key alone cannot delete" "$T/err"
refused "forget with the store key as the deletion key" 1 "is not the deletion key of store" \
	c forget --deletion-key-file "$KEY" u@1
refused "COFFER_DELETION_KEY_FILE naming the store key" 1 "is not the deletion key" \
	env COFFER_DELETION_KEY_FILE="$KEY" "$COFFER" --store "$STORE" --key-file "$KEY" forget u@1
refused "prune with the store key alone" 1 "pruning needs the store's deletion key" \
	c prune --grace 0
OTHER=$T/other
"$COFFER" --store "$OTHER" init --key-file-new "$T/other.key" \
	--deletion-key-file-new "$T/other.dkey" >/dev/null
refused "forget with another store's deletion key" 1 "is not the deletion key of store" \
	c forget --deletion-key-file "$T/other.dkey" u@1
refused "prune with another store's deletion key" 1 "is not the deletion key of store" \
	c prune --grace 0 --deletion-key-file "$T/other.dkey"
refused "prune --dry-run needs no deletion key and deletes nothing" 0 "dry run" \
	c prune --grace 0 --dry-run
dkey_before=$(sha256sum <"$DKEY")
refused "init refuses to overwrite a deletion key file" 1 "deletion key file" \
	"$COFFER" --store "$T/third" init --deletion-key-file-new "$DKEY"
assert "... before creating the store" test ! -e "$T/third/config"
expect_eq "... and the key file is as it was" "$(sha256sum <"$DKEY")" "$dkey_before"

# --- a store without a deletion key ------------------------------------------
OLD=$T/old
co() { "$COFFER" --store "$OLD" --key-file "$T/old.key" "$@"; }
"$COFFER" --store "$OLD" init --key-file-new "$T/old.key" >/dev/null
for i in 1 2 3; do gen "old$i" 100000 >"$SRC/data.bin"; co --quiet backup w "$SRC" >/dev/null; done
run co forget w@1
is_rc "a store without a deletion key: forget is refused" 1
assert "... saying how to create one" grep -q "coffer deletion-key create --deletion-key-file-new" "$T/err"
run co forget --deletion-key-file "$DKEY" w@1
is_rc "... also when a deletion key file is given" 1
assert "... saying the store has none" grep -q "no deletion key" "$T/err"
# An older coffer forgot w@1 with the store key alone, before keys existed.
"$FORGE" "$OLD" "$T/old.key" w 1 >"$T/forge.out" 2>&1 || not_ok "forge_tombstone" "$(cat "$T/forge.out")"
run co deletion-key create --deletion-key-file-new "$T/old.dkey"
is_rc "deletion-key create on a store without one" 0
run co deletion-key create --deletion-key-file-new "$T/old.dkey2"
is_rc "deletion-key create again is refused" 1
assert "... saying the store has one already" grep -q "has a deletion key already" "$T/err"
assert "... and writing no key file" test ! -e "$T/old.dkey2"
run co check
is_rc "the tombstone written before the key existed is accepted" 0
run co forget --deletion-key-file "$T/old.dkey" w@2
is_rc "with the new key, forget works" 0

# --- with the deletion key -----------------------------------------------------
run c forget --deletion-key-file "$DKEY" u@1
is_rc "forget u@1 with the deletion key" 0
expect_eq "u@1 is forgotten" "$(points u)" "2 3 4 "
run env COFFER_DELETION_KEY_FILE="$DKEY" "$COFFER" --store "$STORE" --key-file "$KEY" forget u@2
is_rc "forget u@2 with COFFER_DELETION_KEY_FILE" 0
refused "forget of the newest point" 5 "restore point u@4 is retained until" \
	c forget --deletion-key-file "$DKEY" u@4
run c --json prune --grace 0 --deletion-key-file "$DKEY"
is_rc "prune (mark) with the deletion key" 0
run c --json prune --grace 0 --deletion-key-file "$DKEY"
is_rc "prune (sweep) with the deletion key" 0
swept=$(field deletedPacks "$T/out")
if [ "${swept:-0}" -gt 0 ]; then ok "prune deleted the packs only u@1 and u@2 had ($swept)"
else not_ok "prune deleted the packs only u@1 and u@2 had" "$(cat "$T/out")"; fi

# --- retention -------------------------------------------------------------------
backup k --keep-days 30
backup k
run c --json restore-points k
assert "restore-points --json shows keepUntil" grep -q '"seq":1,.*"keepUntil":"' "$T/out"
run c restore-points k
assert "restore-points shows keep until" grep -q '^k@1 .*keep until ' "$T/out"
refused "forget inside --keep-days 30" 5 "restore point k@1 is retained until .* (its keepUntil" \
	c forget --deletion-key-file "$DKEY" k@1

# Points with chosen times (COFFER_POINT_TIME): two weeks ago Monday and
# Wednesday, last week's Monday, now; all with --retain-days 30.
now=$(date +%s)
monday=$(( ( (now / 86400 + 3) / 7 * 7 - 3) * 86400 ))   # this week's, 00:00 UTC
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
COFFER_POINT_TIME=$(at $((monday - 14 * 86400 + 3600))) backup r --retain-days 30
COFFER_POINT_TIME=$(at $((monday - 12 * 86400))) backup r --retain-days 30
COFFER_POINT_TIME=$(at $((monday - 7 * 86400 + 60))) backup r --retain-days 30
backup r
run c --json restore-points r
assert "restore-points --json shows retainUntil" grep -q '"seq":2,.*"retainUntil":"' "$T/out"
refused "forget the last point of its ISO week inside --retain-days" 5 \
	"restore point r@2 is retained until .*ISO week" c forget --deletion-key-file "$DKEY" r@2
refused "forget the only point of its ISO week inside --retain-days" 5 \
	"restore point r@3 is retained until" c forget --deletion-key-file "$DKEY" r@3
run c forget --deletion-key-file "$DKEY" r@1
is_rc "forget an earlier point of the same ISO week inside --retain-days" 0
expect_eq "r@1 is forgotten, r@2 and r@3 kept" "$(points r)" "2 3 4 "
COFFER_POINT_TIME=$(at $((now - 40 * 86400))) backup p --retain-days 30
backup p
run c forget --deletion-key-file "$DKEY" p@1
is_rc "forget a point past its retainUntil" 0
run env COFFER_POINT_TIME=yesterday "$COFFER" --store "$STORE" --key-file "$KEY" backup p "$SRC"
is_rc "a malformed COFFER_POINT_TIME is a usage error" 2
run c backup p "$SRC" --keep-days -1
is_rc "--keep-days -1 is a usage error" 2

# --- the deletion log ------------------------------------------------------------
run c --json deletion-log
is_rc "deletion-log" 0
nf=$(grep -c '"action":"forget"' "$T/out")
np=$(grep -c '"action":"prune"' "$T/out")
expect_eq "one forget record per point forgotten (u@1 u@2 r@1 p@1)" "$nf" 4
if [ "$np" -ge 1 ] && grep '"action":"prune"' "$T/out" | grep -q "\"packs\":$swept,"; then
	ok "prune left a record with the packs it deleted"
else
	not_ok "prune left a record with the packs it deleted" "$(grep prune "$T/out")"
fi
assert "records say who and where" grep -q '"unit":"u",.*"restorePoints":\[1\].*"tool":"cli","host":"' "$T/out"
run c deletion-log u
assert "deletion-log lists in text" grep -q ' u  *forget  *point 1 ' "$T/out"
run c check
is_rc "check passes with the deletion log and signed tombstones" 0

GOOD=$T/good
cp -a "$STORE" "$GOOD"
rec=$(find "$STORE/units" -path '*/deletions/*' -type f | head -1)
flip "$rec" 60
run c check
is_rc "a flipped byte in a deletion record: check exits 4" 4
assert "... naming the record" grep -q "deletions/$(basename "$rec")" "$T/err"
run c deletion-log
is_rc "... deletion-log exits 4 too" 4
rm -rf "$STORE"; cp -a "$GOOD" "$STORE"

# --- a tombstone written with the store key alone ----------------------------------
# Only put (all an append-only store would allow): coffer's deletion path
# does not finish that forget, and prune keeps the point's data.
backup k
cp -a "$SRC" "$T/k3"
backup k
"$FORGE" "$STORE" "$KEY" k 3 keep >"$T/forge.out" 2>&1 || not_ok "forge_tombstone keep" "$(cat "$T/forge.out")"
run c check
is_rc "a forged tombstone beside its manifest: check exits 4" 4
assert "... naming it" grep -q "damage: k@3.*forgotten/0000000003.*not signed" "$T/err"
run c forget --deletion-key-file "$DKEY" k@3
is_rc "forget does not finish a forged forget" 1
assert "... saying the manifest is kept" grep -q "the manifest is kept" "$T/err"
for i in 1 2; do run c prune --grace 0 --deletion-key-file "$DKEY"; done
is_rc "prune with a forged tombstone beside its manifest" 0
rm "$(find "$STORE/units" -path '*/forgotten/0000000003')"
expect_eq "with the forged tombstone removed by hand, k@3 is live again" "$(points k)" "1 2 3 4 "
run c check --read-data
is_rc "... and whole: prune kept its data" 0
verify_restore k@3 "$T/k3" "after prune with a forged tombstone"
rm -rf "$STORE"; cp -a "$GOOD" "$STORE"

"$FORGE" "$STORE" "$KEY" u 3 >"$T/forge.out" 2>&1 || not_ok "forge_tombstone" "$(cat "$T/forge.out")"
expect_eq "the forged forget took u@3 out" "$(points u)" "4 "
run c check
is_rc "a tombstone forged with the store key alone: check exits 4" 4
assert "... naming it" grep -q "forgotten/0000000003.*not signed by the store's deletion key" "$T/err"
assert "... and the point" grep -q "damage: u@3" "$T/err"

finish
