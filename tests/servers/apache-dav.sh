#!/bin/sh
# A throwaway Apache httpd with mod_dav_fs on 127.0.0.1, all its state in
# one folder, for the tests (docs/webdav.md, docs/testing.md).
#
#   apache-dav.sh start DIR PORT   serves DIR/root at http://127.0.0.1:PORT/dav/
#                                  (Basic auth: alice / secret); access log with
#                                  one line per request in DIR/access.log
#   apache-dav.sh stop DIR         stop it and wait until it is gone
#   apache-dav.sh kill DIR         SIGKILL it (and its children) at once
#
# Env at start: APACHE_DAV_EXTRA_CONF, appended to httpd.conf verbatim;
# APACHE_DAV_TLS_PORT, also serve the same over TLS on that port, HTTP/2
# offered (ALPN h2), with a certificate for 127.0.0.1 signed by a CA made
# for the run: DIR/ca.pem.
# As root the workers run as nobody:nogroup and DIR/root belongs to them;
# as another user everything runs as that user.
set -eu

cmd=${1:?usage: apache-dav.sh start|stop|kill DIR [PORT]}
D=${2:?usage: apache-dav.sh $cmd DIR [PORT]}

die() { echo "apache-dav.sh: $*" >&2; exit 1; }

# With APACHE_DAV_TLS_PORT: a CA and a certificate for 127.0.0.1 (made
# once a folder), and the httpd.conf lines of a TLS host offering h2.
tls_conf() {
	[ -n "${APACHE_DAV_TLS_PORT:-}" ] || return 0
	if [ ! -f "$D/server.pem" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=coffer-test-ca \
			-keyout "$D/ca.key" -out "$D/ca.pem" 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
			-keyout "$D/server.key" -out "$D/server.csr" 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1\n' >"$D/san.ext"
		openssl x509 -req -in "$D/server.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" \
			-CAcreateserial -days 2 -extfile "$D/san.ext" -out "$D/server.pem" 2>/dev/null
	fi
	cat <<T
LoadModule socache_shmcb_module $M/mod_socache_shmcb.so
LoadModule ssl_module $M/mod_ssl.so
LoadModule http2_module $M/mod_http2.so
SSLSessionCache shmcb:$D/run/ssl_scache(512000)
Listen 127.0.0.1:$APACHE_DAV_TLS_PORT
<VirtualHost 127.0.0.1:$APACHE_DAV_TLS_PORT>
  Protocols h2 http/1.1
  SSLEngine on
  SSLCertificateFile $D/server.pem
  SSLCertificateKeyFile $D/server.key
</VirtualHost>
T
}

wait_gone() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "apache (pid $1) did not stop"
		sleep 0.1
	done
}

case $cmd in
start)
	PORT=${3:?usage: apache-dav.sh start DIR PORT}
	[ -x /usr/sbin/apache2 ] || die "apache2 is not installed (scripts/install-deps.sh)"
	mkdir -p "$D/root" "$D/run"
	D=$(cd "$D" && pwd)
	chmod 755 "$D" # workers running as nobody must reach DIR/root
	M=/usr/lib/apache2/modules
	if [ "$(id -u)" = 0 ]; then
		RUNAS="User nobody
Group nogroup"
		chown nobody:nogroup "$D/root" "$D/run"
	else
		RUNAS=""
	fi
	htpasswd -bc "$D/htpasswd" alice secret 2>/dev/null
	cat >"$D/httpd.conf" <<C
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
PidFile $D/httpd.pid
DefaultRuntimeDir $D/run
Mutex file:$D/run default
ErrorLog $D/error.log
LogLevel warn
$RUNAS
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_user_module $M/mod_authz_user.so
LoadModule authn_core_module $M/mod_authn_core.so
LoadModule authn_file_module $M/mod_authn_file.so
LoadModule auth_basic_module $M/mod_auth_basic.so
LoadModule alias_module $M/mod_alias.so
LoadModule dav_module $M/mod_dav.so
LoadModule dav_fs_module $M/mod_dav_fs.so
CustomLog $D/access.log "%h %t \"%r\" %>s %b %H"
DavLockDB $D/run/davlock
DocumentRoot $D/root
Alias /dav $D/root
<Directory $D/root>
  Dav On
  Options None
  AllowOverride None
  AuthType Basic
  AuthName "dav-test"
  AuthUserFile $D/htpasswd
  Require valid-user
</Directory>
$(tls_conf)
${APACHE_DAV_EXTRA_CONF:-}
C
	/usr/sbin/apache2 -f "$D/httpd.conf" -k start
	i=0
	until [ -s "$D/httpd.pid" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "apache did not start (see $D/error.log)"
		sleep 0.1
	done
	;;
stop)
	[ -f "$D/httpd.pid" ] || exit 0
	pid=$(cat "$D/httpd.pid")
	kill "$pid" 2>/dev/null || true
	wait_gone "$pid"
	rm -f "$D/httpd.pid"
	;;
kill)
	[ -f "$D/httpd.pid" ] || exit 0
	pid=$(cat "$D/httpd.pid")
	pkill -KILL -P "$pid" 2>/dev/null || true
	kill -KILL "$pid" 2>/dev/null || true
	wait_gone "$pid"
	rm -f "$D/httpd.pid"
	;;
*)
	die "unknown command $cmd"
	;;
esac
