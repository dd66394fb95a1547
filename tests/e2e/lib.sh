# Shared helpers for the end-to-end tests. Each test script sources this,
# runs in its own temporary folder and reports through ok/not_ok; run.sh
# counts the lines.
set -u

COFFER=${COFFER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build-asan/coffer}
T=$(mktemp -d /tmp/coffer-e2e.XXXXXX)
chmod 755 "$T"
export COFFER_CACHE=$T/cache
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
STORE=$T/store
KEY=$T/key
DKEY=$T/deletion.key # the store's deletion key: forget and prune need it
FAILED=0

cleanup() { serve_kill; pg_stop; rm -rf "$T"; }
trap cleanup EXIT

# A Dovecot of the test's own (tests/servers/dovecot.sh). dovecot_use
# NAME PORT: the server will be $D ($T/dovecot) on PORT; starts it with
# the users of dovecot.sh, stopped with the rest at exit (else one result
# line "NAME: dovecot starts" and the script ends). imap USER CMD ...:
# tests/servers/imapcheck.py on it.
DOVECOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../servers" && pwd)/dovecot.sh
dovecot_use() {
	D=$T/dovecot
	IPORT=$2
	trap 'serve_kill; "$DOVECOT" stop "$D" >/dev/null 2>&1; cleanup' EXIT
	mkdir -p "$D"
	"$DOVECOT" start "$D" "$IPORT" >/dev/null ||
		{ not_ok "$1: dovecot starts" "$(tail -3 "$D/dovecot.log")"; exit 1; }
}
imap() { python3 "$(dirname "$DOVECOT")/imapcheck.py" "$IPORT" "$@"; }

# A PostgreSQL 15 of the test's own (tests/servers/postgres.sh), stopped
# by cleanup. pg_start PORT: starts it in $T/pg; PG_URL is the database
# "coffer" on it, PG_DIR its folder. pg_db NAME: the URL of database NAME
# on it, created if absent. pg_restart: stops and starts it (every client
# connection is cut). pg_stop: stops it and removes its folder.
PG_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")/../servers" && pwd)/postgres.sh
PG_DIR=
PG_URL=
pg_start() {
	PG_DIR=$T/pg
	PG_URL=$(bash "$PG_SH" start "$PG_DIR" "$1") || { PG_URL=; return 1; }
}
pg_db() {
	psql -q "$PG_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1 ||
		psql -q "$PG_URL" -c "CREATE DATABASE \"$1\"" >/dev/null || return 1
	echo "${PG_URL%/*}/$1"
}
pg_restart() { bash "$PG_SH" restart "$PG_DIR"; }
pg_stop() {
	[ -n "$PG_DIR" ] && bash "$PG_SH" stop "$PG_DIR"
	PG_DIR=
}

# ok NAME / not_ok NAME REASON: one result line for run.sh to count.
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $1 (${2:-})"; FAILED=1; }

# run COMMAND...: stdout in $T/out, stderr in $T/err, exit code in $rc.
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# sanitizer FILE...: an ASan/UBSan report is in the files.
sanitizer() { grep -qE 'Sanitizer|runtime error:' "$@"; }

# fails_with NAME WANT_RC TEXT...: the last run exited WANT_RC and its stderr holds every TEXT.
fails_with() {
	local name=$1 want=$2 t; shift 2
	if sanitizer "$T/err"; then
		not_ok "$name" "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$T/err")"; return
	fi
	[ "$rc" = "$want" ] || { not_ok "$name" "exit $rc, want $want: $(tail -2 "$T/err" | tr '\n' ' ')"; return; }
	for t in "$@"; do
		grep -qF -- "$t" "$T/err" || { not_ok "$name" "no \"$t\" in: $(tr '\n' ' ' <"$T/err")"; return; }
	done
	ok "$name"
}

# is_rc NAME WANT: the last run exited WANT and no sanitizer complained.
is_rc() {
	if sanitizer "$T/err"; then
		not_ok "$1" "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$T/err")"
	elif [ "$rc" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "exit $rc, want $2: $(tail -3 "$T/err" | tr '\n' ' ')"
	fi
}

# assert NAME COMMAND...: ok if the command succeeds.
assert() {
	local name=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name" "false: $*"; fi
}

# flip FILE OFFSET: inverts the byte at OFFSET.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# gen TAG SIZE: incompressible bytes determined by $SEED and TAG.
gen() {
	if command -v openssl >/dev/null; then
		openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:$SEED-$1" </dev/zero 2>/dev/null |
			head -c "$2"
	else
		head -c "$2" /dev/urandom
	fi
}

# field NAME FILE: the number a --json output gives for NAME.
field() { grep -o "\"$1\":[0-9]*" "$2" | head -1 | cut -d: -f2; }

# why FILE: the first error line of a log, for failure messages.
why() { { grep -m1 -E 'runtime error|ERROR|error' "$1" || tail -2 "$1"; } | tr '\n' ' '; }

# verify_restore RP DIR LABEL [WHAT]: RP restores byte-identical to DIR
# (contents, modes, mtimes, link targets); one result line, on success
# "LABEL: RP WHAT" (WHAT: "restores byte-identical" unless told).
verify_restore() {
	local dir=$T/restore rc
	rm -rf "$dir"
	c restore "$1" --to "$dir" >"$T/restore.out" 2>&1; rc=$?
	if [ $rc -ne 0 ]; then
		not_ok "$3: $1 restores" "exit $rc: $(why "$T/restore.out")"
	elif ! diff -r --no-dereference "$2" "$dir" >"$T/diff.out" 2>&1; then
		not_ok "$3: $1 restores byte-identical" "$(head -4 "$T/diff.out" | tr '\n' ' ')"
	elif ! same_tree "$2" "$dir"; then
		not_ok "$3: $1 restores with the same modes and mtimes" \
			"$(diff <(tree_listing "$2") <(tree_listing "$dir") | head -4 | tr '\n' ' ')"
	else
		ok "$3: $1 ${4:-restores byte-identical}"
	fi
	rm -rf "$dir"
}

# points UNIT [ARGS...]: UNIT's restore point numbers from restore-points
# --json ARGS (e.g. --all), each followed by a space; stderr in $T/rp.err.
points() {
	c --json restore-points "${@:2}" "$1" 2>"$T/rp.err" | grep -o '"seq":[0-9]*' | cut -d: -f2 | tr '\n' ' '
}

# first_points N: what points prints for the points 1..N (empty for none).
first_points() { [ "$1" -gt 0 ] && seq -s ' ' 1 "$1" | sed 's/$/ /' || true; }

# expect_eq NAME GOT WANT: one result line: GOT = WANT.
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi
}

# equal LABEL WHAT GOT WANT: one result line "LABEL: WHAT = WANT".
equal() {
	if [ "$3" = "$4" ]; then ok "$1: $2 = $4"; else not_ok "$1: $2 = $4" "got '$3'"; fi
}

# check NAME COMMAND...: runs the command; ok if it succeeds.
check() {
	local name=$1; shift
	if "$@" >"$T/check.out" 2>&1; then ok "$name"; else not_ok "$name" "$(tail -3 "$T/check.out" | tr '\n' ' ')"; fi
}

# age_open_writers: simulate writer_timeout (a day) passing for every
# writer marker of the store with no end marker (killed backups and prunes:
# only the test knows they are dead), so the next prune does not defer.
age_open_writers() {
	local f old=$(( $(date +%s) - 2 * 86400 ))
	for f in "$STORE"/units/*/sessions/*; do
		case $f in *.end|*/.tmp-*) continue ;; esac
		[ -e "$f" ] && [ ! -e "$f.end" ] || continue
		printf '%s\n' "$old" >"$f"
		touch -d "@$old" "$f"
	done
}

# prune_json LABEL ARGS...: prune --json ARGS with the deletion key; J
# holds the output (`{}` and one not_ok line, returning 1, unless it exits
# 0 with the deletion and repack counts).
prune_json() {
	local label=$1 rc; shift
	J=$T/prune.json
	c --json prune --deletion-key-file "$DKEY" "$@" >"$J" 2>"$T/prune.err"; rc=$?
	if [ $rc -ne 0 ] || [ -z "$(field deletedPacks "$J")" ] || [ -z "$(field repackedPacks "$J")" ]; then
		not_ok "$label: prune $* exits 0 with JSON" "exit $rc: $(why "$T/prune.err") $(head -c 300 "$J")"
		echo '{}' >"$J"
		return 1
	fi
	echo "# prune $*: $(cat "$J")"
}

# c ARGS...: coffer on the test store with the test key.
c() { "$COFFER" --store "$STORE" --key-file "$KEY" "$@"; }

# seed_random: SEED (from the environment, else the clock) seeds RANDOM; a
# comment says how to run again with the same choices.
seed_random() {
	SEED=${SEED:-$(( $(date +%s) % 100000 ))}
	RANDOM=$SEED
	echo "# $(basename "$0") seed $SEED (rerun with SEED=$SEED)"
}

init_store() {
	"$COFFER" --store "$STORE" init --key-file-new "$KEY" --deletion-key-file-new "$DKEY" >/dev/null
}

# store_snapshot [DIR]: every file of the store (default $STORE) with its
# content hash, sorted: equal snapshots, nothing changed.
store_snapshot() {
	(cd "${1:-$STORE}" && find . -type f -printf '%P\n' | LC_ALL=C sort |
		while read -r f; do printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -c1-64)"; done)
}

# tree_listing DIR: type, mode, size, ns mtime, link target and content hash
# of every entry (folder mtimes included; a folder's size is the file
# system's business, not the backup's), sorted.
tree_listing() {
	(cd "$1" && { find . -type d -printf '%p %y %m %T@\n'; \
		      find . ! -type d -printf '%p %y %m %s %T@ %l\n'; } | sort &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# same_tree A B: contents, types, modes, symlinks and mtimes equal.
same_tree() {
	[ "$(tree_listing "$1")" = "$(tree_listing "$2")" ]
}

# make_tree DIR: a small tree with every kind of entry.
make_tree() {
	mkdir -p "$1/docs/deep/er" "$1/empty" "$1/bin"
	printf 'hello\n' > "$1/docs/a.txt"
	seq 1 200000 > "$1/docs/deep/numbers.txt"
	head -c 3000000 /dev/urandom > "$1/bin/random.bin"
	ln -s ../docs/a.txt "$1/bin/link"
	ln "$1/docs/a.txt" "$1/docs/hard"
	setfattr -n user.label -v confidential "$1/docs/a.txt"
	truncate -s 20M "$1/sparse" && printf x | dd of="$1/sparse" bs=1 seek=10000000 conv=notrunc 2>/dev/null
	chmod 0640 "$1/docs/deep/numbers.txt"
	touch -d '2001-02-03 04:05:06.123456789' "$1/docs/deep/er"
	mkfifo "$1/fifo"
}

# ---- a real `coffer serve`, driven over HTTP with curl and jq ----
# (service.sh, sessions.sh, api.sh, mailsvc.sh). One server at a time: its
# pid is $SERVE_PID, the URL it answers on $BASE.

SERVE_PID=
BASE=
# Extra curl options for every call to the server (--cacert for HTTPS).
CURL_OPTS=()
# api's --max-time in seconds; empty: none.
API_MAX_TIME=

# serve_kill: kills the server at once (cleanup does, so a test that ends
# early leaves none behind).
serve_kill() {
	[ -n "$SERVE_PID" ] && kill -9 "$SERVE_PID" 2>/dev/null
	SERVE_PID=
}

# serve_start NAME URL ARGS...: `coffer serve ARGS` in the background (ARGS
# give --listen or a --config that does), stdout appended to $T/NAME.out,
# stderr to $T/NAME.err; sets BASE=URL and SERVE_PID, then waits up to 30 s
# for /v1/health. 1 if the server exited or never answered.
serve_start() {
	local name=$1 i
	BASE=$2
	shift 2
	"$COFFER" serve "$@" >>"$T/$name.out" 2>>"$T/$name.err" &
	SERVE_PID=$!
	for i in $(seq 1 300); do
		curl -sf ${CURL_OPTS[@]+"${CURL_OPTS[@]}"} -o /dev/null "$BASE/v1/health" 2>/dev/null &&
			return 0
		kill -0 "$SERVE_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# serve_why NAME: the end of $T/NAME.err on one line, for failure messages.
serve_why() { tail -3 "$T/$1.err" | tr '\n' ' '; }

# serve_stop [SIGNAL]: signals the server (TERM by default) and waits for
# it; its exit code in $stop_rc.
serve_stop() {
	stop_rc=0
	[ -n "$SERVE_PID" ] || return 0
	kill -"${1:-TERM}" "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID" 2>/dev/null
	stop_rc=$?
	SERVE_PID=
}

# api TOKEN METHOD PATH [BODY [CONTENT-TYPE]]: the response body in $T/resp,
# its headers in $T/headers, the status in $code. No Authorization header
# when TOKEN is empty; a BODY is sent as application/json unless told.
api() {
	local tok=$1 method=$2 path=$3 args
	args=(-s -o "$T/resp" -D "$T/headers" -w '%{http_code}' -X "$method")
	[ -n "$API_MAX_TIME" ] && args+=(--max-time "$API_MAX_TIME")
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ $# -ge 4 ] && args+=(-H "Content-Type: ${5:-application/json}" --data-binary "$4")
	code=$(curl "${args[@]}" ${CURL_OPTS[@]+"${CURL_OPTS[@]}"} "$BASE$path")
}

# q TOKEN PATH FILTER: GET PATH and jq -r FILTER over the answer.
q() { api "$1" GET "$2"; jq -r "$3" "$T/resp" 2>/dev/null; }

# j FILTER: jq -r FILTER over the last answer.
j() { jq -r "$1" "$T/resp"; }

# says NAME TEXT: one result line: the last answer contains TEXT.
says() {
	if grep -qF -- "$2" "$T/resp"; then ok "$1"
	else not_ok "$1" "answer lacks \"$2\": $(head -c 300 "$T/resp")"; fi
}

# expect NAME CODE: one result line: the last api call answered CODE.
expect() {
	if [ "$code" = "$2" ]; then ok "$1"
	else not_ok "$1" "HTTP $code, want $2: $(head -c 300 "$T/resp")"; fi
}

# need_tools PREFIX TOOL...: every TOOL is installed; else one result line
# "PREFIX: TOOL is installed" and the script ends.
need_tools() {
	local prefix=$1 tool
	shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { not_ok "$prefix: $tool is installed" "missing"; exit 1; }
	done
}

# tenant NAME [TIDVAR TOKVAR]: the global admin ($GTOK) creates tenant NAME
# and its first tenantAdmin token; their id and secret in $TID and $TOK (or
# the variables named). 1 if either is missing.
tenant() {
	local _tn_id _tn_tok
	api "$GTOK" POST /v1/tenants "{\"name\":\"$1\"}"
	_tn_id=$(jq -r .id "$T/resp")
	api "$GTOK" POST "/v1/tenants/$_tn_id/tokens" '{"name":"admin","role":"tenantAdmin"}'
	_tn_tok=$(jq -r .secret "$T/resp")
	printf -v "${2:-TID}" %s "$_tn_id"
	printf -v "${3:-TOK}" %s "$_tn_tok"
	[ -n "$_tn_id" ] && [ "$_tn_id" != null ] && [ -n "$_tn_tok" ] && [ "$_tn_tok" != null ]
}

# Tenant $TID as $TOK sees it:
# rp_count UNIT: how many restore points UNIT has (forgotten ones not counted).
rp_count() { q "$TOK" "/v1/tenants/$TID/protectionUnits/$1/restorePoints?limit=1000" '.items | length'; }
# has_points UNIT N: UNIT has N restore points.
has_points() { [ "$(rp_count "$1")" = "$2" ]; }
# unit_field UNIT FIELD: a field of the unit.
unit_field() { q "$TOK" "/v1/tenants/$TID/protectionUnits/$1" ".$2"; }
# session_done SID: the restore session has succeeded or failed.
session_done() {
	local st
	st=$(q "$TOK" "/v1/tenants/$TID/restoreSessions/$1" .state)
	[ "$st" = succeeded ] || [ "$st" = failed ]
}

# until_true SECONDS COMMAND...: polls every 0.1 s; 0 if it came true.
# (Its locals have odd names: COMMAND sees them, bash scoping being dynamic.)
until_true() {
	local _ut_n=$(($1 * 10)) _ut_i
	shift
	for _ut_i in $(seq 1 "$_ut_n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

finish() { exit $FAILED; }
