#!/bin/bash
# A throwaway single-node Ceph (one mon, one osd on memstore, radosgw) on
# 127.0.0.1 with all its state in one folder: a real S3 server with Object
# Lock for the tests (docs/s3.md, docs/testing.md). Needs the packages
# ceph-mon ceph-osd radosgw ceph-common (scripts/install-deps.sh).
#
#   ceph.sh start DIR PORT    start; S3 on http://127.0.0.1:PORT and on
#                             https://127.0.0.1:PORT+1 (a test CA made on
#                             start: DIR/ca.pem; the certificate names
#                             localhost and 127.0.0.1), user "ci" with access
#                             key CIACCESSKEY, secret CISECRETKEY (AK= / SK=
#                             in the environment change them)
#   ceph.sh stop DIR          stop everything (SIGKILL: the data is thrown
#                             away) and remove DIR
#   ceph.sh user DIR UID ACCESS SECRET
#                             one more radosgw user (the bucket policy tests:
#                             tests/e2e/s3lock.sh); its ARN is
#                             arn:aws:iam:::user/UID
#   ceph.sh kill-rgw DIR      SIGKILL radosgw alone (a fault test)
#   ceph.sh start-rgw DIR     start radosgw again and wait until it answers
#
# The mon listens on MONPORT (6789) and MONPORT2 (3300); tests run in their
# own network namespace (unshare -n), so fixed ports do not collide. Start-up
# takes about 2-3 s; memstore keeps objects in RAM (about twice their size),
# so keep test data small.
set -euo pipefail

cmd=${1:?usage: ceph.sh start|stop|user|kill-rgw|start-rgw DIR [ARGS]}
DIR=${2:?usage: ceph.sh $cmd DIR [PORT]}
MONPORT=${MONPORT:-6789}
MONPORT2=${MONPORT2:-3300}

alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }

# wait_rgw PORT: until radosgw answers HTTP (at most 60 s).
wait_rgw() {
	local i
	for i in $(seq 1 240); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		sleep 0.25
	done
	echo "ceph.sh: radosgw is not answering on port $1; see $DIR/log" >&2
	return 1
}

# tls_files: a test CA and a server certificate for localhost and 127.0.0.1.
tls_files() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=coffer test CA" \
		-keyout "$DIR/ca.key" -out "$DIR/ca.pem" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1 &&
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$DIR/server.key" -out "$DIR/server.csr" >/dev/null 2>&1 &&
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		>"$DIR/server.ext" &&
	openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
		-CAcreateserial -days 3650 -extfile "$DIR/server.ext" -out "$DIR/server.pem" \
		>/dev/null 2>&1 || { echo "ceph.sh: openssl cannot make the test certificates" >&2; exit 1; }
}

start_rgw() {
	radosgw -c "$DIR/ceph.conf" -n client.rgw.a
	wait_rgw "$(cat "$DIR/port")"
}

start() {
	local port=${1:?usage: ceph.sh start DIR PORT} fsid osd_uuid osd_secret osd_id i C
	mkdir -p "$DIR"/{run,log,mon.a,osd.0,rgw}
	DIR=$(cd "$DIR" && pwd)
	echo "$port" >"$DIR/port"
	tls_files
	fsid=$(cat /proc/sys/kernel/random/uuid)
	cat >"$DIR/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MONPORT2,v1:127.0.0.1:$MONPORT]
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
pid file = $DIR/run/\$name.pid
crash dir = $DIR/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
ms bind ipv6 = false
mon warn on insecure global id reclaim allowed = false
[mon]
mon data = $DIR/\$name
mon cluster log file = default=$DIR/log/ceph.\$channel.log cluster=$DIR/log/ceph.log
mon data avail crit = 1
mon data avail warn = 2
paxos propose interval = 0.05
paxos min wait = 0.01
[osd]
osd data = $DIR/\$name
osd objectstore = memstore
memstore device bytes = 2147483648
osd memory target = 939524096
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$port ssl_endpoint=127.0.0.1:$((port + 1)) ssl_certificate=$DIR/server.pem ssl_private_key=$DIR/server.key
rgw data = $DIR/rgw
rgw dns name = localhost
rgw thread pool size = 64
EOF
	ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' \
		--cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
	monmaptool --create --fsid "$fsid" \
		--addv a "[v2:127.0.0.1:$MONPORT2,v1:127.0.0.1:$MONPORT]" "$DIR/monmap" >/dev/null
	ceph-mon -c "$DIR/ceph.conf" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/keyring"
	ceph-mon -c "$DIR/ceph.conf" -i a
	C="ceph -c $DIR/ceph.conf --connect-timeout 20"
	osd_uuid=$(cat /proc/sys/kernel/random/uuid)
	osd_secret=$(ceph-authtool --gen-print-key)
	osd_id=$(echo "{\"cephx_secret\": \"$osd_secret\"}" | $C osd new "$osd_uuid" -i -)
	ceph-authtool "$DIR/keyring" -n "osd.$osd_id" --add-key "$osd_secret" >/dev/null
	ceph-osd -c "$DIR/ceph.conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" 2>&1 |
		grep -v -E 'created object store|^$' >&2 || true
	ceph-osd -c "$DIR/ceph.conf" -i "$osd_id"
	for i in $(seq 1 120); do
		$C osd stat 2>/dev/null | grep -q '1 up' && break
		sleep 0.5
	done
	$C osd stat | grep -q '1 up' || { echo "ceph.sh: the osd did not come up; see $DIR/log" >&2; exit 1; }
	$C auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
		>>"$DIR/keyring"
	start_rgw
	radosgw-admin -c "$DIR/ceph.conf" user create --uid=ci --display-name=ci \
		--access-key="${AK:-CIACCESSKEY}" --secret-key="${SK:-CISECRETKEY}" >/dev/null
	echo "$osd_id" >"$DIR/osd_id"
}

# pids: mon, osd, then radosgw (whose pid file changes on restart).
pids() {
	local n
	for n in mon.a "osd.$(cat "$DIR/osd_id" 2>/dev/null)" client.rgw.a; do
		[ -f "$DIR/run/$n.pid" ] && cat "$DIR/run/$n.pid" && echo
	done | grep . || true
}

kill_wait() {
	local p=$1 i
	kill -9 "$p" 2>/dev/null || return 0
	for i in $(seq 1 200); do alive "$p" || return 0; sleep 0.05; done
}

case $cmd in
start) start "${3:-}" ;;
start-rgw) start_rgw ;;
user)
	radosgw-admin -c "$DIR/ceph.conf" user create --uid="${3:?uid}" --display-name="$3" \
		--access-key="${4:?access key}" --secret-key="${5:?secret}" >/dev/null
	;;
kill-rgw)
	[ -f "$DIR/run/client.rgw.a.pid" ] && kill_wait "$(cat "$DIR/run/client.rgw.a.pid")"
	rm -f "$DIR/run/client.rgw.a.pid"
	;;
stop)
	[ -d "$DIR" ] || exit 0
	mapfile -t P < <(pids)
	for ((i = ${#P[@]} - 1; i >= 0; i--)); do kill_wait "${P[i]}"; done
	rm -rf "$DIR"
	;;
*) echo "ceph.sh: unknown command $cmd" >&2; exit 2 ;;
esac
