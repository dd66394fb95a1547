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

# ----------------------------------------------------------------------------
# The service: coffer serve with its embedded defaults (an SQLite catalog and
# one store folder per tenant under --data), driven by the CLI's API client.
data=$demo/data
port=${COFFER_DEMO_PORT:-18470}
export COFFER_SERVER=http://127.0.0.1:$port
echo
echo "== coffer serve --data $data (catalog: SQLite; stores: local folders)"
# Tenants name folders only inside --folder-root DIR/<tenant name>/.
"$coffer" serve --data "$data" --listen "127.0.0.1:$port" --min-frequency 5 --tick-ms 500 \
	--folder-root "$demo/homes" \
	>"$demo/serve.out" 2>"$demo/serve.log" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
	grep -q '^cft_' "$demo/serve.out" 2>/dev/null && break
	kill -0 $serve_pid 2>/dev/null || { cat "$demo/serve.log" >&2; exit 1; }
	sleep 0.1
done
grep -m1 '^cft_' "$demo/serve.out" >"$demo/admin.token"
svc() { echo "\$ coffer $*"; "$coffer" --token-file "$demo/admin.token" "$@"; }
svcj() { "$coffer" --json --token-file "$demo/tenant.token" "$@"; }

echo "== a tenant, and a token for its backup admin (shown once, stored hashed)"
tenant=$("$coffer" --json --token-file "$demo/admin.token" tenant create acme | jq -r .id)
"$coffer" --json --token-file "$demo/admin.token" token create --tenant "$tenant" \
	--role tenantAdmin acme-admin | jq -r .secret >"$demo/tenant.token"

echo "== a protection policy: every subfolder of $demo/home is an account, a restore point every 5 s"
mkdir -p "$demo/homes/acme/home"
ln -sfn "$demo/homes/acme/home" "$demo/home"
for who in ann bob; do
	mkdir -p "$demo/home/$who/projects"
	for i in $(seq 1 50); do seq "$i" $((i * 500)) >"$demo/home/$who/projects/plan-$i.txt"; done
done
policy=$(svcj policy create --kind account --rule "subfolders:$demo/homes/acme/home" --frequency 5 home-drives | jq -r .id)
svcj policy activate "$policy" >/dev/null
"$coffer" --token-file "$demo/tenant.token" policy show "$policy" | head -5
for _ in $(seq 1 120); do
	[ "$(svcj unit list | jq '[.items[] | select(.lastSuccess != null)] | length')" = 2 ] && break
	sleep 0.5
done
"$coffer" --token-file "$demo/tenant.token" unit list
ann=$(svcj unit list | jq -r '.items[] | select(.name == "ann") | .id')
cp -a "$demo/home/ann" "$demo/ann-before"

svcj policy deactivate "$policy" >/dev/null   # the demo's damage is not to be backed up

echo "== ransomware hits ann's drive"
for i in $(seq 1 20); do head -c 3000 /dev/urandom >"$demo/home/ann/projects/plan-$i.txt"; done
rm -f "$demo/home/ann/projects/plan-4"{1..9}.txt
echo "pay us" >"$demo/home/ann/READ_ME.txt"

echo "== a restore session rolls ann's drive back in place"
session=$(svcj restore-session create "$ann" --mode inPlace | jq -r .id)
"$coffer" --token-file "$demo/tenant.token" restore-session show "$session" --wait
if diff -r "$demo/ann-before" "$demo/home/ann" >/dev/null; then
	echo "ann's drive is back, byte for byte"
else
	echo "service rollback verification FAILED" >&2
	exit 1
fi
echo "== the tenant's audit log, hash-chained"
"$coffer" --token-file "$demo/tenant.token" audit list | tail -n 6
"$coffer" --token-file "$demo/admin.token" audit verify
echo "== the web console serves the same API: its page is there"
curl -sf "$COFFER_SERVER/" | grep -o '<title>[^<]*</title>' || { echo "the console is not served" >&2; exit 1; }
if [ -n "${COFFER_DEMO_KEEP:-}" ]; then
	echo "open $COFFER_SERVER/ and sign in with the token in $demo/tenant.token (Ctrl-C ends)"
	wait $serve_pid
fi
kill -TERM $serve_pid
wait $serve_pid 2>/dev/null || true
echo "== done: COFFER_DEMO_KEEP=1 scripts/quickstart.sh keeps the service up for the console;"
echo "   see README.md and docs/ for more"
