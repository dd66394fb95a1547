#!/usr/bin/env bash
# Repacking (docs/prune.md "Repacking"): prune rewrites packs that live
# restore points use only in part. Ten backups each add six files (a pack
# or two each); five of every six go, and the points that held them are
# forgotten, so the packs that hold them are mostly unused. Which pack a
# file lands in depends on the backup's threads, so the checks compare
# prune's own counts with each other rather than with fixed numbers.
# Checked here:
# --dry-run says what it would repack and changes nothing; a budget
# (--max-repack) repacks only what fits and says what it left; a pack the
# server still locks (COFFER_FAULTS lock:locked, as S3 Object Lock
# answers) is not repacked and is counted; prune SIGKILLed at each step of
# a repack (copying, the new segment, the index without the old packs, the
# plan) and at a random moment leaves every point restorable and `check
# --read-data` passing, and the next prunes finish; at the end the store
# is smaller, no waste is left, and every live point restores
# byte-identical.
. "$(dirname "$0")/lib.sh"

seed_random

SRC=$T/src
PTS=$T/points
mkdir -p "$SRC" "$PTS"

pack_bytes() { find "$STORE"/units/*/packs -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
store_state() { (cd "$STORE" && find . -printf '%p %y %s %T@\n' | LC_ALL=C sort); }

NPOINTS=0
backup_ok() { # LABEL
	local rc
	c --quiet backup u "$SRC" >"$T/backup.out" 2>&1; rc=$?
	if [ $rc -eq 0 ]; then
		NPOINTS=$((NPOINTS + 1)); cp -a "$SRC" "$PTS/$NPOINTS"
	else
		not_ok "$1: backup completes" "exit $rc: $(why "$T/backup.out")"
	fi
}

LIVE="11 12"
verify_live() { # LABEL: every live point restores as its source was
	local p
	for p in $LIVE; do verify_restore "u@$p" "$PTS/$p" "$1"; done
}

init_store || { not_ok "init" "coffer init failed"; finish; }
for g in 1 2 3 4 5 6 7 8 9 10; do
	mkdir -p "$SRC/g$g"
	for k in 1 2 3 4 5 6; do gen "g$g-$k" $((200000 + RANDOM)) >"$SRC/g$g/f$k"; done
	backup_ok "group $g"
done
mkdir -p "$T/dead"
for g in 1 2 3 4 5 6 7 8 9 10; do cp -a "$SRC/g$g/f2" "$T/dead/g$g"; done
rm -f "$SRC"/g*/f[23456]
backup_ok "five of six files gone"
seq 1 20000 >"$SRC/numbers.txt"
backup_ok "one more"
c forget --deletion-key-file "$DKEY" $(seq -f 'u@%g' 1 10) >"$T/forget.out" 2>&1 ||
	not_ok "forget u@1..10" "$(why "$T/forget.out")"
equal "forget" "live points" "$(points u)" "11 12 "
before=$(pack_bytes)

# --- 1. --dry-run: says what it would do, changes nothing ----------------------
# Each pack below the threshold (50 %) holds one live file of ~210 KB.
state=$(store_state)
R=0 P0=0
if prune_json "dry run" --grace 0 --dry-run; then
	R=$(field repackedPacks "$J"); P0=$(field partialPacks "$J")
	f=$(field repackFreedBytes "$J"); w=$(field repackWrittenBytes "$J")
	[ "$R" -ge 4 ] && ok "dry run: would repack $R packs" ||
		not_ok "dry run: would repack at least 4 packs" "repackedPacks '$R'"
	[ "${f:-0}" -gt "${w:-0}" ] && ok "dry run: would free $f bytes, writing $w" ||
		not_ok "dry run: would free more than it writes" "repackFreedBytes '$f', repackWrittenBytes '$w'"
fi
[ "$(store_state)" = "$state" ] && ok "prune --dry-run leaves the store unchanged" ||
	not_ok "prune --dry-run leaves the store unchanged" \
		"$(diff <(echo "$state") <(store_state) | head -4 | tr '\n' ' ')"

# --- 2. a pack the server still locks is not repacked --------------------------
if COFFER_FAULTS=lock@/packs/:1+:locked prune_json "locked" --grace 0; then
	equal "locked packs" "repackedPacks" "$(field repackedPacks "$J")" 0
	equal "locked packs" "repackLockedPacks" "$(field repackLockedPacks "$J")" "$R"
	equal "locked packs" "partialPacks (the waste left)" "$(field partialPacks "$J")" $((R + P0))
fi

# --- 3. a budget repacks only what fits and says what it left -------------------
if prune_json "budget" --grace 0 --max-repack 250K; then
	w=$(field repackWrittenBytes "$J")
	equal "--max-repack 250K" "repackedPacks (one live file fits)" "$(field repackedPacks "$J")" 1
	equal "--max-repack 250K" "repackBudgetPacks" "$(field repackBudgetPacks "$J")" $((R - 1))
	equal "--max-repack 250K" "partialPacks (the waste left)" "$(field partialPacks "$J")" $((R - 1 + P0))
	[ "${w:-0}" -gt 0 ] && [ "$w" -le $((250 * 1024 + 4096)) ] &&
		ok "--max-repack 250K: $w bytes written" ||
		not_ok "--max-repack 250K: bytes written within the budget" "got '$w'"
fi
check "check --read-data exits 0 after a repack" c check --read-data
verify_live "after a repack"

# --- 4. a backup that starts during a repack: the repack is undone -------------
# Prune stops (SIGSTOP) at the commit of its first new pack, after its
# first writer check; a backup then stores files whose blobs are unused
# ones of the partly used packs, found through the index the repack is
# about to rewrite. Its second check sees the backup: the old packs are
# indexed again, so the new point restores.
{ COFFER_FAULTS=commit@/packs/:1:stop "$COFFER" --store "$STORE" --key-file "$KEY" --json prune \
	--deletion-key-file "$DKEY" --grace 0 --max-repack 250K >"$T/stop.json" 2>"$T/stop.err" & } 2>/dev/null
pid=$!
for i in $(seq 300); do
	[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = T ] && break
	sleep 0.1
done
if [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = T ]; then
	ok "prune stops at the commit of its first new pack"
	cp -a "$T/dead" "$SRC/again"
	backup_ok "a backup while a repack is under way"
	LIVE="$LIVE $NPOINTS"
else
	not_ok "prune stops at the commit of its first new pack" "$(why "$T/stop.err")"
fi
kill -CONT $pid 2>/dev/null
wait $pid; rc=$?
equal "prune resumed after the backup" "exit status" "$rc" 0
equal "prune resumed after the backup" "repackDeferredUnits" "$(field repackDeferredUnits "$T/stop.json")" 1
equal "prune resumed after the backup" "repackedPacks" "$(field repackedPacks "$T/stop.json")" 0
check "check --read-data exits 0 after the undone repack" c check --read-data
verify_live "after the undone repack"

# --- 5. prune killed at each step of a repack: nothing is lost ------------------
# Each prune repacks a pack or two (--max-repack 500K: since the backup
# above, a pack may hold two live files) after sweeping the last one's old
# packs; the rules name the objects a repack writes.
kill_prune() { # RULE
	local rc
	{ COFFER_FAULTS=$1:kill "$COFFER" --store "$STORE" --key-file "$KEY" --quiet prune \
		--deletion-key-file "$DKEY" --grace 0 --repack-below 100 --max-repack 500K >"$T/kill.out" 2>&1; rc=$?; } 2>/dev/null
	[ $rc -eq 137 ] || not_ok "COFFER_FAULTS=$1:kill kills prune" "exit $rc: $(why "$T/kill.out")"
}
after_kill() { # LABEL
	check "$1: check --read-data exits 0" c check --read-data
	verify_live "$1"
	age_open_writers
}
# "-": a prune that finishes, so that the next one has old packs to delete.
for rule in commit@/packs/:1 commit@/index/:1 commit@/index/:2 commit@/prune/:1 - remove@/packs/:1; do
	if [ "$rule" = - ]; then
		c --quiet prune --deletion-key-file "$DKEY" --grace 0 --repack-below 100 --max-repack 500K >"$T/kill.out" 2>&1 ||
			not_ok "prune after the kills" "$(why "$T/kill.out")"
		continue
	fi
	kill_prune "$rule"
	after_kill "prune killed at $rule"
done
for i in 1 2; do
	c --quiet prune --deletion-key-file "$DKEY" --grace 0 --repack-below 100 --max-repack 500K >"$T/bg.out" 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	after_kill "prune killed at a random moment ($i)"
done

# --- 6. the next prunes finish: store smaller, no waste left --------------------
# --repack-below 100: every partly used pack, the ones over half live too.
prune_json "finish" --grace 0 --repack-below 100 && prune_json "sweep" --grace 0
equal "after the last prunes" "partialPacks (no waste left)" "$(field partialPacks "$J")" 0
equal "after the last prunes" "partialWasteBytes" "$(field partialWasteBytes "$J")" 0
after=$(pack_bytes)
[ "$after" -lt $((before / 2)) ] && ok "the store's packs shrank from $before to $after bytes" ||
	not_ok "the store's packs shrank to less than half" "from $before to $after bytes"
check "check --read-data exits 0 at the end" c check --read-data
verify_live "end"
finish
