#!/usr/bin/env bash
# bench/restore-rss.sh — peak memory of restores as the unit's entry count grows.
#
# For each N: a tree of N mostly empty files (bench/gen-entries.py, kept
# in BENCH_DIR/entries-N and reused), one backup, then the peak RSS and the
# time (GNU time) of: a full restore into an empty folder, then, after
# damage to the tree itself (every 50th file deleted, every 97th appended
# to), a dry run of an in-place restore and the rollback that repairs it. Prints a Markdown table with
# the ratio of each column to the smallest N's.
#
# Usage: bench/restore-rss.sh N...   (e.g. 200000 1000000 5000000)
# Environment: COFFER (binary, default <repo>/build/coffer; use a release
#              build), BENCH_DIR (default /dev/shm/coffer-bench: a tmpfs
#              has the inodes millions of files need).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COFFER=${COFFER:-$REPO_ROOT/build/coffer}
BENCH_DIR=${BENCH_DIR:-/dev/shm/coffer-bench}
(($# > 0)) || { sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2; }

# rss LABEL ARGS...: coffer ARGS under GNU time; sets KB and SECS.
rss() {
	local label=$1; shift
	if ! COFFER_CACHE=$W/cache /usr/bin/time -f '%M %e' -o "$W/time" \
		"$COFFER" --store "$W/store" --key-file "$W/key" --quiet "$@" >/dev/null 2>"$W/err"; then
		echo "restore-rss.sh: $label failed: $(tail -2 "$W/err")" >&2
		exit 1
	fi
	read -r KB SECS <"$W/time"
}

printf '| entries | backup MB | full restore MB | dry run MB | rollback MB | full restore s | rollback s |\n'
printf '| --: | --: | --: | --: | --: | --: | --: |\n'
for n in "$@"; do
	tree=$BENCH_DIR/entries-$n
	W=$BENCH_DIR/work-$n
	python3 "$REPO_ROOT/bench/gen-entries.py" "$tree" "$n"
	rm -rf "$W"
	mkdir -p "$W"
	COFFER_CACHE=$W/cache "$COFFER" --store "$W/store" init --key-file-new "$W/key" \
		--deletion-key-file-new "$W/dkey" >/dev/null
	rss backup backup u "$tree"; b=$KB
	rss "full restore" restore u --to "$W/r"; f=$KB fs=$SECS
	rm -rf "$W/r"
	(cd "$tree" && find . -type f | LC_ALL=C sort | awk 'NR % 50 == 0' | xargs -r rm -f &&
		find . -type f | LC_ALL=C sort | awk 'NR % 97 == 0' | while read -r p; do echo x >>"$p"; done)
	rss "dry run" restore u --in-place --dry-run; d=$KB
	rss rollback restore u --in-place; r=$KB rs=$SECS
	printf '| %d | %d | %d | %d | %d | %s | %s |\n' "$n" $((b / 1024)) $((f / 1024)) \
		$((d / 1024)) $((r / 1024)) "$fs" "$rs"
	rm -rf "$W"
done
