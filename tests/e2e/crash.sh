#!/usr/bin/env bash
# Crash test: SIGKILL `coffer backup` at random points, at least 50 times per
# run, mixing deterministic fault points (COFFER_FAULTS=commit:N:kill or
# write:N:kill) with `kill -9` of a backup running in the background after a
# random delay. The source changes a little between kills. After every kill:
# no restore point is lost or added out of order, `check` passes, the next
# backup completes, and a random earlier point restores byte-identical to a
# copy of the source saved when it was taken. At the end every point is
# restored and compared, and `check --read-data` passes.
#
# SEED=N reproduces a run's choices (file names, sizes, contents, fault
# points, delays); the moment a delayed kill lands is up to the scheduler.
# KILLS=N changes the number of kills (default 50).
. "$(dirname "$0")/lib.sh"

seed_random
KILLS_WANTED=${KILLS:-50}

SRC=$T/src
PTS=$T/points          # PTS/N: the source as it was when point N was taken
mkdir -p "$SRC" "$PTS"

# rnd N: R = a random number in 0..N-1 (no subshell, so RANDOM stays seeded).
rnd() { R=$(( ((RANDOM << 15) | RANDOM) % $1 )); }

NEXT=0   # file name counter
# write_file PATH: new content, a few hundred KB; 1 in 4 is > 1 MiB (several
# chunks); 1 in 5 is compressible text.
write_file() {
	local size
	rnd 4
	if [ "$R" -eq 0 ]; then rnd 2000000; size=$((1100000 + R)); else rnd 400000; size=$((100 + R)); fi
	NEXT=$((NEXT + 1))
	rnd 5
	if [ "$R" -eq 0 ]; then
		seq "$NEXT" 10000000 | head -c "$size" >"$1"
	else
		gen "f$NEXT" "$size" >"$1"
	fi
}

pick_file() { # F = a random regular file of the source, or empty
	local files
	mapfile -t files < <(cd "$SRC" && find . -type f | LC_ALL=C sort)
	F=
	if [ ${#files[@]} -gt 0 ]; then rnd ${#files[@]}; F=$SRC/${files[$R]#./}; fi
}

nfiles() { find "$SRC" -type f | wc -l; }

# mutate: add, modify or delete a few files (and now and then metadata only).
mutate() {
	local i n size off
	rnd 4; n=$((1 + R))
	for ((i = 0; i < n; i++)); do
		rnd 10
		case $R in
		0|1|2)	rnd 4; mkdir -p "$SRC/d$R"; NEXT=$((NEXT + 1)); write_file "$SRC/d$R/n$NEXT" ;;
		3)	pick_file; [ -n "$F" ] && write_file "$F" ;;                   # rewrite whole
		4)	pick_file; [ -n "$F" ] && { rnd 100000; gen "a$NEXT-$i" $((1 + R)) >>"$F"; } ;;   # append
		5)	pick_file   # overwrite 4 KiB in place: same size
			if [ -n "$F" ]; then
				size=$(stat -c %s "$F"); rnd $((size + 1)); off=$R
				gen "p$NEXT-$i" 4096 | dd of="$F" bs=1 seek="$off" conv=notrunc status=none
			fi ;;
		6)	pick_file; [ -n "$F" ] && { size=$(stat -c %s "$F"); rnd $((size + 1)); truncate -s "$R" "$F"; } ;;
		7|8)	[ "$(nfiles)" -gt 4 ] && { pick_file; rm -f "$F"; } ;;
		9)	pick_file
			if [ -n "$F" ]; then
				rnd 3
				case $R in
				0) chmod 600 "$F" ;;
				1) rnd 1000000000; touch -d "@$((R + 100000000))" "$F" ;;
				2) NEXT=$((NEXT + 1)); ln -s "../link-target-$NEXT" "$SRC/l$NEXT" ;;
				esac
			fi ;;
		esac
	done
	# Keep the source at a few MB.
	while [ "$(du -sb "$SRC" | cut -f1)" -gt 6000000 ]; do
		rm -f "$(find "$SRC" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)"
	done
}

# verify N LABEL: point N restores byte-identical (contents, modes, mtimes,
# symlinks) to the copy of the source saved when it was taken.
verify() { verify_restore "u@$1" "$PTS/$1" "$2" "restores identical to its source"; }

POINTS=0    # restore points taken so far: 1..POINTS

# A point exists: save a copy of the source as it is now.
took_point() { POINTS=$((POINTS + 1)); cp -a "$SRC" "$PTS/$POINTS"; }

# backup_ok LABEL: a backup without faults; it must complete.
DUR_US=100000
backup_ok() {
	local t0=${EPOCHREALTIME/./} rc
	c --quiet backup u "$SRC" >"$T/backup.out" 2>&1; rc=$?
	DUR_US=$(( ${EPOCHREALTIME/./} - t0 ))
	if [ $rc -eq 0 ]; then
		took_point
		ok "$1: backup without faults completes (u@$POINTS)"
	else
		not_ok "$1: backup without faults completes" "exit $rc: $(why "$T/backup.out")"
	fi
}

init_store || { not_ok "init" "coffer init failed"; finish; }
mkdir -p "$SRC/d0" "$SRC/d1/sub"
for i in 1 2 3 4 5 6; do write_file "$SRC/d$((i % 2))/s$i"; done
gen big1 1600000 >"$SRC/d1/sub/big1"
gen big2 2400000 >"$SRC/big2"
backup_ok "initial"

MAXN_commit=6 MAXN_write=10   # fault points drawn from 1..MAXN+3; grows with what kills
kills=0 kills_fault=0 kills_delay=0 finished=0 attempt=0
while [ $kills -lt "$KILLS_WANTED" ] && [ $attempt -lt $((KILLS_WANTED * 3)) ]; do
	attempt=$((attempt + 1))
	mutate
	rnd 3
	if [ "$R" -eq 0 ]; then
		# (b) kill -9 after a random delay, within about the time a backup takes.
		span=$(( DUR_US * 13 / 10 )); [ $span -gt 500000 ] && span=500000; [ $span -lt 20000 ] && span=20000
		rnd $span; delay=$((R + 2000))
		how="kill -9 after $(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))s"
		"$COFFER" --store "$STORE" --key-file "$KEY" --quiet backup u "$SRC" >"$T/kill.out" 2>&1 &
		pid=$!
		sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null; rc=$?
	else
		# (a) a deterministic fault point.
		if [ "$R" -eq 1 ]; then op=commit; max=$MAXN_commit; else op=write; max=$MAXN_write; fi
		rnd $((max + 3)); n=$((R + 1))
		how="COFFER_FAULTS=$op:$n:kill"
		{ COFFER_FAULTS=$op:$n:kill "$COFFER" --store "$STORE" --key-file "$KEY" --quiet \
			backup u "$SRC" >"$T/kill.out" 2>&1; rc=$?; } 2>/dev/null
		if [ $rc -eq 137 ]; then
			if [ $op = commit ]; then [ $n -gt $MAXN_commit ] && MAXN_commit=$n
			else [ $n -gt $MAXN_write ] && MAXN_write=$n; fi
		fi
	fi
	label="attempt $attempt ($how)"
	before=$POINTS
	case $rc in
	137)	kills=$((kills + 1))
		case $how in kill*) kills_delay=$((kills_delay + 1)) ;; *) kills_fault=$((kills_fault + 1)) ;; esac
		label="kill $kills ($how)" ;;
	0)	finished=$((finished + 1)); took_point ;;   # the backup finished before the kill
	*)	not_ok "$label: backup exits 0 or is killed" "exit $rc: $(why "$T/kill.out")" ;;
	esac

	# Points are never lost; a kill after the point's commit (while writing the
	# end marker) leaves a complete point, taken of the source as it is now.
	listed=$(points u)
	if [ $rc -eq 137 ] && [ "$listed" = "$(first_points $((POINTS + 1)))" ]; then
		took_point
		echo "# $label: killed after its restore point u@$POINTS was committed"
	fi
	if [ "$listed" = "$(first_points $POINTS)" ]; then
		ok "$label: restore points are u@1..u@$POINTS"
	else
		not_ok "$label: restore points are u@1..u@$POINTS" \
			"listed: [$listed] $(head -2 "$T/rp.err" | tr '\n' ' ')"
		POINTS=$before
	fi
	check "$label: check exits 0" c check
	rnd 2; [ "$R" -eq 0 ] && mutate
	backup_ok "$label"
	rnd $POINTS; verify $((R + 1)) "$label"
done

if [ $kills -ge "$KILLS_WANTED" ]; then
	ok "$kills backups killed ($kills_fault at fault points, $kills_delay after a delay; $finished finished first)"
else
	not_ok "at least $KILLS_WANTED backups killed" "only $kills in $attempt attempts ($finished finished before the kill)"
fi
[ $kills_delay -gt 0 ] && [ $kills_fault -gt 0 ] && ok "both kinds of kill happened" ||
	not_ok "both kinds of kill happened" "$kills_fault at fault points, $kills_delay after a delay"
echo "# largest fault points that killed: commit $MAXN_commit, write $MAXN_write"

listed=$(points u)
if [ "$listed" = "$(first_points $POINTS)" ]; then
	ok "restore-points lists exactly the $POINTS completed backups, u@1..u@$POINTS"
else
	not_ok "restore-points lists exactly the $POINTS completed backups" "listed: [$listed]"
fi
for ((p = 1; p <= POINTS; p++)); do verify $p "end"; done
check "check --read-data exits 0 after $kills kills" c check --read-data
finish
