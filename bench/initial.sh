#!/usr/bin/env bash
# bench/initial.sh — initial backups only: coffer (one binary, or two to
# compare a change) and restic taking turns, wall time, CPU time and store
# size of each, the median of --runs. Quicker than bench/run.sh when only
# the initial backup changed. Data sets are bench/run.sh's (build them with
# it first). See bench/README.md.
#
# Usage: bench/initial.sh [--runs N] [--base OLD_COFFER] DATASET...
#
# Environment: BENCH_DIR (default /var/tmp/coffer-bench), COFFER (default
#              <repo>/build/coffer).
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/coffer-bench}
COFFER=${COFFER:-$(dirname "$BENCH_SRC")/build/coffer}
export LC_ALL=C.UTF-8
RUNS=3 BASE="" DATASETS=()
while (($#)); do
  case $1 in
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --base) BASE=${2:?--base needs a coffer binary}; shift ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) DATASETS+=("$1") ;;
  esac
  shift
done
((${#DATASETS[@]})) || { echo "initial.sh: name a data set (linux, mix, libs)" >&2; exit 2; }
TOOLS=(coffer restic); [[ -z $BASE ]] || TOOLS=(base coffer restic)

WORK=$(mktemp -d "$BENCH_DIR/initial.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
declare -A R

median() { tr -s ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 }
  END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

one() { # one TOOL SRC: a fresh store, the source read once, a timed backup
  local tool=$1 src=$2 w=$WORK/run t0 t1 u s bin=$COFFER
  rm -rf "$w"; mkdir -p "$w"
  export COFFER_CACHE=$w/cache RESTIC_REPOSITORY=$w/repo RESTIC_CACHE_DIR=$w/rcache
  export RESTIC_PASSWORD=coffer-bench-password
  [[ $tool != base ]] || bin=$BASE
  case $tool in
    restic) restic --quiet init --repository-version 2 >/dev/null
            CMD=(env -C "$src" restic --quiet --compression auto backup --tag data .) REPO=$w/repo ;;
    *) "$bin" --quiet --store "$w/store" init --key-file-new "$w/key" >/dev/null
       CMD=("$bin" --quiet --store "$w/store" --key-file "$w/key" backup data "$src") REPO=$w/store ;;
  esac
  find "$src" -type f -print0 | xargs -0 -r cat >/dev/null
  sync
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$w/time" "${CMD[@]}" >"$w/log" 2>&1 || { cat "$w/log" >&2; exit 1; }
  t1=$(date +%s.%N)
  read -r u s <"$w/time"
  R[$tool:wall]+=" $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
  R[$tool:cpu]+=" $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')"
  R[$tool:size]+=" $(du -sb "$REPO" | cut -f1)"
}

for ds in "${DATASETS[@]}"; do
  src=$BENCH_DIR/data/$ds
  [[ -d $src ]] || { echo "initial.sh: $src missing (bench/run.sh --dataset $ds builds it)" >&2; exit 1; }
  R=()
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  for ((i = 1; i <= RUNS; i++)); do
    for t in "${TOOLS[@]}"; do one "$t" "$src"; echo "[$ds run $i] $t: wall${R[$t:wall]##* } s, CPU${R[$t:cpu]##* } s" >&2; done
  done
  echo "== $ds: medians of $RUNS, load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  echo "| tool | wall (s) | CPU user+sys (s) | store (MiB) | restic ÷ tool, wall | restic ÷ tool, CPU | size ÷ restic |"
  echo "| --- | --: | --: | --: | --: | --: | --: |"
  rw=$(median "${R[restic:wall]}") rc=$(median "${R[restic:cpu]}") rs=$(median "${R[restic:size]}")
  for t in "${TOOLS[@]}"; do
    w=$(median "${R[$t:wall]}") c=$(median "${R[$t:cpu]}") s=$(median "${R[$t:size]}")
    awk -v t="$t" -v w="$w" -v c="$c" -v s="$s" -v rw="$rw" -v rc="$rc" -v rs="$rs" 'BEGIN {
      printf "| %s | %.2f | %.2f | %.1f | %.2f× | %.2f× | %.3f |\n", t, w, c, s / 1048576, rw / w, rc / c, s / rs }'
  done
  for t in "${TOOLS[@]}"; do echo "- raw $t: wall${R[$t:wall]}; CPU${R[$t:cpu]}; bytes${R[$t:size]}"; done
done
