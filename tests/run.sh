#!/usr/bin/env bash
# The whole test suite: builds with gcc and clang (warnings are errors),
# runs the unit tests and the end-to-end tests under AddressSanitizer and
# UndefinedBehaviorSanitizer, runs each fuzz target briefly, and prints
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
count() { # reads TAP-like lines from stdin, echoes them, counts them
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
			"ok - "*) passed=$((passed + 1)) ;;
			"not ok - "*) failed=$((failed + 1)) ;;
		esac
	done
}
result() { # NAME RC: one line for a build or script step
	if [ "$2" -eq 0 ]; then echo "ok - $1"; else echo "not ok - $1 (exit $2)"; fi
}

build() { # DIR COMPILER ARGS...
	local dir=$1 cc=$2; shift 2
	{ [ -d "$dir" ] || CC=$cc meson setup "$dir" "$@" >"$dir.log" 2>&1; } &&
		ninja -C "$dir" >>"$dir.log" 2>&1
	local rc=$?
	[ $rc -eq 0 ] || tail -30 "$dir.log"
	return $rc
}

out=$(mktemp /tmp/coffer-test.XXXXXX)
trap 'rm -f "$out"' EXIT

build build-asan gcc -Db_sanitize=address,undefined -Db_lundef=false; rc=$?
count < <(result "build with gcc, ASan+UBSan" $rc)
build build-clang clang -Db_sanitize=address,undefined -Db_lundef=false
count < <(result "build with clang, ASan+UBSan" $?)
if [ $rc -ne 0 ]; then echo "$passed passed, $failed failed"; exit 1; fi

# House rules (STYLE.md): no banned string functions; every header compiles
# on its own.
banned=$(grep -rnE '(^|[^a-z_])(strcpy|strcat|sprintf|vsprintf|sscanf|atoi|atol|strtok|gets)[[:space:]]*\(' \
	src fuzz tests/unit --include='*.[ch]' | grep -v 'snprintf\|asprintf' || true)
[ -z "$banned" ] || echo "$banned"
count < <(result "no banned functions (strcpy, sprintf, sscanf, atoi, strtok, ...)" "$([ -z "$banned" ]; echo $?)")
# The system service's unit (dist/coffer.service.in) is one systemd takes,
# pointed at the binary just built.
if command -v systemd-analyze >/dev/null && [ -f build-asan/coffer.service ]; then
	unit_dir=$(mktemp -d /tmp/coffer-unit.XXXXXX)
	sed "s|^ExecStart=[^ ]*|ExecStart=$root/build-asan/coffer|" build-asan/coffer.service \
		>"$unit_dir/coffer.service"
	timeout 60 systemd-analyze verify "$unit_dir/coffer.service" >"$out" 2>&1; rc=$?
	[ $rc -eq 0 ] || cat "$out"
	rm -rf "$unit_dir"
	count < <(result "dist/coffer.service passes systemd-analyze verify" $rc)
fi
# The man pages (from docs/cli.md) render without a warning, and every
# command of the binary has one.
bad_man=""
for m in build-asan/coffer*.1; do
	[ -f "$m" ] || { bad_man=" none built"; break; }
	[ -z "$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$m" 2>&1)" ] || bad_man="$bad_man $m"
done
for cmd in $(build-asan/coffer 2>&1 | sed -n 's/^  \([a-z][a-z0-9-]*\).*/\1/p'); do
	[ -f "build-asan/coffer-$cmd.1" ] || bad_man="$bad_man (no page for $cmd)"
done
count < <(result "man pages render without warnings, one per command${bad_man:+ (not:$bad_man)}" \
	"$([ -z "$bad_man" ]; echo $?)")
# The web console keeps to its CSP and never makes data markup.
python3 scripts/check-web.py web >"$out" 2>&1; rc=$?
[ $rc -eq 0 ] || cat "$out"
count < <(result "web/ has no inline script or style, eval, innerHTML or remote address (scripts/check-web.py)" $rc)
bad_headers=""
for h in $(cd src && find . -name '*.h' | sed 's|^\./||'); do
	printf '#include "%s"\n' "$h" |
		cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -Isrc \
			$(pkg-config --cflags json-c sqlite3 libmicrohttpd libcurl gmime-3.0) -x c - 2>/dev/null || bad_headers="$bad_headers $h"
done
count < <(result "every header compiles on its own${bad_headers:+ (not:$bad_headers)}" \
	"$([ -z "$bad_headers" ]; echo $?)")

# Layers (docs/engine.md "Layers"): a file includes only its own layer's
# headers and those of the layers it may use. The build's layer-check
# programs catch upward calls; this catches upward includes.
declare -A may_use=(
	[lib]="" [crypto]="lib" [store]="lib crypto" [engine]="lib crypto store"
	[sources]="lib crypto engine" [catalog]="lib crypto"
	[service]="lib crypto store engine sources catalog" [server]="lib service"
	[cli]="lib crypto store engine sources service server"
	[lazy]="" # stands in for system libraries (docs/engine.md "Start-up")
)
upward=""
for dir in src/*/; do # a new layer must be given its place here first
	layer=$(basename "$dir")
	[ -n "${may_use[$layer]+set}" ] || upward="$upward $dir(not a known layer)"
done
for layer in "${!may_use[@]}"; do
	for used in $(grep -ohE '^#include "[a-z]+/' src/$layer/*.[ch] 2>/dev/null | sed 's/#include "//; s|/||' | sort -u); do
		case " $layer ${may_use[$layer]} " in *" $used "*) ;; *)
			upward="$upward $(grep -lE "^#include \"$used/" src/$layer/*.[ch] | tr '\n' ' ')($layer -> $used)" ;;
		esac
	done
done
[ -z "$upward" ] || echo "# layer rules broken:$upward"
count < <(result "every #include goes down the layers" "$([ -z "$upward" ]; echo $?)")

export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ -x build-asan/tests/unit ]; then
	build-asan/tests/unit >"$out" 2>&1; rc=$?
	count <"$out"
	count < <(result "unit test binary" $rc)
	# The fallbacks for kernels without openat2, fchmodat2 or the *xattrat
	# calls, and for no /proc, on this kernel (docs/engine.md "Confinement").
	COFFER_FSAT_LEGACY=all build-asan/tests/unit confine >"$out" 2>&1; rc=$?
	count < <(sed 's/^ok - /ok - legacy: /; s/^not ok - /not ok - legacy: /' "$out")
	count < <(result "unit tests of confinement with the older kernels' fallbacks" $rc)
fi

export COFFER=$root/build-asan/coffer
# Each e2e script in a network namespace of its own where one can be made
# (root on Linux), with just loopback up: the scripts' fixed ports never
# collide with another run's. Elsewhere they share the host's loopback.
netns=()
if unshare -n ip link set lo up 2>/dev/null; then
	netns=(unshare -n bash -c 'ip link set lo up && exec "$@"' netns)
fi

# The scripts run two at a time (COFFER_TEST_JOBS): each has its own
# namespace and temporary folder, and most of their time is spent waiting
# on the servers they start. Those that measure how the server bears load
# or slow clients (solo) run alone, after the others. The longest start
# first, so the two lanes end together. Each script's output is kept and
# printed in the order of tests/e2e/*.sh once all have run.
jobs_max=${COFFER_TEST_JOBS:-2}
solo=" api.sh hostile.sh "
longest=" deb.sh mail.sh crash.sh imap.sh nodes.sh service.sh incremental.sh webdav.sh console.sh s3.sh "
e2e=$(mktemp -d /tmp/coffer-e2e.XXXXXX)
trap 'rm -f "$out"; rm -rf "$e2e"' EXIT

# e2e_run NAME SCRIPT [VAR=VALUE...]: the script, its output in $e2e/NAME.*
e2e_run() {
	local name=$1 script=$2 start=$SECONDS
	shift 2
	env "$@" timeout 600 ${netns[@]+"${netns[@]}"} bash "$script" \
		>"$e2e/$name.out" 2>"$e2e/$name.err"
	echo $? >"$e2e/$name.rc"
	echo $((SECONDS - start)) >"$e2e/$name.time"
}
# e2e_start NAME SCRIPT [VAR=VALUE...]: e2e_run in the background once
# fewer than jobs_max run.
e2e_start() {
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
	e2e_run "$@" &
}
# e2e_report NAME TITLE [SED]: prints a finished script's lines and result.
e2e_report() {
	local name=$1 title=$2 rc
	rc=$(cat "$e2e/$name.rc" 2>/dev/null || echo 1)
	echo "# $title ($(cat "$e2e/$name.time" 2>/dev/null || echo '?') s)"
	count < <(sed "${3:-}" "$e2e/$name.out") # not a pipe: count must run in this shell
	[ "$rc" -eq 0 ] || tail -20 "$e2e/$name.err"
	count < <(result "$title" "$rc")
}

scripts=()
for t in tests/e2e/*.sh; do
	[ "$(basename "$t")" = lib.sh ] || scripts+=("$t")
done
for t in ${longest}; do
	[ -f "tests/e2e/$t" ] && e2e_start "${t%.sh}" "tests/e2e/$t"
	# The service once more with every catalog on a real PostgreSQL 15
	# (docs/service.md "Catalog"); its lines say "[pg]".
	[ "$t" = service.sh ] && e2e_start service-pg tests/e2e/service.sh COFFER_TEST_CATALOG=pg
done
for t in "${scripts[@]}"; do
	case "$longest$solo" in *" $(basename "$t") "*) continue ;; esac
	e2e_start "$(basename "$t" .sh)" "$t"
done
wait
for t in ${solo}; do
	[ -f "tests/e2e/$t" ] && e2e_run "${t%.sh}" "tests/e2e/$t"
done
for t in "${scripts[@]}"; do
	e2e_report "$(basename "$t" .sh)" "$t"
done
e2e_report service-pg "tests/e2e/service.sh with COFFER_TEST_CATALOG=pg" \
	's/^\(\(not \)\{0,1\}ok - \)service:/\1service[pg]:/'

# Each fuzz target briefly (FUZZ_SECONDS, default 5: the suite stays under 20
# minutes with the servers it starts; fuzz/run.sh SECONDS for longer runs).
if [ -x fuzz/run.sh ]; then
	fuzz/run.sh "${FUZZ_SECONDS:-5}" >"$out" 2>/dev/null
	count <"$out"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
