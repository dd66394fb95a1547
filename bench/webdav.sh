#!/usr/bin/env bash
# bench/webdav.sh — coffer's WebDAV source against rclone, both on one
# Apache mod_dav_fs on loopback.
#
# One throwaway Apache (tests/servers/apache-dav.sh, Basic auth alice)
# serves a copy of the data set (the "mix" generator of bench/run.sh) at
# /dav/tree/. rclone uses a config file made in the scratch folder (remote
# type webdav, vendor other, its defaults: --transfers 4 --checkers 8).
# The tools take turns:
#   initial backup    coffer `dav backup` into a fresh store (encrypted,
#                     compressed) vs `rclone copy` into an empty folder
#                     (both verified: coffer's point restored from the store)
#   unchanged re-run  coffer `dav backup` again vs `rclone sync` remote ->
#                     the same folder again
#   rollback          the server's tree reset to the original, then 1 % of
#                     its files overwritten (same size) and 1 % deleted in
#                     Apache's folder (bench/damage.py, fixed seed), 2 s
#                     left to pass (Apache's ETags are weak in the second a
#                     file was written); coffer `dav restore` in place vs
#                     `rclone sync` of rclone's local copy back to the
#                     server, plain (size only: webdav "other" has neither
#                     modtimes nor hashes) and with --ignore-times (every
#                     file uploaded; first run only, it takes minutes).
#                     The server's tree is compared with the original
#                     after each: coffer and --ignore-times must be
#                     byte-identical, the plain sync's differing files are
#                     counted and reported.
# Apache's access log gives the HTTP requests of each step, by method.
# Each time is the median of --runs runs. Prints a table and writes it as
# Markdown to bench/results/webdav-<UTC date>.md.
#
# Usage: bench/webdav.sh [--quick] [--runs N] [--keep]
# Environment: BENCH_DIR (scratch, default /var/tmp/coffer-bench-webdav),
#              COFFER (a release build, default <repo>/build/coffer),
#              PORT (Apache, default 18790),
#              COFFER_SOURCE (the revision COFFER was built from, for the report).
# Run it in its own network namespace so its port clashes with nothing:
#   unshare -n bash -c 'ip link set lo up; bench/webdav.sh'
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_SRC")
BENCH_DIR=${BENCH_DIR:-/var/tmp/coffer-bench-webdav}
COFFER=${COFFER:-$REPO_ROOT/build/coffer}
PORT=${PORT:-18790}
APACHE=$REPO_ROOT/tests/servers/apache-dav.sh
RESULTS_DIR=$BENCH_SRC/results
export LC_ALL=C.UTF-8

COMMAND_LINE="$0 $*"
DAMAGE_SEED=4242 DAMAGE_PERCENT=1
QUICK=0 RUNS=3 KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; RUNS=1; shift ;;
	--runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) sed -n '2,39s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 2 ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "webdav.sh: --runs must be a positive integer" >&2; exit 2; }

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '\n*** BENCH FAILED: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || die "'$1' not found — $2"; }
[ -x /usr/sbin/apache2 ] || die "apache2 not installed (scripts/install-deps.sh)"
need rclone "scripts/install-deps.sh --bench"
need python3 "install python3"
need curl "scripts/install-deps.sh"
/usr/bin/time -f %M -o /dev/null true 2>/dev/null || die "GNU time missing (apt-get install time)"
[ -x "$COFFER" ] || die "no coffer binary at $COFFER (meson setup build-rel --buildtype=release)"

mkdir -p "$BENCH_DIR/data" "$RESULTS_DIR"
WORK=$(mktemp -d "$BENCH_DIR/work.XXXXXX")
chmod 755 "$WORK" # Apache's workers (nobody) must reach its folder
mkdir "$WORK/logs"
DAV=$WORK/dav
TREE=$DAV/root/tree # the collection both tools use
URL=http://127.0.0.1:$PORT/dav/tree/
cleanup() {
	local rc=$?
	sh "$APACHE" stop "$DAV" >/dev/null 2>&1 || true
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
# log_lines: the number of requests Apache has logged; waits until the
# count holds still (Apache logs a request after its answer is sent).
log_lines() {
	local a b
	b=$(wc -l <"$DAV/access.log")
	while :; do
		sleep 0.2
		a=$b
		b=$(wc -l <"$DAV/access.log")
		[ "$a" = "$b" ] && break
	done
	echo "$b"
}
# timed STEP CMD...: sets T_SEC (wall seconds), T_RSS (peak KB), T_CPU
# (user + system seconds) and T_REQ (the step's requests by method).
timed() {
	local step=$1 logf=$WORK/logs/${1//[^A-Za-z0-9._-]/_}.log t0 t1 l0 l1 rc=0; shift
	sync
	l0=$(log_lines)
	t0=$(date +%s.%N)
	/usr/bin/time -f '%M %U %S' -o "$WORK/rss" "$@" >"$logf" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	((rc == 0)) || { tail -20 "$logf" >&2; die "$step: exit $rc from $*"; }
	l1=$(log_lines)
	T_SEC=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	read -r T_RSS T_CPU <<<"$(tail -n 1 "$WORK/rss" | awk '{ printf "%s %.2f", $1, $2 + $3 }')"
	T_REQ=$(sed -n "$((l0 + 1)),${l1}p" "$DAV/access.log" | awk '
		{ m = substr($4, 2); n[m]++; t++; if ($(NF - 2) !~ /^2/) bad++ }
		END { printf "%d:", t; for (k in n) printf " %s %d", k, n[k]; if (bad) printf " (%d not 2xx)", bad }')
	log "  $step: $T_SEC s, $T_RSS KB, $T_CPU s CPU, requests $T_REQ"
}
declare -A R Q
add() { R[$1]="${R[$1]:-}${R[$1]:+ }$2"; }
# Requests of a step: its last run's (they are the same in every run).
req() { Q[$1]=$T_REQ; }
median() {
	tr ' ' '\n' <<<"$1" | sort -g | awk '{ v[NR] = $1 }
	  END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
verify() { # verify STEP WANT GOT
	diff -rq --no-dereference "$2" "$3" >"$WORK/diff.out" 2>&1 ||
		{ head -5 "$WORK/diff.out" >&2; die "$1: the tree differs from the source"; }
}
# differing WANT GOT: how many files differ or are missing.
differing() { diff -rq --no-dereference "$1" "$2" 2>/dev/null | wc -l || true; }
warm_up() { find "$@" -type f -print0 | xargs -0 -r cat >/dev/null; }
# trash DIR...: out of the way without deleting (ext4 scans past recently
# freed inodes when it allocates: see bench/s3.sh).
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
# reset_tree: the server's tree is the data set again (mtimes kept, so
# Apache's ETags are the ones of the backup).
reset_tree() {
	trash "$TREE"
	cp -a "$SRC" "$TREE"
	[ "$(id -u)" != 0 ] || chown -R nobody:nogroup "$TREE"
}
# damage N: 1 % overwritten, 1 % deleted in Apache's folder, then 2 s
# left to pass so no ETag is still weak (ransomware does not strike the
# second before a rollback).
damage() {
	run "damage ($1)" python3 "$BENCH_SRC/damage.py" --seed "$DAMAGE_SEED" \
		--percent "$DAMAGE_PERCENT" "$SRC" "$TREE"
	DAMAGE=$(cat "$WORK/logs/damage__${1}_.log")
	sleep 2
}

# ---- data ----
if ((QUICK)); then
	DS=davmix-quick GEN=(--small 500 --large-mib 4 --random-mib 4 --random-files 2)
else
	DS=davmix GEN=(--small 5000 --large-mib 32 --random-mib 64 --random-files 4)
fi
SRC=$BENCH_DIR/data/$DS
if [ ! -d "$SRC" ]; then
	log "data set $DS: building $SRC"
	rm -rf "$SRC.partial"
	run "build data set" python3 "$BENCH_SRC/gen-mix.py" "$SRC.partial" "${GEN[@]}"
	mv "$SRC.partial" "$SRC"
	# Apache's ETags are weak in the second a file was written.
	find "$SRC" -exec touch -d '-1 hour' {} +
fi
SRC_FILES=$(find "$SRC" -type f | wc -l)
SRC_DIRS=$(find "$SRC" -mindepth 1 -type d | wc -l)
SRC_BYTES=$(du -sb "$SRC" | cut -f1)

# ---- Apache ----
log "starting Apache mod_dav on port $PORT"
mkdir -p "$DAV/root"
reset_tree
run "start apache" sh "$APACHE" start "$DAV" "$PORT"
# One write, untimed, before any timed one: on a freshly started Apache
# the first conditional PUTs of coffer's first rollback sent with
# "Expect: 100-continue" each got no 100 and waited out libcurl's 1 s
# (Apache's log: 1.0 s PUTs), a cost of a server just started.
curl -sf -u alice:secret -T - "http://127.0.0.1:$PORT/dav/warm-up" -o /dev/null <<<"x" &&
	curl -sf -u alice:secret -X DELETE "http://127.0.0.1:$PORT/dav/warm-up" -o /dev/null ||
	die "Apache refused the warm-up PUT / DELETE"

echo secret >"$WORK/pw"
RCONF=$WORK/rclone.conf
cat >"$RCONF" <<EOF
[dav]
type = webdav
url = http://127.0.0.1:$PORT/dav/
vendor = other
user = alice
pass = $(rclone obscure secret)
EOF
RC=(rclone --config "$RCONF")
# cmd N: the coffer command line for store N in the array C (for timed).
cmd() { C=("$COFFER" --quiet --json --store "$WORK/store$1" --key-file "$WORK/key$1"); }
DAVFLAGS=(--url "$URL" --user alice --password-file "$WORK/pw")

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load at the start: $LOAD_START"

# 1. Initial backup: a fresh store / an empty folder each run.
for ((i = 1; i <= RUNS; i++)); do
	export COFFER_CACHE=$WORK/ccache$i
	run "coffer init $i" "$COFFER" --quiet --store "$WORK/store$i" init --key-file-new "$WORK/key$i"
	warm_up "$TREE"
	cmd "$i"
	timed "coffer initial backup ($i)" "${C[@]}" dav backup tree "${DAVFLAGS[@]}"
	add coffer:backup_s "$T_SEC"; add coffer:backup_cpu "$T_CPU"; add coffer:backup_rss "$T_RSS"
	req coffer:backup
	cp "$WORK/logs/coffer_initial_backup__${i}_.log" "$WORK/backup.json"
	trash "$WORK/check"
	run "coffer restore to check ($i)" "$COFFER" --quiet --store "$WORK/store$i" \
		--key-file "$WORK/key$i" restore tree@latest --to "$WORK/check"
	verify "coffer initial backup" "$SRC" "$WORK/check"
	trash "$WORK/check" "$WORK/rlocal"
	warm_up "$TREE"
	timed "rclone copy ($i)" "${RC[@]}" copy dav:tree "$WORK/rlocal"
	add rclone:backup_s "$T_SEC"; add rclone:backup_cpu "$T_CPU"; add rclone:backup_rss "$T_RSS"
	req rclone:backup
	verify "rclone copy" "$SRC" "$WORK/rlocal"
done
# From here on: the last run's store and rclone's last copy.
export COFFER_CACHE=$WORK/ccache$RUNS

# 2. Unchanged re-run.
for ((i = 1; i <= RUNS; i++)); do
	warm_up "$TREE"
	cmd "$RUNS"
	timed "coffer unchanged re-run ($i)" "${C[@]}" dav backup tree "${DAVFLAGS[@]}"
	add coffer:rerun_s "$T_SEC"; add coffer:rerun_cpu "$T_CPU"
	req coffer:rerun
	cp "$WORK/logs/coffer_unchanged_re-run__${i}_.log" "$WORK/rerun.json"
	warm_up "$TREE" "$WORK/rlocal"
	timed "rclone sync, unchanged ($i)" "${RC[@]}" sync dav:tree "$WORK/rlocal"
	add rclone:rerun_s "$T_SEC"; add rclone:rerun_cpu "$T_CPU"
	req rclone:rerun
done
verify "rclone's copy after the re-runs" "$SRC" "$WORK/rlocal"

# 3. Rollback after damage on the server.
RCLONE_PLAIN_DIFF="" RCLONE_CHECKSUM_DIFF=""
for ((i = 1; i <= RUNS; i++)); do
	reset_tree; damage "$i"
	warm_up "$TREE"
	cmd "$RUNS"
	timed "coffer rollback ($i)" "${C[@]}" dav restore tree@latest "${DAVFLAGS[@]}"
	add coffer:rollback_s "$T_SEC"; add coffer:rollback_cpu "$T_CPU"
	req coffer:rollback
	verify "coffer rollback" "$SRC" "$TREE"

	reset_tree; damage "$i"
	warm_up "$TREE" "$WORK/rlocal"
	timed "rclone sync back ($i)" "${RC[@]}" sync "$WORK/rlocal" dav:tree
	add rclone:rollback_s "$T_SEC"; add rclone:rollback_cpu "$T_CPU"
	req rclone:rollback
	RCLONE_PLAIN_DIFF="$RCLONE_PLAIN_DIFF${RCLONE_PLAIN_DIFF:+ }$(differing "$SRC" "$TREE")"

	# --ignore-times uploads every file at rclone's ~100 requests/s
	# (three requests a file): timed in the first run only.
	((i == 1)) || continue
	reset_tree; damage "$i"
	warm_up "$TREE" "$WORK/rlocal"
	timed "rclone sync --ignore-times back ($i)" "${RC[@]}" sync --ignore-times "$WORK/rlocal" dav:tree
	add rclone_it:rollback_s "$T_SEC"; add rclone_it:rollback_cpu "$T_CPU"
	req rclone_it:rollback
	verify "rclone sync --ignore-times" "$SRC" "$TREE"
done
# What --checksum does on this remote (once, untimed): no hash in common.
reset_tree; damage checksum
run "rclone sync --checksum" "${RC[@]}" sync --checksum "$WORK/rlocal" dav:tree
RCLONE_CHECKSUM_DIFF=$(differing "$SRC" "$TREE")
RCLONE_CHECKSUM_NOTE=$(grep -m1 -o 'no hashes in common[^"]*' "$WORK/logs/rclone_sync_--checksum.log" || true)
reset_tree
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
cell() { local v=${R[$1]:-}; [ -n "$v" ] || { echo "—"; return; }; v=$(median "$v")
	case $1 in *_s | *_cpu) printf '%.2f' "$v" ;; *) printf '%.0f' "$v" ;; esac; }
# ratio KEY [OTHER]: OTHER's time ÷ coffer's (> 1: coffer faster).
ratio() { local c o; c=$(median "${R[coffer:$1]}"); o=$(median "${R[${2:-rclone}:$1]}")
	awk -v c="$c" -v o="$o" 'BEGIN { printf "%.2f×", o / c }'; }
goal() { awk -v r="${1%×}" -v g="$2" 'BEGIN { printf "≥ %s×: %s", g, (r >= g ? "met" : "**missed**") }'; }
MB=$(awk -v b="$SRC_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
cjson() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$@"; }
{
	echo "# coffer vs rclone on WebDAV (Apache mod_dav)"
	echo
	echo "- date (UTC): $(date -u '+%Y-%m-%d %H:%M:%S')"
	echo "- command: \`${COMMAND_LINE% }\`"
	echo "- data set: \`$SRC\` ($DS: bench/gen-mix.py ${GEN[*]}) — $SRC_FILES files in $SRC_DIRS collections, $SRC_BYTES bytes ($MB MiB)"
	echo "- damage for rollback (in Apache's folder, then 2 s left to pass): seed $DAMAGE_SEED, $DAMAGE_PERCENT % overwritten + $DAMAGE_PERCENT % deleted: ${DAMAGE:-}"
	echo "- runs per measurement: $RUNS; load average (1, 5, 15 min) at the start $LOAD_START, at the end $LOAD_END"
	echo "- coffer: $("$COFFER" --version 2>&1 | head -1), source ${COFFER_SOURCE:-$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')}; binary \`$COFFER\`; a local-folder store (encrypted, compressed)"
	echo "- rclone: $(rclone version | head -1), remote type webdav, vendor other, its defaults (--transfers 4 --checkers 8); backup into a local folder"
	echo "- server: $(/usr/sbin/apache2 -v | sed -n 's/^Server version: //p') mod_dav_fs, mpm_event, plain HTTP on loopback, Basic auth (tests/servers/apache-dav.sh, default KeepAlive: 100 requests per connection)"
	echo "- \`sync\` before every timed step; the server's folder (and rclone's local copy) read once, untimed, before every timed step"
	echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores (shared by Apache and the tool); RAM $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo
	echo "> Times are medians of $RUNS run(s), wall clock. Ratio: rclone's time ÷ coffer's (> 1: coffer faster)."
	echo "> CPU: the tool's user + system seconds (Apache's not counted)."
	echo
	echo "| measurement | coffer | rclone | coffer/rclone | goal |"
	echo "|---|--:|--:|--:|---|"
	echo "| initial backup: coffer dav backup vs rclone copy (s) | $(cell coffer:backup_s) | $(cell rclone:backup_s) | $(ratio backup_s) | $(goal "$(ratio backup_s)" 1.5) |"
	echo "| unchanged re-run: coffer dav backup vs rclone sync (s) | $(cell coffer:rerun_s) | $(cell rclone:rerun_s) | $(ratio rerun_s) | $(goal "$(ratio rerun_s)" 5) |"
	echo "| rollback: coffer dav restore vs rclone sync --ignore-times (s; rclone: first run only), both byte-identical | $(cell coffer:rollback_s) | $(cell rclone_it:rollback_s) | $(ratio rollback_s rclone_it) | $(goal "$(ratio rollback_s rclone_it)" 3) |"
	echo "| rollback: coffer vs plain rclone sync (s), rclone's result **not** byte-identical | $(cell coffer:rollback_s) | $(cell rclone:rollback_s) | $(ratio rollback_s) | |"
	echo "| CPU, initial backup (s) | $(cell coffer:backup_cpu) | $(cell rclone:backup_cpu) | | |"
	echo "| CPU, unchanged re-run (s) | $(cell coffer:rerun_cpu) | $(cell rclone:rerun_cpu) | | |"
	echo "| CPU, rollback (s; rclone --ignore-times) | $(cell coffer:rollback_cpu) | $(cell rclone_it:rollback_cpu) | | |"
	echo "| peak RSS, initial backup (KB) | $(cell coffer:backup_rss) | $(cell rclone:backup_rss) | | |"
	echo
	echo "HTTP requests per step (Apache's access log, last run; total: by method):"
	echo
	echo "| step | coffer | rclone |"
	echo "|---|---|---|"
	echo "| initial backup | ${Q[coffer:backup]} | ${Q[rclone:backup]} |"
	echo "| unchanged re-run | ${Q[coffer:rerun]} | ${Q[rclone:rerun]} |"
	echo "| rollback | ${Q[coffer:rollback]} | plain: ${Q[rclone:rollback]}; --ignore-times: ${Q[rclone_it:rollback]} |"
	echo
	echo "coffer's own account (--json): initial backup $(cjson "$WORK/backup.json" requests) requests, $(cjson "$WORK/backup.json" filesFetched) files downloaded;"
	echo "unchanged re-run $(cjson "$WORK/rerun.json" requests) requests, $(cjson "$WORK/rerun.json" filesFetched) files downloaded, $(cjson "$WORK/rerun.json" filesReused) reused."
	echo
	echo "Rollback correctness (the server's tree compared with the original by \`diff -rq\`):"
	echo
	echo "- coffer \`dav restore\` in place: byte-identical in every run."
	echo "- \`rclone sync --ignore-times\`: byte-identical in every run (every file uploaded again)."
	echo "- plain \`rclone sync\`: files still differing after it, per run: $RCLONE_PLAIN_DIFF (the same-size overwrites: webdav vendor other has no modtimes and no hashes, so rclone compares sizes only)."
	echo "- \`rclone sync --checksum\` (once, untimed): $RCLONE_CHECKSUM_DIFF files still differing${RCLONE_CHECKSUM_NOTE:+; rclone: \"$RCLONE_CHECKSUM_NOTE\"}."
	echo
	echo "Raw values per run:"
	echo
	for k in "${!R[@]}"; do echo "- $k: ${R[$k]}"; done | sort
} >"$WORK/report.md"
OUT=$RESULTS_DIR/webdav-$(date -u +%Y-%m-%dT%H%M%SZ).md
cp "$WORK/report.md" "$OUT"
cat "$OUT"
echo
echo "written to $OUT"
