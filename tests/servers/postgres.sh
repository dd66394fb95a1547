#!/bin/bash
# A throwaway PostgreSQL 15 on 127.0.0.1 with all its state in one folder,
# for the catalog's tests (docs/service.md "Catalog", docs/testing.md).
# Needs the packages postgresql-15 and libpq-dev (scripts/install-deps.sh).
#
#   postgres.sh start DIR PORT   initdb in DIR (which must not exist or be
#                                empty), start on 127.0.0.1:PORT (and a
#                                socket in DIR), create the database
#                                "coffer"; prints the URL:
#                                postgresql://coffer@127.0.0.1:PORT/coffer
#   postgres.sh stop DIR         stop (fast) and remove DIR
#   postgres.sh restart DIR      stop (fast) and start again: every client
#                                connection is cut (a fault test)
#   postgres.sh down DIR         stop (fast), keeping the data: the catalog
#                                is unreachable until `up` (a fault test)
#   postgres.sh up DIR           start again after `down`
#
# Trust authentication on loopback only; fsync off (test data). Run as
# root, the server runs as the user "nobody" (PostgreSQL refuses root).
# Start-up takes about a second. Tests source tests/e2e/pg.sh for
# pg_start / pg_stop / pg_restart.
set -euo pipefail

cmd=${1:?usage: postgres.sh start|stop|restart|down|up DIR [PORT]}
DIR=${2:?usage: postgres.sh $cmd DIR [PORT]}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || dirname "$(command -v pg_ctl)")}

# as_pg COMMAND...: as the server's user.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

start() {
	local port=$1
	as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
		-o "-k $DIR -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=100" \
		start >/dev/null || { echo "postgres.sh: the server did not start; see $DIR/log:" >&2; tail -5 "$DIR/log" >&2; exit 1; }
}

case $cmd in
start)
	PORT=${3:?usage: postgres.sh start DIR PORT}
	mkdir -p "$DIR"
	[ "$(id -u)" -eq 0 ] && chown nobody "$DIR"
	chmod 700 "$DIR"
	as_pg "$PGBIN/initdb" -D "$DIR/data" -U coffer -A trust -E UTF8 --no-sync \
		--no-instructions >"$DIR/initdb.log" 2>&1 ||
		{ echo "postgres.sh: initdb failed:" >&2; tail -5 "$DIR/initdb.log" >&2; exit 1; }
	echo "$PORT" >"$DIR/port"
	start "$PORT"
	as_pg "$PGBIN/psql" -q -h 127.0.0.1 -p "$PORT" -U coffer -d postgres \
		-c "CREATE DATABASE coffer" >/dev/null
	echo "postgresql://coffer@127.0.0.1:$PORT/coffer"
	;;
stop)
	if [ -f "$DIR/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$DIR"
	;;
restart)
	as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
	start "$(cat "$DIR/port")"
	;;
down)
	as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
	;;
up)
	start "$(cat "$DIR/port")"
	;;
*)
	echo "usage: postgres.sh start|stop|restart|down|up DIR [PORT]" >&2
	exit 2
	;;
esac
