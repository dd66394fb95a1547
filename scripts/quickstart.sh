#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds, and
# runs coffer's main job on the embedded defaults: a store in a local
# folder, a sample folder backed up, damaged the way ransomware does it,
# and rolled back in place.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
coffer=$PWD/build/coffer

demo=${COFFER_DEMO_DIR:-/tmp/coffer-demo}
rm -rf "$demo"
mkdir -p "$demo/shared/reports" "$demo/shared/photos"
export COFFER_CACHE=$demo/cache
store=$demo/store
key=$demo/store.key

echo "== a sample folder: $demo/shared"
cp -r /usr/share/doc/bash "$demo/shared/manuals" 2>/dev/null || true
for i in $(seq 1 200); do
	printf 'quarterly report %d\n%s\n' "$i" "$(seq "$i" $((i + 300)))" > "$demo/shared/reports/report-$i.txt"
done
head -c 4000000 /dev/urandom > "$demo/shared/photos/holiday.jpg"
setfattr -n user.label -v confidential "$demo/shared/reports/report-1.txt"

echo "== coffer init (store in $store, key file $key)"
"$coffer" --store "$store" init --key-file-new "$key"
run() { echo "\$ coffer $*"; "$coffer" --store "$store" --key-file "$key" "$@"; }

echo "== first backup, then an unchanged re-run"
run backup shared "$demo/shared"
run backup shared "$demo/shared"
run restore-points

echo "== ransomware: overwrite 20 reports with random bytes, delete 10, drop a ransom note"
for i in $(seq 1 20); do head -c 2000 /dev/urandom > "$demo/shared/reports/report-$i.txt"; done
rm -f "$demo/shared/reports/report-"{21..30}.txt
echo "pay us" > "$demo/shared/READ_ME_TO_DECRYPT.txt"
run diff shared live | tail -n 5

echo "== roll back in place: only what differs is rewritten"
run restore shared --in-place

echo "== result"
run diff shared live
if run restore shared --to "$demo/verify" >/dev/null 2>&1 && diff -r "$demo/verify" "$demo/shared" >/dev/null; then
	echo "the folder is back to restore point shared@2, byte for byte"
else
	echo "rollback verification FAILED" >&2
	exit 1
fi
run check --read-data
