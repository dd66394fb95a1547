#!/usr/bin/env bash
# bench/segments.sh — backup time as a unit's index segments pile up.
#
# Takes N backups (default 1,000) of a small folder, changing one file
# before each, so that every backup adds an index segment; prints the mean
# wall and CPU (user + system) time per backup over each block of 100
# points, and the unit's segment objects at the end. A flat column means
# opening the index does not grow with the number of backups.
#
# With COFFER_BEFORE set, the same runs go to a second store with that
# binary, taking turns backup by backup (so both see the same load), and
# the table has both side by side.
#
# Usage: bench/segments.sh [N]
# Environment: COFFER (binary, default <repo>/build/coffer; use a release
#              build), COFFER_BEFORE (optional: a binary to compare with),
#              BENCH_DIR (scratch, default /var/tmp/coffer-bench).
set -euo pipefail

N=${1:-1000}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COFFER=${COFFER:-$REPO_ROOT/build/coffer}
BENCH_DIR=${BENCH_DIR:-/var/tmp/coffer-bench}
mkdir -p "$BENCH_DIR"
W=$(mktemp -d "$BENCH_DIR/segments.XXXXXX")
trap 'rm -rf "$W"' EXIT

TOOLS=(after)
BIN_after=$COFFER
if [ -n "${COFFER_BEFORE:-}" ]; then
	TOOLS=(before after)
	BIN_before=$COFFER_BEFORE
fi
mkdir -p "$W/src/d"
for i in $(seq 1 50); do printf 'file %d\n' "$i" >"$W/src/d/f$i"; done
for t in "${TOOLS[@]}"; do
	bin=BIN_$t
	COFFER_CACHE=$W/cache-$t "${!bin}" --store "$W/store-$t" init --key-file-new "$W/key-$t" \
		--deletion-key-file-new "$W/dkey-$t" >/dev/null
	declare "wall_$t=0" "cpu_$t=0"
done

# One backup with tool $1; adds its wall and CPU ns to wall_$1, cpu_$1.
backup() {
	local t=$1 bin=BIN_$1 t0 t1 w c
	t0=$(date +%s%N)
	COFFER_CACHE=$W/cache-$t /usr/bin/time -f '%U %S' -o "$W/time" \
		"${!bin}" --store "$W/store-$t" --key-file "$W/key-$t" backup u "$W/src" >/dev/null 2>&1
	t1=$(date +%s%N)
	w=wall_$t c=cpu_$t
	declare -g "$w=$((${!w} + t1 - t0))"
	declare -g "$c=$((${!c} + $(awk '{ printf "%d", ($1 + $2) * 1e9 }' "$W/time")))"
}

ms() { printf '%d.%d' $(($1 / 100000000)) $(($1 / 10000000 % 10)); } # mean of 100, in ms

head="| points |" rule="| --: |"
for t in "${TOOLS[@]}"; do head+=" $t: wall ms | $t: CPU ms |"; rule+=" --: | --: |"; done
printf '%s\n%s\n' "$head" "$rule"
for i in $(seq 1 "$N"); do
	printf 'change %d\n' "$i" >"$W/src/d/f$((i % 50 + 1))"
	for t in "${TOOLS[@]}"; do backup "$t"; done
	if ((i % 100 == 0)); then
		line="| $((i - 99))-$i |"
		for t in "${TOOLS[@]}"; do
			w=wall_$t c=cpu_$t
			line+=" $(ms "${!w}") | $(ms "${!c}") |"
			declare "wall_$t=0" "cpu_$t=0"
		done
		echo "$line"
	fi
done
echo
for t in "${TOOLS[@]}"; do
	echo "$t: $(find "$W/store-$t" -path '*/index/*' -type f | wc -l) segment objects," \
		"$(find "$W/cache-$t" -name 'idx-*' | wc -l) cached"
done
