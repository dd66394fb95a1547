#!/usr/bin/env bash
# Installs every Debian 12 package coffer's build and tests need (and, with
# --bench, what the benchmarks in bench/ need). Safe to run again: only missing
# packages are installed.
set -euo pipefail

packages=(
	gcc clang meson ninja-build pkg-config git
	libssl-dev libzstd-dev libsodium-dev libjson-c-dev
	libclang-rt-14-dev        # sanitizers and libFuzzer for clang
	attr acl libcap2-bin util-linux python3 # setfattr/getfattr, setfacl/getfacl, setcap/getcap, setpriv, test helpers
	jq strace openssl diffutils findutils
	libsqlite3-dev            # catalog (with FTS5 for mail search)
	libpq-dev postgresql-15   # catalog: the PostgreSQL driver; tests: a real server on loopback
	libmicrohttpd-dev         # coffer serve: the HTTP API
	libcurl4-openssl-dev curl # the CLI's service commands are API clients
	libgmime-3.0-dev          # mail: MIME parsing for the search index
	dovecot-core dovecot-imapd # tests: a real IMAP server on loopback
	libxml2-dev               # webdav: the multistatus answers of PROPFIND
	apache2 apache2-utils     # tests: a real WebDAV server (mod_dav_fs) on loopback
	rclone                    # tests: a second real WebDAV server (rclone serve webdav)
	nginx libnginx-mod-http-dav-ext # tests: a third one (nginx's dav module + PROPFIND from dav-ext)
	ceph-mon ceph-osd radosgw ceph-common # tests: a real S3 server (radosgw) with Object Lock
	chromium fonts-dejavu-core # tests: the web console in a real browser (headless)
	debhelper lintian systemd-container # scripts/build-deb.sh; tests/e2e/deb.sh boots the package in systemd-nspawn
)
# tests/browser drives Chromium with node packages (tests/browser/package.json);
# Debian's Node.js where the machine has none of its own.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
if [ "${1:-}" = "--bench" ]; then
	packages+=(restic borgbackup linux-source-6.1 xz-utils time isync)
	packages+=(rclone) # bench/webdav.sh: the anchor for the WebDAV source (rclone 1.60)
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing: ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The browser tests' packages, exactly as the lock file pins them (again
# when the lock file is newer than what was installed). No install scripts
# run: nothing downloads a browser.
browser="$(dirname "$0")/../tests/browser"
if [ -f "$browser/package-lock.json" ] &&
	{ [ ! -f "$browser/node_modules/.package-lock.json" ] ||
		[ "$browser/package-lock.json" -nt "$browser/node_modules/.package-lock.json" ]; }; then
	echo "installing the browser tests' node packages (npm ci)"
	npm ci --prefix "$browser" --ignore-scripts --no-audit --no-fund --loglevel=error
fi
