#!/bin/sh
# A throwaway rclone `serve webdav` on 127.0.0.1, all its state in one
# folder, for the tests (docs/webdav.md, docs/testing.md).
#
#   rclone-dav.sh start DIR PORT   serves DIR/root at http://127.0.0.1:PORT/
#                                  (Basic auth: alice / secret); one log line
#                                  per request in DIR/rclone.log
#   rclone-dav.sh stop DIR         stop it and wait until it is gone
#
# Env at start: RCLONE_DAV_EXTRA_ARGS, added to rclone's arguments.
# rclone reads its own empty config in DIR (never ~/.config) and keeps no
# cache: every request goes to DIR/root (--vfs-cache-mode off, the
# default; --dir-cache-time 0 so a file changed behind its back is seen).
set -eu

cmd=${1:?usage: rclone-dav.sh start|stop DIR [PORT]}
D=${2:?usage: rclone-dav.sh $cmd DIR [PORT]}

die() { echo "rclone-dav.sh: $*" >&2; exit 1; }

case $cmd in
start)
	PORT=${3:?usage: rclone-dav.sh start DIR PORT}
	command -v rclone >/dev/null || die "rclone is not installed (scripts/install-deps.sh)"
	mkdir -p "$D/root" "$D/cache"
	D=$(cd "$D" && pwd)
	: >"$D/rclone.conf"
	# shellcheck disable=SC2086 # RCLONE_DAV_EXTRA_ARGS is a list of words
	rclone serve webdav "$D/root" --addr "127.0.0.1:$PORT" --user alice --pass secret \
		--config "$D/rclone.conf" --cache-dir "$D/cache" --dir-cache-time 0s \
		--log-file "$D/rclone.log" -v ${RCLONE_DAV_EXTRA_ARGS:-} </dev/null >/dev/null 2>&1 &
	echo $! >"$D/rclone.pid"
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do
		i=$((i + 1))
		kill -0 "$(cat "$D/rclone.pid")" 2>/dev/null || die "rclone exited (see $D/rclone.log)"
		[ $i -lt 100 ] || die "rclone did not start (see $D/rclone.log)"
		sleep 0.1
	done
	;;
stop)
	[ -f "$D/rclone.pid" ] || exit 0
	pid=$(cat "$D/rclone.pid")
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "rclone (pid $pid) did not stop"
		sleep 0.1
	done
	rm -f "$D/rclone.pid"
	;;
*)
	die "unknown command $cmd"
	;;
esac
