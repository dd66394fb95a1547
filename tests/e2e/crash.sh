#!/usr/bin/env bash
# Crash test: SIGKILL backups, prunes and restores at random points, at
# least 50 times per run (KILLS=N for more: scripts/soak.sh asks for
# 1,000). Each attempt picks an operation:
# - a backup (6 in 10): killed at a deterministic fault point
#   (COFFER_FAULTS=commit:N:kill or write:N:kill) or by `kill -9` after a
#   random delay; the source changes a little before each;
# - a prune (2 in 10), after forgetting an older point now and then:
#   killed after a delay, or while deleting (remove:N:kill) or writing its
#   plan or index (write:N:kill);
# - an in-place restore (2 in 10) of a random point onto the source:
#   killed after a delay or after its Nth pack read (read:N:kill), then run
#   again to its end.
# After every kill: no restore point is lost or comes back, `check`
# passes, the next run of the killed operation completes (a rerun restore
# leaves the source identical to the point), and a random live point
# restores byte-identical to a copy of the source saved when it was
# taken. At the end every live point is restored and compared, and
# `check --read-data` passes.
#
# SEED=N reproduces a run's choices (operations, file names, sizes,
# contents, fault points, delays); the moment a delayed kill lands is up
# to the scheduler.
. "$(dirname "$0")/lib.sh"

seed_random
KILLS_WANTED=${KILLS:-50}
export COFFER_DELETION_KEY_FILE=$DKEY

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

POINTS=0    # the newest restore point's number
LIVE=()     # the points not forgotten, oldest first

# A point exists: save a copy of the source as it is now.
took_point() { POINTS=$((POINTS + 1)); LIVE+=("$POINTS"); cp -a "$SRC" "$PTS/$POINTS"; }

# live_points: what `points u` must print.
live_points() { local p; for p in "${LIVE[@]}"; do printf '%s ' "$p"; done; }

# forget_older: forget a random point other than the newest, so a prune has
# data to reclaim.
forget_older() {
	local i n=${#LIVE[@]}
	[ "$n" -gt 3 ] || return 0
	rnd $((n - 1)); i=$R
	if c --quiet forget "u@${LIVE[i]}" >"$T/forget.out" 2>&1; then
		rm -rf "${PTS:?}/${LIVE[i]}"
		LIVE=("${LIVE[@]:0:i}" "${LIVE[@]:i+1}")
	else
		not_ok "forget u@${LIVE[i]}" "$(why "$T/forget.out")"
	fi
}

# timed OP ARGS...: coffer ARGS to its end; rc, and DUR[OP] in microseconds.
declare -A DUR=([backup]=100000 [prune]=100000 [restore]=100000)
timed() {
	local op=$1 t0=${EPOCHREALTIME/./}; shift
	c --quiet "$@" >"$T/$op.out" 2>&1; rc=$?
	DUR[$op]=$(( ${EPOCHREALTIME/./} - t0 ))
}

# kill_after OP ARGS...: coffer ARGS, kill -9 after a random delay within
# about the time OP last took; HOW says when.
kill_after() {
	local op=$1 span delay pid secs; shift
	span=$(( DUR[$op] * 13 / 10 )); [ $span -gt 500000 ] && span=500000; [ $span -lt 20000 ] && span=20000
	rnd $span; delay=$((R + 2000))
	secs=$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))
	HOW="$op, kill -9 after ${secs}s"
	# Not through c(): the pid must be coffer's, not a subshell's.
	"$COFFER" --store "$STORE" --key-file "$KEY" --quiet "$@" >"$T/kill.out" 2>&1 &
	pid=$!
	sleep "$secs"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null; rc=$?
}

# at_fault OP RULE ARGS...: coffer ARGS under COFFER_FAULTS=RULE.
at_fault() {
	local op=$1 rule=$2; shift 2
	HOW="$op, COFFER_FAULTS=$rule"
	{ COFFER_FAULTS=$rule c --quiet "$@" >"$T/kill.out" 2>&1; rc=$?; } 2>/dev/null
}

# Fault points are drawn from 1..MAXN+3 and MAXN grows with what kills, so
# the draw follows the size of the operation.
declare -A MAXN=([backup-commit]=6 [backup-write]=10 [prune-write]=3 [prune-remove]=3 [restore-read]=3)
fault_kill() { # OP KIND ARGS...: at_fault at a drawn point of KIND
	local op=$1 kind=$2 key=$1-$2 n; shift 2
	rnd $(( MAXN[$key] + 3 )); n=$((R + 1))
	at_fault "$op" "$kind:$n:kill" "$@"
	[ $rc -eq 137 ] && [ $n -gt "${MAXN[$key]}" ] && MAXN[$key]=$n
	return 0
}

# One attempt of each operation; each sets rc (137: killed) and HOW.
attempt_backup() {
	mutate
	rnd 3
	case $R in
	0) kill_after backup backup u "$SRC" ;;
	1) fault_kill backup commit backup u "$SRC" ;;
	2) fault_kill backup write backup u "$SRC" ;;
	esac
	case $rc in
	0)	took_point ;;   # the backup finished before the kill
	137)	# A kill after the point's commit (while writing the end marker)
		# leaves a complete point, taken of the source as it is now.
		if [ "$(points u)" = "$(live_points)$((POINTS + 1)) " ]; then
			took_point
			echo "# $HOW: killed after its restore point u@$POINTS was committed"
		fi ;;
	esac
}

attempt_prune() {
	forget_older
	# A killed writer's marker stays open for a day and defers every sweep;
	# simulate the day passing (lib.sh), as prune.sh does.
	age_open_writers
	rnd 3
	case $R in
	0) kill_after prune prune --grace 0 ;;
	1) fault_kill prune remove prune --grace 0 ;;
	2) fault_kill prune write prune --grace 0 ;;
	esac
}

RESTORED=   # the point an in-place restore was asked for
attempt_restore() {
	rnd ${#LIVE[@]}; RESTORED=${LIVE[R]}
	rnd 2
	case $R in
	0) kill_after restore restore "u@$RESTORED" --in-place ;;
	1) fault_kill restore read restore "u@$RESTORED" --in-place ;;
	esac
}

# after_restore LABEL: a rerun of the killed (or finished) restore ends
# with the source identical to the point.
after_restore() {
	timed restore restore "u@$RESTORED" --in-place
	if [ $rc -ne 0 ]; then
		not_ok "$1: the in-place restore of u@$RESTORED run again completes" "exit $rc: $(why "$T/restore.out")"
	elif diff -r --no-dereference "$PTS/$RESTORED" "$SRC" >"$T/diff.out" 2>&1 && same_tree "$PTS/$RESTORED" "$SRC"; then
		ok "$1: run again, the in-place restore leaves the source identical to u@$RESTORED"
	else
		not_ok "$1: run again, the in-place restore leaves the source identical to u@$RESTORED" \
			"$(head -3 "$T/diff.out" | tr '\n' ' ')"
	fi
}

after_prune() {
	age_open_writers
	timed prune prune --grace 0
	if [ $rc -eq 0 ]; then ok "$1: the next prune completes"
	else not_ok "$1: the next prune completes" "exit $rc: $(why "$T/prune.out")"; fi
}

# backup_ok LABEL: a backup without faults; it must complete.
backup_ok() {
	timed backup backup u "$SRC"
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

declare -A KILLED=([backup]=0 [prune]=0 [restore]=0) FINISHED=([backup]=0 [prune]=0 [restore]=0)
kills=0 kills_fault=0 kills_delay=0 attempt=0
while [ $kills -lt "$KILLS_WANTED" ] && [ $attempt -lt $((KILLS_WANTED * 3)) ]; do
	attempt=$((attempt + 1))
	rnd 10
	if [ "$R" -lt 6 ]; then op=backup; elif [ "$R" -lt 8 ]; then op=prune; else op=restore; fi
	"attempt_$op"
	label="attempt $attempt ($HOW)"
	case $rc in
	137)	kills=$((kills + 1)); KILLED[$op]=$((KILLED[$op] + 1))
		case $HOW in *kill*-9*) kills_delay=$((kills_delay + 1)) ;; *) kills_fault=$((kills_fault + 1)) ;; esac
		label="kill $kills ($HOW)" ;;
	0)	FINISHED[$op]=$((FINISHED[$op] + 1)) ;;   # it finished before the kill
	*)	not_ok "$label: $op exits 0 or is killed" "exit $rc: $(why "$T/kill.out")" ;;
	esac

	# Points are never lost, and a forgotten point never comes back.
	listed=$(points u)
	if [ "$listed" = "$(live_points)" ]; then
		ok "$label: restore points are [$(live_points)]"
	else
		not_ok "$label: restore points are [$(live_points)]" \
			"listed: [$listed] $(head -2 "$T/rp.err" | tr '\n' ' ')"
	fi
	check "$label: check exits 0" c check
	case $op in
	prune) after_prune "$label" ;;
	restore) after_restore "$label" ;;
	esac
	rnd 2; [ "$R" -eq 0 ] && mutate
	backup_ok "$label"
	rnd ${#LIVE[@]}; verify "${LIVE[R]}" "$label"
done

summary="${KILLED[backup]} backups, ${KILLED[prune]} prunes, ${KILLED[restore]} restores"
if [ $kills -ge "$KILLS_WANTED" ]; then
	ok "$kills kills: $summary ($kills_fault at fault points, $kills_delay after a delay)"
else
	not_ok "at least $KILLS_WANTED kills" "only $kills in $attempt attempts: $summary"
fi
echo "# finished before the kill: ${FINISHED[backup]} backups, ${FINISHED[prune]} prunes, ${FINISHED[restore]} restores"
for op in backup prune restore; do
	if [ "${KILLED[$op]}" -gt 0 ]; then ok "at least one $op was killed"
	else not_ok "at least one $op was killed" "$summary"; fi
done
[ $kills_delay -gt 0 ] && [ $kills_fault -gt 0 ] && ok "both kinds of kill happened" ||
	not_ok "both kinds of kill happened" "$kills_fault at fault points, $kills_delay after a delay"
echo "# largest fault points that killed: $(for k in "${!MAXN[@]}"; do printf '%s %s, ' "$k" "${MAXN[$k]}"; done)"

# A kill while a backup merges index segments (docs/format.md 6.1): unit m
# gets a segment per backup; the 10th backup finds 9 live ones and, after
# its restore point, writes a merged segment: its second index commit. It
# is killed there; every point of m still restores, check passes, and the
# next backup merges. check --read-data below reads all of it again.
MSRC=$T/msrc
mkdir -p "$MSRC" "$T/mpts"
for i in $(seq 1 10); do
	gen "m$i" $((3000 + i)) >"$MSRC/f$((i % 4))"
	if [ "$i" -lt 10 ]; then
		c --quiet backup m "$MSRC" >"$T/m.out" 2>&1 || not_ok "backup m #$i" "$(why "$T/m.out")"
	else
		at_fault backup "commit@/index/:2:kill" backup m "$MSRC"
		equal "merge" "a backup killed while merging index segments exits" "$rc" 137
	fi
	cp -a "$MSRC" "$T/mpts/$i"
done
expect_eq "killed while merging: m keeps all its restore points" "$(points m)" "$(first_points 10)"
check "killed while merging: check exits 0" c check
for i in $(seq 1 10); do verify_restore "m@$i" "$T/mpts/$i" "killed while merging"; done
gen m11 5000 >"$MSRC/f11"
cp -a "$MSRC" "$T/mpts/11"
c --quiet backup m "$MSRC" >"$T/m.out" 2>&1
equal "killed while merging" "the next backup (which merges) exits" "$?" 0
verify_restore "m@11" "$T/mpts/11" "after the merge"
verify_restore "m@1" "$T/mpts/1" "after the merge"

listed=$(points u)
if [ "$listed" = "$(live_points)" ]; then
	ok "restore-points lists exactly the ${#LIVE[@]} live points"
else
	not_ok "restore-points lists exactly the ${#LIVE[@]} live points" "listed: [$listed], want [$(live_points)]"
fi
for p in "${LIVE[@]}"; do verify "$p" "end"; done
check "check --read-data exits 0 after $kills kills" c check --read-data
finish
