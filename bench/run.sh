#!/usr/bin/env bash
# bench/run.sh — compare coffer with restic and borg.
#
# For each data set and each tool (all with encryption and compression on):
#   initial backup into a fresh repo, unchanged re-run, full restore into an
#   empty folder (verified), rollback after ransomware-like damage (verified),
#   store size after the initial backup, peak RSS of initial backup and restore.
# Each time is the median of --runs runs.  Prints a table and writes it as
# Markdown to bench/results/<dataset>-<UTC date>.md.  See bench/README.md.
#
# Usage: bench/run.sh [--quick] [--runs N] [--dataset linux|mix|libs]...
#                     [--tools coffer,restic,borg] [--keep]
#
# Environment: BENCH_DIR (data sets and scratch, default /var/tmp/coffer-bench),
#              COFFER (binary, default <repo>/build/coffer),
#              LINUX_TARBALL (default /usr/src/linux-source-6.1.tar.xz),
#              LIBS_SRC (the libs data set's origin, default /usr/lib/x86_64-linux-gnu).
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_SRC")
BENCH_DIR=${BENCH_DIR:-/var/tmp/coffer-bench}
COFFER=${COFFER:-$REPO_ROOT/build/coffer}
LINUX_TARBALL=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
LIBS_SRC=${LIBS_SRC:-/usr/lib/x86_64-linux-gnu}
RESULTS_DIR=$BENCH_SRC/results
export LC_ALL=C.UTF-8   # fixed number format; ${#s} counts characters (table padding)

# The exact command, for the report (arguments quoted only where needed).
COMMAND_LINE=$0
for a in "$@"; do
  if [[ $a =~ ^[A-Za-z0-9_./=:,@+-]+$ ]]; then COMMAND_LINE+=" $a"; else COMMAND_LINE+=" $(printf '%q' "$a")"; fi
done

DAMAGE_SEED=4242      # which files the "ransomware" hits
DAMAGE_PERCENT=1      # % overwritten, and another % deleted

# ---------------------------------------------------------------- arguments --
usage() { sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

QUICK=0 RUNS="" KEEP=0 TOOLS_ARG="coffer,restic,borg"
DATASETS=()
while (($#)); do
  case $1 in
    --quick) QUICK=1 ;;
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --dataset) DATASETS+=("${2:?--dataset needs linux, mix or libs}"); shift ;;
    --tools) TOOLS_ARG=${2:?--tools needs a list}; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
IFS=, read -r -a TOOLS <<<"$TOOLS_ARG"
for t in "${TOOLS[@]}"; do
  [[ $t == coffer || $t == restic || $t == borg ]] || { echo "run.sh: unknown tool '$t'" >&2; exit 2; }
done
if ((QUICK)); then
  ((${#DATASETS[@]} == 0)) || { echo "run.sh: --quick uses the mix-quick data set only" >&2; exit 2; }
  DATASETS=(mix-quick)
  RUNS=${RUNS:-1}
else
  ((${#DATASETS[@]})) || DATASETS=(linux mix)
  RUNS=${RUNS:-3}
fi
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs must be a positive integer" >&2; exit 2; }
for d in "${DATASETS[@]}"; do
  [[ $d == linux || $d == mix || $d == libs || $d == mix-quick ]] || { echo "run.sh: unknown data set '$d'" >&2; exit 2; }
done

# ------------------------------------------------------------------ helpers --
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

die() { # die STEP MESSAGE
  printf '\n*** BENCH FAILED in step: %s\n*** %s\n' "$1" "$2" >&2
  exit 1
}

# A log file per step, named after the step.
step_log() { local s=${1//[^A-Za-z0-9._-]/_}; echo "$WORK/logs/${s}.log"; }

# Show why STEP failed (the command, its exit code, the end of its log) and abort.
fail_cmd() { # fail_cmd STEP RC LOG CMD...
  local step=$1 rc=$2 logf=$3; shift 3
  {
    printf '\n*** BENCH FAILED in step: %s\n*** exit code %s from:' "$step" "$rc"
    printf ' %q' "$@"; printf '\n*** last lines of %s:\n' "$logf"
    tail -n 30 "$logf" | sed 's/^/    /'
  } >&2
  exit 1
}

# run STEP CMD...: run an untimed command, abort on failure.
run() {
  local step=$1; shift
  local logf rc=0; logf=$(step_log "$step")
  "$@" >"$logf" 2>&1 || rc=$?
  ((rc == 0)) || fail_cmd "$step" "$rc" "$logf" "$@"
}

# timed STEP CMD...: sync, then run CMD under GNU time, abort on failure.
# Sets T_SEC (wall seconds, from date +%s.%N), T_RSS (peak RSS in KB) and
# T_CPU (user + system seconds: what the step costs whatever the machine's load).
timed() {
  local step=$1; shift
  local logf rssf=$WORK/rss.out t0 t1 rc=0; logf=$(step_log "$step")
  sync                                  # earlier writes must not land in this timing
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$rssf" "$@" >"$logf" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  ((rc == 0)) || fail_cmd "$step" "$rc" "$logf" "$@"
  T_SEC=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  read -r T_CPU T_SYS T_RSS < <(tail -n 1 "$rssf")
  [[ $T_RSS =~ ^[0-9]+$ ]] || die "$step" "could not read peak RSS from GNU time: $(cat "$rssf")"
  T_CPU=$(awk -v u="$T_CPU" -v s="$T_SYS" 'BEGIN { printf "%.2f", u + s }')
  log "  $step: ${T_SEC} s, ${T_CPU} s CPU, ${T_RSS} KB"
}

# timed_sync: how long `sync` takes right after a step. Sets S_SEC.
timed_sync() {
  local t0 t1
  t0=$(date +%s.%N); sync; t1=$(date +%s.%N)
  S_SEC=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

# disk_write DS BYTES: writes BYTES of random data (a 64 MiB block, repeated)
# into one file in the scratch folder with dd conv=fdatasync. Sets T_SEC.
disk_write() {
  local ds=$1 bytes=$2 blocks rnd=$WORK/random-64m out=$WORK/disk-write t0 t1
  [[ -f $rnd ]] || head -c $((64 << 20)) /dev/urandom >"$rnd"
  blocks=$(((bytes + (4 << 20) - 1) / (4 << 20)))
  sync
  t0=$(date +%s.%N)
  # cat ends at dd's end (SIGPIPE): the loop stops there.
  { while cat "$rnd"; do :; done 2>/dev/null || true; } |
    dd of="$out" bs=4M count="$blocks" iflag=fullblock conv=fdatasync status=none
  t1=$(date +%s.%N)
  rm -f "$out"
  T_SEC=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  DISK_BYTES[$ds]=$((blocks << 22))
  log "  $ds disk write of $((blocks * 4)) MiB (dd conv=fdatasync): ${T_SEC} s"
}
declare -A DISK_BYTES

# Results: R[dataset:tool:metric] holds one value per run, space separated.
declare -A R
add() { R[$1]="${R[$1]:-}${R[$1]:+ }$2"; }

median() { # median "V1 V2 ...": the median of space-separated values
  tr ' ' '\n' <<<"$1" | sort -g | awk '{ v[NR] = $1 }
    END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# verify STEP EXPECTED ACTUAL: the trees must be equal in content, structure,
# file types, symlink targets and permission bits.  Loud abort otherwise.
verify() {
  local step="$1 (verify)" want=$2 got=$3 logf
  logf=$(step_log "$step")
  if ! diff -rq --no-dereference "$want" "$got" >"$logf" 2>&1; then
    { echo; echo "*** restored tree differs from the source ($want vs $got):"
      head -n 20 "$logf" | sed 's/^/    /'; } >&2
    die "$step" "VERIFICATION FAILED: $(grep -c '' "$logf") difference(s), see above"
  fi
  manifest "$want" >"$WORK/manifest.want"
  manifest "$got" >"$WORK/manifest.got"
  if ! diff "$WORK/manifest.want" "$WORK/manifest.got" >"$logf" 2>&1; then
    { echo; echo "*** restored tree has other types/permissions than the source:"
      head -n 20 "$logf" | sed 's/^/    /'; } >&2
    die "$step" "VERIFICATION FAILED (types/permissions), see above"
  fi
}
manifest() { (cd "$1" && find . -mindepth 1 -printf '%y %m %P\n' | LC_ALL=C sort); }

# Read every file once so that all tools start from the same warm page cache.
warm_up() { find "$@" -type f -print0 | xargs -0 -r cat >/dev/null; }

# ---------------------------------------------------------------- data sets --
# Each data set is built in <name>.partial and renamed when complete, so an
# interrupted build is never mistaken for a finished one.
build_dataset() { # build_dataset NAME -> sets DS_PATH
  local name=$1 final=$BENCH_DIR/data/$1 part=$BENCH_DIR/data/$1.partial
  DS_PATH=$final
  if [[ -d $final ]]; then log "data set $name: reusing $final"; return; fi
  log "data set $name: building $final"
  rm -rf "$part"; mkdir -p "$part"
  case $name in
    linux)
      [[ -r $LINUX_TARBALL ]] || die "build data set linux" "$LINUX_TARBALL not found (apt-get install linux-source-6.1)"
      run "build data set linux (tar)" tar -xJf "$LINUX_TARBALL" -C "$part" --no-same-owner
      local top; top=$(find "$part" -mindepth 1 -maxdepth 1)
      [[ -d $top && $(wc -l <<<"$top") == 1 ]] || die "build data set linux" "unexpected tarball layout"
      mv "$top" "$final" && rmdir "$part" ;;
    mix)
      rmdir "$part"
      run "build data set mix" python3 "$BENCH_SRC/gen-mix.py" "$part" \
        --small 20000 --large-mib 100 --random-mib 200 --random-files 4
      mv "$part" "$final" ;;
    libs)
      # Real shared libraries (and what else lives beside them): binary
      # code that compresses about 2:1, in files of every size.
      [[ -d $LIBS_SRC ]] || die "build data set libs" "$LIBS_SRC not found"
      rmdir "$part"
      run "build data set libs" cp -a "$LIBS_SRC" "$part"
      mv "$part" "$final" ;;
    mix-quick)
      rmdir "$part"
      run "build data set mix-quick" python3 "$BENCH_SRC/gen-mix.py" "$part" \
        --small 1000 --large-mib 8 --random-mib 8 --random-files 2
      mv "$part" "$final" ;;
  esac
}

# -------------------------------------------------------------------- tools --
# setup_tool TOOL DIR: point the tool's environment at a repo and cache in DIR.
# The passwords are fixed; they only need to be the same for all runs.
setup_tool() {
  local tool=$1 dir=$2
  mkdir -p "$dir"
  case $tool in
    coffer)
      T_STORE=$dir/store T_KEY=$dir/key
      export COFFER_CACHE=$dir/cache ;;
    restic)
      export RESTIC_REPOSITORY=$dir/repo RESTIC_CACHE_DIR=$dir/cache
      export RESTIC_PASSWORD=coffer-bench-password ;;
    borg)
      export BORG_REPO=$dir/repo BORG_BASE_DIR=$dir/base
      export BORG_CACHE_DIR=$dir/base/cache BORG_CONFIG_DIR=$dir/base/config
      export BORG_SECURITY_DIR=$dir/base/config/security BORG_KEYS_DIR=$dir/base/config/keys
      export BORG_PASSPHRASE=coffer-bench-password ;;
  esac
}

repo_path() { # the folder whose size is the store size
  case $1 in coffer) echo "$T_STORE" ;; restic) echo "$RESTIC_REPOSITORY" ;; borg) echo "$BORG_REPO" ;; esac
}

# tool_cmd TOOL ACTION ARGS...: put the command line into the array CMD.
#   init
#   backup  UNIT SRC      back up folder SRC as UNIT (restic tag, borg archive prefix)
#   restore UNIT DEST     restore UNIT's latest backup in full into empty DEST
#   rollback UNIT         coffer only: roll UNIT's source folder back in place
# restic and borg back up "." from inside SRC, so a restore yields SRC's
# contents directly in DEST, like coffer's.
declare -A BORG_LAST
BORG_SEQ=0 # archive numbers, unique across repos and runs
# shellcheck disable=SC2054  # "zstd,3" is one argument, not an array separator
tool_cmd() {
  local tool=$1 action=$2; shift 2
  case $tool:$action in
    coffer:init)     CMD=("$COFFER" --quiet --store "$T_STORE" init --key-file-new "$T_KEY") ;;
    coffer:backup)   CMD=("$COFFER" --quiet --store "$T_STORE" --key-file "$T_KEY" backup "$1" "$2") ;;
    coffer:restore)  CMD=("$COFFER" --quiet --store "$T_STORE" --key-file "$T_KEY" restore "$1" --to "$2") ;;
    coffer:rollback) CMD=("$COFFER" --quiet --store "$T_STORE" --key-file "$T_KEY" restore "$1" --in-place) ;;
    restic:init)     CMD=(restic --quiet init --repository-version 2) ;;
    restic:backup)   CMD=(env -C "$2" restic --quiet --compression auto backup --tag "$1" .) ;;
    restic:restore)  CMD=(restic --quiet restore latest --tag "$1" --target "$2") ;;
    borg:init)       CMD=(borg init -e repokey-blake2) ;;
    borg:backup)     BORG_SEQ=$((BORG_SEQ + 1)); BORG_LAST[$1]=$1-$BORG_SEQ
                     CMD=(env -C "$2" borg create --compression zstd,3 "::${BORG_LAST[$1]}" .) ;;
    borg:restore)    CMD=(env -C "$2" borg extract "::${BORG_LAST[$1]}") ;;
    *) die "tool_cmd" "no command for $tool $action" ;;
  esac
}

# ------------------------------------------------------------- one data set --
# The tools take turns within every run of every step (coffer, restic, borg,
# coffer, ...), so slow drift of the machine — this VM's disk is mounted with
# `discard` and slows down after gigabytes of deletions — lands on all of
# them alike instead of on whichever tool happens to run last.
bench_dataset() { # bench_dataset DATASET SRC
  local ds=$1 src=$2 run_i tool dir

  # 1. Initial backup: each run gets a fresh repo and a fresh cache.
  for ((run_i = 1; run_i <= RUNS; run_i++)); do
    for tool in "${TOOLS[@]}"; do
      dir=$WORK/$ds/$tool
      rm -rf "$dir"; setup_tool "$tool" "$dir"
      tool_cmd "$tool" init;             run "$ds $tool init (run $run_i)" "${CMD[@]}"
      tool_cmd "$tool" backup data "$src"
      warm_up "$src"
      timed "$ds $tool initial backup (run $run_i)" "${CMD[@]}"
      add "$ds:$tool:backup_s" "$T_SEC"; add "$ds:$tool:backup_rss" "$T_RSS"
      add "$ds:$tool:backup_cpu_s" "$T_CPU"
      add "$ds:$tool:size" "$(du -sb "$(repo_path "$tool")" | cut -f1)"
    done
  done

  # 2. Unchanged re-run: back up the same data again (repo and cache of the last run).
  for ((run_i = 1; run_i <= RUNS; run_i++)); do
    for tool in "${TOOLS[@]}"; do
      setup_tool "$tool" "$WORK/$ds/$tool"
      tool_cmd "$tool" backup data "$src"
      warm_up "$src" "$(repo_path "$tool")"
      timed "$ds $tool unchanged re-run (run $run_i)" "${CMD[@]}"
      add "$ds:$tool:rerun_s" "$T_SEC"
    done
  done

  # 3. Full restore into an empty folder, verified against the source.
  for ((run_i = 1; run_i <= RUNS; run_i++)); do
    for tool in "${TOOLS[@]}"; do
      dir=$WORK/$ds/$tool
      setup_tool "$tool" "$dir"
      rm -rf "$dir/restore"; mkdir "$dir/restore"
      tool_cmd "$tool" restore data "$dir/restore"
      warm_up "$(repo_path "$tool")"
      timed "$ds $tool full restore (run $run_i)" "${CMD[@]}"
      add "$ds:$tool:restore_s" "$T_SEC"; add "$ds:$tool:restore_rss" "$T_RSS"
      add "$ds:$tool:restore_cpu_s" "$T_CPU"
      # Until the restored files are on the disk, not only in the page cache.
      timed_sync; add "$ds:$tool:restore_disk_s" "$(awk -v a="$T_SEC" -v b="$S_SEC" 'BEGIN { printf "%.3f", a + b }')"
      verify "$ds $tool full restore (run $run_i)" "$src" "$dir/restore"
      rm -rf "$dir/restore"
    done
  done

  # 4. Rollback after ransomware-like damage, on a copy of the data set that
  #    was backed up (as unit "victim") before the damage.
  for tool in "${TOOLS[@]}"; do
    dir=$WORK/$ds/$tool
    setup_tool "$tool" "$dir"
    run "$ds $tool copy data set for rollback" cp -a "$src" "$dir/victim"
    tool_cmd "$tool" backup victim "$dir/victim"; run "$ds $tool back up the copy" "${CMD[@]}"
  done
  for ((run_i = 1; run_i <= RUNS; run_i++)); do
    for tool in "${TOOLS[@]}"; do
      dir=$WORK/$ds/$tool
      setup_tool "$tool" "$dir"
      run "$ds $tool damage the copy (run $run_i)" \
        python3 "$BENCH_SRC/damage.py" --seed "$DAMAGE_SEED" --percent "$DAMAGE_PERCENT" "$src" "$dir/victim"
      DAMAGE_SUMMARY[$ds]=$(cat "$(step_log "$ds $tool damage the copy (run $run_i)")")
      warm_up "$(repo_path "$tool")" "$dir/victim"
      if [[ $tool == coffer ]]; then
        # coffer rolls the damaged folder back in place.
        tool_cmd coffer rollback victim
        timed "$ds $tool rollback (run $run_i)" "${CMD[@]}"
        verify "$ds $tool rollback (run $run_i)" "$src" "$dir/victim"
      else
        # restic and borg have no rollback: full restore into an empty folder.
        rm -rf "$dir/restore"; mkdir "$dir/restore"
        tool_cmd "$tool" restore victim "$dir/restore"
        timed "$ds $tool rollback (run $run_i)" "${CMD[@]}"
        verify "$ds $tool rollback (run $run_i)" "$src" "$dir/restore"
        rm -rf "$dir/restore"
      fi
      add "$ds:$tool:rollback_s" "$T_SEC"
    done
  done

  # 5. This disk's sequential write rate for as many bytes, on the same file
  #    system: what a full restore written through to the disk cannot beat.
  for ((run_i = 1; run_i <= RUNS; run_i++)); do
    disk_write "$ds" "$(du -sb "$src" | cut -f1)"
    add "$ds:disk:write_s" "$T_SEC"
  done

  # Repos, caches and copies go; the data sets stay.
  rm -rf "${WORK:?}/$ds"
}

# ------------------------------------------------------------------ report --
METRICS=(backup_s backup_cpu_s rerun_s restore_s restore_cpu_s restore_disk_s rollback_s size backup_rss restore_rss)
declare -A LABEL=(
  [backup_s]="initial backup (s)"        [rerun_s]="unchanged re-run (s)"
  [restore_s]="full restore (s)"         [restore_disk_s]="full restore, then sync (s)"
  [backup_cpu_s]="initial backup, CPU user+sys (s)" [restore_cpu_s]="full restore, CPU user+sys (s)"         [rollback_s]="rollback after damage (s)"
  [size]="store size after initial backup (MiB)"
  [backup_rss]="peak RSS, initial backup (KB)" [restore_rss]="peak RSS, full restore (KB)"
)

# cell DS TOOL METRIC: the median, formatted, or "—" if the tool was not run.
cell() {
  local v=${R[$1:$2:$3]:-}
  [[ -n $v ]] || { echo "—"; return; }
  v=$(median "$v")
  case $3 in
    *_s) printf '%.2f' "$v" ;;
    size) awk -v b="$v" 'BEGIN { printf "%.1f", b / 1048576 }' ;;
    *) printf '%.0f' "$v" ;;
  esac
}

# ratio DS OTHER METRIC: times as speed-up "x.xx×" (other ÷ coffer, >1 = coffer
# faster); size and RSS as plain coffer ÷ other (<1 = coffer smaller).
ratio() {
  local c=${R[$1:coffer:$3]:-} o=${R[$1:$2:$3]:-}
  [[ -n $c && -n $o ]] || { echo "—"; return; }
  c=$(median "$c"); o=$(median "$o")
  case $3 in
    *_s) awk -v c="$c" -v o="$o" 'BEGIN { if (c > 0) printf "%.2f×", o / c; else print "—" }' ;;
    *)   awk -v c="$c" -v o="$o" 'BEGIN { if (o > 0) printf "%.2f", c / o; else print "—" }' ;;
  esac
}

# pad WIDTH TEXT: TEXT right-aligned in WIDTH characters ("—" and "×" are
# multi-byte, so printf's byte-counting %9s would misalign them).
pad() { local n=$(($1 - ${#2})); ((n > 0)) || n=0; printf '%*s%s' "$n" '' "$2"; }

row() { # row LABEL C1 C2 C3 C4 C5
  printf '| %s%*s | %s | %s | %s | %s | %s |\n' "$1" $((38 - ${#1})) '' \
    "$(pad 9 "$2")" "$(pad 9 "$3")" "$(pad 9 "$4")" "$(pad 13 "$5")" "$(pad 11 "$6")"
}

table() { # table DS: the Markdown table (also readable in a terminal)
  local ds=$1 m
  row measurement coffer restic borg coffer/restic coffer/borg
  printf '|%s|%s:|%s:|%s:|%s:|%s:|\n' "$(printf -- '-%.0s' {1..40})" \
    ---------- ---------- ---------- -------------- ------------
  for m in "${METRICS[@]}"; do
    row "${LABEL[$m]}" \
      "$(cell "$ds" coffer "$m")" "$(cell "$ds" restic "$m")" "$(cell "$ds" borg "$m")" \
      "$(ratio "$ds" restic "$m")" "$(ratio "$ds" borg "$m")"
  done
}

# disk_line DS: the disk's write rate next to each tool's restore, written
# through (restore + sync), in MB/s of the data set's bytes.
disk_line() {
  local ds=$1 src=$2 bytes d t line
  [[ -n ${R[$ds:disk:write_s]:-} ]] || return 0
  bytes=$(du -sb "$src" | cut -f1)
  d=$(median "${R[$ds:disk:write_s]}")
  line=$(awk -v b="${DISK_BYTES[$ds]}" -v t="$d" 'BEGIN { printf "this disk, dd of %.0f MB (conv=fdatasync): %.2f s, %.0f MB/s", b / 1e6, t, b / 1e6 / t }')
  for t in "${TOOLS[@]}"; do
    [[ -n ${R[$ds:$t:restore_disk_s]:-} ]] || continue
    line+=$(awk -v b="$bytes" -v t="$(median "${R[$ds:$t:restore_disk_s]}")" -v n="$t" \
      'BEGIN { printf "; %s restore + sync %.0f MB/s", n, b / 1e6 / t }')
  done
  echo "$line"
}

CONVENTION="Times are the median of RUNS run(s) (wall clock); RSS is the median of the runs' peak RSS (GNU time %M).
Ratio columns: for times, speed-up = other tool's time ÷ coffer's time, shown as x.xx× (> 1 means coffer is faster);
for store size and RSS, plain coffer ÷ other (< 1 means coffer uses less)."

git_revision() { # which coffer source was measured
  local rev
  rev=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null) || { echo "no git commit yet"; return; }
  if git -C "$REPO_ROOT" diff --quiet HEAD -- . ':!bench' 2>/dev/null; then echo "$rev"; else echo "$rev plus uncommitted changes"; fi
}

tool_version() {
  case $1 in
    coffer) "$COFFER" --version 2>&1 | head -n 1 || echo "(coffer --version failed)" ;;
    restic) restic version 2>&1 | head -n 1 ;;
    borg)   borg --version 2>&1 | head -n 1 ;;
  esac
}

write_report() { # write_report DS SRC FILE
  local ds=$1 src=$2 out=$3 t m
  {
    echo "# coffer benchmark: $ds"
    echo
    echo "- date (UTC): $(date -u '+%Y-%m-%d %H:%M:%S')"
    echo "- command: \`${COMMAND_LINE% }\` (in \`$PWD\`)"
    echo "- data set: \`$src\` — $(find "$src" -type f | wc -l) files, $(du -sb "$src" | cut -f1) bytes"
    echo "- damage for rollback: seed $DAMAGE_SEED, ${DAMAGE_PERCENT}% overwritten + ${DAMAGE_PERCENT}% deleted: ${DAMAGE_SUMMARY[$ds]:-n/a}"
    echo "- runs per measurement: $RUNS"
    for t in coffer restic borg; do
      if printf '%s\n' "${TOOLS[@]}" | grep -qx "$t"; then echo "- $t: $(tool_version "$t")"; fi
    done
    echo "- coffer source: $(git_revision)"
    echo "- load average (1, 5, 15 min): ${LOAD_START[$ds]} at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "- settings: restic --compression auto (repo v2); borg repokey-blake2, --compression zstd,3; coffer key file; all encrypted"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; RAM $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    # shellcheck disable=SC1091
    echo "- OS: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r); scratch file system: $(df -T "$BENCH_DIR" | awk 'NR == 2 { print $2 }')"
    echo
    echo "${CONVENTION//RUNS/$RUNS}" | sed 's/^/> /; s/$/  /'
    echo
    table "$ds"
    echo
    [[ -z ${R[$ds:disk:write_s]:-} ]] || { disk_line "$ds" "$src"; echo; }
    echo "Raw values per run (store size in bytes):"
    echo
    for t in "${TOOLS[@]}"; do
      for m in "${METRICS[@]}"; do echo "- $t $m: ${R[$ds:$t:$m]:-}"; done
    done
    echo "- disk write (dd, ${DISK_BYTES[$ds]:-0} bytes) s: ${R[$ds:disk:write_s]:-}"
    echo
    echo "Page cache warm: right before every timed step, what it reads (source,"
    echo "repository, damaged copy) is read once, untimed; \`sync\` before every timed"
    echo "step; the tools take turns within each run. Store size is \`du -sb\` of the repository"
    echo "(caches not counted). Restores are checked with \`diff -rq --no-dereference\`"
    echo "plus a comparison of file types and permission bits."
  } >"$out"
}

# --------------------------------------------------------------------- main --
# Preflight: everything the bench needs, before any time is spent.
need() { command -v "$1" >/dev/null || die "preflight" "'$1' not found — $2"; }
if ! /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
  die "preflight" "GNU time missing: apt-get install -y --no-install-recommends time"
fi
need python3 "install python3"
need diff "install diffutils"
for t in "${TOOLS[@]}"; do
  case $t in
    restic) need restic "apt-get install restic" ;;
    borg)   need borg "apt-get install borgbackup" ;;
    coffer) [[ -x $COFFER ]] || die "preflight" "$COFFER not found (build coffer first, or set COFFER=..., or use --tools restic,borg)"
            "$COFFER" --help >/dev/null 2>&1 || die "preflight" "'$COFFER --help' failed" ;;
  esac
done

mkdir -p "$BENCH_DIR/data" "$RESULTS_DIR"
WORK=$(mktemp -d "$BENCH_DIR/work.XXXXXX")
mkdir "$WORK/logs"
cleanup() {
  local rc=$?
  if ((KEEP)); then log "kept scratch folder $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

declare -A DAMAGE_SUMMARY LOAD_START
log "runs: $RUNS; tools: ${TOOLS[*]}; data sets: ${DATASETS[*]}; scratch: $WORK"
for ds in "${DATASETS[@]}"; do
  build_dataset "$ds"
  src=$DS_PATH
  LOAD_START[$ds]=$(cut -d' ' -f1-3 /proc/loadavg)
  log "[$ds] warm-up read of $src"
  warm_up "$src"
  bench_dataset "$ds" "$src"

  out=$RESULTS_DIR/$ds-$(date -u +%Y-%m-%dT%H%M%SZ).md
  write_report "$ds" "$src" "$out"
  echo
  echo "== $ds ($src) =="
  echo "${CONVENTION//RUNS/$RUNS}"
  echo
  table "$ds"
  echo
  disk_line "$ds" "$src"
  echo "written to $out"
done
