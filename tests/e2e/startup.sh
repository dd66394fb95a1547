#!/usr/bin/env bash
# Start-up (docs/engine.md "Start-up"): a command maps only the libraries
# it uses. Engine commands open none of libcurl, GMime/GLib,
# libmicrohttpd, libpq and libxml2; each is opened on its first call, and
# works then: an S3 store's command opens libcurl (and reports the
# unreachable server as such), serve opens libmicrohttpd and answers, an
# API client opens libcurl and gets its answer. The mail parser's GMime is
# exercised by search.sh and mail.sh.
. "$(dirname "$0")/lib.sh"

HEAVY='libcurl|libgmime|libglib|libgio|libmicrohttpd|libpq|libxml2'
PORT=18960

# loaded NAME CMD...: runs CMD with the dynamic loader's file log in
# $T/ld.NAME.*; leaves in $T/libs.NAME the libraries it opened, one a line.
loaded() {
	local name=$1
	shift
	rm -f "$T/ld.$name".*
	LD_DEBUG=files LD_DEBUG_OUTPUT=$T/ld.$name "$@" >"$T/out" 2>"$T/err"
	rc=$?
	cat "$T/ld.$name".* 2>/dev/null | grep -oE 'file=[^ ]+' | sed 's/^file=//; s|.*/||' |
		sort -u >"$T/libs.$name"
}
# none_heavy NAME WHAT: NAME's command opened none of the heavy libraries.
none_heavy() {
	if [ ! -s "$T/libs.$1" ]; then
		not_ok "startup: $2" "no loader log (LD_DEBUG)"
	elif grep -qE "$HEAVY" "$T/libs.$1"; then
		not_ok "startup: $2" "$(grep -E "$HEAVY" "$T/libs.$1" | tr '\n' ' ')"
	else ok "startup: $2"; fi
}

S=$T/src
mkdir -p "$S/docs"
seq 1 1000 >"$S/docs/a.txt"
init_store
loaded backup c backup docs "$S"
is_rc "startup: a backup" 0
none_heavy backup "a backup opens no mail, HTTP or PostgreSQL library"
loaded version "$COFFER" --version
none_heavy version "coffer --version opens none of them"
loaded points c restore-points
if [ "$rc" = 0 ] && grep -q 'docs' "$T/out"; then ok "startup: restore-points lists the point"
else not_ok "startup: restore-points lists the point" "$(cat "$T/err")"; fi
none_heavy points "restore-points opens none of them"
loaded restore c restore docs@1 --to "$T/back"
if [ "$rc" = 0 ] && diff -r "$S" "$T/back" >/dev/null; then ok "startup: a restore"
else not_ok "startup: a restore" "$(cat "$T/err")"; fi
none_heavy restore "a restore opens none of them"

# An S3 store: libcurl is opened for it, and the refused connection is
# the error the user sees (not a failure to load).
printf 'AWS_ACCESS_KEY_ID=a\nAWS_SECRET_ACCESS_KEY=b\n' >"$T/s3.cred"
loaded s3 "$COFFER" --store s3://127.0.0.1:1/bucket --s3-credentials "$T/s3.cred" \
	--key-file "$KEY" restore-points
if grep -q '^libcurl' "$T/libs.s3" && [ "$rc" != 0 ] && ! grep -q 'cannot load' "$T/err" &&
	! sanitizer "$T/err"; then
	ok "startup: an S3 store opens libcurl, and says the server is unreachable"
else not_ok "startup: an S3 store opens libcurl" "rc $rc: $(head -3 "$T/err")"; fi

# serve: libmicrohttpd opened, the API answers; a client opens libcurl.
if serve_start serve "http://127.0.0.1:$PORT" --data "$T/data" --listen "127.0.0.1:$PORT"; then
	if grep -q libmicrohttpd "/proc/$SERVE_PID/maps"; then
		ok "startup: serve opens libmicrohttpd and answers /v1/health"
	else not_ok "startup: serve opens libmicrohttpd" "not in its maps"; fi
	grep -m1 -o 'cft_[A-Za-z0-9_-]*' "$T/serve.out" >"$T/token"
	loaded client "$COFFER" --server "$BASE" --token-file "$T/token" tenant list
	if [ "$rc" = 0 ] && grep -q '^libcurl' "$T/libs.client"; then
		ok "startup: an API client opens libcurl and gets its answer"
	else not_ok "startup: an API client opens libcurl" "rc $rc: $(head -3 "$T/err")"; fi
	serve_kill
else not_ok "startup: serve starts" "$(tail -3 "$T/serve.err")"; fi
exit $FAILED
