#!/bin/sh
# Runs every fuzz target (or the ones named) for a while on a scratch copy
# of its seed corpus.
# Usage: fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]   (default 10, all)
# Configures build-fuzz/ at the top of the tree on first use (clang, ASan,
# UBSan, the library instrumented for coverage) and reuses it afterwards;
# FUZZ_BUILD=DIR uses (and if need be configures) that build folder instead,
# so that several people can fuzz one tree at once.
# Prints "ok - fuzz NAME" or "not ok - fuzz NAME" per target; crash inputs
# are kept as BUILD/artifacts/NAME-crash-*, logs as BUILD/artifacts/NAME.log.
# fuzz/NAME.dict, if present, is passed as the target's dictionary. Exits 1
# if any target failed.

set -u

usage="usage: $0 [SECONDS_PER_TARGET [TARGET...]]"
secs=${1:-10}
case $secs in
'' | *[!0-9]*) echo "$usage" >&2; exit 2 ;;
esac
[ $# -gt 0 ] && shift

root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
case ${FUZZ_BUILD:-build-fuzz} in
/*) bdir=$FUZZ_BUILD ;;
*) bdir=$root/${FUZZ_BUILD:-build-fuzz} ;;
esac
all="meta index rp tombstone deletion deletion_key seal keyslot pack_trailer imap mailparse request config s3xml typed webdav certificate destroyed"
targets=${*:-$all}
for t in $targets; do
	case " $all " in
	*" $t "*) ;;
	*) echo "$0: no fuzz target $t (targets: $all)" >&2; exit 2 ;;
	esac
done

# -fsanitize=fuzzer-no-link instruments the library too, so libFuzzer sees
# coverage inside the readers.
if [ ! -f "$bdir/build.ninja" ]; then
	(cd "$root" && CC=clang meson setup "$bdir" -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args="-fsanitize=fuzzer-no-link") >&2 || exit 1
fi
# Only the fuzz targets: the rest of the tree is not our business here.
set --
for t in $targets; do
	set -- "$@" "fuzz/fuzz_$t"
done
ninja -C "$bdir" "$@" >&2 || exit 1

mkdir -p "$bdir/artifacts" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/coffer-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# UBSan findings must stop the run, as ASan's do.
UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export UBSAN_OPTIONS

failed=0
for t in $targets; do
	mkdir "$tmp/$t" || exit 1
	cp "$root/fuzz/corpus/$t/"* "$tmp/$t/" || exit 1
	log=$bdir/artifacts/$t.log
	set --
	if [ -f "$root/fuzz/$t.dict" ]; then
		set -- -dict="$root/fuzz/$t.dict"
	fi
	if "$bdir/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$bdir/artifacts/$t-" "$@" "$tmp/$t" >"$log" 2>&1; then
		echo "ok - fuzz $t"
	else
		echo "not ok - fuzz $t"
		sed -n '/^==[0-9]*==ERROR\|runtime error\|^SUMMARY\|Test unit written/p' "$log" |
			awk '!seen[$0]++' | head -n 8 | sed 's/^/# /'
		echo "# log: $log"
		failed=1
	fi
done
exit $failed
