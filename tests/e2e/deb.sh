#!/usr/bin/env bash
# The Debian package (docs/service.md "The Debian package"): built twice by
# scripts/build-deb.sh (versions A and B), then, on a throwaway copy of this
# machine's root (an overlay over / in a private mount namespace, its
# changes in a tmpfs) booted with systemd-nspawn, so systemctl and the
# maintainer scripts are real: install A (the service starts as user
# coffer and answers /v1/health), a tenant and a restore point, upgrade to
# B (restarted, config, token and data kept, the point restored byte for
# byte), remove (stopped), purge (config and unit gone, backups and their
# user kept as documented), install again (the old data and token work),
# purge with /etc/coffer/purge-deletes-backups (backups and user gone),
# and nothing of coffer left running. Nothing reaches the host.
#
# The package build keeps its copy of the tree in $(dirname $COFFER)/deb-pkg
# (COFFER_DEB_WORK), so a second run compiles only what changed;
# COFFER_DEB_REF=REV builds a commit instead of the working tree;
# COFFER_DEB_A and COFFER_DEB_B name two packages built already instead.

# The rest runs in a mount namespace of its own: the overlay, the tmpfs
# and the container vanish with it.
if [ -z "${COFFER_DEB_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
		echo "# SKIP deb: needs root and mount namespaces (unshare -m)"
		exit 0
	fi
	COFFER_DEB_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${COFFER_DEB_WORK:-$(dirname "$COFFER")/deb-pkg}
M=$T/ov/root # the container's root
NSPAWN_PID= CPID=

grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
mkdir -p "$T/ov" && mount -t tmpfs -o mode=755 coffer-deb "$T/ov" &&
	mkdir -p "$T/ov/upper" "$T/ov/work" "$M" &&
	mount -t overlay coffer-deb -o "lowerdir=/,upperdir=$T/ov/upper,workdir=$T/ov/work" "$M" ||
	{ echo "# SKIP deb: this kernel gives no overlayfs over / in a mount namespace"; exit 0; }
for tool in systemd-nspawn dpkg-buildpackage dh nsenter; do
	command -v $tool >/dev/null ||
		{ not_ok "deb: $tool is installed" "missing; run scripts/install-deps.sh"; exit 1; }
done

# The container goes first at exit: poweroff, then its processes killed.
container_stop() {
	[ -n "$NSPAWN_PID" ] || return 0
	kill -TERM "$NSPAWN_PID" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
	[ -n "$CPID" ] && kill -KILL "$CPID" 2>/dev/null # its PID 1: the whole PID namespace goes
	kill -KILL "$NSPAWN_PID" 2>/dev/null
	wait "$NSPAWN_PID" 2>/dev/null
	NSPAWN_PID=
	umount -l "$M" "$T/ov" 2>/dev/null
}
trap 'container_stop; cleanup' EXIT

# ---------------------------------------------------------------------
# Two versions of the package, from the same tree.
upstream=$(sed -n "s/^  version : '\([^']*\)'.*/\1/p" "$root/meson.build" | head -1)
A=$upstream-1 B=$upstream-2
for v in "$A" "$B"; do
	# COFFER_DEB_A, COFFER_DEB_B: packages built already (by build-deb.sh)
	pre=$([ "$v" = "$A" ] && echo "${COFFER_DEB_A:-}" || echo "${COFFER_DEB_B:-}")
	[ -n "$pre" ] && { echo "$pre" >"$T/build-$v.out"; continue; }
	"$root/scripts/build-deb.sh" --version "$v" --out "$T/debs" --work "$work" \
		${COFFER_DEB_REF:+--ref "$COFFER_DEB_REF"} >"$T/build-$v.out" 2>&1 ||
		{ not_ok "deb: scripts/build-deb.sh --version $v builds" "$(tail -5 "$T/build-$v.out" | tr '\n' ' ')"; exit 1; }
done
deb_a=$(tail -1 "$T/build-$A.out") deb_b=$(tail -1 "$T/build-$B.out")
B=$(dpkg-deb -f "$deb_b" Version 2>/dev/null)
depends=$(dpkg-deb -f "$deb_a" Depends 2>&1) files=$(dpkg-deb -c "$deb_a" 2>&1)
if [ -f "$deb_a" ] && [ -f "$deb_b" ] && [[ $depends == *libsodium* ]] &&
	[[ $files == *" ./lib/systemd/system/coffer.service"* ]]; then
	ok "deb: build-deb.sh makes $(basename "$deb_a") and $(basename "$deb_b"), Depends from the libraries, with the unit"
else
	not_ok "deb: build-deb.sh makes two packages" "$deb_a $deb_b: $depends"
	exit 1
fi

# ---------------------------------------------------------------------
# A fresh system: the copy of / without anything of coffer, booted to a
# target of its own (basic.target and nothing else this machine enables),
# without network but loopback.
# A container image's /usr/sbin/policy-rc.d (exit 101: start nothing) is
# not part of a fresh system either.
# Nor does the test need man-db's index rebuilt at each install (seconds).
rm -rf "$M/etc/coffer" "$M/var/lib/coffer" "$M/usr/sbin/policy-rc.d" "$M/var/lib/man-db/auto-update" "$M/etc/systemd/system/coffer.service.d" \
	"$M/etc/systemd/system/multi-user.target.wants/coffer.service"
: >"$M/etc/machine-id"
cat >"$M/etc/systemd/system/coffer-test.target" <<'EOF'
[Unit]
Description=coffer package test
Requires=basic.target
After=basic.target
AllowIsolate=yes
EOF
mkdir -p "$M/root/debs" && cp "$deb_a" "$deb_b" "$M/root/debs/"
# A folder the service backs up and restores next to, as an admin would
# allow it (docs/service.md: a drop-in with ReadWritePaths=).
mkdir -p "$M/srv/coffer-test/docs/sub" "$M/etc/systemd/system/coffer.service.d"
printf 'report %s\n' 1 2 3 >"$M/srv/coffer-test/docs/a.txt"
head -c 300000 /dev/urandom >"$M/srv/coffer-test/docs/sub/b.bin"
printf '[Service]\nReadWritePaths=/srv/coffer-test\n' >"$M/etc/systemd/system/coffer.service.d/test.conf"

mount -t tmpfs coffer-deb-run /run # nspawn keeps its state under /run
systemd-nspawn -q -D "$M" --register=no --keep-unit --private-network --console=passive \
	-b -- systemd.unit=coffer-test.target >"$T/nspawn.log" 2>&1 &
NSPAWN_PID=$!
# inside COMMAND...: runs in the container (its namespaces, its root).
inside() { nsenter -t "$CPID" -m -u -i -n -p -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
for _ in $(seq 1 300); do
	# the container's PID 1: nspawn's child once it runs systemd
	CPID=$(ps --ppid "$NSPAWN_PID" -o pid=,comm= 2>/dev/null | awk '$2 == "systemd" {print $1; exit}')
	[ -n "$CPID" ] && case "$(inside systemctl is-system-running 2>/dev/null)" in running | degraded) break ;; esac
	kill -0 "$NSPAWN_PID" 2>/dev/null || break
	sleep 0.2
done
state=$( [ -n "$CPID" ] && inside systemctl is-system-running 2>&1)
case "$state" in
	running | degraded) ok "deb: a copy of this machine boots systemd in systemd-nspawn ($state)" ;;
	*) not_ok "deb: a copy of this machine boots in systemd-nspawn" "$state: $(tail -5 "$T/nspawn.log" | tr '\n' ' ')"; exit 1 ;;
esac

# health: waits up to 30 s for /v1/health in the container; its JSON in $T/health.
health() {
	for _ in $(seq 1 150); do
		inside curl -fsS http://127.0.0.1:8470/v1/health >"$T/health" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}
# api ARGS... / tapi ARGS...: the coffer client in the container with the
# global admin's token / the tenant admin's.
api() { inside env COFFER_SERVER=http://127.0.0.1:8470 COFFER_TOKEN="$TOKEN" coffer "$@"; }
tapi() { inside env COFFER_SERVER=http://127.0.0.1:8470 COFFER_TOKEN="$TTOKEN" coffer "$@"; }
main_pid() { inside systemctl show -p MainPID --value coffer; }
check() { # NAME COMMAND...: ok when the command succeeds; else the service's last log lines
	local name=$1; shift
	if "$@" >"$T/check.out" 2>&1; then ok "deb: $name"; return; fi
	not_ok "deb: $name" "$(tail -3 "$T/check.out" | tr '\n' ' ')"
	inside journalctl -u coffer -n 8 -o cat --no-pager 2>&1 | grep -v '^cft_' | sed 's/^/# /'
}

# ---------------------------------------------------------------------
# Install A.
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	"/root/debs/$(basename "$deb_a")" >"$T/install-a.out" 2>&1; rc=$?
if [ $rc -eq 0 ] && [ "$(inside systemctl is-enabled coffer 2>&1)" = enabled ] && health &&
	[ "$(jq -r .status "$T/health")" = ok ]; then
	ok "deb: apt-get install ./$(basename "$deb_a") enables and starts the service; /v1/health is ok"
else
	not_ok "deb: install starts the service" "rc $rc: $(tail -3 "$T/install-a.out" | tr '\n' ' ') $(inside systemctl status coffer 2>&1 | tail -5 | tr '\n' ' ')"
	exit 1
fi
pid_a=$(main_pid)
check "the service runs as user coffer, with its folder 0700 and the config a conffile" \
	test "$(inside ps -o user= -p "$pid_a")" = coffer -a \
	"$(inside stat -c '%U %a' /var/lib/coffer)" = "coffer 700" -a \
	"$(inside dpkg-query -W -f='${Conffiles}' coffer | awk '{print $1}')" = /etc/coffer/coffer.conf
check "man coffer and the docs are installed" inside test -f /usr/share/man/man1/coffer.1.gz -a -f /usr/share/doc/coffer/service.md

TOKEN=$(inside journalctl -u coffer -o cat | grep -m1 '^cft_')
api tenant create acme --json >"$T/tenant" 2>&1
TENANT=$(jq -r .id "$T/tenant" 2>/dev/null)
api token create --tenant "$TENANT" --role tenantAdmin acme-admin --json >"$T/token" 2>&1
TTOKEN=$(jq -r .secret "$T/token" 2>/dev/null)
inside chown -R coffer:coffer /srv/coffer-test
api unit create --tenant "$TENANT" --kind account --folder /srv/coffer-test/docs docs --json >"$T/unit" 2>&1
UNIT=$(jq -r .id "$T/unit" 2>/dev/null)
tapi unit backup "$UNIT" >/dev/null 2>&1
for _ in $(seq 1 150); do
	tapi unit restore-points "$UNIT" --json >"$T/rps" 2>/dev/null &&
		[ "$(jq -r '.items | length' "$T/rps" 2>/dev/null)" = 1 ] && break
	sleep 0.2
done
cat "$T/tenant" "$T/token" "$T/unit" "$T/rps" 2>/dev/null | grep -v secret | sed "s/^/# /"
check "the first admin token is in the journal; a tenant, its admin and a restore point of a folder are made" \
	test -n "$TOKEN" -a -n "$TTOKEN" -a "$TTOKEN" != null -a "$(jq -r '.items | length' "$T/rps" 2>/dev/null)" = 1
# The hardening (seccomp, read-only system) lets a backup run to its end.
check "the backup ran in the hardened unit without a crash or restart" \
	test "$(main_pid)" = "$pid_a" -a "$(inside systemctl show -p NRestarts --value coffer)" = 0
printf "# the admin's\nworkers = 3\n" | inside tee -a /etc/coffer/coffer.conf >/dev/null

# ---------------------------------------------------------------------
# Upgrade to B: restarted, everything kept, the old point restorable.
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y "/root/debs/$(basename "$deb_b")" \
	>"$T/install-b.out" 2>&1; rc=$?
pid_b=$(main_pid)
if [ $rc -eq 0 ] && [ "$(inside dpkg-query -W -f='${Version}' coffer)" = "$B" ] && health &&
	[ -n "$pid_b" ] && [ "$pid_b" != 0 ] && [ "$pid_b" != "$pid_a" ]; then
	ok "deb: the upgrade to $B restarts the service (pid $pid_a, then $pid_b)"
else
	not_ok "deb: the upgrade restarts the service" "rc $rc, pid $pid_a then $pid_b: $(tail -3 "$T/install-b.out" | tr '\n' ' ')"
	inside journalctl -u coffer -n 8 -o cat --no-pager 2>&1 | grep -v "^cft_" | sed "s/^/# /"
fi
check "the upgrade keeps the admin's config, the tokens, the tenant and the point" \
	test "$(inside grep -c '^workers = 3' /etc/coffer/coffer.conf)" = 1 -a \
	"$(api tenant list --json | jq -r '.items[].name')" = acme -a \
	"$(tapi unit restore-points "$UNIT" --json | jq -r '.items | length')" = 1
tapi restore-session create "$UNIT@1" --mode newLocation --json >"$T/session" 2>&1
tapi restore-session show "$(jq -r .id "$T/session" 2>/dev/null)" --wait >"$T/wait" 2>&1; rc=$?
check "the point taken before the upgrade restores byte for byte after it" \
	test $rc = 0 -a -n "$(inside diff -r /srv/coffer-test/docs /srv/coffer-test/docs.restored-1 && echo same)"

# ---------------------------------------------------------------------
# Remove: stopped, config and data kept. Purge: config and unit gone,
# the backups and their user kept and named.
inside env DEBIAN_FRONTEND=noninteractive apt-get remove -y coffer >"$T/remove.out" 2>&1; rc=$?
check "apt-get remove stops the service and keeps config and data" \
	test $rc = 0 -a "$(inside systemctl is-active coffer)" != active -a -z "$(inside pgrep -u coffer)" -a \
	! -e "$M/usr/bin/coffer" -a -f "$M/etc/coffer/coffer.conf" -a -f "$M/var/lib/coffer/catalog.db"
inside env DEBIAN_FRONTEND=noninteractive apt-get purge -y coffer >"$T/purge.out" 2>&1; rc=$?
check "apt-get purge removes config and unit, keeps /var/lib/coffer and its user, and says so" \
	test $rc = 0 -a ! -e "$M/etc/coffer" -a ! -e "$M/lib/systemd/system/coffer.service" -a \
	! -e "$M/etc/systemd/system/multi-user.target.wants/coffer.service" -a \
	-f "$M/var/lib/coffer/catalog.db" -a -n "$(inside getent passwd coffer)" -a \
	-n "$(grep 'kept the backups in /var/lib/coffer' "$T/purge.out")"

# Installed again, it serves the kept data with the old token.
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y "/root/debs/$(basename "$deb_a")" \
	>"$T/install-a2.out" 2>&1; rc=$?
health
check "installed again after a purge, it serves the kept backups with the old token" \
	test $rc = 0 -a "$(tapi unit restore-points "$UNIT" --json | jq -r '.items | length')" = 1

# Purge with the admin's flag: the backups and the user go too.
inside touch /etc/coffer/purge-deletes-backups
inside env DEBIAN_FRONTEND=noninteractive apt-get purge -y coffer >"$T/purge2.out" 2>&1; rc=$?
check "purge with /etc/coffer/purge-deletes-backups removes the backups and the user" \
	test $rc = 0 -a ! -e "$M/var/lib/coffer" -a ! -e "$M/etc/coffer" -a -z "$(inside getent passwd coffer)"
check "nothing of coffer runs in the container" test -z "$(inside pgrep -f 'coffer serve')"

cpid=$CPID
container_stop
check "the container is stopped: its processes are gone" test ! -d "/proc/$cpid" -a -z "$(pgrep -f "$M")"
exit $FAILED
