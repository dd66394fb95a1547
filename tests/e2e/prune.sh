#!/usr/bin/env bash
# Prune (docs/prune.md): interrupted backups leave packs that no restore point
# references; prune marks them (phase 1) and a later run deletes them (phase
# 2) once the plan is due and no other backup writer is open. Checked here:
# exactly the leftover packs go, every point still restores byte-identical
# and `check --read-data` passes; the default grace deletes nothing right
# after marking; an open writer (a killed backup, younger than the writer
# timeout) defers the sweep; --dry-run changes nothing in the store; content
# whose packs were deleted is stored again by the next backup.
#
# A killed backup's start marker stays "open" for writer_timeout (86400 s).
# The test simulates that day passing by back-dating those markers (body and
# mtime), as nothing else can make a killed writer end.
. "$(dirname "$0")/lib.sh"

seed_random

SRC=$T/src
PTS=$T/points
mkdir -p "$SRC/docs" "$SRC/data/sub" "$PTS"

packs() { # pack files (not temporaries), as units/<uid>/packs/xx/<id>
	find "$STORE"/units -path '*/packs/*' -type f -regextype egrep -regex '.*/[0-9a-f]{64}' -printf 'units/%P\n' |
		LC_ALL=C sort
}
npacks() { packs | wc -l; }
store_state() { (cd "$STORE" && find . -printf '%p %y %s %T@\n' | LC_ALL=C sort); }

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

verify_all() { # LABEL: every point restores as its source was
	local p
	for ((p = 1; p <= NPOINTS; p++)); do verify_restore "u@$p" "$PTS/$p" "$1"; done
}

# kill_backup RULE LABEL: a backup SIGKILLed by the fault rule
# (COFFER_FAULTS, docs/testing.md), e.g. "commit@/rp/:1" at the commit of its
# restore point (after its packs and index, so everything but the point is
# stored), "commit@/index/:1" before its index, "commit:2" early on. Rules
# that name objects do not depend on how many packs the threads happen to
# write.
kill_backup() {
	local rc
	{ COFFER_FAULTS=$1:kill "$COFFER" --store "$STORE" --key-file "$KEY" --quiet \
		backup u "$SRC" >"$T/kill.out" 2>&1; rc=$?; } 2>/dev/null
	[ $rc -eq 137 ] || not_ok "$2: COFFER_FAULTS=$1:kill kills the backup" \
		"exit $rc: $(why "$T/kill.out")"
}

init_store || { not_ok "init" "coffer init failed"; finish; }
for i in 1 2 3 4 5; do gen "doc$i" $((RANDOM * 8 + 1000)) >"$SRC/docs/f$i"; done
seq 1 100000 >"$SRC/docs/numbers.txt"
gen big 2500000 >"$SRC/data/sub/big.bin"
backup_ok "first point"
A=$(packs)

# --- 1. interrupted backups leave unreferenced packs -------------------------
rules=("commit@/rp/:1" "commit@/index/:1" "commit:3")
for k in 1 2 3; do
	gen "extra$k" $((1200000 + RANDOM * 16)) >"$SRC/data/extra$k"
	cp "$SRC/data/extra$k" "$T/extra$k"
	echo "# interrupted backup $k: killed by ${rules[k - 1]}"
	kill_backup "${rules[k - 1]}" "interrupted backup $k"
done
K=$(comm -13 <(echo "$A") <(packs) | sed '/^$/d')
nk=$(echo "$K" | sed '/^$/d' | wc -l)
if [ "$nk" -gt 0 ] && [ "$(points u)" = "1 " ]; then
	ok "interrupted backups left $nk packs and no restore point"
else
	not_ok "interrupted backups left packs and no restore point" "$nk new packs; points [$(points u)]"
fi
check "check exits 0 after interrupted backups" c check

# The next point holds none of the interrupted backups' data.
rm -f "$SRC"/data/extra*
printf 'changed\n' >>"$SRC/docs/f1"
backup_ok "second point"
B=$(comm -13 <(printf '%s\n' "$A" "$K" | LC_ALL=C sort) <(packs) | sed '/^$/d')
KEEP=$(printf '%s\n' "$A" "$B" | sed '/^$/d' | LC_ALL=C sort)

# --- 2. phase 1 marks, nothing is deleted yet --------------------------------
before=$(npacks)
if prune_json "mark" --grace 0; then
	equal "first prune --grace 0" "deletedPacks" "$(field deletedPacks "$J")" 0
	equal "first prune --grace 0" "plannedPacks (the $nk leftover packs)" "$(field plannedPacks "$J")" "$nk"
fi
equal "first prune --grace 0" "packs on disk" "$(npacks)" "$before"

# --- 3. the killed backups' writers are still open: the sweep defers ---------
if prune_json "open writers" --grace 0; then
	d=$(field deferredPlans "$J")
	[ "${d:-0}" -gt 0 ] && ok "killed backups' open writers defer the sweep (deferredPlans $d)" ||
		not_ok "killed backups' open writers defer the sweep" "deferredPlans '$d'"
	equal "prune with open writers" "deletedPacks" "$(field deletedPacks "$J")" 0
fi
equal "prune with open writers" "packs on disk" "$(npacks)" "$before"

age_open_writers

# --- 4. the default grace (3600 s) deletes nothing right after marking ---------
if prune_json "default grace"; then
	equal "prune with the default grace" "deletedPacks" "$(field deletedPacks "$J")" 0
	equal "prune with the default grace" "plannedPacks (already planned)" "$(field plannedPacks "$J")" 0
fi
equal "prune with the default grace" "packs on disk" "$(npacks)" "$before"

# --- 5. --dry-run changes nothing --------------------------------------------
state=$(store_state)
if prune_json "dry run" --grace 0 --dry-run; then
	if [ "$(store_state)" = "$state" ]; then ok "prune --dry-run leaves the store unchanged"
	else not_ok "prune --dry-run leaves the store unchanged" \
		"$(diff <(echo "$state") <(store_state) | head -4 | tr '\n' ' ')"; fi
fi

# --- 6. the sweep deletes exactly the leftover packs --------------------------
if prune_json "sweep" --grace 0; then
	equal "sweep (prune --grace 0)" "deletedPacks" "$(field deletedPacks "$J")" "$nk"
	equal "sweep" "deferredPlans" "$(field deferredPlans "$J")" 0
fi
if [ "$(packs)" = "$KEEP" ]; then
	ok "sweep: packs left are exactly those of the restore points ($(npacks), was $before)"
else
	not_ok "sweep: packs left are exactly those of the restore points" \
		"expected $(echo "$KEEP" | wc -l), have $(npacks); missing: $(comm -23 <(echo "$KEEP") <(packs) | head -2 | tr '\n' ' ') extra: $(comm -13 <(echo "$KEEP") <(packs) | head -2 | tr '\n' ' ')"
fi
left=$(ls -A "$STORE"/units/*/prune 2>/dev/null | wc -l)
equal "sweep" "plans left" "$left" 0
left=$(ls -A "$STORE"/units/*/sessions 2>/dev/null | grep -v '^\.tmp-' | wc -l)
equal "sweep" "writer markers left (all ended or timed out)" "$left" 0
check "check exits 0 after the sweep" c check
check "check --read-data exits 0 after the sweep" c check --read-data
verify_all "after the sweep"

# Data whose packs were deleted is stored again (the index no longer finds it).
cp "$T/extra1" "$T/extra2" "$SRC/data/"
backup_ok "back up the deleted data again"
verify_restore "u@$NPOINTS" "$PTS/$NPOINTS" "deleted data stored again"
check "check --read-data exits 0 with the data stored again" c check --read-data

# --- 7. an open writer (killed after its start marker) defers the sweep ------
gen extra4 1500000 >"$SRC/data/extra4"
P0=$(packs)
kill_backup "commit@/rp/:1" "interrupted backup 4"
age_open_writers
rm -f "$SRC/data/extra4"
nk2=$(comm -13 <(echo "$P0") <(packs) | sed '/^$/d' | wc -l)
[ "$nk2" -gt 0 ] && ok "interrupted backup 4 left $nk2 packs" || not_ok "interrupted backup 4 left packs" "none"
if prune_json "mark again" --grace 0; then
	equal "mark again" "plannedPacks" "$(field plannedPacks "$J")" "$nk2"
	equal "mark again" "deletedPacks" "$(field deletedPacks "$J")" 0
fi
before=$(npacks)
printf 'more\n' >>"$SRC/docs/f2"
kill_backup "commit:2" "backup left open"
sess=$(ls "$STORE"/units/*/sessions | grep -v '\.end$' | grep -v '^\.tmp-' | wc -l)
[ "$sess" -gt 0 ] && ok "the killed backup left its start marker" || not_ok "the killed backup left its start marker" "no marker"
if prune_json "backup left open" --grace 0; then
	d=$(field deferredPlans "$J")
	[ "${d:-0}" -gt 0 ] && ok "a backup writer left open defers the sweep (deferredPlans $d)" ||
		not_ok "a backup writer left open defers the sweep" "deferredPlans '$d'"
	equal "prune with a writer left open" "deletedPacks" "$(field deletedPacks "$J")" 0
fi
equal "prune with a writer left open" "packs on disk" "$(npacks)" "$before"
check "check exits 0 with a writer left open" c check

age_open_writers
if prune_json "after the writer timed out" --grace 0; then
	equal "sweep once the open writer timed out" "deletedPacks" "$(field deletedPacks "$J")" "$nk2"
fi
if [ "$(packs)" = "$P0" ]; then ok "sweep once the open writer timed out: the packs are those before backup 4"
else not_ok "sweep once the open writer timed out: the packs are those before backup 4" \
	"missing: $(comm -23 <(echo "$P0") <(packs) | head -2 | tr '\n' ' ') extra: $(comm -13 <(echo "$P0") <(packs) | head -2 | tr '\n' ' ')"; fi
backup_ok "after the last sweep"

# --- 8. uploads killed mid-write leave temporaries in tmp/ -------------------
gen extra5 3000000 >"$SRC/data/extra5"
for n in 2 3; do COFFER_FAULTS=write:$n:kill c backup u "$SRC" >/dev/null 2>&1; done
rm -f "$SRC/data/extra5"
ntmp=$(find "$STORE/tmp" -type f | wc -l)
[ "$ntmp" -gt 0 ] && ok "killed uploads left $ntmp temporaries in tmp/" || not_ok "killed uploads left temporaries" "none in tmp/"
age_open_writers
if prune_json "young temporaries" --grace 0; then
	equal "young temporaries are kept" "deletedTemporaries" "$(field deletedTemporaries "$J")" 0
fi
# Back-date them past the writer timeout, as a day passing would.
for f in "$STORE"/tmp/*; do mv "$f" "$STORE/tmp/$(( $(date +%s) - 90000 ))-${f##*-}"; done
if prune_json "old temporaries" --grace 0; then
	equal "temporaries older than the writer timeout are removed" "deletedTemporaries" \
		"$(field deletedTemporaries "$J")" "$ntmp"
fi
equal "after removing temporaries" "files in tmp/" "$(find "$STORE/tmp" -type f | wc -l)" 0
check "check --read-data exits 0 at the end" c check --read-data
equal "end" "restore points" "$(points u)" "$(first_points $NPOINTS)"
verify_all "end"
finish
