#!/bin/bash
# The webdav source against a server that lists like ownCloud/Nextcloud
# (tests/servers/ocdav.py, port 18885; docs/webdav.md "Incremental
# backups"): collections carry oc:fileid and an ETag that changes with
# anything below them, so an unchanged collection is not listed again: an
# unchanged backup lists only the unit's collection, a change deep in the
# tree lists only the collections above it, and every point restores byte
# for byte (files added, changed and deleted below skipped collections
# included).
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/e2e/lib.sh"
OPORT=18885
D=$T/oc
R=$D/files
SRV_PID=

stop_all() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	cleanup
}
trap stop_all EXIT

need_tools webdav_oc python3 jq
seed_random

# Three levels of collections, some files in each.
for a in a b c; do
	for x in x y; do
		mkdir -p "$R/$a/$x/deep"
		gen "$a$x" 3000 >"$R/$a/$x/f.bin"
		echo "$a $x" >"$R/$a/$x/deep/g.txt"
	done
	echo "$a" >"$R/$a/top.txt"
done
mkdir -p "$R/empty"
echo root >"$R/root.txt"
ncoll=$(find "$R" -mindepth 0 -type d | wc -l)

python3 "$HERE/servers/ocdav.py" $OPORT "$R" "$D/requests.log" >"$D/srv.out" 2>&1 &
SRV_PID=$!
until_true 10 grep -q ready "$D/srv.out" ||
	{ not_ok "webdav_oc: the ownCloud-like server starts" "$(cat "$D/srv.out")"; exit 1; }
URL=http://127.0.0.1:$OPORT/remote.php/dav/files/alice/
echo secret >"$T/pw"
init_store
propfinds() { grep -c '^PROPFIND ' "$D/requests.log"; }
backup() { run c --json dav backup drive --url "$URL" --user alice --password-file "$T/pw"; }
same_tree() { # NAME RP: the point restored to a folder is the server's tree
	rm -rf "$T/back" && c restore "$2" --to "$T/back" >/dev/null 2>&1
	if diff -r "$R" "$T/back" >"$T/diff" 2>&1; then ok "$1"
	else not_ok "$1" "$(head -5 "$T/diff" | tr '\n' ' ')"; fi
}

# 1. The first backup lists every collection.
backup
is_rc "webdav_oc: the first backup succeeds" 0
equal "webdav_oc: first backup" "collections listed" "$(propfinds)" "$ncoll"
same_tree "webdav_oc: the first point is the tree byte for byte" drive@1

# 2. Nothing changed: only the unit's collection is listed, nothing read.
: >"$D/requests.log"
backup
is_rc "webdav_oc: an unchanged backup succeeds" 0
equal "webdav_oc: unchanged" "PROPFINDs" "$(propfinds)" 1
equal "webdav_oc: unchanged" "GETs" "$(grep -c '^GET ' "$D/requests.log")" 0
equal "webdav_oc: unchanged" "collections skipped" "$(jq -r .collectionsSkipped "$T/out")" 4
equal "webdav_oc: unchanged" "files reused" "$(jq -r .filesReused "$T/out")" "$(find "$R" -type f | wc -l)"
same_tree "webdav_oc: the unchanged point is the tree byte for byte" drive@2

# 3. A file changed three levels down, one added and one deleted in other
# collections: only the collections above them are listed.
echo "changed" >"$R/b/y/deep/g.txt"
echo "new" >"$R/c/new.txt"
rm "$R/a/x/f.bin"
: >"$D/requests.log"
backup
is_rc "webdav_oc: a backup after changes succeeds" 0
# root, b, b/y, b/y/deep, c, a, a/x
equal "webdav_oc: after changes" "PROPFINDs" "$(propfinds)" 7
equal "webdav_oc: after changes" "GETs" "$(grep -c '^GET ' "$D/requests.log")" 2
same_tree "webdav_oc: the point after changes is the tree byte for byte" drive@3
c diff drive@2 drive@3 >"$T/diff" 2>&1
assert "webdav_oc: diff names the changed, added and deleted files" \
	bash -c "grep -q 'b/y/deep/g.txt' '$T/diff' && grep -q 'c/new.txt' '$T/diff' && grep -q 'a/x/f.bin' '$T/diff'"
assert "webdav_oc: check passes" c check
