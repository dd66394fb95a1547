#!/bin/sh
# A throwaway nginx with the dav module and nginx-dav-ext on 127.0.0.1,
# all its state in one folder, for the tests (docs/webdav.md,
# docs/testing.md).
#
#   nginx-dav.sh start DIR PORT   serves DIR/root at http://127.0.0.1:PORT/dav/
#                                 (Basic auth: alice / secret); access log with
#                                 one line per request in DIR/access.log
#   nginx-dav.sh stop DIR         stop it and wait until it is gone
#
# Env at start: NGINX_DAV_EXTRA_CONF, put verbatim in the server block
# (more locations, e.g. one checking a bearer token or answering 503).
# As root the workers run as nobody:nogroup and DIR/root belongs to them.
set -eu

cmd=${1:?usage: nginx-dav.sh start|stop DIR [PORT]}
D=${2:?usage: nginx-dav.sh $cmd DIR [PORT]}

die() { echo "nginx-dav.sh: $*" >&2; exit 1; }

case $cmd in
start)
	PORT=${3:?usage: nginx-dav.sh start DIR PORT}
	[ -x /usr/sbin/nginx ] || die "nginx is not installed (scripts/install-deps.sh)"
	MOD=/usr/lib/nginx/modules/ngx_http_dav_ext_module.so
	[ -f $MOD ] || die "libnginx-mod-http-dav-ext is not installed (scripts/install-deps.sh)"
	mkdir -p "$D/root" "$D/tmp"
	D=$(cd "$D" && pwd)
	chmod 755 "$D" # workers running as nobody must reach DIR/root
	if [ "$(id -u)" = 0 ]; then
		USER="user nobody nogroup;"
		chown nobody:nogroup "$D/root" "$D/tmp"
	else
		USER=""
	fi
	printf 'alice:%s\n' "$(openssl passwd -apr1 secret)" >"$D/htpasswd"
	chmod 644 "$D/htpasswd"
	cat >"$D/nginx.conf" <<C
load_module $MOD;
$USER
daemon on;
worker_processes 1;
pid $D/nginx.pid;
error_log $D/error.log warn;
events { worker_connections 256; }
http {
  access_log $D/access.log;
  client_body_temp_path $D/tmp/body;
  proxy_temp_path $D/tmp/proxy;
  fastcgi_temp_path $D/tmp/fastcgi;
  uwsgi_temp_path $D/tmp/uwsgi;
  scgi_temp_path $D/tmp/scgi;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:$PORT;
    server_name 127.0.0.1;
    root $D/empty;
    location /dav/ {
      alias $D/root/;
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      autoindex on;
      auth_basic "dav-test";
      auth_basic_user_file $D/htpasswd;
    }
${NGINX_DAV_EXTRA_CONF:-}
  }
}
C
	/usr/sbin/nginx -c "$D/nginx.conf" -p "$D" -e "$D/error.log" ||
		die "nginx did not start (see $D/error.log)"
	i=0
	until [ -s "$D/nginx.pid" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "nginx did not start (see $D/error.log)"
		sleep 0.1
	done
	;;
stop)
	[ -f "$D/nginx.pid" ] || exit 0
	pid=$(cat "$D/nginx.pid")
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "nginx (pid $pid) did not stop"
		sleep 0.1
	done
	rm -f "$D/nginx.pid"
	;;
*)
	die "unknown command $cmd"
	;;
esac
