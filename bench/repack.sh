#!/usr/bin/env bash
# bench/repack.sh — reclaiming partly used packs: coffer prune's repack
# against restic prune, on the same data.
#
# Both tools back up FILES incompressible files (64 KiB to 1 MiB, seeded),
# then two of every three files are deleted and a second backup is taken,
# and the first backup is forgotten: every pack of the first backup is
# about a third live. Then, timed (wall and CPU, GNU time):
#   coffer: prune --grace 0 --max-repack 100%   (repacks every pack below
#           50 % live, plans the old ones) and prune --grace 0 (sweeps them)
#   restic: prune (--max-unused 5 %, its default: repacks until at most 5 %
#           of the repository is unused)
# Printed per tool and run: the time, the bytes the repack wrote (coffer:
# repackWrittenBytes; restic: its "to repack" less "this removes"), and the store before
# and after. The tools take turns, RUNS times (default 3); then the medians.
#
# Usage: bench/repack.sh [FILES] [RUNS]
# Environment: COFFER (binary, default <repo>/build/coffer; use a release
#              build), BENCH_DIR (scratch, default /var/tmp/coffer-bench).
set -euo pipefail

FILES=${1:-600}
RUNS=${2:-3}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COFFER=${COFFER:-$REPO_ROOT/build/coffer}
mkdir -p "${BENCH_DIR:-/var/tmp/coffer-bench}"
W=$(mktemp -d "${BENCH_DIR:-/var/tmp/coffer-bench}/repack.XXXXXX")
trap 'cp "$W/restic-prune.out" /tmp/ 2>/dev/null; rm -rf "$W"' EXIT
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$W/restic-cache

python3 - "$W/src" "$FILES" <<'EOF'
import os, random, sys
out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(14)
for i in range(n):
    d = os.path.join(out, "d%02d" % (i % 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.bin" % i), "wb") as f:
        f.write(rng.randbytes(rng.randint(64 << 10, 1 << 20)))
EOF
echo "data: $FILES files, $(du -sb "$W/src" | cut -f1) bytes; two of every three deleted"

size() { du -sb "$1" | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# timed OUT CMD...: runs CMD under GNU time; T_WALL and T_CPU (seconds).
timed() {
	local out=$1; shift
	/usr/bin/time -f '%e %U %S' -o "$W/time" "$@" >"$out" 2>&1
	read -r T_WALL u s <"$W/time"
	T_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
}

# prepare TOOL: a store with two points, the first forgotten.
prepare() {
	rm -rf "$W/s" "$W/store" "$W/repo" "$W/cache" "$W/restic-cache" "$W/key" "$W/dkey"
	cp -a "$W/src" "$W/s"
	case $1 in
	coffer)
		export COFFER_CACHE=$W/cache
		"$COFFER" --store "$W/store" init --key-file-new "$W/key" \
			--deletion-key-file-new "$W/dkey" >/dev/null
		C=("$COFFER" --store "$W/store" --key-file "$W/key")
		"${C[@]}" --quiet backup u "$W/s" >/dev/null
		find "$W/s" -name '*.bin' | sort | awk 'NR % 3 != 0' | xargs rm -f
		"${C[@]}" --quiet backup u "$W/s" >/dev/null
		"${C[@]}" forget --deletion-key-file "$W/dkey" u@1 >/dev/null ;;
	restic)
		export RESTIC_REPOSITORY=$W/repo
		restic --quiet init --repository-version 2 >/dev/null
		(cd "$W/s" && restic --quiet --compression auto backup . >/dev/null)
		find "$W/s" -name '*.bin' | sort | awk 'NR % 3 != 0' | xargs rm -f
		(cd "$W/s" && restic --quiet --compression auto backup . >/dev/null)
		restic --quiet forget "$(restic snapshots --json | python3 -c \
			'import json,sys; print(sorted(json.load(sys.stdin), key=lambda s: s["time"])[0]["id"])')" \
			>/dev/null ;;
	esac
}

declare -A WALL CPU WROTE BEFORE AFTER
for ((r = 1; r <= RUNS; r++)); do
	for tool in coffer restic; do
		prepare $tool
		sync
		if [ $tool = coffer ]; then
			BEFORE[$tool,$r]=$(size "$W/store")
			timed "$W/p1" "${C[@]}" --json prune --grace 0 --max-repack 100% \
				--deletion-key-file "$W/dkey"
			w1=$T_WALL c1=$T_CPU
			timed "$W/p2" "${C[@]}" --json prune --grace 0 --deletion-key-file "$W/dkey"
			WALL[$tool,$r]=$(awk -v a="$w1" -v b="$T_WALL" 'BEGIN { print a + b }')
			CPU[$tool,$r]=$(awk -v a="$c1" -v b="$T_CPU" 'BEGIN { print a + b }')
			WROTE[$tool,$r]=$(grep -o '"repackWrittenBytes":[0-9]*' "$W/p1" | cut -d: -f2)
			AFTER[$tool,$r]=$(size "$W/store")
		else
			BEFORE[$tool,$r]=$(size "$W/repo")
			timed "$W/p1" restic prune
			cp "$W/p1" "$W/restic-prune.out"
			WALL[$tool,$r]=$T_WALL CPU[$tool,$r]=$T_CPU
			# What the repack wrote: "to repack: N blobs / X MiB" less
			# "this removes: N blobs / Y MiB" (the unused blobs it drops).
			WROTE[$tool,$r]=$(awk 'function bytes(v, u) {
				return v * (u == "KiB" ? 1024 : u == "MiB" ? 1048576 : u == "GiB" ? 1073741824 : 1) }
				/to repack:/ { w += bytes($(NF - 1), $NF) }
				/this removes:/ { w -= bytes($(NF - 1), $NF) }
				END { printf "%d", w }' "$W/p1")
			AFTER[$tool,$r]=$(size "$W/repo")
		fi
		echo "run $r $tool: ${WALL[$tool,$r]} s wall, ${CPU[$tool,$r]} s CPU;" \
			"repack wrote $(mib "${WROTE[$tool,$r]:-0}") MiB;" \
			"store $(mib "${BEFORE[$tool,$r]}") -> $(mib "${AFTER[$tool,$r]}") MiB"
	done
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { local t=$1 m=$2 r v=(); for ((r = 1; r <= RUNS; r++)); do eval "v+=(\"\${$m[$t,$r]}\")"; done; median "${v[@]}"; }
echo
# Ratios as in docs/performance.md: times restic ÷ coffer (> 1: coffer is
# faster), sizes coffer ÷ restic (< 1: coffer writes or keeps less).
echo "| median of $RUNS | coffer | restic | ratio |"
echo "| --- | --: | --: | --: |"
for m in WALL CPU; do
	a=$(col coffer $m) b=$(col restic $m)
	printf '| %s (s) | %s | %s | %s |\n' "${m,,}" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')"
done
for m in WROTE BEFORE AFTER; do
	a=$(col coffer $m) b=$(col restic $m)
	printf '| %s (MiB) | %s | %s | %s |\n' \
		"$(case $m in WROTE) echo "repack wrote" ;; BEFORE) echo "store before" ;; AFTER) echo "store after" ;; esac)" \
		"$(mib "$a")" "$(mib "$b")" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
done
