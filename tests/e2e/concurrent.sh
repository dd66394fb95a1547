#!/usr/bin/env bash
# Concurrent backups into one store, without any lock (docs/format.md 1, 7):
# - two units backed up at the same time both succeed and restore
#   byte-identical;
# - two backups of the SAME unit (of two different folders) at the same time
#   both succeed and become consecutive points of one chain: the loser of the
#   race for point n takes n+1. Each point restores its own folder, and
#   `check` passes.
# Each case is repeated a few times with the folders changing in between.
. "$(dirname "$0")/lib.sh"

seed_random
ROUNDS=${ROUNDS:-4}

PTS=$T/points
mkdir -p "$PTS"


# fill DIR TAG: a small tree, a few MB, one file over 1 MiB.
fill() {
	mkdir -p "$1/a/b" "$1/c"
	gen "$2-big" $((1200000 + RANDOM * 20)) >"$1/a/big.bin"
	gen "$2-1" $((RANDOM * 8)) >"$1/a/b/one"
	gen "$2-2" $((RANDOM * 8)) >"$1/c/two"
	seq 1 $((RANDOM + 1000)) >"$1/c/numbers.txt"
	ln -s a/b/one "$1/link"
	chmod 600 "$1/c/two"
}
# change DIR TAG: add one file, rewrite one, append to one.
change() {
	gen "$2-new" $((RANDOM * 16)) >"$1/a/new-$2"
	gen "$2-re" $((RANDOM * 8 + 1)) >"$1/a/b/one"
	printf '%s\n' "$2" >>"$1/c/numbers.txt"
}


# two_backups UNIT1 DIR1 UNIT2 DIR2: started together; RC1 and RC2 their exit codes.
two_backups() {
	"$COFFER" --store "$STORE" --key-file "$KEY" --quiet backup "$1" "$2" >"$T/b1.out" 2>&1 &
	local p1=$!
	"$COFFER" --store "$STORE" --key-file "$KEY" --quiet backup "$3" "$4" >"$T/b2.out" 2>&1 &
	local p2=$!
	wait $p1; RC1=$?
	wait $p2; RC2=$?
}
exit_ok() { # LABEL RC OUTFILE
	if [ "$2" -eq 0 ]; then ok "$1 exits 0"; else not_ok "$1 exits 0" "exit $2: $(why "$3")"; fi
}
# seq_source UNIT: "SEQ SOURCE" lines from restore-points --json.
seq_source() {
	c --json restore-points "$1" 2>/dev/null |
		sed -n 's/.*"seq":\([0-9]*\).*"source":"\([^"]*\)".*/\1 \2/p' | sed 's#\\/#/#g'
}

init_store || { not_ok "init" "coffer init failed"; finish; }

# --- two units at the same time -------------------------------------------------
fill "$T/srcA" A
fill "$T/srcB" B
for ((r = 1; r <= ROUNDS; r++)); do
	[ $r -gt 1 ] && { change "$T/srcA" "A$r"; change "$T/srcB" "B$r"; }
	cp -a "$T/srcA" "$PTS/A$r"; cp -a "$T/srcB" "$PTS/B$r"
	two_backups alpha "$T/srcA" beta "$T/srcB"
	exit_ok "round $r: backup of unit alpha (beside beta)" $RC1 "$T/b1.out"
	exit_ok "round $r: backup of unit beta (beside alpha)" $RC2 "$T/b2.out"
	verify_restore "alpha@$r" "$PTS/A$r" "round $r"
	verify_restore "beta@$r" "$PTS/B$r" "round $r"
	check "round $r: check exits 0 after two units at once" c check
done
for ((r = 1; r <= ROUNDS; r++)); do
	verify_restore "alpha@$r" "$PTS/A$r" "end"
	verify_restore "beta@$r" "$PTS/B$r" "end"
done

# --- the same unit twice at the same time ----------------------------------------
fill "$T/src1" S1
fill "$T/src2" S2
SRC1=$(cd "$T/src1" && pwd -P)
SRC2=$(cd "$T/src2" && pwd -P)
declare -A COPY   # seq -> copy of the folder it was taken of
for ((r = 1; r <= ROUNDS; r++)); do
	[ $r -gt 1 ] && { change "$T/src1" "S1-$r"; change "$T/src2" "S2-$r"; }
	cp -a "$T/src1" "$PTS/S1-$r"; cp -a "$T/src2" "$PTS/S2-$r"
	prev=$(seq_source same | wc -l)
	two_backups same "$T/src1" same "$T/src2"
	exit_ok "round $r: first of two backups of unit same" $RC1 "$T/b1.out"
	exit_ok "round $r: second of two backups of unit same" $RC2 "$T/b2.out"
	# The new points are prev+1 and prev+2, one of each folder.
	lines=$(seq_source same)
	got=$(echo "$lines" | cut -d' ' -f1 | tr '\n' ' ')
	want="$(seq -s ' ' 1 $((prev + 2))) "
	if [ "$got" = "$want" ]; then ok "round $r: unit same has points $want(one chain, no gap)"
	else not_ok "round $r: unit same has points $want(one chain, no gap)" "listed: [$got]"; fi
	new=$(echo "$lines" | awk -v lo=$((prev + 1)) '$1 >= lo' | sort -k2 | tr '\n' ' ')
	s1=$(echo "$lines" | awk -v lo=$((prev + 1)) -v d="$SRC1" '$1 >= lo && $2 == d {print $1}')
	s2=$(echo "$lines" | awk -v lo=$((prev + 1)) -v d="$SRC2" '$1 >= lo && $2 == d {print $1}')
	if [ -n "$s1" ] && [ -n "$s2" ] && [ "$s1" != "$s2" ] && [ "$(echo $s1 $s2 | wc -w)" -eq 2 ]; then
		ok "round $r: one new point of each folder (src1 same@$s1, src2 same@$s2)"
		COPY[$s1]=$PTS/S1-$r; COPY[$s2]=$PTS/S2-$r
		verify_restore "same@$s1" "${COPY[$s1]}" "round $r"
		verify_restore "same@$s2" "${COPY[$s2]}" "round $r"
	else
		not_ok "round $r: one new point of each folder" "new points: [$new]"
	fi
	check "round $r: check exits 0 after two backups of one unit at once" c check
done
for s in $(printf '%s\n' "${!COPY[@]}" | sort -n); do verify_restore "same@$s" "${COPY[$s]}" "end"; done
check "check --read-data exits 0 at the end" c check --read-data
finish
