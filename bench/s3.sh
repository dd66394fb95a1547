#!/usr/bin/env bash
# bench/s3.sh — coffer against restic, both on one S3 server (Ceph radosgw).
#
# One throwaway radosgw on loopback (tests/servers/ceph.sh: one mon, one OSD
# on memstore, Object Lock) holds both: coffer's store in bucket coffer-bench
# (s3+http://, COMPLIANCE locks of one day), restic's repository in bucket
# restic-bench (`s3:` repository). Same data (the "mix" generator of
# bench/run.sh at a size memstore holds), same machine, both encrypted and
# compressed. The tools take turns:
#   initial backup    into a fresh prefix / repository (a fresh cache)
#   unchanged re-run  the same data again
#   full restore      into an empty folder (verified)
#   rollback          a copy backed up, then 1 % of its files overwritten and
#                     1 % deleted (bench/damage.py, fixed seed): coffer
#                     restores in place, restic restores in full (verified)
#   store size        bytes of the objects under the store's prefix
#                     (ListObjectsV2 sizes)
# Then aggregate restore throughput of coffer with 1, 2 and 4 processes at
# once, each restoring a different unit (each process stands for a node).
# Each time is the median of --runs runs. Prints a table and writes it as
# Markdown to bench/results/s3-<UTC date>.md.
#
# Usage: bench/s3.sh [--quick] [--runs N] [--keep]
# Environment: BENCH_DIR (scratch, default /var/tmp/coffer-bench-s3),
#              COFFER (a release build, default <repo>/build/coffer),
#              PORT (radosgw, default 18760), COFFER_S3_CONNECTIONS (coffer's),
#              COFFER_SOURCE (the revision COFFER was built from, for the report).
# radosgw's monitor takes ports 6789 and 3300: run it where no test does, e.g.
#   unshare -n bash -c 'ip link set lo up; bench/s3.sh'
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_SRC")
BENCH_DIR=${BENCH_DIR:-/var/tmp/coffer-bench-s3}
COFFER=${COFFER:-$REPO_ROOT/build/coffer}
PORT=${PORT:-18760}
CEPH=$REPO_ROOT/tests/servers/ceph.sh
RESULTS_DIR=$BENCH_SRC/results
EP=http://127.0.0.1:$PORT
export LC_ALL=C.UTF-8
export AWS_ACCESS_KEY_ID=CIACCESSKEY AWS_SECRET_ACCESS_KEY=CISECRETKEY AWS_DEFAULT_REGION=us-east-1
unset COFFER_S3_CREDENTIALS AWS_SESSION_TOKEN AWS_REGION
export RESTIC_PASSWORD=coffer-bench-password

COMMAND_LINE="$0 $*"
DAMAGE_SEED=4242 DAMAGE_PERCENT=1
QUICK=0 RUNS=3 KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; RUNS=1; shift ;;
	--runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) sed -n '2,30s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 2 ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "s3.sh: --runs must be a positive integer" >&2; exit 2; }

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '\n*** BENCH FAILED: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || die "'$1' not found — $2"; }
need radosgw "scripts/install-deps.sh (ceph)"
need restic "scripts/install-deps.sh --bench"
need python3 "install python3"
/usr/bin/time -f %M -o /dev/null true 2>/dev/null || die "GNU time missing (apt-get install time)"
[ -x "$COFFER" ] || die "no coffer binary at $COFFER (meson setup build-rel --buildtype=release)"

mkdir -p "$BENCH_DIR/data" "$RESULTS_DIR"
WORK=$(mktemp -d "$BENCH_DIR/work.XXXXXX")
mkdir "$WORK/logs"
cleanup() {
	local rc=$?
	"$CEPH" stop "$WORK/ceph" >/dev/null 2>&1 || true
	if ((KEEP)); then log "kept $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run STEP CMD...: untimed, abort on failure with the end of its log.
run() {
	local step=$1 logf=$WORK/logs/${1//[^A-Za-z0-9._-]/_}.log rc=0; shift
	"$@" >"$logf" 2>&1 || rc=$?
	((rc == 0)) || { tail -20 "$logf" >&2; die "$step: exit $rc from $*"; }
}
# timed STEP CMD...: sets T_SEC (wall seconds) and T_RSS (peak KB).
timed() {
	local step=$1 logf=$WORK/logs/${1//[^A-Za-z0-9._-]/_}.log t0 t1 rc=0; shift
	sync
	t0=$(date +%s.%N)
	/usr/bin/time -f %M -o "$WORK/rss" "$@" >"$logf" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	((rc == 0)) || { tail -20 "$logf" >&2; die "$step: exit $rc from $*"; }
	T_SEC=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	T_RSS=$(tail -n 1 "$WORK/rss")
	log "  $step: $T_SEC s, $T_RSS KB"
}
declare -A R
add() { R[$1]="${R[$1]:-}${R[$1]:+ }$2"; }
median() {
	tr ' ' '\n' <<<"$1" | sort -g | awk '{ v[NR] = $1 }
	  END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
verify() { # verify STEP WANT GOT
	diff -rq --no-dereference "$2" "$3" >"$WORK/diff.out" 2>&1 ||
		{ head -5 "$WORK/diff.out" >&2; die "$1: the restored tree differs from the source"; }
}
warm_up() { find "$@" -type f -print0 | xargs -0 -r cat >/dev/null; }
# trash DIR...: out of the way without deleting. ext4 skips inodes freed in
# the last 60 s (300 s while their block is dirty) when it allocates, and
# scans past every one of them: restoring 8,000 files right after deleting
# 8,000 took up to 3x as long, for whichever tool came next. So restored
# trees are moved aside and deleted when the bench ends.
TRASH_N=0
trash() {
	local d
	mkdir -p "$WORK/trash"
	for d in "$@"; do
		[ -e "$d" ] || continue
		TRASH_N=$((TRASH_N + 1))
		mv "$d" "$WORK/trash/$TRASH_N"
	done
}

# bucket_bytes BUCKET PREFIX: the sizes of the current objects below PREFIX, summed.
bucket_bytes() {
	python3 - "$EP" "$1" "$2" <<'EOF'
import re, subprocess, sys, urllib.parse
ep, bucket, prefix = sys.argv[1:4]
total, token = 0, None
while True:
    q = {"list-type": "2", "prefix": prefix}
    if token:
        q["continuation-token"] = token
    qs = "&".join("%s=%s" % (k, urllib.parse.quote(v, safe="-_.~"))
                  for k, v in sorted(q.items()))
    x = subprocess.run(["curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:s3", "-u",
                        "CIACCESSKEY:CISECRETKEY", "-H", "x-amz-content-sha256: "
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                        "%s/%s?%s" % (ep, bucket, qs)], capture_output=True, text=True).stdout
    if "<ListBucketResult" not in x:
        sys.exit("listing failed: " + x[:300])
    total += sum(int(s) for s in re.findall(r"<Size>(\d+)</Size>", x))
    m = re.search(r"<NextContinuationToken>([^<]*)</NextContinuationToken>", x)
    if "<IsTruncated>true</IsTruncated>" not in x or not m:
        break
    token = m.group(1).replace("&amp;", "&")
print(total)
EOF
}

# ---- data ----
if ((QUICK)); then
	DS=s3mix-quick GEN=(--small 1000 --large-mib 8 --random-mib 8 --random-files 2)
else
	DS=s3mix GEN=(--small 8000 --large-mib 48 --random-mib 96 --random-files 4)
fi
SRC=$BENCH_DIR/data/$DS
if [ ! -d "$SRC" ]; then
	log "data set $DS: building $SRC"
	rm -rf "$SRC.partial"
	run "build data set" python3 "$BENCH_SRC/gen-mix.py" "$SRC.partial" "${GEN[@]}"
	mv "$SRC.partial" "$SRC"
fi
SRC_FILES=$(find "$SRC" -type f | wc -l)
SRC_BYTES=$(du -sb "$SRC" | cut -f1)

# ---- radosgw ----
log "starting radosgw on port $PORT"
mkdir -p "$WORK/ceph"
run "start radosgw" "$CEPH" start "$WORK/ceph" "$PORT"

# coffer: a store per run below the bucket; restic: a repository per run.
c_store() { echo "s3+http://127.0.0.1:$PORT/coffer-bench/$1"; }
c() { local st=$1; shift; "$COFFER" --quiet --store "$(c_store "$st")" --key-file "$WORK/key" "$@"; }
# cmd STORE: the coffer command line for STORE in the array C (for timed).
cmd() { C=("$COFFER" --quiet --store "$(c_store "$1")" --key-file "$WORK/key"); }
r_repo() { echo "s3:$EP/restic-bench/$1"; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load at the start: $LOAD_START"

# 1. Initial backup, fresh store/repository and cache each run.
for ((i = 1; i <= RUNS; i++)); do
	export COFFER_CACHE=$WORK/ccache$i RESTIC_CACHE_DIR=$WORK/rcache$i
	rm -f "$WORK/key"
	run "coffer init $i" "$COFFER" --quiet --store "$(c_store "run$i")" init --key-file-new "$WORK/key" \
		--object-lock-days 1
	cp "$WORK/key" "$WORK/key$i"
	warm_up "$SRC"
	cmd "run$i"
	timed "coffer initial backup ($i)" "${C[@]}" backup data "$SRC"
	add coffer:backup_s "$T_SEC"; add coffer:backup_rss "$T_RSS"
	add coffer:size "$(bucket_bytes coffer-bench "run$i/")"
	run "restic init $i" restic --quiet -r "$(r_repo "run$i")" init --repository-version 2
	warm_up "$SRC"
	timed "restic initial backup ($i)" env -C "$SRC" restic --quiet -r "$(r_repo "run$i")" \
		--compression auto backup --tag data .
	add restic:backup_s "$T_SEC"; add restic:backup_rss "$T_RSS"
	add restic:size "$(bucket_bytes restic-bench "run$i/")"
done
# From here on: the last run's store and repository.
L=run$RUNS
cp "$WORK/key$RUNS" "$WORK/key"
export COFFER_CACHE=$WORK/ccache$RUNS RESTIC_CACHE_DIR=$WORK/rcache$RUNS

# 2. Unchanged re-run.
for ((i = 1; i <= RUNS; i++)); do
	warm_up "$SRC"
	cmd "$L"
	timed "coffer unchanged re-run ($i)" "${C[@]}" backup data "$SRC"
	add coffer:rerun_s "$T_SEC"
	warm_up "$SRC"
	timed "restic unchanged re-run ($i)" env -C "$SRC" restic --quiet -r "$(r_repo "$L")" \
		--compression auto backup --tag data .
	add restic:rerun_s "$T_SEC"
done

# 3. Full restore into an empty folder.
for ((i = 1; i <= RUNS; i++)); do
	trash "$WORK/restore"
	cmd "$L"
	timed "coffer full restore ($i)" "${C[@]}" restore data --to "$WORK/restore"
	add coffer:restore_s "$T_SEC"; add coffer:restore_rss "$T_RSS"
	verify "coffer full restore" "$SRC" "$WORK/restore"
	trash "$WORK/restore"; mkdir "$WORK/restore"
	timed "restic full restore ($i)" restic --quiet -r "$(r_repo "$L")" restore latest --tag data \
		--target "$WORK/restore"
	add restic:restore_s "$T_SEC"; add restic:restore_rss "$T_RSS"
	verify "restic full restore" "$SRC" "$WORK/restore"
	trash "$WORK/restore"
done

# 4. Rollback after damage: coffer in place, restic in full.
run "copy for rollback" cp -a "$SRC" "$WORK/victim"
run "coffer back up the copy" c "$L" backup victim "$WORK/victim"
run "restic back up the copy" env -C "$WORK/victim" restic --quiet -r "$(r_repo "$L")" backup \
	--tag victim .
for ((i = 1; i <= RUNS; i++)); do
	run "damage ($i)" python3 "$BENCH_SRC/damage.py" --seed "$DAMAGE_SEED" \
		--percent "$DAMAGE_PERCENT" "$SRC" "$WORK/victim"
	DAMAGE=$(cat "$WORK/logs/damage__${i}_.log" 2>/dev/null || true)
	warm_up "$WORK/victim"
	cmd "$L"
	timed "coffer rollback ($i)" "${C[@]}" restore victim --in-place
	add coffer:rollback_s "$T_SEC"
	verify "coffer rollback" "$SRC" "$WORK/victim"
	trash "$WORK/restore"; mkdir "$WORK/restore"
	timed "restic full restore of the damaged copy ($i)" restic --quiet -r "$(r_repo "$L")" \
		restore latest --tag victim --target "$WORK/restore"
	add restic:rollback_s "$T_SEC"
	verify "restic rollback" "$SRC" "$WORK/restore"
	trash "$WORK/restore"
done
trash "$WORK/victim"

# 5. Aggregate restore throughput: K coffer processes at once, each
#    restoring its own unit (one process stands for one node).
log "backing up units n1..n4 for the throughput curve"
for n in 1 2 3 4; do run "coffer back up n$n" c "$L" backup "n$n" "$SRC"; done
declare -A AGG
for k in 1 2 4; do
	for ((i = 1; i <= RUNS; i++)); do
		trash "$WORK"/par*
		sync
		t0=$(date +%s.%N)
		pids=()
		for ((n = 1; n <= k; n++)); do
			c "$L" restore "n$n" --to "$WORK/par$n" >"$WORK/logs/par$k-$n.log" 2>&1 &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p" || die "a restore of the $k-process run failed"; done
		t1=$(date +%s.%N)
		for ((n = 1; n <= k; n++)); do verify "restore n$n ($k at once)" "$SRC" "$WORK/par$n"; done
		s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		AGG[$k]="${AGG[$k]:-}${AGG[$k]:+ }$s"
		log "  $k restores at once ($i): $s s"
	done
done
trash "$WORK"/par*
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
cell() { local v=${R[$1]:-}; [ -n "$v" ] || { echo "—"; return; }; v=$(median "$v")
	case $1 in *_s) printf '%.2f' "$v" ;; *size) awk -v b="$v" 'BEGIN { printf "%.1f", b / 1048576 }' ;;
	*) printf '%.0f' "$v" ;; esac; }
ratio() { local c o; c=$(median "${R[coffer:$1]}"); o=$(median "${R[restic:$1]}")
	case $1 in *_s) awk -v c="$c" -v o="$o" 'BEGIN { printf "%.2f×", o / c }' ;;
	*) awk -v c="$c" -v o="$o" 'BEGIN { printf "%.2f", c / o }' ;; esac; }
MB=$(awk -v b="$SRC_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
agg() { awk -v k="$1" -v s="$(median "${AGG[$1]}")" -v b="$SRC_BYTES" \
	'BEGIN { printf "%.2f s, %.1f MiB/s", s, k * b / s / 1048576 }'; }
per_node=$(awk -v s="$(median "${AGG[1]}")" -v b="$SRC_BYTES" 'BEGIN { printf "%.1f", b / s / 1e6 }')
plan=$(awk -v mbs="$per_node" 'BEGIN {
	need = 1000 * 30e9 / (6 * 3600) / 1e6        # MB/s for 1,000 x 30 GB in 6 h
	nodes = int(need / mbs) + (need % mbs > 0)
	printf "1,000 units x 30 GB = 30 TB in 6 h is %.0f MB/s (%.1f Gbit/s) in aggregate. ", need, need * 8 / 1000
	printf "At the measured %.1f MB/s per node (one coffer process on this 2-core VM, radosgw on the same cores) that is %d nodes; ", mbs, nodes
	printf "each node needs %.2f Gbit/s of network to the object store, and the store must deliver %.1f Gbit/s in total.", mbs * 8 / 1000, need * 8 / 1000
}')
{
	echo "# coffer vs restic on S3 (Ceph radosgw)"
	echo
	echo "- date (UTC): $(date -u '+%Y-%m-%d %H:%M:%S')"
	echo "- command: \`${COMMAND_LINE% }\`"
	echo "- data set: \`$SRC\` ($DS: bench/gen-mix.py ${GEN[*]}) — $SRC_FILES files, $SRC_BYTES bytes"
	echo "- damage for rollback: seed $DAMAGE_SEED, $DAMAGE_PERCENT % overwritten + $DAMAGE_PERCENT % deleted${DAMAGE:+: $DAMAGE}"
	echo "- runs per measurement: $RUNS; load average (1, 5, 15 min) at the start $LOAD_START, at the end $LOAD_END"
	echo "- coffer: $("$COFFER" --version 2>&1 | head -1), source ${COFFER_SOURCE:-$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')}, COFFER_S3_CONNECTIONS=${COFFER_S3_CONNECTIONS:-8 (default)}; binary \`$COFFER\`"
	echo "- restic: $(restic version | head -1), repository v2, --compression auto"
	echo "- server: Ceph $(radosgw --version 2>/dev/null | awk '{ print $3 }') radosgw, one mon + one OSD on memstore, plain HTTP on loopback (tests/servers/ceph.sh); coffer's bucket with Object Lock (COMPLIANCE, 1 day)"
	echo "- restored trees are moved aside, not deleted, between timed steps (ext4 scans past recently freed inodes when it allocates); the source and the damaged copy are read once, untimed, before the steps that read them; \`sync\` before every timed step"
	echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores (shared by radosgw, ceph-osd and the tool); RAM $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo
	echo "> Times are medians of $RUNS run(s), wall clock. Ratio: restic's time ÷ coffer's (> 1: coffer faster);"
	echo "> store size: coffer ÷ restic (< 1: coffer smaller). Store size is the bytes of the objects under the"
	echo "> store's prefix (ListObjectsV2), after the initial backup."
	echo
	echo "| measurement | coffer | restic | coffer/restic | target |"
	echo "|---|--:|--:|--:|---|"
	echo "| initial backup (s) | $(cell coffer:backup_s) | $(cell restic:backup_s) | $(ratio backup_s) | ≥ 3× |"
	echo "| unchanged re-run (s) | $(cell coffer:rerun_s) | $(cell restic:rerun_s) | $(ratio rerun_s) | |"
	echo "| full restore (s) | $(cell coffer:restore_s) | $(cell restic:restore_s) | $(ratio restore_s) | ≥ 3× |"
	echo "| rollback: coffer in place vs restic full restore (s) | $(cell coffer:rollback_s) | $(cell restic:rollback_s) | $(ratio rollback_s) | ≥ 20× |"
	echo "| store size (MiB) | $(cell coffer:size) | $(cell restic:size) | $(ratio size) | ≤ 1 |"
	echo "| peak RSS, initial backup (KB) | $(cell coffer:backup_rss) | $(cell restic:backup_rss) | $(ratio backup_rss) | |"
	echo "| peak RSS, full restore (KB) | $(cell coffer:restore_rss) | $(cell restic:restore_rss) | $(ratio restore_rss) | |"
	echo
	echo "Aggregate restore throughput, coffer, K processes at once each restoring its own unit of $MB MiB"
	echo "(one process stands for one node; all on this machine, beside radosgw):"
	echo
	echo "| processes | wall time, aggregate throughput |"
	echo "|--:|---|"
	for k in 1 2 4; do echo "| $k | $(agg $k) |"; done
	echo
	echo "On paper: $plan"
	echo
	echo "Raw values per run:"
	echo
	for k in "${!R[@]}"; do echo "- $k: ${R[$k]}"; done | sort
	for k in 1 2 4; do echo "- restore with $k at once (s): ${AGG[$k]}"; done
} >"$WORK/report.md"
OUT=$RESULTS_DIR/s3-$(date -u +%Y-%m-%dT%H%M%SZ).md
cp "$WORK/report.md" "$OUT"
cat "$OUT"
echo
echo "written to $OUT"
