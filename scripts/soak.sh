#!/usr/bin/env bash
# The soak (docs/testing.md "Soak"): not part of the suite or CI, it runs
# for hours. Three parts, each on by default:
#   kills  tests/e2e/crash.sh with KILLS SIGKILLs in all, in runs of 250
#          (backups, prunes and in-place restores killed after a delay or
#          at fault points; no restore point lost, every point restores)
#   fuzz   every fuzz target, round after round, until each has had its
#          share of FUZZ_CPU_SECONDS of CPU time (user + system, measured,
#          not wall time); the corpus grows across rounds; FUZZ_JOBS
#          targets at a time (default 1), FUZZ_TARGETS to name some
#   serve  tests/soak/serve.sh: `coffer serve` under CLIENTS clients for
#          MINUTES minutes; no error, memory and open files flat
#
# Usage: scripts/soak.sh [--only kills|fuzz|serve]... [--kills N]
#          [--fuzz-cpu-seconds S] [--minutes M] [--clients C] [--out FILE]
# Defaults: 1,000 kills, 3,600 CPU-seconds of fuzzing, 30 minutes, 50
# clients. Binaries: COFFER (ASan build for the kills, default
# build-asan/coffer), SERVE_COFFER (a release build for the server, whose
# memory is measured: ASan's quarantine would hide a leak; default
# build-release/coffer), FUZZ_BUILD (default build-fuzz); a missing build
# is made. Prints TAP lines and "N passed, N failed"; the results go to
# FILE too (default bench/results/soak-<UTC time>.md).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

parts="" kills=1000 fuzz_cpu=3600 minutes=30 clients=50
out=bench/results/soak-$(date -u +%Y-%m-%dT%H%M%SZ).md
while [ $# -gt 0 ]; do
	case $1 in
	--only) parts="$parts $2"; shift ;;
	--kills) kills=$2; shift ;;
	--fuzz-cpu-seconds) fuzz_cpu=$2; shift ;;
	--minutes) minutes=$2; shift ;;
	--clients) clients=$2; shift ;;
	--out) out=$2; shift ;;
	*) echo "usage: $0 [--only kills|fuzz|serve]... [--kills N] [--fuzz-cpu-seconds S] [--minutes M] [--clients C] [--out FILE]" >&2
	   exit 2 ;;
	esac
	shift
done
parts=${parts:-kills fuzz serve}

COFFER=${COFFER:-$root/build-asan/coffer}
SERVE_COFFER=${SERVE_COFFER:-$root/build-release/coffer}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
case $FUZZ_BUILD in /*) fuzz_dir=$FUZZ_BUILD ;; *) fuzz_dir=$root/$FUZZ_BUILD ;; esac

passed=0 failed=0
work=$(mktemp -d /tmp/coffer-soak.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$out")"
{
	echo "# Soak $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	echo "coffer $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)'), $(nproc) cores, load average at start $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
} >"$out"

# report LINE...: a TAP line to stdout and the results file, counted.
report() {
	local line
	for line in "$@"; do
		echo "$line"
		echo "- $line" >>"$out"
		case $line in
		"ok - "*) passed=$((passed + 1)) ;;
		"not ok - "*) failed=$((failed + 1)) ;;
		esac
	done
}

# need_build BINARY DIR MESON-ARGS...: builds DIR when BINARY is missing.
need_build() {
	local bin=$1 dir=$2; shift 2
	[ -x "$bin" ] && return 0
	[ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null || return 1
	ninja -C "$dir" >/dev/null
}

soak_kills() {
	local done_kills=0 run=0 n seed log t0 rc got
	need_build "$COFFER" "$root/build-asan" -Db_sanitize=address,undefined -Db_lundef=false ||
		{ report "not ok - kills: build $COFFER"; return; }
	echo "## Kills" >>"$out"
	t0=$SECONDS
	while [ $done_kills -lt "$kills" ]; do
		run=$((run + 1))
		n=$((kills - done_kills)); [ $n -gt 250 ] && n=250
		seed=$(( (RANDOM << 15 | RANDOM) % 100000 ))
		log=$work/crash-$run.log
		KILLS=$n SEED=$seed unshare -n bash -c 'ip link set lo up; exec bash "$0"' tests/e2e/crash.sh \
			>"$log" 2>&1 </dev/null
		rc=$(grep -c '^not ok' "$log")
		got=$(sed -n 's/^ok - \([0-9]*\) kills: .*/\1/p' "$log")
		got=${got:-0}
		done_kills=$((done_kills + got))
		if [ "$rc" -eq 0 ] && [ "$got" -ge "$n" ]; then
			report "ok - kills run $run (SEED=$seed): $(grep '^ok - [0-9]* kills' "$log" | cut -c6-); $(grep -c '^ok' "$log") checks"
		else
			report "not ok - kills run $run (SEED=$seed): $rc failed checks, $got kills"
			grep '^not ok' "$log" | head -5 | sed 's/^/    /' | tee -a "$out"
			cp "$log" "$(dirname "$out")/soak-crash-seed$seed.log"
		fi
	done
	echo "  ($done_kills kills in $((SECONDS - t0)) s)" >>"$out"
}

# The fuzz targets fuzz/run.sh knows.
fuzz_targets() { sed -n 's/^all="\(.*\)"$/\1/p' fuzz/run.sh; }

# fuzz_one TARGET SHARE: TARGET round after round until it has had SHARE
# CPU-seconds or crashed; its result line in $work/fuzz-TARGET.result.
fuzz_one() {
	local t=$1 share=$2 cpu=0 round=0 crashes=0 secs used log corpus=$work/corpus-$1 dict=()
	mkdir -p "$corpus"; cp fuzz/corpus/"$t"/* "$corpus/"
	[ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
	while [ $cpu -lt "$share" ] && [ $crashes -eq 0 ]; do
		round=$((round + 1))
		secs=$(( share - cpu )); [ $secs -gt 300 ] && secs=300; [ $secs -lt 10 ] && secs=10
		log=$work/fuzz-$t-$round.log
		/usr/bin/time -f '%U %S' -o "$work/time-$t" env UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
			"$fuzz_dir/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="$fuzz_dir/artifacts/$t-" "${dict[@]}" "$corpus" >"$log" 2>&1 || crashes=1
		used=$(awk '{ printf "%d", $1 + $2 }' "$work/time-$t" 2>/dev/null)
		cpu=$((cpu + ${used:-0}))
	done
	echo "$cpu" >"$work/fuzz-$t.cpu"
	if [ $crashes -eq 0 ]; then
		echo "ok - fuzz $t: $cpu CPU-seconds in $round rounds, $(grep -o 'exec/s: [0-9]*' "$log" | tail -1), corpus $(ls "$corpus" | wc -l) inputs"
	else
		echo "not ok - fuzz $t: crashed after $cpu CPU-seconds"
		sed -n '/^==[0-9]*==ERROR\|runtime error\|^SUMMARY\|Test unit written/p' "$log" | head -5 | sed 's/^/    /'
	fi >"$work/fuzz-$t.result"
}

# Every target (FUZZ_TARGETS, default all), FUZZ_JOBS at a time.
soak_fuzz() {
	local targets t share total=0 line
	fuzz/run.sh 1 >/dev/null 2>&1 || true # builds every target
	targets=${FUZZ_TARGETS:-$(fuzz_targets)}
	share=$(( fuzz_cpu / $(echo $targets | wc -w) + 1 ))
	echo "## Fuzzing" >>"$out"
	for t in $targets; do
		[ -x "$fuzz_dir/fuzz/fuzz_$t" ] || { report "not ok - fuzz $t: no binary in $fuzz_dir"; continue; }
		while [ "$(jobs -rp | wc -l)" -ge "${FUZZ_JOBS:-1}" ]; do wait -n; done
		fuzz_one "$t" "$share" &
	done
	wait
	for t in $targets; do
		[ -f "$work/fuzz-$t.result" ] || continue
		while IFS= read -r line; do
			case $line in "    "*) echo "$line" | tee -a "$out" ;; *) report "$line" ;; esac
		done <"$work/fuzz-$t.result"
		total=$((total + $(cat "$work/fuzz-$t.cpu")))
	done
	echo "  ($total CPU-seconds in all)" >>"$out"
}

soak_serve() {
	need_build "$SERVE_COFFER" "$root/build-release" --buildtype=release ||
		{ report "not ok - serve: build $SERVE_COFFER"; return; }
	echo "## Server" >>"$out"
	local log=$work/serve.log line
	unshare -n bash -c 'ip link set lo up; exec bash "$0"' tests/soak/serve.sh \
		>"$log" 2>&1 </dev/null
	while IFS= read -r line; do
		case $line in
		"ok - "* | "not ok - "*) report "$line" ;;
		"# "*) echo "  ${line#\# }" >>"$out"; echo "$line" ;;
		esac
	done <"$log"
}

export COFFER
for p in $parts; do
	case $p in
	kills) soak_kills ;;
	fuzz) soak_fuzz ;;
	serve) COFFER=$SERVE_COFFER MINUTES=$minutes CLIENTS=$clients soak_serve ;;
	*) echo "$0: no part $p (kills, fuzz, serve)" >&2; exit 2 ;;
	esac
done
echo >>"$out"
echo "$passed passed, $failed failed" | tee -a "$out"
[ $failed -eq 0 ]
