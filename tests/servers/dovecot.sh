#!/bin/sh
# A throwaway Dovecot IMAP server on 127.0.0.1 with all its state in one
# folder, for the tests (docs/testing.md, docs/imap.md).
#
#   dovecot.sh start DIR PORT   start; IMAP (clear text + STARTTLS) on PORT,
#                               implicit TLS (imaps) on PORT+1
#   dovecot.sh stop DIR         stop it and wait until it is gone
#   dovecot.sh restart DIR      stop, then start with the same ports and settings
#   dovecot.sh fill DIR USER FOLDER N [gen_mail.py options...]
#                               write N generated messages into USER's folder
#                               FOLDER ("INBOX", or e.g. "Archive.2023" with
#                               the "." delimiter) as Maildir files; Dovecot
#                               gives them UIDs at the next SELECT
#   dovecot.sh corpus DIR USER N [gen_mail.py options...]
#                               the nested test corpus of N messages (+ one of
#                               20 MiB) in USER's mailbox (gen_mail.py corpus)
#   dovecot.sh maildir DIR USER [FOLDER]
#                               print the Maildir folder of USER's FOLDER
#
# Users alice, bob and carol, password "secret". AUTHENTICATE PLAIN, LOGIN,
# XOAUTH2 and OAUTHBEARER; the OAuth mechanisms take the password as the
# bearer token (checked against the passwd-file), so no token server is
# needed. Clear-text login is allowed so tests can use tls "none".
#
# TLS: a test CA and a server certificate for "localhost" and 127.0.0.1
# are made on start: DIR/ca.pem is the CA the client must be given
# (without it, certificate checks fail as they should).
#
# Env at start:
#   DOVECOT_NO_CONDSTORE=1  announce no CONDSTORE/QRESYNC (imap_capability)
#   DOVECOT_DROP_CAPS="A B" announce none of these capabilities either
#                           (e.g. "MULTIAPPEND LITERAL+")
#   DOVECOT_MAIL_LOCATION   default maildir:~/Maildir
#   DOVECOT_EXTRA_CONF      appended to dovecot.conf verbatim
# As root the daemons run as the Debian package's dovecot/dovenull users
# and the mail belongs to "nobody"; as another user everything runs as that
# user.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: dovecot.sh start|stop|restart|fill|maildir DIR ...}
D=${2:?usage: dovecot.sh $cmd DIR ...}

die() { echo "dovecot.sh: $*" >&2; exit 1; }

user_home() {
	awk -F: -v u="$1" '$1==u{print $6}' "$D/passwd"
}

# The Maildir folder of USER's FOLDER (Maildir++: INBOX is the top, others
# are ".A.B" beside it).
maildir_of() {
	h=$(user_home "$1")
	[ -n "$h" ] || die "no user $1 in $D/passwd"
	case ${2:-INBOX} in
	INBOX) echo "$h/Maildir" ;;
	*) echo "$h/Maildir/.$2" ;;
	esac
}

make_certs() {
	[ -f "$D/ca.pem" ] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=coffer test CA" \
		-keyout "$D/ca.key" -out "$D/ca.pem" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1 ||
		die "openssl: cannot make the test CA"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$D/server.key" -out "$D/server.csr" >/dev/null 2>&1 ||
		die "openssl: cannot make the server key"
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		>"$D/server.ext"
	openssl x509 -req -in "$D/server.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" \
		-CAcreateserial -days 3650 -extfile "$D/server.ext" -out "$D/server.pem" \
		>/dev/null 2>&1 || die "openssl: cannot sign the server certificate"
	chmod 644 "$D/server.key"   # read by the login processes, whoever they run as
}

start() {
	PORT=${1:?usage: dovecot.sh start DIR PORT}
	TLSPORT=$((PORT + 1))
	mkdir -p "$D/run" "$D/state" "$D/mail"
	D=$(cd "$D" && pwd)
	chmod 755 "$D"   # mktemp -d makes 0700; the mail uid must traverse it
	if [ "$(id -u)" = 0 ]; then
		MUID=$(id -u nobody); MGID=$(id -g nobody)
		chown "$MUID:$MGID" "$D/mail"
		USERS="# as root: default_login_user=dovenull, default_internal_user=dovecot"
	else
		MUID=$(id -u); MGID=$(id -g)
		USERS="default_internal_user = $(id -un)
default_login_user = $(id -un)
default_internal_group = $(id -gn)"
	fi
	make_certs
	for u in alice bob carol; do
		echo "$u:{PLAIN}secret:$MUID:$MGID::$D/mail/$u"
	done >"$D/passwd"
	CAPS=""
	DROP=${DOVECOT_DROP_CAPS:-}
	[ "${DOVECOT_NO_CONDSTORE:-0}" = 1 ] && DROP="$DROP CONDSTORE QRESYNC"
	if [ -n "$DROP" ]; then
		# Dovecot 2.3.19's post-login list, less the dropped words.
		CAPS="imap_capability ="
		for c in IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY \
			THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL \
			CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 \
			CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS \
			BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ \
			NOTIFY SPECIAL-USE; do
			case " $DROP " in
			*" $c "*) ;;
			*) CAPS="$CAPS $c" ;;
			esac
		done
	fi
	cat >"$D/dovecot.conf" <<C
protocols = imap
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
instance_name = coffer-dovecot-$PORT
log_path = $D/dovecot.log
ssl = yes
ssl_cert = <$D/server.pem
ssl_key = <$D/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
mail_location = ${DOVECOT_MAIL_LOCATION:-maildir:~/Maildir}
mail_fsync = never
auth_failure_delay = 0
first_valid_uid = 1
$USERS
$CAPS
namespace inbox {
  inbox = yes
  separator = .
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $TLSPORT
    ssl = yes
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $D/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%n $D/passwd
}
${DOVECOT_EXTRA_CONF:-}
C
	echo "$PORT" >"$D/port"
	/usr/sbin/dovecot -c "$D/dovecot.conf" || die "dovecot did not start (see $D/dovecot.log)"
	# The master forks listeners; wait until the port answers.
	i=0
	until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$PORT" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "dovecot does not listen on $PORT (see $D/dovecot.log)"
		sleep 0.05
	done
}

stop() {
	P=$(cat "$D/run/master.pid" 2>/dev/null) || return 0
	kill "$P" 2>/dev/null || return 0
	i=0
	while kill -0 "$P" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 "$P" 2>/dev/null; then
		kill -9 "$P" 2>/dev/null || true
		die "dovecot $P did not stop in 10 s; killed"
	fi
	return 0
}

fill() {
	U=${1:?usage: dovecot.sh fill DIR USER FOLDER N [options]}
	F=${2:?folder}; N=${3:?count}; shift 3
	MD=$(maildir_of "$U" "$F")
	python3 "$here/gen_mail.py" maildir "$N" "$MD" "$@"
	# Maildir++ marks subfolders with a maildirfolder file.
	[ "$F" = INBOX ] || : >"$MD/maildirfolder"
	H=$(user_home "$U")
	UG=$(awk -F: -v u="$U" '$1==u{print $3":"$4}' "$D/passwd")
	[ "$(id -u)" != 0 ] || chown -R "$UG" "$H"
}

corpus() {
	U=${1:?usage: dovecot.sh corpus DIR USER N [options]}
	N=${2:?count}; shift 2
	H=$(user_home "$U")
	[ -n "$H" ] || die "no user $U in $D/passwd"
	python3 "$here/gen_mail.py" corpus "$N" "$H/Maildir" "$@"
	UG=$(awk -F: -v u="$U" '$1==u{print $3":"$4}' "$D/passwd")
	[ "$(id -u)" != 0 ] || chown -R "$UG" "$H"
}

case $cmd in
start) shift 2; start "$@" ;;
stop) stop ;;
restart)
	PORT=$(cat "$D/port") || die "no $D/port: was it started?"
	stop
	start "$PORT"
	;;
fill) shift 2; fill "$@" ;;
corpus) shift 2; corpus "$@" ;;
maildir) shift 2; maildir_of "${1:?user}" "${2:-INBOX}" ;;
*) die "unknown command $cmd" ;;
esac
